"""Tools > Backups…: back up now, then restore after asking, with a safety backup."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from sqlalchemy import text

from ui.dialogs.backups_dialog import BackupsDialog

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT = 20_000


def names(db) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(text("SELECT last_name FROM student ORDER BY student_no")).scalars()
        )


def test_back_up_now_then_restore_after_confirming(qtbot, ops_hub, demo_school, db, tmp_path):
    dialog = BackupsDialog(None, folder=tmp_path / "backups")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: "No backups yet" in dialog.status.text(), timeout=WAIT)
    assert not dialog.restore_button.isEnabled()
    before = names(db)

    dialog.back_up_button.click()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=WAIT)
    assert dialog.table.item(0, 2).text() == "Made by hand"
    assert dialog.restore_button.isEnabled()
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.grab().save(str(ARTIFACTS / "backups_dialog.png"))

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE student SET last_name = 'Mistake'"))
    dialog.restore_selected()
    qtbot.waitUntil(lambda: getattr(dialog, "confirmation", None) is not None, timeout=WAIT)
    box = dialog.confirmation
    assert "450 students now" in box.informativeText()
    assert "safety backup" in box.informativeText()
    box.grab().save(str(ARTIFACTS / "backups_restore_question.png"))
    [restore] = [b for b in box.buttons() if b.text() == "&Restore"]
    with qtbot.waitSignal(ops_hub.changed, timeout=WAIT):
        restore.click()

    assert names(db) == before
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=WAIT)
    assert dialog.table.item(0, 2).text() == "Before restore"
    assert "The data as it was just before" in dialog.status.text()


def test_cancelling_the_question_changes_nothing(qtbot, ops_hub, db, tmp_path):
    dialog = BackupsDialog(None, folder=tmp_path)
    qtbot.addWidget(dialog)
    dialog.back_up_now()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=WAIT)
    dialog.restore_selected()
    qtbot.waitUntil(lambda: getattr(dialog, "confirmation", None) is not None, timeout=WAIT)
    dialog.confirmation.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.wait(200)
    assert dialog.table.rowCount() == 1  # no safety backup: nothing was restored


def test_a_run_is_undone_from_its_report_by_the_backup_taken_before_it(qtbot, ops_hub, db):
    """The run report names the backup taken before the run; Undo this run… opens the
    backups with that one chosen and asks, saying what else changed since."""
    import uuid

    from PySide6.QtWidgets import QLabel, QPushButton

    from app.db.backup import create_backup
    from app.runs.history import run_report
    from ui.widgets.run_history import RunReportDialog

    backup = create_backup(db.url, ops_hub.database.settings.backups_dir, reason="import")
    run_id = uuid.uuid4()
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO maintenance_run (id, school_id, kind, dry_run, actor, "
                          "status, finished_at, backup_file) VALUES (:id, :s, 'import', false, "
                          "'tester', 'succeeded', now(), :file)"),
                     {"id": run_id, "s": db.school.id, "file": backup.path.name})  # fmt: skip
    with db.sessions.begin() as session:
        report = run_report(session, db.context(), run_id)
    dialog = RunReportDialog(report)
    qtbot.addWidget(dialog)
    heading = dialog.findChildren(QLabel)[0].text()
    assert f"Backup taken just before: {backup.path.name}" in heading
    [undo] = [b for b in dialog.findChildren(QPushButton) if b.text() == "&Undo this run…"]

    undo.click()
    qtbot.waitUntil(lambda: getattr(dialog, "backups_dialog", None) is not None
                    and getattr(dialog.backups_dialog, "confirmation", None) is not None,
                    timeout=WAIT)  # fmt: skip
    box = dialog.backups_dialog.confirmation
    assert "safety backup" in box.informativeText()
    assert dialog.backups_dialog.selected().path.name == backup.path.name
    box.reject()
