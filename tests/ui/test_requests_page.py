"""The Enrollment requests page: pending by default, approve and reject the selected
ones, and a failed approval shown with its reason while the request stays pending."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_loaded
from PySide6.QtCore import QItemSelectionModel, Qt
from sqlalchemy import func, select, text

from app.db.models import CourseEnrollment, EnrollmentRequest
from app.services.courses import find_or_create_course
from app.services.requests import create_request
from app.services.students import StudentInput, create_student
from ui.main_window import MainWindow
from ui.models.requests import RequestTableModel

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _requests(db, ctx, count: int = 4) -> None:
    with db.sessions.begin() as s:
        biology = find_or_create_course(s, ctx, "Biology")[0]
        names = [("Zoë", "Müller"), ("Łukasz", "Nowak"), ("Chloé", "Dubois"), ("Seán", "O'Neill")]
        for n, (first, last) in enumerate(names[:count], start=1):
            student = create_student(s, ctx, StudentInput(f"S{n}", first, last))
            create_request(s, ctx, student.id, biology.id, note=f"Asked at the desk ({n})")


def _loaded(qtbot, page, rows: int) -> None:
    qtbot.waitUntil(lambda: page.model.rowCount() == rows and not page.model.is_loading
                    and all(page.model.row_at(r) is not None for r in range(rows)),
                    timeout=10_000)  # fmt: skip


def _select(page, rows: list[int]) -> None:
    page.table.clearSelection()
    selection = page.table.selectionModel()
    for row in rows:
        selection.select(page.model.index(row, 0),
                         QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)  # fmt: skip


def test_model_passes_the_model_tester(qtbot, qtmodeltester, ops_hub, db, ctx):
    _requests(db, ctx)
    model = RequestTableModel()
    model.set_query(model.query)
    wait_loaded(qtbot, model)
    assert model.rowCount() == 4
    qtmodeltester.check(model)


def test_approve_and_reject_from_the_page_with_ctrl_6(qtbot, ops_hub, db, ctx, database):
    _requests(db, ctx)
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.resize(1300, 700)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    page = window.current_page
    assert page.title == "Enrollment requests" and window.navigation.currentRow() == 5
    wait_loaded(qtbot, page.model)
    qtbot.waitUntil(lambda: "…" not in str(page.model.data(page.model.index(0, 1))))
    assert page.model.rowCount() == 4 and page.count_label.text() == "4 requests"
    assert not page.approve_action.isEnabled()
    ARTIFACTS.mkdir(exist_ok=True)
    window.grab().save(str(ARTIFACTS / "requests_1_pending.png"))

    _select(page, [0, 1])
    assert page.approve_action.isEnabled()
    with qtbot.waitSignal(ops_hub.changed, timeout=10_000):
        page.approve()
    _loaded(qtbot, page, 2)
    _select(page, [0])
    with qtbot.waitSignal(ops_hub.changed, timeout=10_000):
        page.reject(note="Course is full")
    _loaded(qtbot, page, 1)
    with db.sessions.begin() as s:
        statuses = dict(s.execute(select(EnrollmentRequest.status, func.count())
                                  .group_by(EnrollmentRequest.status)).all())  # fmt: skip
        assert statuses == {"approved": 2, "rejected": 1, "pending": 1}
        assert s.scalar(select(func.count()).select_from(CourseEnrollment)) == 2

    page.status_filter.setCurrentIndex(0)  # all statuses
    wait_loaded(qtbot, page.model)
    _loaded(qtbot, page, 4)
    window.grab().save(str(ARTIFACTS / "requests_2_all.png"))


def test_a_failed_approval_is_shown_and_stays_pending(qtbot, ops_hub, db, ctx, database):
    _requests(db, ctx, count=2)
    with db.as_owner() as s:
        # Seán's progress row cannot be written: that approval must fail on its own.
        s.execute(text("""
            CREATE FUNCTION refuse_s2() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.student_id = (SELECT id FROM student WHERE student_no = 'S2') THEN
                RAISE EXCEPTION 'progress table is full';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER refuse_s2 BEFORE INSERT ON course_progress
            FOR EACH ROW EXECUTE FUNCTION refuse_s2();"""))  # fmt: skip
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.resize(1300, 700)
    window.show()
    window.show_page(5)
    page = window.current_page
    wait_loaded(qtbot, page.model)
    qtbot.waitUntil(lambda: "…" not in str(page.model.data(page.model.index(1, 1))))
    _select(page, [0, 1])
    with qtbot.waitSignal(ops_hub.changed, timeout=10_000):
        page.approve()
    qtbot.waitUntil(page.problems.isVisible)
    assert "1 request was not approved and is still pending" in page.problems.text()
    assert "Nowak" in page.problems.text() and "progress table is full" in page.problems.text()
    _loaded(qtbot, page, 1)
    window.grab().save(str(ARTIFACTS / "requests_3_failed_approval.png"))
    with db.sessions.begin() as s:
        pending = s.scalars(
            select(EnrollmentRequest.status).order_by(EnrollmentRequest.requested_at)
        ).all()
        assert sorted(pending) == ["approved", "pending"]
        assert s.scalar(select(func.count()).select_from(CourseEnrollment)) == 1


def test_staff_request_a_course_on_a_students_behalf(qtbot, ops_hub, db, ctx, database):
    _requests(db, ctx, count=1)  # Zoë Müller already asked for Biology
    with db.sessions.begin() as s:
        find_or_create_course(s, ctx, "Chemistry")
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.show()
    window.show_page(5)
    page = window.current_page
    page.search.setFocus()  # where the keyboard was before Ctrl+N
    dialog = page.new_request()
    qtbot.waitUntil(lambda: dialog.course.count() == 2, timeout=10_000)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # no student, no course yet
    dialog.search.setText("zoe mul")
    qtbot.waitUntil(lambda: dialog.matches.count() == 1, timeout=10_000)
    assert dialog.matches.item(0).text() == "Zoë Müller (S1)"
    dialog.course.setCurrentIndex(dialog.course.findText("Biology"))
    assert ok.isEnabled()
    dialog.submit()  # a second pending request for Biology is refused, the dialog stays
    qtbot.waitUntil(lambda: bool(dialog.message.text()), timeout=10_000)
    assert "pending" in dialog.message.text().lower() and dialog.isVisible()
    dialog.grab().save(str(ARTIFACTS / "requests_4_new_refused.png"))
    # A misspelled course is a question, never a new course: the closest name is offered.
    dialog.course.setEditText("Chemestry")
    assert ok.isEnabled()
    dialog.submit()
    assert dialog.course_suggestions.isVisible()
    assert [b.text() for b in dialog.course_suggestions.buttons] == ["Chemistry"]
    assert not dialog.course_suggestions.create_button.isVisible()
    dialog.grab().save(str(ARTIFACTS / "requests_5_new_misspelled_course.png"))
    qtbot.mouseClick(dialog.course_suggestions.buttons[0], Qt.MouseButton.LeftButton)
    assert dialog.course.chosen().name == "Chemistry" and not dialog.course_suggestions.isVisible()
    dialog.note.setText("Asked at the front desk")
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.submit()
    with db.sessions.begin() as s:
        notes = s.scalars(select(EnrollmentRequest.note).where(
            EnrollmentRequest.status == "pending")).all()  # fmt: skip
    assert sorted(notes) == ["Asked at the desk (1)", "Asked at the front desk"]
    _loaded(qtbot, page, 2)  # the page shows the new request without a manual refresh
    qtbot.waitUntil(lambda: window.focusWidget() is page.table, timeout=10_000)  # on the list
