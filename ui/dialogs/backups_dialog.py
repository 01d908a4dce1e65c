"""Tools > Backups…: the backups in the data folder, Back up now, and Restore….

Restore asks first, saying what it replaces (the students there are now, the changes
and runs since the backup) and that a safety backup of the data as it is now is taken
first. The work runs on the database worker (ui.ops) with progress and Cancel; the
window's own idle connections are closed first, since a restore needs the database to
itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.db.backup import (
    MANUAL,
    BackupInfo,
    backup_policy,
    check_restorable,
    create_backup,
    describe_replacement,
    known_revisions,
    list_backups,
    restore_with_safety_backup,
    what_restore_replaces,
)
from app.db.models import Base
from app.runtime import migrate_as_owner
from ui.ops import Op, hub
from ui.widgets.readonly_table import readonly_table


def size_text(size: int) -> str:
    return f"{size / 1_048_576:,.1f} MB" if size >= 104_858 else f"{size / 1024:,.0f} kB"


class BackupsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, folder: Path | None = None, *,
                 undo_file: str | None = None) -> None:  # fmt: skip
        """``undo_file``: the backup taken before a run the person wants to undo; it is
        chosen and its restore asked about (with what changed since) once listed."""
        super().__init__(parent)
        self.undo_file = undo_file
        self.setWindowTitle("Backups")
        self.resize(820, 460)
        self.folder = folder if folder is not None else hub().database.settings.backups_dir
        self.keep = backup_policy(self.folder, embedded=True).keep
        self.backups: list[BackupInfo] = []
        intro = QLabel(
            f"Rollbook backs the whole database up before every applied import, backfill "
            f"and repair, and keeps the last {self.keep} of those; backups you make here are "
            f"kept until you delete them. Folder: {self.folder}"
        )
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = readonly_table(["Taken", "Size", "Reason", "Run", "File"])
        header = self.table.horizontalHeader()
        for column in range(4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.back_up_button = QPushButton("&Back up now")
        self.back_up_button.clicked.connect(self.back_up_now)
        self.restore_button = QPushButton("&Restore…")
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(self.restore_selected)
        self.table.itemSelectionChanged.connect(
            lambda: self.restore_button.setEnabled(self.selected() is not None)
        )
        self.table.doubleClicked.connect(lambda _index: self.restore_selected())
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_up_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.refresh()

    # ------------------------------------------------------------ listing

    def refresh(self) -> None:
        folder = self.folder
        Op(self, lambda job: list_backups(folder), files=True,
           title="Reading the backups…").success(self._show).run()  # fmt: skip

    def _show(self, backups: list[BackupInfo]) -> None:
        self.backups = backups
        self.table.setRowCount(len(backups))
        for r, b in enumerate(backups):
            values = [f"{b.created_at.astimezone():%Y-%m-%d %H:%M:%S}", size_text(b.size),
                      b.reason_text.capitalize(), str(b.run_id)[:8] if b.run_id else "",
                      b.path.name]  # fmt: skip
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c == 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(r, c, item)
        if not backups:
            self.status.setText("No backups yet: Back up now makes one.")
        if self.undo_file is not None:
            self._undo([b.path.name for b in backups], self.undo_file)
            self.undo_file = None
        if backups and self.selected() is None:
            self.table.selectRow(0)

    def _undo(self, names: list[str], name: str) -> None:
        if name not in names:
            self.status.setText(f"The backup taken before that run, {name}, is no longer "
                                f"in {self.folder}: it cannot be undone from here.")  # fmt: skip
            return
        self.table.selectRow(names.index(name))
        self.restore_selected()

    def selected(self) -> BackupInfo | None:
        row = self.table.currentRow()
        rows = {i.row() for i in self.table.selectedItems()}
        return self.backups[row] if row in rows and 0 <= row < len(self.backups) else None

    # ------------------------------------------------------------ backing up

    def back_up_now(self) -> None:
        url, folder, keep = hub().database.target.url, self.folder, self.keep
        Op(self, lambda s, ctx, job: create_backup(url, folder, reason=MANUAL, keep=keep,
                                                   job=job),
           title="Backing up the database…").success(self._backed_up).run()  # fmt: skip

    def _backed_up(self, info: BackupInfo) -> None:
        self.status.setText(f"Backed up to {info.path} ({size_text(info.size)}).")
        self.refresh()

    # ------------------------------------------------------------ restoring

    def restore_selected(self) -> None:
        backup = self.selected()
        if backup is None:
            return
        url = hub().database.target.admin_url  # restoring is the schema owner's work

        def check(_s, _ctx, _job):
            hub().database.engine.dispose()  # the window's idle connections
            checked = check_restorable(url, backup.path, known_revisions())
            return checked, what_restore_replaces(url, checked)

        Op(self, check, title="Checking the backup…").success(
            lambda result: self._confirm(*result)).run()  # fmt: skip

    def _confirm(self, backup: BackupInfo, what) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Restore backup",
                          f"Restore the backup from {backup.created_at.astimezone():%Y-%m-%d %H:%M}?",
                          parent=self)  # fmt: skip
        box.setInformativeText(describe_replacement(what, backup))
        restore = box.addButton("&Restore", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.confirmation = box
        box.finished.connect(lambda _r: box.clickedButton() is restore and self._restore(backup))
        box.open()

    def _restore(self, backup: BackupInfo) -> None:
        database = hub().database
        url, folder, keep = database.target.admin_url, self.folder, self.keep

        def work(_s, _ctx, job):
            database.engine.dispose()
            result = restore_with_safety_backup(url, backup.path, folder, keep=keep, job=job)
            migrate_as_owner(database.target)  # a backup from before an update
            return result

        Op(self, work, title="Restoring the backup…").success(self._restored).run()

    def _restored(self, result: tuple[BackupInfo, BackupInfo]) -> None:
        safety, restored = result
        self.status.setText(
            f"Restored the backup from {restored.created_at.astimezone():%Y-%m-%d %H:%M}. "
            f"The data as it was just before is in {safety.path.name}."
        )
        # Everything may have changed: every page reloads what it shows.
        hub().changed.emit(frozenset(Base.metadata.tables))
        self.refresh()
