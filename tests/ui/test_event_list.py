"""Events page: create an event with the keyboard, move it along its status flow with
the buttons, read each event's figures (registrations, attendance per day as a bar
chart, certificates, rating), and edit an event from the list with Enter."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path

from conftest import wait_loaded
from event_setup import FAIR_DAYS, add_event, add_student, build_events
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from app.domain.enums import EventStatus
from app.jobs import Job
from app.services import certificates, checkin, event_setup, registrations
from app.services.event_setup import EventInput
from ui.actions.export_list import describe_export, write_export
from ui.dialogs.event_dialog import EventDialog
from ui.models.event_list import (
    ATTENDANCE,
    BARS_ROLE,
    CERTIFICATES,
    DATES,
    EVENT,
    RATING,
    REGISTERED,
    STATUS,
    WAITING,
    dates_text,
)
from ui.pages.event_list import CancelEventQuestion, EventListPage
from ui.widgets.day_bars import bar_rects

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
Key = Qt.Key
Alt = Qt.KeyboardModifier.AltModifier
STEP_NAMES = {EventStatus.OPEN: "open", EventStatus.CLOSED: "close",
              EventStatus.COMPLETED: "held", EventStatus.CANCELLED: "cancel"}  # fmt: skip


def _page(qtbot: QtBot, width: int = 1280, height: int = 520) -> EventListPage:
    page = EventListPage()
    qtbot.addWidget(page)
    page.resize(width, height)
    page.show()
    qtbot.waitExposed(page)
    wait_loaded(qtbot, page.model)
    return page


def _cell(page: EventListPage, row: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    return page.model.data(page.model.index(row, column), role)


def _shown(qtbot: QtBot, page: EventListPage, name: str, column: int, expected: str) -> int:
    """Wait until the list shows ``expected`` for the event ``name``; its row."""

    def row() -> int:
        names = [_cell(page, r, EVENT) for r in range(page.model.rowCount())]
        return names.index(name) if name in names else -1

    qtbot.waitUntil(lambda: row() >= 0 and _cell(page, row(), column) == expected, timeout=10_000)
    return row()


def _enabled_steps(page: EventListPage) -> set[str]:
    return {STEP_NAMES[s] for s, button in page.step_buttons.items() if button.isEnabled()}


def _active(qtbot: QtBot, window) -> None:
    # A desktop's window manager activates a new dialog; the offscreen platform has none.
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def _dialog(qtbot: QtBot, page: EventListPage) -> EventDialog:
    qtbot.waitUntil(lambda: page.findChild(EventDialog) is not None, timeout=5000)
    dialog = page.findChild(EventDialog)
    _active(qtbot, dialog)
    return dialog


def _status(db, event_id: uuid.UUID) -> str:
    with db.sessions() as s:
        return s.execute(text("SELECT status FROM event WHERE id = :id"), {"id": event_id}).scalar()


def test_a_new_event_with_the_keyboard_then_along_its_status_flow(qtbot, ops_hub, db):
    page = _page(qtbot)
    assert page.model.rowCount() == 0 and page.count_label.text() == "0 events"
    assert not page.edit_button.isEnabled() and _enabled_steps(page) == set()
    page.table.setFocus()
    qtbot.keyClick(page.table, Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = _dialog(qtbot, page)
    assert dialog.windowTitle() == "New event" and dialog.name.hasFocus()
    qtbot.keyClicks(dialog.name, "Science Fair")
    qtbot.keyClick(dialog, Key.Key_V, Alt)
    assert dialog.venue.hasFocus()
    qtbot.keyClicks(dialog.venue, "Main hall")
    qtbot.keyClick(dialog, Key.Key_L, Alt)
    assert dialog.last.hasFocus()
    for _ in range(2):  # the last day two days on: a three-day event
        qtbot.keyClick(dialog.last, Key.Key_Up)
    assert dialog.length.text() == "3 days"
    assert dialog.certificate_hint.text() == "of 3 days attended"
    qtbot.keyClick(dialog, Key.Key_P, Alt)
    assert dialog.capacity.hasFocus() and dialog.capacity.text() == "No limit"
    qtbot.keyClicks(dialog.capacity, "40")
    qtbot.keyClick(dialog, Key.Key_D, Alt)
    qtbot.keyClicks(dialog.certificate_days, "2")
    assert not dialog.team_min.isEnabled()
    qtbot.keyClick(dialog, Key.Key_T, Alt)  # Teams register
    qtbot.waitUntil(dialog.teams.isChecked, timeout=2000)
    assert dialog.team_min.isEnabled() and dialog.team_max.isEnabled()
    qtbot.keyClick(dialog, Key.Key_Z, Alt)
    assert dialog.team_min.hasFocus()
    qtbot.keyClicks(dialog.team_min, "3")
    assert dialog.team_max.value() == 4  # still at least the smallest
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.keyClick(dialog.team_min, Key.Key_Return)
    assert said.args[0] == "Created Science Fair, a draft: open registration when it is ready."

    today = date.today()
    row = _shown(qtbot, page, "Science Fair", STATUS, "Draft")
    assert _cell(page, row, DATES) == dates_text(today, today + timedelta(days=2))
    assert _cell(page, row, REGISTERED) == "0 / 0" and _cell(page, row, WAITING) == "0"
    assert _cell(page, row, CERTIFICATES) == "—" and _cell(page, row, RATING) == "—"
    assert page.count_label.text() == "1 event"
    qtbot.waitUntil(lambda: page.chosen() is not None, timeout=5000)  # the new event
    with db.sessions() as s:
        saved = event_setup.find_event(s, db.context(), "science fair")
    assert (saved.venue, saved.capacity, saved.certificate_min_days) == ("Main hall", 40, 2)
    assert (saved.allow_individual, saved.allow_teams) == (True, True)
    assert (saved.team_size_min, saved.team_size_max) == (3, 4)

    # Each button moves the event one step on; only the steps its status allows are on.
    for button, shown, steps in [
        (EventStatus.OPEN, "Open", {"close", "cancel"}),
        (EventStatus.CLOSED, "Closed", {"held", "cancel"}),
        (EventStatus.COMPLETED, "Completed", set()),
    ]:
        with qtbot.waitSignal(page.status_message, timeout=10_000):
            qtbot.mouseClick(page.step_buttons[button], Qt.MouseButton.LeftButton)
        _shown(qtbot, page, "Science Fair", STATUS, shown)
        qtbot.waitUntil(lambda s=steps: _enabled_steps(page) == s, timeout=5000)
        assert _status(db, saved.id) == button.value
    assert page.edit_button.isEnabled()  # it shows a held event's details, read-only


def test_cancelling_asks_first_and_enter_keeps_the_event(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        event_id = add_event(s, ctx, "Chess Club Cup", date(2026, 12, 12), status="draft")
    page = _page(qtbot)
    page.table.selectRow(0)
    assert _enabled_steps(page) == {"open", "cancel"}
    cancel = page.step_buttons[EventStatus.CANCELLED]
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    question = page.findChild(CancelEventQuestion)
    _active(qtbot, question)
    assert "Cancel Chess Club Cup?" in question.text()
    qtbot.keyClick(question, Key.Key_Return)  # Enter keeps it
    qtbot.waitUntil(lambda: page.findChild(CancelEventQuestion) is None, timeout=5000)
    assert _status(db, event_id) == "draft"

    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    question = page.findChild(CancelEventQuestion)
    _active(qtbot, question)
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.keyClick(question, Key.Key_A, Alt)  # C&ancel event
    assert said.args[0] == "Chess Club Cup is cancelled."
    _shown(qtbot, page, "Chess Club Cup", STATUS, "Cancelled")
    qtbot.waitUntil(lambda: _enabled_steps(page) == set(), timeout=5000)
    assert _status(db, event_id) == "cancelled"


def test_a_step_someone_else_made_impossible_is_refused_in_words(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        event_id = add_event(s, ctx, "Quiz Night", date(2026, 11, 5))  # open
    page = _page(qtbot)
    page.table.selectRow(0)
    assert _enabled_steps(page) == {"close", "cancel"}
    with db.sessions.begin() as s:  # another desk held it meanwhile
        s.execute(text("UPDATE event SET status = 'completed' WHERE id = :id"), {"id": event_id})
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.mouseClick(page.step_buttons[EventStatus.CLOSED], Qt.MouseButton.LeftButton)
    assert said.args[0] == ("Quiz Night is a completed event and cannot become closed: it "
                            "cannot change any more; create a new event instead.")  # fmt: skip
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())  # fmt: skip
    assert box.text() == said.args[0]
    box.close()
    _shown(qtbot, page, "Quiz Night", STATUS, "Completed")  # the list caught up
    qtbot.waitUntil(lambda: _enabled_steps(page) == set(), timeout=5000)


def _fair_and_quiz(db, ctx) -> dict:
    """tests/event_setup.py's fair and quiz, with Hana in a team at the fair, feedback
    from Ada (5) and Ben (4), and the fair's waiting list behind five places."""
    with db.sessions.begin() as s:
        ids = build_events(s, ctx)
        team = uuid.uuid4()
        s.execute(text("INSERT INTO event_team (id, school_id, event_id, name) "
                       "VALUES (:id, :s, :e, 'Owls')"),
                  {"id": team, "s": ctx.school_id, "e": ids["fair"]})  # fmt: skip
        s.execute(text("UPDATE event SET allow_teams = true, team_size_min = 1, "
                       "team_size_max = 3, capacity = 5 WHERE id = :e"), {"e": ids["fair"]})  # fmt: skip
        s.execute(text("""INSERT INTO event_registration (id, school_id, event_id, student_id,
                          registration_no, team_id) VALUES (gen_random_uuid(), :s, :e, :st,
                          'REG-2026-00008', :t)"""),
                  {"s": ctx.school_id, "e": ids["fair"], "st": ids["S8"], "t": team})  # fmt: skip
        checkin.set_feedback(s, ctx, "REG-2026-00001", 5)
        checkin.set_feedback(s, ctx, "REG-2026-00002", 4, "Too short")
    return ids


def test_each_event_with_its_figures_and_a_bar_per_day(
    qtbot, qtmodeltester, ops_hub, db, ctx, tmp_path
):
    _fair_and_quiz(db, ctx)
    page = _page(qtbot)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    qtmodeltester.check(page.model, force_py=True)
    quiz, fair = 0, 1  # newest first
    assert [_cell(page, r, EVENT) for r in (quiz, fair)] == ["Quiz Night", "Science Fair"]
    assert [_cell(page, fair, c) for c in range(8)] == [
        "Science Fair", "10–11 Oct 2026", "Open", "4 / 1", "1", "4, 3 of 5", "4.5",
        "participation 1",
    ]  # fmt: skip
    assert [_cell(page, quiz, c) for c in range(8)] == [
        "Quiz Night", "5 Nov 2026", "Open", "1 / 0", "0", "0 of 1", "—", "—",
    ]  # fmt: skip
    tip = Qt.ItemDataRole.ToolTipRole
    assert _cell(page, fair, ATTENDANCE, tip) == (
        "Checked in, of 5 students registered:\nSat 10 Oct 2026: 4 (80%)\nSun 11 Oct 2026: 3 (60%)"
    )
    assert _cell(page, fair, REGISTERED, tip) == (
        "4 on their own, 1 in 1 team\n5 of 5 places taken, 0 left\n1 cancelled"
    )
    assert _cell(page, fair, RATING, tip) == "Average of 2 ratings (1 to 5)"
    bars = _cell(page, fair, ATTENDANCE, BARS_ROLE)
    assert [(b.day, b.attended, b.registered, b.share) for b in bars] == [
        (FAIR_DAYS[0], 4, 5, 0.8), (FAIR_DAYS[1], 3, 5, 0.6)]  # fmt: skip
    assert _cell(page, fair, EVENT, BARS_ROLE) is None
    # The header shows the list's one order, and keeps it when clicked.
    header = page.table.horizontalHeader()
    with qtbot.waitSignal(page.status_message) as said:
        middle = header.sectionViewportPosition(RATING) + header.sectionSize(RATING) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(middle, header.height() // 2))  # fmt: skip
    assert said.args[0] == "The list cannot be sorted by Rating."
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
        DATES, Qt.SortOrder.DescendingOrder)  # fmt: skip

    # File > Export writes the figures as the list shows them.
    path = tmp_path / "events.csv"
    with db.sessions() as s:
        assert write_export(s, ctx, Job(), describe_export(page.model), path) == 2
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ("Event,Dates,Status,Registered,Waiting,Attendance per day,Rating,"
                        "Certificates")  # fmt: skip
    assert lines[2] == 'Science Fair,10–11 Oct 2026,Open,4 / 1,1,"4, 3 of 5",4.5,participation 1'

    # The bars are painted: the first day's bar is filled to 80% of the cell, the
    # second's only to 60%, over its track.
    page.table.clearSelection()
    qtbot.wait(50)
    view = page.table.viewport()
    image = view.grab().toImage()
    rect = page.table.visualRect(page.model.index(fair, ATTENDANCE))
    first, second = bar_rects(rect.toRectF(), 2)
    bar_colour = page.table.palette().color(QPalette.ColorRole.Highlight).rgb()

    def colour(x: float, y: float) -> int:
        ratio = view.devicePixelRatioF()
        return image.pixelColor(QPoint(int(x * ratio), int(y * ratio))).rgb()

    at = second.top() + second.height() * 0.3  # above 60%, below 80% of the height
    assert colour(first.center().x(), at) == bar_colour
    assert colour(second.center().x(), at) != bar_colour
    assert colour(second.center().x(), second.bottom() - 1) == bar_colour


def test_edit_an_events_capacity_from_the_list_with_enter(qtbot, ops_hub, db, ctx):
    ids = _fair_and_quiz(db, ctx)
    page = _page(qtbot)
    fair = _shown(qtbot, page, "Science Fair", WAITING, "1")
    page.table.selectRow(fair)
    page.table.setFocus()
    qtbot.keyClick(page.table, Key.Key_Return)
    dialog = _dialog(qtbot, page)
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=10_000)
    assert dialog.windowTitle() == "Edit event — Science Fair"
    assert dialog.capacity.value() == 5 and dialog.teams.isChecked()
    assert dialog.length.text() == "2 days" and dialog.certificate_days.value() == 2
    qtbot.keyClick(dialog, Key.Key_P, Alt)
    qtbot.keyClicks(dialog.capacity, "3")
    qtbot.keyClick(dialog.capacity, Key.Key_Return)
    qtbot.waitUntil(lambda: "capacity of 3" in dialog.message.text(), timeout=10_000)
    assert dialog.message.text() == (
        "Science Fair has 5 students registered; a capacity of 3 would leave some without a "
        "place. Keep it at 5 or more, or cancel registrations first."
    )
    assert dialog.isVisible() and dialog.capacity.hasFocus()  # on what to change
    dialog.capacity.selectAll()
    qtbot.keyClicks(dialog.capacity, "6")
    assert dialog.message.text() == ""
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.keyClick(dialog.capacity, Key.Key_Return)
    assert said.args[0] == ("Saved Science Fair. 1 student moved up from the waiting list: "
                            "Cleo Marsh (REG-2026-00003).")  # fmt: skip
    _shown(qtbot, page, "Science Fair", WAITING, "0")
    fair = _shown(qtbot, page, "Science Fair", REGISTERED, "5 / 1")
    assert "6 of 6 places taken" in _cell(page, fair, REGISTERED, Qt.ItemDataRole.ToolTipRole)
    with db.sessions() as s:
        assert event_setup.get_event(s, ctx, ids["fair"]).capacity == 6


def test_a_double_click_opens_a_held_event_read_only(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        add_event(s, ctx, "Sports Day", date(2026, 6, 1), status="completed")
    page = _page(qtbot)
    cell = page.table.visualRect(page.model.index(0, EVENT)).center()
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    dialog = _dialog(qtbot, page)
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=10_000)
    assert "is completed; its details can no longer be changed" in dialog.heading.text()
    assert not dialog.form.isEnabled() and not dialog.save_button.isEnabled()


# ------------------------------------------------------------ pictures
def _school_year(db, ctx) -> None:
    """Three events as an organiser sees them in December: Robotics Open Day open, on
    its second of three days; the Science Fair held, with certificates and feedback; the
    Spring Concert still a draft."""
    today = date.today()
    with db.sessions.begin() as s:
        for n, first in enumerate(["Ada", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana",
                                   "Ivo", "Jana", "Kai", "Lena"], start=1):  # fmt: skip
            add_student(s, ctx, f"S{n}", first)
        robotics = event_setup.create_event(s, ctx, EventInput(
            "Robotics Open Day", today - timedelta(days=1), today + timedelta(days=1),
            venue="Lab 2", capacity=10, allow_teams=True, team_size_min=2, team_size_max=4,
            registration_closes_at=datetime.combine(today + timedelta(days=1), time(12, 0))
            .astimezone(), certificate_min_days=2)).id  # fmt: skip
        fair = event_setup.create_event(s, ctx, EventInput(
            "Science Fair", date(2026, 10, 10), date(2026, 10, 11), venue="Main hall",
            capacity=40, certificate_min_days=2)).id  # fmt: skip
        event_setup.create_event(s, ctx, EventInput(
            "Spring Concert", date(2027, 3, 20), date(2027, 3, 20), venue="Auditorium"))  # fmt: skip
        for event_id in (robotics, fair):
            event_setup.set_event_status(s, ctx, event_id, "open")
        for n in range(1, 8):
            registrations.register_student(s, ctx, robotics, f"S{n}")
        registrations.create_team(s, ctx, robotics, "Owls", ["S8", "S9", "S10"])
        registrations.register_student(s, ctx, robotics, "S11", waitlist_if_full=True)
        registrations.register_student(s, ctx, robotics, "S12", waitlist_if_full=True)
        for n in range(1, 10):
            checkin.check_in(s, ctx, robotics, f"S{n}", today - timedelta(days=1))
        for n in (1, 2, 3, 5, 8, 9):
            checkin.check_in(s, ctx, robotics, f"S{n}", today)
        for n in range(1, 13):
            registrations.register_student(s, ctx, fair, f"S{n}")
        for n in range(1, 13):
            checkin.check_in(s, ctx, fair, f"S{n}", date(2026, 10, 10))
        for n in range(1, 11):
            checkin.check_in(s, ctx, fair, f"S{n}", date(2026, 10, 11))
        for status in ("closed", "completed"):
            event_setup.set_event_status(s, ctx, fair, status)
        certificates.issue_certificates(s, ctx, fair)
        fair_numbers = list(s.execute(text(
            "SELECT registration_no FROM event_registration WHERE event_id = :e "
            "ORDER BY registration_no"), {"e": fair}).scalars())  # fmt: skip
        certificates.issue_certificates(s, ctx, fair, "merit", fair_numbers[:3])
        certificates.issue_certificates(s, ctx, fair, "winner", fair_numbers[:1])
        for number, rating in zip(fair_numbers, [5, 4, 5, 3, 4, 5, 4], strict=False):
            checkin.set_feedback(s, ctx, number, rating)


def test_pictures_of_the_page_and_the_dialog(qtbot, ops_hub, db, ctx):
    _school_year(db, ctx)
    page = _page(qtbot, 1280, 360)
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=10_000)
    assert [_cell(page, r, EVENT) for r in range(3)] == ["Spring Concert", "Robotics Open Day",
                                                         "Science Fair"]  # fmt: skip
    assert [_cell(page, 1, c) for c in (STATUS, REGISTERED, WAITING, ATTENDANCE)] == [
        "Open", "7 / 3", "2", "9, 6 of 10"]  # fmt: skip
    assert [_cell(page, 2, c) for c in (STATUS, CERTIFICATES, RATING)] == [
        "Completed", "participation 10, merit 3, winner 1", "4.3"]  # fmt: skip
    # Beside the window's page list on a 1024 px screen (about 170 px), the page fits.
    assert page.minimumSizeHint().width() <= 1024 - 170
    page.table.selectRow(1)
    qtbot.waitUntil(lambda: _enabled_steps(page) == {"close", "cancel"}, timeout=5000)
    qtbot.wait(50)
    ARTIFACTS.mkdir(exist_ok=True)
    assert page.grab().save(str(ARTIFACTS / "events_page.png"))

    dialog = page.edit_event()
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=10_000)
    assert dialog.teams.isChecked() and dialog.closes.isChecked()
    qtbot.wait(50)
    assert dialog.grab().save(str(ARTIFACTS / "events_dialog.png"))
    dialog.reject()
