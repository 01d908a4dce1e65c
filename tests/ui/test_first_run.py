"""First start: the window says what it does while the database is created, then offers
demo data or an empty start. Every test creates a real cluster in its own folder."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog
from sqlalchemy import func, select

from app.config import Settings, needs_first_run, os_login
from app.db import migrate
from app.db.engine import stop_embedded
from app.db.models import AppUser, Student
from ui.first_run import FirstRunDialog, Stage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def first_run(qtbot, tmp_path):
    """A first-run window on a fresh data folder; stops its cluster afterwards."""
    settings = Settings(data_dir=tmp_path / "data", school_code="FIRST")
    dialogs: list[FirstRunDialog] = []

    def make(**kwargs) -> FirstRunDialog:
        dialog = FirstRunDialog(settings, **kwargs)
        qtbot.addWidget(dialog)
        dialogs.append(dialog)
        return dialog

    yield settings, make
    for dialog in dialogs:
        # A test may end while the database is still being created: let that finish.
        qtbot.waitUntil(lambda d=dialog: not d.initialising, timeout=120_000)
        qtbot.wait(1)  # deliver the thread's last signal
    for dialog in dialogs:
        if dialog.hub is not None:
            dialog.hub.shutdown()
        if dialog.database is not None:
            dialog.database.close()
    stop_embedded(settings.pgdata_dir)


def _wait_ready(qtbot, dialog: FirstRunDialog) -> None:
    qtbot.waitUntil(lambda: dialog.stage is not Stage.SETUP, timeout=120_000)
    assert dialog.stage is Stage.CHOICE, dialog.error_text.text()


def _save(widget, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    widget.grab().save(str(ARTIFACTS / name))


def test_creates_the_database_off_the_gui_thread_then_starts_empty(qtbot, first_run):
    settings, make = first_run
    settings.data_dir.mkdir()
    assert needs_first_run(settings)
    dialog = make()
    dialog.show()
    qtbot.waitExposed(dialog)
    ticks_while_creating: list[str] = []
    timer = QTimer(dialog, interval=20)
    timer.timeout.connect(
        lambda: (
            dialog.stage is Stage.SETUP and ticks_while_creating.append(dialog.setup_text.text())
        )
    )
    timer.start()
    dialog.start()
    assert dialog.stage is Stage.SETUP
    assert "Creating the database" in dialog.setup_text.text()
    _save(dialog, "first_run_1_creating.png")

    _wait_ready(qtbot, dialog)
    timer.stop()
    # The window kept handling events while the cluster was created and migrated.
    assert ticks_while_creating
    assert dialog.initialiser_thread and dialog.initialiser_thread != threading.main_thread().name
    assert dialog.focusWidget() is dialog.empty_button and dialog.empty_button.isDefault()
    _save(dialog, "first_run_2_choice.png")

    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.mouseClick(dialog.empty_button, Qt.MouseButton.LeftButton)
    database = dialog.database
    assert database is not None and migrate.is_at_head(database.engine)
    with database.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 0
        # The school's first account: an admin, linked to this computer's login.
        (admin,) = s.execute(select(AppUser.username, AppUser.role, AppUser.os_login,
                                    AppUser.password_hash)).all()  # fmt: skip
    assert admin == (os_login(), "admin", os_login(), None)
    assert (settings.pgdata_dir / "PG_VERSION").exists()
    assert not needs_first_run(settings)


def test_demo_data_fills_the_school_with_progress(qtbot, first_run):
    settings, make = first_run
    settings.data_dir.mkdir()
    dialog = make(demo_students=120)
    dialog.show()
    dialog.start()
    _wait_ready(qtbot, dialog)
    seen: list[str] = []
    with qtbot.waitSignal(dialog.accepted, timeout=120_000):
        qtbot.keyClick(dialog.demo_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: dialog.stage is Stage.DEMO, timeout=10_000)  # account first
        assert dialog.focusWidget() is dialog.demo_cancel
        seen.append(dialog.demo_text.text())
        _save(dialog, "first_run_3_demo.png")
    assert "120 students" in seen[0]
    with dialog.database.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 120


def test_cancelling_demo_data_goes_back_with_nothing_kept(qtbot, first_run):
    settings, make = first_run
    settings.data_dir.mkdir()
    dialog = make(demo_students=30_000)
    dialog.show()
    dialog.start()
    _wait_ready(qtbot, dialog)
    qtbot.mouseClick(dialog.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.stage is Stage.DEMO, timeout=10_000)
    qtbot.waitUntil(lambda: dialog.demo_bar.maximum() > 0, timeout=60_000)  # under way
    qtbot.mouseClick(dialog.demo_cancel, Qt.MouseButton.LeftButton)
    assert "Cancelling" in dialog.demo_text.text()
    qtbot.waitUntil(lambda: dialog.stage is Stage.CHOICE, timeout=60_000)
    assert dialog.result() != QDialog.DialogCode.Accepted and dialog.isVisible()
    with dialog.database.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 0


def test_a_data_folder_that_cannot_be_written_is_explained(qtbot, first_run, tmp_path):
    _settings, _make = first_run
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    dialog = FirstRunDialog(Settings(data_dir=blocker / "data"))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    qtbot.waitUntil(lambda: dialog.stage is Stage.FAILED, timeout=30_000)
    assert "cannot write to its data folder" in dialog.error_text.text()
    assert "Traceback" not in dialog.error_text.text()
    _save(dialog, "first_run_4_failed.png")
    with qtbot.waitSignal(dialog.rejected, timeout=5000):
        qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert dialog.failed


def test_closing_while_the_database_is_created_waits_for_it(qtbot, first_run):
    settings, make = first_run
    settings.data_dir.mkdir()
    dialog = make()
    dialog.show()
    dialog.start()
    dialog.close()
    assert dialog.isVisible() and "Closing as soon as" in dialog.setup_text.text()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=120_000)
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert dialog.database is not None  # created completely, then closed by the fixture


def test_the_first_admin_may_have_a_password(qtbot, first_run):
    settings, make = first_run
    settings.data_dir.mkdir()
    dialog = make()
    dialog.show()
    dialog.start()
    _wait_ready(qtbot, dialog)
    dialog.display_name.setText("Alice Admin")
    dialog.username.setText("alice")
    dialog.password.setText("a good password")
    dialog.password_again.setText("a good passw0rd")
    qtbot.mouseClick(dialog.empty_button, Qt.MouseButton.LeftButton)
    assert dialog.account_error.text() == "The two passwords differ."
    assert dialog.isVisible()
    dialog.password_again.setText("a good password")
    _save(dialog, "first_run_2_account.png")
    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.mouseClick(dialog.empty_button, Qt.MouseButton.LeftButton)
    from app.services.users import sign_in

    with dialog.database.sessions.begin() as s:
        signed = sign_in(s, dialog.database.school.id, "alice", "a good password")
    assert signed.ok and signed.user.display_name == "Alice Admin"
    assert signed.user.os_login == os_login()
