"""Signing in to the window and locking it, on a real database: the dialog at start-up,
five wrong passwords locking the account, Lock (Ctrl+L) hiding the window until a
password is given, another person signing in at the lock, and the audit log naming
whoever is signed in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog
from sqlalchemy import text

from app.services.users import add_user
from ui.main_window import MainWindow
from ui.sign_in import sign_in_at_start

SHOTS = Path(os.environ["ROLLBOOK_SHOTS"]) if os.environ.get("ROLLBOOK_SHOTS") else None
ALICE = "alice's password"
BOB = "bob's password"


def _shot(widget, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(SHOTS / f"{name}.png"))


@pytest.fixture
def accounts(db):
    with db.sessions.begin() as s:
        add_user(s, db.context(), "alice", "admin", ALICE, display_name="Alice Admin")
        add_user(s, db.context(), "bob", "staff", BOB, display_name="Bob Staff")


def _start(qtbot, database, login: str = "someone-else"):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    outcome: list = []
    sign_in_at_start(window, login, then=lambda start: (outcome.append(start),
                                                        window.attach(database)),
                     cancelled=lambda: outcome.append("quit"))  # fmt: skip
    return window, outcome


def _type(qtbot, dialog, username: str, password: str) -> None:
    dialog.username.setText(username)
    dialog.password.setText(password)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)


def test_the_window_asks_who_signs_in_and_locks_out_after_five_wrong_passwords(
    db, database, ops_hub, accounts, qtbot
):
    window, outcome = _start(qtbot, database)
    qtbot.waitUntil(lambda: hasattr(window, "sign_in_dialog"), timeout=10_000)
    dialog = window.sign_in_dialog
    assert dialog.windowTitle() == "Sign in to Rollbook"
    _shot(dialog, "sign_in")
    for _attempt in range(5):
        _type(qtbot, dialog, "alice", "not it")
        qtbot.waitUntil(lambda: dialog.sign_in_button.isEnabled()
                        and dialog.message.text() != "Signing in…", timeout=10_000)  # fmt: skip
        assert dialog.password.text() == ""  # cleared for the next try
    assert dialog.message.text() == "Too many wrong passwords: alice is locked for 5 minutes."
    _type(qtbot, dialog, "alice", ALICE)
    qtbot.waitUntil(lambda: "more minutes" in dialog.message.text(), timeout=10_000)
    _shot(dialog, "sign_in_locked_out")
    assert outcome == []
    with db.sessions.begin() as s:  # five minutes later
        s.execute(text("UPDATE app_user SET locked_until = now() - interval '1 second'"))
    _type(qtbot, dialog, "alice", ALICE)
    qtbot.waitUntil(lambda: bool(outcome), timeout=10_000)
    assert ops_hub.signed_in.username == "alice"
    assert window.window_lock.label.text() == "Signed in as alice (admin)"


def test_quitting_at_the_sign_in_closes_rollbook(database, ops_hub, accounts, qtbot):
    window, outcome = _start(qtbot, database)
    qtbot.waitUntil(lambda: hasattr(window, "sign_in_dialog"), timeout=10_000)
    window.sign_in_dialog.reject()
    assert outcome == ["quit"] and ops_hub.signed_in is None


def test_the_only_account_linked_to_this_login_starts_without_the_dialog(
    db, database, ops_hub, qtbot
):
    with db.sessions.begin() as s:
        add_user(s, db.context(), "desk", "registrar", None, os_login="frontdesk")
    window, outcome = _start(qtbot, database, login="frontdesk")
    qtbot.waitUntil(lambda: bool(outcome), timeout=10_000)
    assert not hasattr(window, "sign_in_dialog")
    assert ops_hub.signed_in.username == "desk"
    # No password to unlock with: the window cannot be locked.
    assert not window.window_lock.action.isEnabled()
    assert "signed in with a password" in window.window_lock.action.toolTip()


def test_lock_hides_the_window_and_another_person_carries_on(
    db, database, ops_hub, accounts, qtbot
):
    window, outcome = _start(qtbot, database)
    qtbot.waitUntil(lambda: hasattr(window, "sign_in_dialog"), timeout=10_000)
    _type(qtbot, window.sign_in_dialog, "alice", ALICE)
    qtbot.waitUntil(lambda: bool(outcome), timeout=10_000)
    qtbot.waitUntil(lambda: window.window_lock.action.isEnabled(), timeout=5_000)
    window.activateWindow()  # as a person's click on it after the dialog closed
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "lock_dialog", None) is not None, timeout=5_000)
    dialog = window.lock_dialog
    assert not window.centralWidget().isVisible()  # nothing of the school's shows
    assert dialog.windowTitle() == "Rollbook is locked"
    assert dialog.username.text() == "alice"
    _shot(window, "locked_window")
    _shot(dialog, "lock_dialog")
    _type(qtbot, dialog, "bob", BOB)
    qtbot.waitUntil(lambda: window.centralWidget().isVisible(), timeout=10_000)
    assert ops_hub.signed_in.username == "bob"
    assert window.window_lock.label.text() == "Signed in as bob (staff)"

    # What bob does is his in the audit log; what staff may not do is refused.
    from app.services.courses import create_course
    from ui.ops import Op

    done: list = []
    Op(window, lambda session, ctx, _job: create_course(session, ctx, "Chemistry"),
       show_progress=False).success(done.append).failure(done.append).run()  # fmt: skip
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert "bob (staff) may not add or edit courses" in str(done[0])
    with db.sessions.begin() as s:
        s.execute(text("UPDATE app_user SET role = 'registrar' WHERE username = 'bob'"))
    window.window_lock.lock()
    window.lock_dialog.password.setText(BOB)  # the locked account's own, then Enter
    qtbot.keyClick(window.lock_dialog.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.centralWidget().isVisible(), timeout=10_000)
    done.clear()
    Op(window, lambda session, ctx, _job: create_course(session, ctx, "Chemistry"),
       show_progress=False).success(done.append).failure(done.append).run()  # fmt: skip
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    with db.sessions.begin() as s:
        actor = s.execute(text("SELECT actor FROM audit_log WHERE entity = 'course'")).scalar()
    assert actor == "bob"


def test_the_window_locks_itself_after_the_idle_time(database, ops_hub, accounts, qtbot):
    window, outcome = _start(qtbot, database)
    qtbot.waitUntil(lambda: hasattr(window, "sign_in_dialog"), timeout=10_000)
    _type(qtbot, window.sign_in_dialog, "alice", ALICE)
    qtbot.waitUntil(lambda: bool(outcome), timeout=10_000)
    idle = window.window_lock.idle
    qtbot.waitUntil(lambda: idle.minutes == 15 and idle.timer.isActive(), timeout=5_000)
    idle.timer.start(50)  # fifteen minutes, shortened
    qtbot.waitUntil(lambda: getattr(window, "lock_dialog", None) is not None, timeout=5_000)
    assert not window.centralWidget().isVisible()


def test_the_window_greys_out_what_the_role_may_not_do_and_says_why(
    db, database, ops_hub, accounts, qtbot
):
    from app.services.students import StudentInput, create_student

    with db.sessions.begin() as s:
        create_student(s, db.context(), StudentInput("S1", "Ann", "Lee"))
    window, outcome = _start(qtbot, database)
    qtbot.waitUntil(lambda: hasattr(window, "sign_in_dialog"), timeout=10_000)
    _type(qtbot, window.sign_in_dialog, "bob", BOB)  # staff
    qtbot.waitUntil(lambda: bool(outcome), timeout=10_000)
    assert not window.import_action.isEnabled()
    assert window.import_action.toolTip() == ("Bob (staff) may not import rosters; this needs "
                                              "the admin or registrar role.")  # fmt: skip
    students = window.pages[0]
    new_button = students.buttons[students.new_action]
    assert not new_button.isEnabled() and "may not add, edit or delete students" in (
        new_button.toolTip())  # fmt: skip
    qtbot.waitUntil(lambda: students.model.rowCount() == 1, timeout=10_000)
    students.table.selectRow(0)
    detail = students.detail
    qtbot.waitUntil(lambda: detail.enrollment_table.isEnabled(), timeout=10_000)
    assert not detail.enroll_button.isEnabled()
    assert "may not enroll or unenroll students" in detail.enroll_button.toolTip()
    assert detail.history_button.isHidden()  # staff do not read the audit log
    _shot(window, "staff_window")
    # Staff take registers and run the event desk; the office schedules and sets up.
    from ui.pages.event_list import EventListPage
    from ui.pages.requests import RequestsPage
    from ui.pages.sessions import SessionsPage

    sessions = next(p for p in window.pages if isinstance(p, SessionsPage))
    assert not sessions.new_button.isEnabled()
    assert "may not schedule, edit or cancel class sessions" in sessions.new_button.toolTip()
    events = next(p for p in window.pages if isinstance(p, EventListPage))
    assert not events.new_button.isEnabled() and not events.new_action.isEnabled()
    assert "may not create, edit, open, close or cancel events" in events.new_button.toolTip()
    requests = next(p for p in window.pages if isinstance(p, RequestsPage))
    assert all("may not approve or reject" in b.toolTip() for b in requests.buttons)

    window.window_lock.lock()  # alice (admin) takes over at the lock
    _type(qtbot, window.lock_dialog, "alice", ALICE)
    qtbot.waitUntil(lambda: window.import_action.isEnabled(), timeout=10_000)
    assert "Import students" in window.import_action.toolTip()
    assert new_button.isEnabled() and detail.enroll_button.isEnabled()
    assert not detail.history_button.isHidden()
    assert sessions.new_button.isEnabled() and events.new_button.isEnabled()
    assert sessions.new_button.toolTip() == "Schedule a session or a series of them (Ctrl+N)"


def test_an_admin_sets_the_sign_in_rules_in_settings_and_staff_see_why_not(
    db, database, ops_hub, accounts, qtbot
):
    from app.services.users import account_rules
    from ui.dialogs.settings_dialog import SettingsDialog

    window, outcome = _start(qtbot, database)
    qtbot.waitUntil(lambda: hasattr(window, "sign_in_dialog"), timeout=10_000)
    _type(qtbot, window.sign_in_dialog, "alice", ALICE)
    qtbot.waitUntil(lambda: bool(outcome), timeout=10_000)
    settings = SettingsDialog(window)
    qtbot.addWidget(settings)
    settings.show()
    group = settings.account_rules
    qtbot.waitUntil(lambda: group.idle_minutes.isEnabled(), timeout=10_000)
    assert group.idle_minutes.value() == 15 and not group.require_passwords.isChecked()
    _shot(settings, "settings_sign_in_rules")
    group.require_passwords.click()
    qtbot.waitUntil(lambda: group.rules.require_passwords, timeout=10_000)
    qtbot.waitUntil(lambda: group.idle_minutes.isEnabled(), timeout=10_000)
    group.idle_minutes.setFocus()
    group.idle_minutes.selectAll()
    qtbot.keyClicks(group.idle_minutes, "5")
    qtbot.keyClick(group.idle_minutes, Qt.Key.Key_Return)  # saves; opens nothing else
    qtbot.waitUntil(lambda: group.rules.idle_lock_minutes == 5, timeout=10_000)
    assert settings.isVisible()  # Enter confirmed the field; it closed nothing
    assert not [w for w in QApplication.topLevelWidgets()
                if isinstance(w, QFileDialog) and w.isVisible()]  # and opened no chooser
    assert window.window_lock.idle.minutes == 5  # this window locks sooner at once
    with db.sessions.begin() as s:
        rules = account_rules(s, db.context())
    assert (rules.require_passwords, rules.idle_lock_minutes) == (True, 5)
    settings.close()

    # Staff read the rules but may not change them, and are told why.
    window.window_lock.lock()
    _type(qtbot, window.lock_dialog, "bob", BOB)
    qtbot.waitUntil(lambda: window.centralWidget().isVisible(), timeout=10_000)
    staff_settings = SettingsDialog(window)
    qtbot.addWidget(staff_settings)
    staff_settings.show()
    staff_group = staff_settings.account_rules
    qtbot.waitUntil(lambda: staff_group.rules is not None, timeout=10_000)
    assert staff_group.idle_minutes.value() == 5
    assert not staff_group.idle_minutes.isEnabled()
    assert "may not change the school's settings" in staff_group.idle_minutes.toolTip()
