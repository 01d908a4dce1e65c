"""Sync in the window, on real databases (a school server and two desktops): the status
bar through offline → syncing → synced, Sync now (F9), and a conflict decided side by
side in Tools > Sync conflicts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, Qt
from sync_setup import SCHOOL, Desktop

from app.config import RunMode, Settings
from app.db.engine import DatabaseTarget
from app.runtime import Database
from app.services.schools import get_school
from app.services.students import StudentInput, create_student, update_student
from ui.ops import install_hub

OFFLINE = "postgresql://nobody@127.0.0.1:1/offline?connect_timeout=1"
SHOTS = Path(os.environ.get("ROLLBOOK_SHOTS", "")) if os.environ.get("ROLLBOOK_SHOTS") else None


def _replica(desktop: Desktop, tmp_path: Path, server_url: str | None = None) -> Database:
    with desktop.sessions.begin() as s:
        school = get_school(s, SCHOOL)
    settings = Settings(data_dir=tmp_path, server_url=server_url or desktop.server_url,
                        school_code=SCHOOL, actor=desktop.actor,
                        device_name=desktop.device)  # fmt: skip
    return Database(settings=settings,
                    target=DatabaseTarget(url=desktop.url, mode=RunMode.REPLICA,
                                          location="this desktop"),
                    engine=desktop.engine, sessions=desktop.sessions, school=school)  # fmt: skip


@pytest.fixture
def window_on(qapp, qtbot, tmp_path):
    """Opens the main window on a desktop in replica mode."""
    hubs = []

    def open_window(desktop: Desktop, server_url: str | None = None):
        from ui.main_window import MainWindow

        QCoreApplication.setOrganizationName("RollbookTests")
        QSettings().clear()
        database = _replica(desktop, tmp_path, server_url)
        hubs.append(install_hub(database))
        window = MainWindow(database)
        qtbot.addWidget(window)
        window.show()
        return window

    yield open_window
    for hub in hubs:
        hub.shutdown()


def _shot(widget, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(SHOTS / f"{name}.png"))


def test_the_status_bar_goes_offline_syncing_synced_and_sync_now_sends_a_change(
    sync_school, window_on, qtbot, tmp_path
):
    server, a, _b = sync_school
    window = window_on(a, OFFLINE)
    seen: list[str] = []
    window.sync.state_changed.connect(lambda text, _reason: seen.append(text))
    label = window.sync_label
    qtbot.waitUntil(lambda: "Offline" in label.text(), timeout=20_000)
    assert "trying again in" in label.text()
    assert "cannot be reached" in label.toolTip()
    _shot(window, "sync_offline")

    # Work goes on offline: the change waits, and the status bar counts it.
    with a.sessions.begin() as s:
        create_student(s, a.ctx(), StudentInput("S7", "Zoë", "Müller"))
    window.sync.refresh_counts()
    qtbot.waitUntil(lambda: "1 change to send" in label.text(), timeout=10_000)

    # The network is back: Sync now (F9) sends it.
    window.sync.database = _replica(a, tmp_path)
    qtbot.keyClick(window, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: "Synced at" in label.text(), timeout=20_000)
    assert "Syncing…" in " ".join(seen)
    assert "change" not in label.text()
    assert server.scalar("SELECT count(*) FROM student WHERE student_no = 'S7'") == 1
    _shot(window, "sync_synced")


def test_a_conflict_is_decided_side_by_side_from_the_status_bar(sync_school, window_on, qtbot):
    server, a, b = sync_school
    with a.sessions.begin() as s:
        student = create_student(s, a.ctx(), StudentInput("S1", "Ann", "Lee"))
    assert a.sync().ok and b.sync().ok
    with a.sessions.begin() as s:
        update_student(s, a.ctx(), student.id, {"first_name": "Anna"})
    with b.sessions.begin() as s:
        update_student(s, b.ctx(), student.id, {"first_name": "Annie"})
    assert a.sync().status == "synced"

    window = window_on(b)
    label = window.sync_label
    qtbot.waitUntil(lambda: "1 conflict" in label.text(), timeout=20_000)
    assert '<a href="conflicts">' in label.text()
    _shot(window.statusBar(), "sync_conflict_link")
    label.linkActivated.emit("conflicts")  # a click on the link
    dialog = window.sync_conflicts_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10_000)
    assert dialog.table.item(0, 2).text() == "student S1 Anna Lee"
    assert dialog.table.item(0, 3).text() == "First name"
    sides = {k: v.toPlainText() for k, v in dialog.side_views.items()}
    assert sides == {"base": "Ann", "local": "Annie", "server": "Anna"}
    words = [b.text() for b in dialog.choice_group.buttons()]
    assert words == ["&1 Keep the server's value", "&2 Keep this desktop's value",
                     "&3 Use another value:"]  # fmt: skip
    dialog.choice_group.buttons()[1].setChecked(True)  # this desktop's
    qtbot.waitUntil(lambda: "→ 'Annie'" in dialog.preview.toPlainText(), timeout=10_000)
    _shot(dialog, "sync_conflicts")
    qtbot.mouseClick(dialog.decide_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=10_000)
    assert "No conflicts wait" in dialog.status.text()
    window.sync.sync_now()
    qtbot.waitUntil(lambda: "Synced at" in label.text() and "conflict" not in label.text(),
                    timeout=20_000)  # fmt: skip
    assert server.scalar("SELECT first_name FROM student WHERE id = :i", i=student.id) == "Annie"


def test_another_value_is_typed_and_previewed_before_deciding(sync_school, window_on, qtbot):
    server, a, b = sync_school
    with a.sessions.begin() as s:
        student = create_student(s, a.ctx(), StudentInput("S1", "Ann", "Lee"))
    assert a.sync().ok and b.sync().ok
    with a.sessions.begin() as s:
        update_student(s, a.ctx(), student.id, {"class_name": "7A"})
    with b.sessions.begin() as s:
        update_student(s, b.ctx(), student.id, {"class_name": "7B"})
    assert a.sync().ok and b.sync().status == "conflicts"
    window = window_on(b)
    window.open_sync_conflicts()
    dialog = window.sync_conflicts_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10_000)
    dialog.choice_group.buttons()[2].setChecked(True)
    assert not dialog.decide_button.isEnabled()
    assert dialog.preview.toPlainText() == "Type the value to keep."
    qtbot.keyClicks(dialog.value_edit, "7C")
    qtbot.waitUntil(lambda: "→ '7C'" in dialog.preview.toPlainText(), timeout=10_000)
    assert dialog.decide_button.isEnabled()
    dialog.decide()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=10_000)
    assert b.sync().status == "synced"
    assert server.scalar("SELECT class_name FROM student WHERE id = :i", i=student.id) == "7C"


def test_pause_sync_stops_the_timer_and_says_so(sync_school, window_on, qtbot):
    _server, a, _b = sync_school
    window = window_on(a)
    qtbot.waitUntil(lambda: "Synced at" in window.sync_label.text(), timeout=20_000)
    window.pause_sync_action.setChecked(True)
    assert not window.sync.timer.isActive()
    assert window.sync_label.text().endswith("· paused")
    window.pause_sync_action.setChecked(False)
    assert window.sync.timer.isActive()


def test_a_desktop_connects_to_its_school_server_with_the_wizard(
    sync_cluster, qapp, qtbot, tmp_path, monkeypatch
):
    from app.domain.rows import SchoolRow
    from app.school_server import CONNECTION_FILE, load_school_server
    from app.services.schools import ensure_school
    from ui.main_window import MainWindow

    monkeypatch.setattr("app.school_server._keyring", lambda: None)
    server = sync_cluster.server()
    with server.sessions.begin() as s:
        for n in range(3):
            create_student(s, server.ctx(), StudentInput(f"S{n}", "Ada", f"Marsh{n}"))
    desk = sync_cluster.desktop("a", server)
    with desk.sessions.begin() as s:  # what the first start makes: an empty school
        first: SchoolRow = ensure_school(s, "MAIN", "Main School")
    QCoreApplication.setOrganizationName("RollbookTests")
    QSettings().clear()
    database = Database(settings=Settings(data_dir=tmp_path, school_code="MAIN",
                                          actor=desk.actor, device_name="laptop"),
                        target=DatabaseTarget(url=desk.url, mode=RunMode.EMBEDDED,
                                              location="this computer"),
                        engine=desk.engine, sessions=desk.sessions, school=first)  # fmt: skip
    hub = install_hub(database)
    try:
        window = MainWindow(database)
        qtbot.addWidget(window)
        window.show()
        assert not window.sync_action.isEnabled() and window.connect_action.isEnabled()
        window.open_connect_server()
        wizard = window.connect_wizard
        page = wizard.server_page
        assert page.device.text() == "laptop"
        qtbot.keyClicks(page.url, "ftp://nowhere")
        page.test()
        assert "starts with postgresql://" in page.answer.text()
        page.url.setText(desk.server_url)
        page.school.setText(SCHOOL.lower())
        page.device.setText(desk.device)
        page._edited()
        page.test()
        qtbot.waitUntil(page.isComplete, timeout=20_000)
        assert f'knows this desktop as "{desk.device}"' in page.answer.text()
        _shot(wizard, "connect_server")
        wizard.next()
        qtbot.waitUntil(lambda: wizard.currentPage() is not wizard.copy_page, timeout=30_000)
        assert "rows were copied" in wizard.currentPage().text.text()
        _shot(wizard, "connect_done")
        wizard.accept()
        qtbot.waitUntil(lambda: hasattr(window, "sync_label"), timeout=5_000)
        assert window.windowTitle() == "Rollbook — Sync School"
        assert window.database.school.code == SCHOOL
        qtbot.waitUntil(lambda: "Synced at" in window.sync_label.text(), timeout=20_000)
        kept = load_school_server(tmp_path)
        assert kept is not None and kept.device_name == desk.device
        assert (tmp_path / CONNECTION_FILE).exists()
        assert desk.scalar("SELECT count(*) FROM student") == 3

        # Settings: how often, kept with the connection; Pause as in the Tools menu.
        from ui.dialogs.sync_settings import SyncSettingsGroup

        window.open_settings()
        qtbot.waitUntil(lambda: bool(window.findChildren(SyncSettingsGroup)), timeout=5_000)
        group = window.findChildren(SyncSettingsGroup)[0]
        _shot(group.window(), "sync_settings")
        group.interval.setValue(5)
        assert load_school_server(tmp_path).interval_s == 300
        assert window.sync.database.settings.sync_interval_s == 300
        assert 280_000 < window.sync.timer.remainingTime() <= 320_000  # coarse timers drift
        group.pause.setChecked(True)
        assert window.pause_sync_action.isChecked() and not window.sync.timer.isActive()
        from mnemonics import window_clashes

        assert window_clashes(group.window()) == {}

        # The server moved: a new address is kept once the server answers for this
        # school and this desktop.
        from ui.dialogs.sync_settings import ChangeServerDialog

        change = ChangeServerDialog(group)
        qtbot.addWidget(change)
        assert change.page.school.isReadOnly() and change.page.device.isReadOnly()
        # the same server by another spelling (no driver name, no empty password)
        moved = desk.server_url.replace("postgresql+psycopg://", "postgresql://", 1).replace(
            ":@", "@")  # fmt: skip
        change.page.url.setText(moved)
        change.page._edited()
        change.page.test()
        qtbot.waitUntil(change.page.isComplete, timeout=20_000)
        change._save()
        assert load_school_server(tmp_path).url == moved
        window.set_server_url(change.kept.url)
        assert window.sync.database.settings.server_url == moved
        window.pause_sync_action.setChecked(False)
        window.sync.sync_now()
        qtbot.waitUntil(lambda: "Synced at" in window.sync_label.text()
                        and window.sync.running is None, timeout=20_000)  # fmt: skip
    finally:
        hub.shutdown()


def test_conflicts_alike_are_decided_together_after_a_preview(
    sync_school, window_on, qtbot, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    server, a, b = sync_school
    with a.sessions.begin() as s:
        students = [create_student(s, a.ctx(), StudentInput(f"S{n}", "Ann", f"Lee{n}"))
                    for n in range(3)]  # fmt: skip
    assert a.sync().ok and b.sync().ok
    for side, class_name in ((a, "9C"), (b, "8A")):
        with side.sessions.begin() as s:
            for student in students[:2]:
                update_student(s, side.ctx(), student.id, {"class_name": class_name})
    with b.sessions.begin() as s:  # and one conflict of another kind of column
        update_student(s, b.ctx(), students[2].id, {"first_name": "Bo"})
    with a.sessions.begin() as s:
        update_student(s, a.ctx(), students[2].id, {"first_name": "Cy"})
    assert a.sync().ok and b.sync().status == "conflicts"
    window = window_on(b)
    window.open_sync_conflicts()
    dialog = window.sync_conflicts_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 3, timeout=10_000)
    row = next(r for r in range(3) if dialog.table.item(r, 3).text() == "Class name")
    dialog.table.setCurrentCell(row, 0)
    qtbot.mouseClick(dialog.like_button, Qt.MouseButton.LeftButton)
    assert len(dialog.selected()) == 2 and {c.column for c in dialog.selected()} == {"class_name"}
    assert [b.property("take") for b in dialog.choice_group.buttons()] == ["server", "local"]
    dialog.choice_group.buttons()[1].setChecked(True)  # this desktop's, for both
    qtbot.waitUntil(lambda: dialog.preview.toPlainText().count("→ '8A'") == 2, timeout=10_000)
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)  # fmt: skip
    dialog.decide()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10_000)
    assert b.sync().status == "conflicts"  # the first name's is still open
    assert server.rows("SELECT class_name FROM student WHERE student_no IN ('S0', 'S1')") == [
        ("8A",), ("8A",)]  # fmt: skip


def test_a_whole_row_is_selected_and_decided_at_once(sync_school, window_on, qtbot, monkeypatch):
    server, a, b = sync_school
    with a.sessions.begin() as s:
        student = create_student(s, a.ctx(), StudentInput("S1", "Ann", "Lee"))
    assert a.sync().ok and b.sync().ok
    for side, first, class_name in ((a, "Anna", "9C"), (b, "Annie", "8A")):
        with side.sessions.begin() as s:
            update_student(s, side.ctx(), student.id,
                           {"first_name": first, "class_name": class_name})  # fmt: skip
    assert a.sync().ok and b.sync().open_conflicts == 2
    window = window_on(b)
    window.open_sync_conflicts()
    dialog = window.sync_conflicts_dialog
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=10_000)
    dialog.table.setCurrentCell(0, 0)
    qtbot.mouseClick(dialog.row_button, Qt.MouseButton.LeftButton)
    assert {c.column for c in dialog.selected()} == {"first_name", "class_name"}
    dialog.choice_group.buttons()[0].setChecked(True)  # the server's, for the row
    qtbot.waitUntil(dialog.decide_button.isEnabled, timeout=10_000)
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)  # fmt: skip
    dialog.decide()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=10_000)
    assert b.sync().status == "synced"
    assert server.rows("SELECT first_name, class_name FROM student") == [("Anna", "9C")]


def test_a_desktop_away_too_long_reinitialises_from_the_status_bar(
    sync_school, window_on, qtbot
):
    """Away past the server's retention: the status bar says so, the wizard previews the
    changes waiting here, sends them, and brings the fresh copy."""
    from sqlalchemy import text

    from app.sync.prune import prune_tombstones

    server, a, b = sync_school
    with a.sessions.begin() as s:
        gone = create_student(s, a.ctx(), StudentInput("S1", "Old", "Record"))
    assert a.sync().ok
    with server.sessions.begin() as s:
        s.execute(text("UPDATE student SET deleted_at = now() - interval '200 days' "
                       "WHERE id = :i"), {"i": gone.id})  # fmt: skip
        s.execute(text("UPDATE sync_device SET last_seen_at = now() - interval '200 days' "
                       "WHERE name = :n"), {"n": a.device})  # fmt: skip
    prune_tombstones(server.url, commit=True)
    with a.sessions.begin() as s:
        create_student(s, a.ctx(), StudentInput("S2", "Zoë", "Müller"))

    window = window_on(a)
    label = window.sync_label
    qtbot.waitUntil(lambda: "Re-initialise required" in label.text(), timeout=20_000)
    assert '<a href="reinit">' in label.text() and "1 change to send" in label.text()
    assert "away longer than the school server keeps deleted rows" in label.toolTip()
    _shot(window.statusBar(), "sync_reinit_link")
    label.linkActivated.emit("reinit")
    wizard = window.reinit_wizard
    page = wizard.preview_page
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    assert page.table.rowCount() == 1
    assert page.table.item(0, 2).text() == "student S2 Zoë Müller"
    assert page.table.item(0, 3).text() == "added"
    assert "none is lost" in page.summary.text()
    _shot(wizard, "sync_reinit_preview")
    assert server.scalar("SELECT count(*) FROM student WHERE student_no = 'S2'") == 0
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is not wizard.reinit_page, timeout=30_000)
    done_text = wizard.currentPage().text.text()
    assert "Sent 1 waiting change" in done_text and "1 row the server no longer has" in done_text
    _shot(wizard, "sync_reinit_done")
    wizard.accept()
    qtbot.waitUntil(lambda: "Synced at" in label.text(), timeout=20_000)
    assert a.scalar("SELECT count(*) FROM student WHERE student_no = 'S1'") == 0
    assert server.scalar("SELECT count(*) FROM student WHERE student_no = 'S2'") == 1
