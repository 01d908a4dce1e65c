"""A registrar's path through the Students page: find, edit, add, deactivate, enroll."""

from __future__ import annotations

from pathlib import Path

from conftest import open_students_page, wait_loaded
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox
from sqlalchemy import func, select

from app.db.models import Course, CourseEnrollment, Student
from ui.dialogs.student_dialog import StudentDialog

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_typing_a_name_finds_the_student(qtbot, ops_hub, demo_school):
    page = open_students_page(qtbot)
    target = page.model.row_at(7)
    page.search.setFocus()
    qtbot.keyClicks(page.search, f"{target.first_name[:3]} {target.last_name[:4]}")
    qtbot.waitUntil(lambda: page.model.query.search != "", timeout=5000)  # after the debounce
    wait_loaded(qtbot, page.model)
    found = [page.model.row_at(r) for r in range(page.model.rowCount())]
    assert target.id in {row.id for row in found if row}
    assert page.model.rowCount() < 450
    assert page.count_label.text().endswith("students") or page.count_label.text().endswith(
        "student"
    )


def test_new_student_dialog_refuses_bad_email_then_saves(qtbot, ops_hub, demo_school, db):
    dialog = StudentDialog(None)
    qtbot.addWidget(dialog)
    dialog.student_no.setText("N-0001")
    dialog.first_name.setText("Noémie")
    dialog.last_name.setText("Dvořák")
    dialog.email.setText("noemie at example")
    dialog.show()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not a valid e-mail" in dialog.error.text(), timeout=5000)
    assert "a61b1b" in dialog.email.styleSheet()
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.grab().save(str(ARTIFACTS / "student_dialog_error.png"))
    dialog.email.setText("noemie.dvorak@example.org")
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.saved is not None and dialog.saved.full_name == "Noémie Dvořák"
    with db.sessions.begin() as s:
        assert s.scalar(select(Student.email).where(Student.student_no == "N-0001")) == (
            "noemie.dvorak@example.org"
        )


def test_delete_key_deactivates_after_confirmation(qtbot, ops_hub, demo_school, db, monkeypatch):
    page = open_students_page(qtbot)
    asked = []
    monkeypatch.setattr(
        QMessageBox,
        "question",
        lambda *args, **kw: asked.append(args) or QMessageBox.StandardButton.Yes,
    )
    row = next(page.model.row_at(r) for r in range(50) if page.model.row_at(r).status == "active")
    number = next(r for r in range(50) if page.model.row_at(r).id == row.id)
    page.table.setFocus()
    page.table.selectRow(number)
    with qtbot.waitSignal(ops_hub.changed, timeout=5000):
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert asked
    with db.sessions.begin() as s:
        assert s.get(Student, row.id).status == "inactive"


def test_enroll_and_unenroll_from_the_detail_panel(qtbot, ops_hub, demo_school, db, monkeypatch):
    page = open_students_page(qtbot)
    page.table.setFocus()
    page.table.selectRow(0)
    student = page.model.row_at(0)
    qtbot.waitUntil(lambda: student.full_name in page.detail.heading.text(), timeout=5000)
    qtbot.waitUntil(lambda: page.detail.course_box.count() > 0, timeout=5000)
    courses_before = page.detail.course_box.count()
    # A name no course has is a question, not a new course ...
    page.detail.course_box.setEditText("Astronomy Club")
    qtbot.mouseClick(page.detail.enroll_button, Qt.MouseButton.LeftButton)
    suggestions = page.detail.suggestions
    assert suggestions.isVisible() and "No course is named “Astronomy Club”" in (
        suggestions.message.text()
    )
    with db.sessions.begin() as s:
        assert s.scalar(select(Course.id).where(Course.name == "Astronomy Club")) is None
    # ... creating it is its own, confirmed step; then Enroll enrolls.
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **kw: ("Astronomy Club", True))
    with qtbot.waitSignal(ops_hub.changed, timeout=5000):
        qtbot.mouseClick(suggestions.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.detail.course_box.count() == courses_before + 1, timeout=5000)
    assert page.detail.course_box.chosen().name == "Astronomy Club"
    with qtbot.waitSignal(ops_hub.changed, timeout=5000):
        qtbot.mouseClick(page.detail.enroll_button, Qt.MouseButton.LeftButton)
    table = page.detail.enrollment_table

    def course_row(name):
        return next((r for r in range(table.rowCount()) if table.item(r, 0).text() == name), None)

    qtbot.waitUntil(lambda: course_row("Astronomy Club") is not None, timeout=5000)
    row = course_row("Astronomy Club")
    assert table.item(row, 1).text() == "Yes"
    table.selectRow(row)
    assert page.detail.unenroll_button.isEnabled()
    with qtbot.waitSignal(ops_hub.changed, timeout=5000):
        qtbot.mouseClick(page.detail.unenroll_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: table.item(course_row("Astronomy Club"), 1).text() == "No", timeout=5000
    )
    with db.sessions.begin() as s:
        enrollment = s.scalars(
            select(CourseEnrollment).where(CourseEnrollment.student_id == student.id)
        ).all()
    assert any(not e.active for e in enrollment)
    page.grab().save(str(ARTIFACTS / "students_detail_after_unenroll.png"))


def test_ctrl_n_opens_the_new_student_dialog(qtbot, ops_hub, demo_school):
    page = open_students_page(qtbot)
    page.table.setFocus()
    seen = []

    def close_dialog():
        dialog = QApplication.activeModalWidget()
        seen.append(type(dialog).__name__)
        if dialog is not None:
            dialog.reject()

    QTimer.singleShot(300, close_dialog)
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert seen == ["StudentDialog"]
    # Edit started with the mouse: when the dialog closes the keyboard is on the list,
    # not on the button that opened it.
    page.table.selectRow(2)
    QTimer.singleShot(300, close_dialog)
    qtbot.mouseClick(page.buttons[page.edit_action], Qt.MouseButton.LeftButton)
    assert seen == ["StudentDialog", "StudentDialog"]
    qtbot.waitUntil(lambda: page.window().focusWidget() is page.table, timeout=2000)


def _hold_the_database(seconds: float) -> None:
    """Occupy the one database worker, as a slow statement would."""
    from sqlalchemy import text

    from ui.ops import Op

    Op(None, lambda s, ctx, job: s.execute(text("SELECT pg_sleep(:s)"), {"s": seconds}),
       show_progress=False).run()  # fmt: skip


def test_the_rows_on_screen_stay_until_a_new_search_has_its_rows(qtbot, ops_hub, demo_school):
    page = open_students_page(qtbot)
    first_before = page.model.data(page.model.index(0, 1))
    resets, removals = [], []
    page.model.modelReset.connect(lambda: resets.append(page.model.rowCount()))
    page.model.rowsRemoved.connect(lambda *_: removals.append(1))
    target = page.model.row_at(40)

    _hold_the_database(0.6)
    page.search.setText(target.last_name)
    page.apply_filters()
    # While the database is busy the old rows stay, and after a moment the row count
    # line says that new ones are coming.
    assert not page.model.shows_latest_query
    assert page.model.rowCount() == 450
    assert page.model.data(page.model.index(0, 1)) == first_before
    qtbot.waitUntil(lambda: page.count_label.text() == "Loading…", timeout=2000)
    assert page.model.data(page.model.index(0, 1)) == first_before

    wait_loaded(qtbot, page.model)
    assert page.model.shows_latest_query
    names = [page.model.data(page.model.index(r, 1)) for r in range(page.model.rowCount())]
    assert target.full_name in names and len(names) < 450
    # one step from the old rows to the new: never an empty table in between
    assert resets == [len(names)] and not removals
    assert page.count_label.text().endswith(("student", "students"))


def test_a_search_that_cannot_be_read_empties_the_table_and_says_so(
    qtbot, ops_hub, demo_school, monkeypatch
):
    from app.domain.errors import DatabaseUnavailable

    page = open_students_page(qtbot)
    boxes = []
    monkeypatch.setattr("ui.models.paged.show_error", lambda parent, error: boxes.append(error))

    def unreachable(*_args):
        raise DatabaseUnavailable("The school database cannot be reached.")

    monkeypatch.setattr(page.model, "fetch_page", unreachable)
    page.search.setText("zoe")
    page.apply_filters()
    wait_loaded(qtbot, page.model)
    assert page.model.rowCount() == 0
    assert page.count_label.text() == "Not loaded"
    assert [str(error) for error in boxes] == ["The school database cannot be reached."]


def test_edit_and_deactivate_follow_the_highlighted_rows(qtbot, ops_hub, demo_school):
    page = open_students_page(qtbot)
    page.table.setFocus()
    # A current cell that is not highlighted (the table's state after loading) is not a
    # choice: nothing is edited and both actions are off.
    page.table.selectionModel().setCurrentIndex(
        page.model.index(0, 0), page.table.selectionModel().SelectionFlag.NoUpdate
    )
    assert page.table.selected_rows() == []
    assert not page.edit_action.isEnabled() and not page.buttons[page.edit_action].isEnabled()
    assert not page.deactivate_action.isEnabled()
    qtbot.keyClick(page.table, Qt.Key.Key_Return)
    QApplication.processEvents()
    opened = [w for w in QApplication.topLevelWidgets() if isinstance(w, StudentDialog)
              and w.isVisible()]  # fmt: skip
    assert opened == []
    assert page.detail.student_id is None

    page.table.selectRow(3)
    assert page.edit_action.isEnabled() and page.buttons[page.edit_action].isEnabled()
    qtbot.waitUntil(lambda: page.detail.student_id == page.model.row_at(3).id, timeout=5000)
    page.table.selectionModel().select(
        page.model.index(5, 0),
        page.table.selectionModel().SelectionFlag.Select
        | page.table.selectionModel().SelectionFlag.Rows,
    )
    assert len(page.table.selected_rows()) == 2
    assert not page.edit_action.isEnabled(), "Edit is for one student"
    assert page.deactivate_action.isEnabled() == any(
        r.status == "active" for r in page.table.selected_rows()
    )
    assert page.detail.student_id is None
    page.table.clearSelection()
    assert not page.edit_action.isEnabled() and not page.deactivate_action.isEnabled()


def test_the_detail_panel_shows_an_edit_as_soon_as_it_is_saved(qtbot, ops_hub, demo_school):
    from app.services import students
    from ui.ops import Op

    page = open_students_page(qtbot)
    number = next(r for r in range(50) if page.model.row_at(r).status == "active")
    student = page.model.row_at(number)
    page.table.selectRow(number)
    qtbot.waitUntil(lambda: student.full_name in page.detail.heading.text(), timeout=5000)
    assert "6Z" not in page.detail.heading.text()

    class_column = next(i for i, c in enumerate(page.model.columns) if c.title == "Class")
    with qtbot.waitSignal(ops_hub.changed, timeout=5000):
        page.model.setData(page.model.index(number, class_column), "6Z", Qt.ItemDataRole.EditRole)
    qtbot.waitUntil(lambda: "6Z" in page.detail.heading.text(), timeout=5000)

    # A change made elsewhere (another page, a dialog, an import) reaches the panel too.
    with qtbot.waitSignal(ops_hub.changed, timeout=5000):
        Op(page, lambda s, ctx, job: students.deactivate_student(s, ctx, student.id)).run()
    qtbot.waitUntil(lambda: "inactive" in page.detail.heading.text(), timeout=5000)
    assert page.detail.student_id == student.id


def test_a_misspelled_course_offers_the_closest_one_and_creates_nothing(
    qtbot, ops_hub, demo_school, db
):
    page = open_students_page(qtbot, height=900)
    number = next(r for r in range(50) if page.model.row_at(r).status == "active")
    student = page.model.row_at(number)
    page.table.selectRow(number)
    qtbot.waitUntil(lambda: page.detail.student_id == student.id, timeout=5000)
    qtbot.waitUntil(lambda: page.detail.course_box.count() > 0, timeout=5000)
    with db.sessions.begin() as s:
        courses_before = s.scalar(select(func.count()).select_from(Course))
    box = page.detail.course_box
    qtbot.waitUntil(box.isEnabled, timeout=5000)  # the panel has loaded the student
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page.window(), timeout=5000)
    box.setFocus()
    qtbot.waitUntil(lambda: box.lineEdit().hasFocus(), timeout=5000)
    qtbot.keyClicks(box.lineEdit(), "Music and Movment")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)  # Enter in the box is Enroll
    suggestions = page.detail.suggestions
    assert [b.text() for b in suggestions.buttons] == ["Music && Movement"]  # shows one &
    assert suggestions.buttons[0].hasFocus()  # Enter or Space takes it
    page.grab().save(str(ARTIFACTS / "students_detail_did_you_mean.png"))
    qtbot.keyClick(suggestions.buttons[0], Qt.Key.Key_Space)
    assert box.chosen().name == "Music & Movement" and not suggestions.isVisible()
    with qtbot.waitSignal(page.detail.status_message, timeout=5000) as said:
        qtbot.mouseClick(page.detail.enroll_button, Qt.MouseButton.LeftButton)
    assert said.args[0].endswith("in Music & Movement.")  # enrolled (or already was)
    with db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Course)) == courses_before
        assert s.scalar(
            select(func.count()).select_from(CourseEnrollment).join(Course)
            .where(CourseEnrollment.student_id == student.id, Course.name == "Music & Movement",
                   CourseEnrollment.active)
        ) == 1  # fmt: skip
    # What was typed for one student is gone when another is selected.
    box.setEditText("Nature")
    page.table.selectRow(number + 1)
    # (The list may be reloading after the enrollment: its rows come back in a moment.)
    qtbot.waitUntil(
        lambda: (
            (row := page.model.row_at(number + 1)) is not None and page.detail.student_id == row.id
        ),
        timeout=5000,
    )
    assert box.currentText() == ""


# ------------------------------------------------------------ small screens


def _students_in_main_window(qtbot, database, width: int, height: int):
    from ui.main_window import MainWindow

    window = MainWindow(database)
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    page = window.pages[0]
    wait_loaded(qtbot, page.model)
    return window, page


def _header_text_room(header, section: int) -> int:
    """The width a header section's label gets: its margins off, and beside the sort
    arrow the arrow's share (as Qt's common style lays out a header label)."""
    from PySide6.QtWidgets import QStyle

    margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    room = header.sectionSize(section) - 2 * margin
    if header.isSortIndicatorShown() and section == header.sortIndicatorSection():
        room -= header.height() // 2 + 2 * margin
    return room


def _check_columns_readable_beside_the_details(qtbot, database, width: int, height: int):
    window, page = _students_in_main_window(qtbot, database, width, height)
    student = page.model.row_at(0)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: student.full_name in page.detail.heading.text(), timeout=5000)
    QApplication.processEvents()
    assert page.detail.isVisible() and page.detail.width() >= page.detail.minimumWidth()
    # Nothing on the page asks for more width than the screen has: a window manager
    # would make the window that wide, off the edge of a 1024 px screen.
    assert window.minimumSizeHint().width() <= width
    table, header = page.table, page.table.horizontalHeader()
    titles = header.fontMetrics()
    for number, column in enumerate(page.model.columns):
        assert titles.horizontalAdvance(column.title) <= _header_text_room(header, number), (
            f"{column.title} header cut at {header.sectionSize(number)} px"
        )
    last = header.logicalIndex(header.count() - 1)
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= (
        table.viewport().width()
    ), "the last column ends inside the table, not behind the detail panel"
    assert table.horizontalScrollBar().maximum() == 0
    # Short values are shown whole; only the long text (name, e-mail) may end in "…",
    # and those columns keep room for a typical name.
    cells = table.fontMetrics()
    loaded = range(min(page.model.rowCount(), page.model.PAGE_SIZE))
    for number, column in enumerate(page.model.columns):
        if column.title in ("Name", "E-mail"):
            assert header.sectionSize(number) > cells.horizontalAdvance("Begoña Adeyemi") + 6
            continue
        widest = max(cells.horizontalAdvance(page.model.data(page.model.index(r, number)))
                     for r in loaded)  # fmt: skip
        assert widest < header.sectionSize(number), f"{column.title} values cut"
    ARTIFACTS.mkdir(exist_ok=True)
    window.grab().save(str(ARTIFACTS / f"students_{width}x{height}.png"))


def test_every_student_column_is_readable_beside_the_details_at_1024x700(
    qtbot, ops_hub, database, demo_school
):
    _check_columns_readable_beside_the_details(qtbot, database, 1024, 700)


def test_every_student_column_is_readable_beside_the_details_at_1280x800(
    qtbot, ops_hub, database, demo_school
):
    _check_columns_readable_beside_the_details(qtbot, database, 1280, 800)


def test_hiding_the_details_gives_the_table_the_width_and_is_remembered(
    qtbot, ops_hub, demo_school
):
    page = open_students_page(qtbot)
    assert page.detail.isVisible() and page.details_button.text() == "Hide details"
    assert page.details_button.focusPolicy() & Qt.FocusPolicy.TabFocus
    assert not page.splitter.isCollapsible(0), "dragging the divider never hides the list"
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert page.detail.isHidden() and page.details_button.text() == "Show details"
    assert page.table.width() == page.splitter.width()
    # Choosing a student works while the panel is hidden ...
    page.table.selectRow(4)
    assert page.edit_action.isEnabled()

    again = open_students_page(qtbot)
    assert again.detail.isHidden(), "hidden stays hidden after a restart"
    assert again.table.width() == again.splitter.width()
    student = again.model.row_at(4)
    again.table.selectRow(4)
    # ... and showing it shows that student.
    qtbot.mouseClick(again.details_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: student.full_name in again.detail.heading.text(), timeout=5000)
    assert again.detail.isVisible() and again.details_button.text() == "Hide details"
    assert again.detail.width() >= again.detail.minimumWidth()
    assert again.table.width() < again.splitter.width() - again.detail.minimumWidth()


def test_a_column_widened_by_hand_keeps_its_width_until_its_divider_is_double_clicked(
    qtbot, ops_hub, demo_school
):
    from PySide6.QtCore import QPoint

    page = open_students_page(qtbot)
    header = page.table.horizontalHeader()
    name = next(i for i, c in enumerate(page.model.columns) if c.title == "Name")
    fitted = header.sectionSize(name)
    divider = QPoint(header.sectionViewportPosition(name) + fitted - 1, header.height() // 2)
    qtbot.mousePress(header.viewport(), Qt.MouseButton.LeftButton, pos=divider)
    for step in range(5, 65, 5):
        qtbot.mouseMove(header.viewport(), divider + QPoint(step, 0))
    qtbot.mouseRelease(header.viewport(), Qt.MouseButton.LeftButton, pos=divider + QPoint(60, 0))
    widened = header.sectionSize(name)
    assert widened >= fitted + 50
    last = header.logicalIndex(header.count() - 1)
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= (
        page.table.viewport().width()
    ), "the other columns make room for it"
    # A new list is measured again, but not this column ...
    page.search.setText("an")
    page.apply_filters()
    wait_loaded(qtbot, page.model)
    assert header.sectionSize(name) == widened
    # ... nor after a restart.
    page.table.save_state()  # as the main window does when it closes
    again = open_students_page(qtbot)
    header = again.table.horizontalHeader()
    assert header.sectionSize(name) == widened
    # Double-clicking its divider hands it back to the fitter.
    divider = QPoint(header.sectionViewportPosition(name) + widened - 1, header.height() // 2)
    qtbot.mouseDClick(header.viewport(), Qt.MouseButton.LeftButton, pos=divider)
    assert header.sectionSize(name) == fitted
    assert "Name" not in again.column_fitter.sized_by_hand


def test_the_class_filter_lists_classes_as_people_read_them_and_filters_by_one(
    qtbot, ops_hub, demo_school
):
    page = open_students_page(qtbot)
    combo = page.class_filter
    qtbot.waitUntil(lambda: combo.count() > 10, timeout=10_000)
    listed = [combo.itemText(i) for i in range(1, combo.count())]
    grades = [int(name.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for name in listed]
    assert grades == sorted(grades), listed  # 1A … 9B before 10A, not 10A before 2A
    assert combo.itemText(0) == "All classes" and page.chosen_text(combo) is None
    tenth = next(name for name in listed if name.startswith("10"))
    combo.setCurrentIndex(combo.findText(tenth))
    qtbot.waitUntil(
        lambda: page.model.shows_latest_query and page.model.row_count_is_final, timeout=10_000
    )
    shown = {page.model.row_at(i).class_name for i in range(min(page.model.rowCount(), 30))}
    assert shown == {tenth}
    page.load_choices()  # reloading keeps the chosen class
    qtbot.waitUntil(lambda: not ops_hub.busy, timeout=10_000)
    assert page.chosen_text(combo) == tenth


def test_the_detail_panel_shows_attendance_per_course_with_the_rate(qtbot, ops_hub, demo_school,
                                                                    db):  # fmt: skip
    from sqlalchemy import text

    with db.sessions() as s:  # a student of a class whose lessons are in the demo
        number, present, late, absent = s.execute(text("""
            SELECT st.student_no,
                   count(*) FILTER (WHERE a.status = 'present'),
                   count(*) FILTER (WHERE a.status = 'late'),
                   count(*) FILTER (WHERE a.status = 'absent')
            FROM session_attendance a JOIN course_enrollment e ON e.id = a.enrollment_id
            JOIN student st ON st.id = e.student_id
            GROUP BY st.student_no, e.id ORDER BY count(*) DESC, 1 LIMIT 1""")).one()  # fmt: skip
    page = open_students_page(qtbot)
    page.search.setText(number)
    qtbot.waitUntil(lambda: page.model.query.search == number, timeout=5000)
    wait_loaded(qtbot, page.model)
    page.table.selectRow(0)
    table = page.detail.attendance_table
    qtbot.waitUntil(lambda: table.rowCount() > 0, timeout=5000)
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Course", "Held", "P", "A", "L", "E", "Rate"]
    rows = [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]  # fmt: skip
    expected_rate = f"{(present + late) / (present + late + absent):.0%}"
    assert any(row[2] == str(present) and row[4] == str(late) and row[6] == expected_rate
               and int(row[1]) >= present + late + absent for row in rows), rows  # fmt: skip
    page.grab().save(str(ARTIFACTS / "students_detail_attendance.png"))


def test_the_detail_panel_shows_the_students_events_with_team_days_and_certificates(
    qtbot, ops_hub, demo_school, db
):
    from sqlalchemy import text

    with db.sessions.begin() as s:  # a team member who came, gave feedback, got a certificate
        number, event_name, team, days, certificate = s.execute(text("""
            SELECT st.student_no, ev.name, t.name,
                   (SELECT count(*) FROM event_attendance a WHERE a.registration_id = r.id),
                   (SELECT min(c.certificate_no) FROM certificate c
                    WHERE c.registration_id = r.id AND c.revoked_at IS NULL)
            FROM event_registration r JOIN student st ON st.id = r.student_id
            JOIN event ev ON ev.id = r.event_id JOIN event_team t ON t.id = r.team_id
            WHERE EXISTS (SELECT FROM certificate c WHERE c.registration_id = r.id
                          AND c.revoked_at IS NULL)
              AND EXISTS (SELECT FROM event_feedback f WHERE f.registration_id = r.id)
            ORDER BY st.student_no LIMIT 1""")).one()  # fmt: skip
        # Its certificate revoked, as after a misprint: the panel says so beside the number.
        s.execute(text("UPDATE certificate SET revoked_at = now(), revoke_reason = 'Misprint' "
                       "WHERE certificate_no = :no"), {"no": certificate})  # fmt: skip
    page = open_students_page(qtbot)
    page.search.setText(number)
    qtbot.waitUntil(lambda: page.model.query.search == number, timeout=5000)
    wait_loaded(qtbot, page.model)
    page.table.selectRow(0)
    table = page.detail.registration_table

    def row_of(name):
        return next((r for r in range(table.rowCount()) if table.item(r, 0).text() == name), None)

    qtbot.waitUntil(lambda: row_of(event_name) is not None, timeout=5000)
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Event", "Team", "Days", "★", "Certificates"]
    row = row_of(event_name)
    cells = [table.item(row, c).text() for c in range(table.columnCount())]
    assert cells[1] == team and cells[2] == str(days)
    assert cells[3].endswith("/5")
    lines = cells[4].splitlines()
    assert lines[lines.index(certificate) + 1] == "  revoked"  # its state below the number
    assert table.item(row, 2).toolTip().startswith("Attended ")
    assert f"{certificate}: " in table.item(row, 4).toolTip() and "Misprint" in (
        table.item(row, 4).toolTip()
    )
    # Nothing runs off the side of the narrow panel, and the certificates read whole.
    header = table.horizontalHeader()
    assert header.length() <= table.viewport().width()
    lines = cells[4].splitlines()
    assert table.rowHeight(row) >= len(lines) * table.fontMetrics().height()

    def certificates_read_whole() -> bool:
        widest = max(table.fontMetrics().horizontalAdvance(line) for line in lines)
        return widest < header.sectionSize(4) and header.length() <= table.viewport().width()

    assert certificates_read_whole()
    assert "Registration REG-" in table.item(row, 0).toolTip()
    ARTIFACTS.mkdir(exist_ok=True)
    QApplication.processEvents()  # the heading's new text laid out
    page.grab().save(str(ARTIFACTS / "students_detail_events.png"))
    # As narrow as the panel gets (beside the list on a 1024 px screen): still whole.
    page.splitter.setSizes([10_000, page.detail.minimumWidth()])
    qtbot.waitUntil(lambda: page.detail.width() <= page.detail.minimumWidth() + 10, timeout=2000)
    QApplication.processEvents()
    assert certificates_read_whole()
    page.grab().save(str(ARTIFACTS / "students_detail_events_narrow.png"))
