"""Sessions page: New sessions… schedules a term of lessons in one dialog, with a
preview of the dates before anything is created."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from conftest import wait_loaded
from PySide6.QtCore import QDate, Qt, QTime
from sqlalchemy import func, select

from app.db.models import ClassSession
from app.services.courses import create_course
from ui.dialogs.schedule_dialog import ScheduleDialog
from ui.pages.sessions import SessionsPage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_term_of_tuesday_thursday_lessons_in_one_dialog(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        create_course(s, ctx, "Biology")
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
    dialog.grab().save(str(ARTIFACTS / "sessions_new_series.png"))
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.mouseClick(dialog.schedule_button, Qt.MouseButton.LeftButton)
    assert said.args[0] == "Scheduled 30 sessions of Biology, Tue 01 Sep 2026 to Thu 17 Dec 2026."
    with db.sessions() as s:
        rows = s.execute(select(ClassSession.session_date, ClassSession.series_id)).all()
    assert len(rows) == 30 and len({series for _, series in rows}) == 1
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
