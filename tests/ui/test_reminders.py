"""Reminders and announcements in the window: each poll is called with a fixed time (the
timers are stopped), and its work runs on the database worker like any operation."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QSystemTrayIcon, QToolButton

from app.db.engine import make_session_factory
from app.db.models import ClassSession
from app.domain.enums import SessionFrequency
from app.domain.recurrence import Recurrence
from app.services.class_sessions import SessionPlan, schedule_sessions, update_session
from app.services.courses import find_or_create_course
from ui import preferences
from ui.dialogs.settings_dialog import SettingsDialog
from ui.main_window import MainWindow
from ui.reminders import SessionReminders

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TUESDAY = date(2026, 12, 8)
REMINDER = "Biology 7A starts at 09:00 on Tue 8 Dec (until 09:45, Lab 1)"


def _at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(TUESDAY.year, TUESDAY.month, TUESDAY.day, hour, minute, second)


def _session(db, course: str = "Biology 7A", **columns) -> uuid.UUID:
    with db.sessions.begin() as s:
        find_or_create_course(s, db.context(), course)
        plan = SessionPlan(course, Recurrence(SessionFrequency.ONE_TIME, first=TUESDAY),
                           "09:00", "09:45", location="Lab 1")  # fmt: skip
        session_id = schedule_sessions(s, db.context(), plan).session_ids[0]
        row = s.get(ClassSession, session_id)
        for name, value in columns.items():
            setattr(row, name, value)
    return session_id


@pytest.fixture
def window(qtbot, ops_hub, database) -> MainWindow:
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.resize(1300, 700)
    window.show()
    qtbot.waitExposed(window)
    window.reminders.stop()  # the tests poll themselves, at the times they choose
    return window


def _poll(qtbot, reminders: SessionReminders, now: datetime) -> None:
    with qtbot.waitSignal(reminders.polled, timeout=10_000):
        assert reminders.poll(now) is not None


def test_a_due_reminder_shows_in_the_notification_area_once(qtbot, db, window):
    _session(db, alarm_enabled=True, alarm_before_minutes=15)
    area = window.reminders.area
    assert not area.isVisible()
    _poll(qtbot, window.reminders, _at(8, 45, 20))
    assert area.texts() == [REMINDER]
    assert area.isVisible() and area.latest.text() == REMINDER
    button = window.statusBar().findChild(QToolButton, "notificationButton")
    assert button.text() == "1 new notification"
    area.more.click()  # Show all (1): read now
    assert area.listed and area.more.text() == "Show less" and button.text() == "Notifications"
    area.more.click()
    assert not area.listed and area.more.text() == "Show all (1)"
    _poll(qtbot, window.reminders, _at(8, 46, 5))
    # Even a window that overlaps the last one shows it no second time.
    window.reminders.after = _at(8, 40)
    _poll(qtbot, window.reminders, _at(8, 47))
    assert area.texts() == [REMINDER]
    # Without a system tray (the offscreen platform has none) the area is where it shows.
    assert not QSystemTrayIcon.isSystemTrayAvailable() and window.reminders.tray is None
    area.dismiss()
    assert not area.isVisible() and button.text() == "Notifications"
    button.click()  # brings the bar back with every notice listed
    assert area.isVisible() and area.listed and area.list.count() == 1


def test_turning_reminders_off_in_settings_stops_them_at_once(qtbot, db, window):
    _session(db, alarm_enabled=True, alarm_before_minutes=15)
    settings = SettingsDialog(window)
    qtbot.addWidget(settings)
    assert settings.reminders.isChecked() and settings.announcements.isChecked()
    settings.reminders.setChecked(False)
    assert QSettings().value(preferences.REMINDERS, type=bool) is False
    _poll(qtbot, window.reminders, _at(8, 45, 20))
    assert window.reminders.area.texts() == []
    assert SettingsDialog(window).reminders.isChecked() is False  # remembered


def test_a_change_made_in_another_transaction_is_announced(qtbot, db, window):
    session_id = _session(db)
    _poll(qtbot, window.reminders, _at(8, 0))  # the first look: where the log is
    assert window.reminders.area.texts() == []
    elsewhere = make_session_factory(db.engine, actor="office desk")
    with elsewhere.begin() as s:
        update_session(s, db.context(), session_id, {"start_time": "10:00", "end_time": "10:45"})
    _poll(qtbot, window.reminders, _at(8, 1))
    assert window.reminders.area.texts() == [
        "Biology 7A on Tue 8 Dec moved to 10:00–10:45 (was 09:00–09:45)"]  # fmt: skip
    assert "Changed by office desk" in window.reminders.area.notices[0].detail
    _poll(qtbot, window.reminders, _at(8, 2))
    assert len(window.reminders.area.texts()) == 1  # announced once


def test_announcements_turned_off_and_on_again_do_not_replay_the_gap(qtbot, db, window):
    session_id = _session(db)
    _poll(qtbot, window.reminders, _at(8, 0))
    preferences.set_on(preferences.ANNOUNCEMENTS, False)
    with db.sessions.begin() as s:
        update_session(s, db.context(), session_id, {"location": "Lab 2"})
    _poll(qtbot, window.reminders, _at(8, 1))
    preferences.set_on(preferences.ANNOUNCEMENTS, True)
    _poll(qtbot, window.reminders, _at(8, 2))
    with db.sessions.begin() as s:
        update_session(s, db.context(), session_id, {"status": "cancelled"})
    _poll(qtbot, window.reminders, _at(8, 3))
    assert window.reminders.area.texts() == ["Biology 7A on Tue 8 Dec cancelled"]


def test_the_window_with_notices_and_the_settings_dialog_render(qtbot, db, window):
    """PNGs for a person to look at: two announcements and a reminder, listed."""
    biology = _session(db, alarm_enabled=True, alarm_before_minutes=15)
    chemistry = _session(db, "Chemistry 7B")
    _poll(qtbot, window.reminders, _at(8, 20))
    with db.sessions.begin() as s:
        update_session(s, db.context(), chemistry, {"status": "cancelled"})
        update_session(s, db.context(), biology, {"location": "Lab 2"})
    _poll(qtbot, window.reminders, _at(8, 45, 20))
    area = window.reminders.area
    assert len(area.texts()) == 3 and area.texts()[0].startswith("Biology 7A starts at 09:00")
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(50)
    assert window.grab().save(str(ARTIFACTS / "notifications_bar.png"))
    area.toggle_list(True)
    qtbot.wait(50)
    assert window.grab().save(str(ARTIFACTS / "notifications.png"))
    settings = SettingsDialog(window)
    qtbot.addWidget(settings)
    settings.show()
    qtbot.waitExposed(settings)
    qtbot.waitUntil(settings.excused_rule.isEnabled, timeout=10_000)  # the school's rule read
    assert settings.grab().save(str(ARTIFACTS / "settings_dialog.png"))


def test_the_schools_excused_rule_is_set_in_settings_for_everyone(qtbot, db, window):
    from app.services.attendance import excused_needs_reason

    settings = SettingsDialog(window)
    qtbot.addWidget(settings)
    qtbot.waitUntil(settings.excused_rule.isEnabled, timeout=10_000)
    assert settings.excused_rule.isChecked()  # on by default
    settings.excused_rule.setChecked(False)
    qtbot.waitUntil(settings.excused_rule.isEnabled, timeout=10_000)
    with db.sessions() as s:
        assert excused_needs_reason(s, db.context()) is False
