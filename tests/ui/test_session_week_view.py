"""Sessions page, week view: the week's sessions by day and time, coloured by status;
the arrow keys and Enter (or a double-click) open a session's register; Page Up/Down
and the week buttons change the week; the filters and changes made anywhere reload it."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import wait_loaded
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip
from week_setup import WEEK, build_week

from app.services.class_sessions import update_session
from app.services.courses import get_course_by_name
from app.services.session_week import week_start
from ui.dialogs.register_dialog import RegisterDialog
from ui.ops import Op
from ui.pages.sessions import SessionsPage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TUESDAY, THURSDAY = WEEK + timedelta(days=1), WEEK + timedelta(days=3)


@pytest.fixture
def week(db, ctx):
    with db.sessions.begin() as s:
        return build_week(s, ctx)


def _week_page(qtbot) -> SessionsPage:
    """The Sessions page at the size it has in a 1280 x 800 window, switched to the week
    of 7 December 2026 with its sessions loaded."""
    page = SessionsPage()
    qtbot.addWidget(page)
    page.resize(1280 - 170, 800 - 70)
    page.show()
    qtbot.waitExposed(page)
    wait_loaded(qtbot, page.model)
    qtbot.mouseClick(page.week_button, Qt.MouseButton.LeftButton)
    page.week_view.go_to_week(WEEK)
    _wait_week(qtbot, page)
    return page


def _wait_week(qtbot, page: SessionsPage) -> None:
    qtbot.waitUntil(lambda: page._week_op is None and page.week_view.count_label.text()
                    not in ("Loading…", ""), timeout=10_000)  # fmt: skip


def _shown(page: SessionsPage) -> dict:
    """Each block on the grid: session id -> (the day of its column, its lane of lanes)."""
    grid = page.week_view.grid
    days = grid.days()
    return {p.session.id: (days[p.column], p.lane, p.lanes) for p in grid.placed()}


def _focus_grid(qtbot, page: SessionsPage) -> None:
    """The page's window active and the grid focused, as after a click on it: shortcuts
    (Ctrl+T, Ctrl+W) reach the focused widget of the active window only."""
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page, timeout=5000)
    page.week_view.grid.setFocus()
    qtbot.waitUntil(page.week_view.grid.hasFocus, timeout=5000)


def _choose(combo, value) -> None:
    # findData cannot find a UUID (each is a Python object of its own to Qt).
    combo.setCurrentIndex(next(i for i in range(combo.count()) if combo.itemData(i) == value))


def _highlighted(page: SessionsPage):
    chosen = page.week_view.highlighted()
    return chosen.id if chosen else None


def _register_opened(qtbot, page: SessionsPage) -> RegisterDialog:
    qtbot.waitUntil(lambda: page.findChild(RegisterDialog) is not None, timeout=5000)
    dialog = page.findChild(RegisterDialog)
    qtbot.waitUntil(lambda: dialog.register is not None, timeout=10_000)
    return dialog


def test_the_week_shows_each_session_on_its_day_coloured_by_status(qtbot, ops_hub, week):
    page = _week_page(qtbot)
    view, grid = page.week_view, page.week_view.grid
    assert not page.table.isVisible() and view.isVisible()
    assert view.title.text() == "Week of Mon 7 Dec 2026"
    assert view.count_label.text() == "9 sessions"
    # Monday to Friday: no session falls on the weekend.
    assert grid.days() == [WEEK + timedelta(days=n) for n in range(5)]
    shown = _shown(page)
    assert {name: shown[week[name]][0] for name in week if week[name] in shown} == {
        "maths_mon": WEEK, "bio_tue": TUESDAY, "history": TUESDAY,
        "maths_wed": WEEK + timedelta(days=2), "chemistry": WEEK + timedelta(days=2),
        "bio_thu": THURSDAY, "art": THURSDAY, "maths_fri": WEEK + timedelta(days=4),
        "music": WEEK + timedelta(days=4),
    }  # fmt: skip
    # Biology 09:00–09:45 and History 09:30–10:30 overlap: side by side, not on top.
    assert shown[week["bio_tue"]][1:] == (0, 2) and shown[week["history"]][1:] == (1, 2)
    bio, history = (grid.block_rect(p) for p in grid.placed()
                    if p.session.id in (week["bio_tue"], week["history"]))  # fmt: skip
    assert not bio.intersects(history) and bio.left() < history.left()
    assert bio.top() < history.top() < bio.bottom()  # later, and drawn lower down
    # Thursday's Biology and Art do not overlap: each has the day's full width.
    assert shown[week["bio_thu"]][1:] == (0, 1) and shown[week["art"]][1:] == (0, 1)
    # Hovering a block tells all about it.
    art = next(p for p in grid.placed() if p.session.id == week["art"])
    centre = grid.block_rect(art).center().toPoint()
    QApplication.sendEvent(grid, QHelpEvent(QEvent.Type.ToolTip, centre, grid.mapToGlobal(centre)))
    assert QToolTip.text() == (
        "<b>Art</b><br>Thursday 10 December 2026, 13:00–14:30 (90 min)<br>Studio · in-person<br>"
        "Cancelled · no marks yet<br><i>Double-click or Enter: open the register</i>"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.grab().save(str(ARTIFACTS / "sessions_week_view.png"))


def test_arrow_keys_and_enter_open_the_register_of_the_highlighted_session(qtbot, ops_hub, week):
    page = _week_page(qtbot)
    grid = page.week_view.grid
    _focus_grid(qtbot, page)
    qtbot.keyClick(grid, Qt.Key.Key_Home)
    assert _highlighted(page) == week["maths_mon"]
    # Right: the Tuesday session nearest to 10:00 is History (09:30); Up: Biology before it.
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert _highlighted(page) == week["history"]
    qtbot.keyClick(grid, Qt.Key.Key_Up)
    assert _highlighted(page) == week["bio_tue"]
    qtbot.keyClick(grid, Qt.Key.Key_Up)  # nothing before it: it stays
    assert _highlighted(page) == week["bio_tue"]
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    dialog = _register_opened(qtbot, page)
    assert dialog.session_id == week["bio_tue"]
    assert (dialog.register.course_name, dialog.register.session_date) == ("Biology", TUESDAY)
    assert [dialog.mark_of(r) for r in range(dialog.table.rowCount())] == ["present", "late",
                                                                           None]  # fmt: skip
    dialog.reject()
    qtbot.waitUntil(lambda: page.findChild(RegisterDialog) is None, timeout=5000)
    qtbot.waitUntil(lambda: page.window().focusWidget() is grid, timeout=5000)  # as it was
    # Across the week: Wednesday's 10:00 Mathematics, then Thursday's Biology.
    for _ in range(2):
        qtbot.keyClick(grid, Qt.Key.Key_Right)
    assert _highlighted(page) == week["bio_thu"]
    qtbot.keyClick(grid, Qt.Key.Key_Down)
    assert _highlighted(page) == week["art"]
    # Take attendance… (Ctrl+T) opens the highlighted session too.
    assert page.register_button.isEnabled()
    _focus_grid(qtbot, page)
    qtbot.keyClick(grid, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    dialog = _register_opened(qtbot, page)
    assert dialog.session_id == week["art"]
    dialog.reject()


def test_a_double_click_on_a_block_opens_its_register(qtbot, ops_hub, week):
    page = _week_page(qtbot)
    grid = page.week_view.grid
    music = next(p for p in grid.placed() if p.session.id == week["music"])
    centre = grid.block_rect(music).center().toPoint()
    qtbot.mouseDClick(grid, Qt.MouseButton.LeftButton, pos=centre)
    dialog = _register_opened(qtbot, page)
    assert dialog.session_id == week["music"] and dialog.register.course_name == "Music"
    assert _highlighted(page) == week["music"]
    dialog.reject()


def test_page_down_and_the_week_buttons_change_the_week(qtbot, ops_hub, week):
    page = _week_page(qtbot)
    view, grid = page.week_view, page.week_view.grid
    grid.setFocus()
    grid.highlight(week["bio_tue"])
    qtbot.keyClick(grid, Qt.Key.Key_PageDown)
    _wait_week(qtbot, page)
    assert view.title.text() == "Week of Mon 14 Dec 2026"
    assert view.count_label.text() == "2 sessions"  # Biology, Tuesday and Thursday
    # The highlight stays on the timetable's slot: next Tuesday's Biology.
    assert _highlighted(page) == week["bio_next_tue"]
    qtbot.keyClick(grid, Qt.Key.Key_PageUp)
    qtbot.keyClick(grid, Qt.Key.Key_PageUp)
    _wait_week(qtbot, page)
    assert view.title.text() == "Week of Mon 30 Nov 2026"
    # The Sunday with the chess club is shown; the empty Saturday is not.
    assert grid.days()[-1] == date(2026, 12, 6) and len(grid.days()) == 6
    assert set(_shown(page)) == {week["bio_prev_tue"], week["bio_prev_thu"],
                                 week["chess_sunday"]}  # fmt: skip
    qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)
    _wait_week(qtbot, page)
    assert view.title.text() == "Week of Mon 7 Dec 2026" and len(_shown(page)) == 9
    qtbot.mouseClick(view.this_week_button, Qt.MouseButton.LeftButton)
    assert view.monday == week_start(date.today())


def test_the_filters_and_changes_made_elsewhere_reload_the_week(qtbot, ops_hub, db, ctx, week):
    page = _week_page(qtbot)
    view = page.week_view
    with db.sessions() as s:
        biology = get_course_by_name(s, ctx, "Biology")
    _choose(page.course_filter, biology.id)
    qtbot.waitUntil(lambda: view.count_label.text() == "2 sessions", timeout=10_000)
    assert set(_shown(page)) == {week["bio_tue"], week["bio_thu"]}
    # Cancelled elsewhere (here through an operation, as the list's editor would): the
    # week shows it at once, greyed.
    Op(None, lambda s, c, job: update_session(s, c, week["bio_thu"], {"status": "cancelled"})
       ).run()  # fmt: skip
    qtbot.waitUntil(lambda: any(p.session.id == week["bio_thu"] and p.session.status
                                == "cancelled" for p in view.grid.placed()),
                    timeout=10_000)  # fmt: skip
    page.status_filter.setCurrentIndex(page.status_filter.findData("cancelled"))
    qtbot.waitUntil(lambda: set(_shown(page)) == {week["bio_thu"]}, timeout=10_000)
    page.course_filter.setCurrentIndex(0)  # all courses: Art was cancelled too
    qtbot.waitUntil(lambda: set(_shown(page)) == {week["bio_thu"], week["art"]}, timeout=10_000)
    # Cancelled where Rollbook does not hear of it (another desktop on the server): the
    # week shows it after a refresh (F5, View > Refresh).
    with db.sessions.begin() as s:
        update_session(s, ctx, week["maths_fri"], {"status": "cancelled"})
    page.model.refresh()
    qtbot.waitUntil(lambda: week["maths_fri"] in _shown(page), timeout=10_000)


def test_the_chosen_view_is_remembered_and_ctrl_w_switches(qtbot, ops_hub, week):
    page = _week_page(qtbot)
    assert QSettings().value("sessions/view") == "week"
    again = SessionsPage()
    qtbot.addWidget(again)
    again.resize(1110, 730)
    again.show()
    qtbot.waitUntil(lambda: len(_shown(again)) > 0 or again.week_view.count_label.text()
                    not in ("", "Loading…"), timeout=10_000)  # fmt: skip
    assert again.week_view.isVisible() and not again.table.isVisible()
    assert again.week_button.isChecked()
    again.close()
    _focus_grid(qtbot, page)
    qtbot.keyClick(page.week_view.grid, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert page.table.isVisible() and not page.week_view.isVisible()
    qtbot.waitUntil(lambda: page.window().focusWidget() is page.table, timeout=5000)
    assert QSettings().value("sessions/view") == "list"
