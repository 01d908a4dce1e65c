"""Sessions page: New sessions… schedules a term of lessons in one dialog, with a
preview of the dates before anything is created."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from conftest import wait_loaded
from PySide6.QtCore import QDate, Qt, QTime
from sqlalchemy import func, select, text

from app.db.models import ClassSession
from app.services.courses import create_course
from ui.dialogs.schedule_dialog import ScheduleDialog
from ui.pages.sessions import SessionsPage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_term_of_tuesday_thursday_lessons_in_one_dialog(qtbot, ops_hub, db, ctx):
    from app.services.students import StudentInput, create_student

    with db.sessions.begin() as s:
        create_course(s, ctx, "Biology")
        create_student(s, ctx, StudentInput("S1", "Ada", "Marsh", class_name="7A"))
    page = SessionsPage()
    qtbot.addWidget(page)
    page.resize(1024, 700)
    page.show()
    wait_loaded(qtbot, page.model)
    # Beside the page list of a 1024 px window (about 170 px), the page still fits.
    assert page.minimumSizeHint().width() <= 1024 - 170
    page.grab().save(str(ARTIFACTS / "sessions_page_1024.png"))
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = page.findChild(ScheduleDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.course.count() == 1, timeout=10_000)
    dialog.course.setEditText("biology")
    dialog.first.setDate(QDate(2026, 9, 1))
    dialog.start.setTime(QTime(10, 0))
    dialog.end.setTime(QTime(10, 45))
    dialog.repeats.setCurrentIndex(1)  # every week
    dialog.weekdays[3].setChecked(True)  # Tuesday came from the date; Thursday added
    dialog.until.setDate(QDate(2026, 12, 17))
    dialog.skip.setText("2026-10-27, 2026-10-29")
    assert dialog.preview.text().startswith("<b>30 sessions</b>: Tue 01 Sep, Thu 03 Sep")
    assert dialog.preview.text().endswith("… Thu 17 Dec 2026")
    # An in-person lesson needs a room: refused in the dialog, which stays open.
    dialog.submit()
    qtbot.waitUntil(lambda: "needs a location" in dialog.message.text(), timeout=10_000)
    assert dialog.isVisible()
    dialog.location.setText("Lab 2")
    dialog.class_name.setText("7Q")  # the lessons are for one class: one that exists
    dialog.submit()
    qtbot.waitUntil(lambda: "No student is in class '7Q'" in dialog.message.text(), timeout=10_000)
    dialog.class_name.setText("7A")
    dialog.grab().save(str(ARTIFACTS / "sessions_new_series.png"))
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.mouseClick(dialog.schedule_button, Qt.MouseButton.LeftButton)
    assert said.args[0] == "Scheduled 30 sessions of Biology, Tue 01 Sep 2026 to Thu 17 Dec 2026."
    with db.sessions() as s:
        rows = s.execute(select(ClassSession.session_date, ClassSession.series_id)).all()
        classes = set(s.scalars(select(ClassSession.class_name)))
    assert len(rows) == 30 and len({series for _, series in rows}) == 1 and classes == {"7A"}
    assert date(2026, 10, 27) not in {day for day, _ in rows}
    qtbot.waitUntil(lambda: page.model.rowCount() == 30, timeout=10_000)  # the list shows them
    qtbot.waitUntil(lambda: page.window().focusWidget() is page.table, timeout=5000)


def test_a_series_that_ends_before_it_starts_cannot_be_scheduled(qtbot, ops_hub, db, ctx):
    page = SessionsPage()
    qtbot.addWidget(page)
    page.show()
    dialog = page.new_sessions()
    dialog.first.setDate(QDate(2026, 9, 8))
    dialog.repeats.setCurrentIndex(1)
    dialog.until.setDate(QDate(2026, 9, 1))
    assert "ends (01 Sep 2026) before it starts (08 Sep 2026)" in dialog.message.text()
    assert not dialog.schedule_button.isEnabled()
    dialog.repeats.setCurrentIndex(0)  # a single session: the end date does not apply
    assert dialog.schedule_button.isEnabled() and dialog.preview.text().startswith("<b>1 session")
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ClassSession)) == 0


def test_taking_the_register_with_the_keyboard(qtbot, ops_hub, db, ctx, monkeypatch):
    from attendance_setup import build_school
    from PySide6.QtWidgets import QLineEdit, QMessageBox

    from ui.dialogs.register_dialog import INITIALS, NAME, RegisterDialog

    with db.sessions.begin() as s:
        lessons = build_school(s, ctx)
    page = SessionsPage()
    qtbot.addWidget(page)
    page.resize(1024, 700)
    page.show()
    wait_loaded(qtbot, page.model)
    september = next(i for i in range(page.model.rowCount())
                     if page.model.row_at(i).id == lessons["september"])  # fmt: skip
    page.table.selectRow(september)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    dialog = page.findChild(RegisterDialog)
    qtbot.waitUntil(lambda: dialog.register is not None, timeout=10_000)
    table = dialog.table
    assert [table.item(r, NAME).text() for r in range(table.rowCount())] == ["Ada Marsh",
                                                                            "Cleo Marsh"]  # fmt: skip
    assert [table.item(r, INITIALS).text() for r in range(table.rowCount())] == ["AM", "CM"]
    qtbot.keyClick(table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)  # all present  # fmt: skip
    assert [dialog.mark_of(r) for r in range(2)] == ["present", "present"]
    table.selectRow(1)
    qtbot.keyClick(table, Qt.Key.Key_L)  # Cleo late ...
    table.selectRow(1)
    for key, typed in [(Qt.Key.Key_M, "10"), (Qt.Key.Key_N, "Bus")]:  # ten minutes; a note
        qtbot.keyClick(table, key)
        editor = table.findChild(QLineEdit)
        qtbot.waitUntil(lambda e=editor: e is not None and e.hasFocus(), timeout=5000)
        qtbot.keyClicks(editor, typed)
        qtbot.keyClick(editor, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: table.state() != table.State.EditingState, timeout=5000)
        qtbot.wait(10)  # the closed editor is deleted on the next turn of the event loop
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_Space)  # Ada: present -> absent
    assert (
        dialog.summary.text() == "2 students: 0 present, 1 absent, 1 late, 0 excused, 0 not marked"
    )
    dialog.missing.setText("S2")
    qtbot.keyClick(dialog.missing, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "only from 01 Dec 2026" in dialog.answer.text(), timeout=10_000)
    assert dialog.save_button.isEnabled()
    dialog.grab().save(str(ARTIFACTS / "sessions_register.png"))
    # Closing with marks not saved asks; Save saves and then closes.
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Save)  # fmt: skip
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.keyClick(table, Qt.Key.Key_Escape)
    assert said.args[0] == "Saved 2 marks."
    with db.sessions() as s:
        saved = s.execute(text("SELECT s.student_no, a.status, a.note, a.minutes_late "
                               "FROM session_attendance a "
                               "JOIN course_enrollment e ON e.id = a.enrollment_id "
                               "JOIN student s ON s.id = e.student_id ORDER BY 1")).all()  # fmt: skip
    assert [tuple(r) for r in saved] == [("S1", "absent", None, None), ("S3", "late", "Bus", 10)]
    # Reopening shows what was saved.
    qtbot.waitUntil(lambda: page.findChild(RegisterDialog) is None, timeout=5000)
    # The list reloads with the new counts and keeps the session highlighted.
    qtbot.waitUntil(lambda: [r.id for r in page.table.selected_rows()] == [lessons["september"]],
                    timeout=10_000)  # fmt: skip
    again = page.open_register()
    qtbot.waitUntil(lambda: again.register is not None, timeout=10_000)
    assert [again.mark_of(r) for r in range(2)] == ["absent", "late"] and not again.unsaved()
    again.reject()


def test_alt_enter_edits_the_highlighted_session_and_the_list_says_what_changed(
    qtbot, ops_hub, db, ctx
):
    from attendance_setup import build_school

    from ui.dialogs.session_dialog import SessionDialog

    with db.sessions.begin() as s:
        lessons = build_school(s, ctx)
    page = SessionsPage()
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    wait_loaded(qtbot, page.model)
    assert not page.edit_button.isEnabled()  # nothing highlighted yet
    november = next(i for i in range(page.model.rowCount())
                    if page.model.row_at(i).id == lessons["november"])  # fmt: skip
    page.table.selectRow(november)
    page.table.setFocus()
    assert page.edit_button.isEnabled()
    qtbot.keyClick(page.table, Qt.Key.Key_Return, Qt.KeyboardModifier.AltModifier)
    dialog = page.findChild(SessionDialog)
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=10_000)
    dialog.location.setText("Lab 7")
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert said.args[0] == "1 session changed."
    with db.sessions() as s:
        assert s.scalar(select(ClassSession.location).where(
            ClassSession.id == lessons["november"])) == "Lab 7"  # fmt: skip


def test_the_chosen_course_stays_chosen_when_the_courses_reload(qtbot, ops_hub, db, ctx):
    from app.services.courses import create_course

    with db.sessions.begin() as s:
        biology = create_course(s, ctx, "Biology")
        create_course(s, ctx, "Art")
    page = SessionsPage()
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.course_filter.count() == 3, timeout=10_000)
    page.course_filter.setCurrentIndex(next(i for i in range(3)
                                            if page.course_filter.itemData(i) == biology.id))  # fmt: skip
    page.set_choices(page.course_filter, [("Art", uuid.uuid4()), ("Biology", biology.id),
                                          ("Chemistry", uuid.uuid4())])  # fmt: skip
    assert page.course_filter.currentText() == "Biology"


def test_p_a_e_mark_and_move_and_e_asks_for_the_reason_first(qtbot, ops_hub, db, ctx):
    from attendance_setup import build_school
    from PySide6.QtWidgets import QLineEdit

    from ui.dialogs.register_dialog import NOTE, RegisterDialog

    with db.sessions.begin() as s:
        lessons = build_school(s, ctx)
    dialog = RegisterDialog(lessons["september"])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.register is not None, timeout=10_000)
    table = dialog.table
    qtbot.keyClick(table, Qt.Key.Key_A)  # Ada absent, on to Cleo
    assert (dialog.mark_of(0), table.currentRow()) == ("absent", 1)
    qtbot.keyClick(table, Qt.Key.Key_E)  # Cleo excused: the school asks for a reason
    assert dialog.mark_of(1) == "excused" and table.currentColumn() == NOTE
    editor = table.findChild(QLineEdit)
    qtbot.waitUntil(lambda: editor is not None and editor.hasFocus(), timeout=5000)
    qtbot.keyClicks(editor, "Dentist")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.state() != table.State.EditingState, timeout=5000)
    table.selectRow(0)
    qtbot.keyClick(table, Qt.Key.Key_P)  # Ada came after all
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dialog.answer.text() == "Saved: 2 marks changed.", timeout=10_000)
    with db.sessions() as s:
        saved = s.execute(text("SELECT s.student_no, a.status, a.note FROM session_attendance a "
                               "JOIN course_enrollment e ON e.id = a.enrollment_id "
                               "JOIN student s ON s.id = e.student_id ORDER BY 1")).all()  # fmt: skip
    assert [tuple(r) for r in saved] == [("S1", "present", None), ("S3", "excused", "Dentist")]
