"""Tools > Settings…, on a desktop that syncs: where it syncs, how often, and Pause.

The server and device name are the ones the desktop was connected with (Tools > Connect
to a school server…, kept in the data folder) or that ROLLBOOK_SERVER_URL and
ROLLBOOK_DEVICE_NAME give; the password is never shown. **Change…** takes a new address
or password for the same server (it moved, the password was changed): the server must
answer for this school and this device before it is kept. How often is kept with the
connection; Pause is the same switch as Tools > Pause sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from app.school_server import load_school_server, save_school_server, split_password
from ui.ops import hub

if TYPE_CHECKING:
    from ui.main_window import MainWindow

MAX_MINUTES = 120
SERVER_WIDTH = 280  # pixels of the server's address shown


class SyncSettingsGroup(QGroupBox):
    def __init__(self, window: MainWindow) -> None:
        super().__init__("S&ync with the school server")
        self.window_ = window
        settings = hub().database.settings
        self.kept = load_school_server(settings.data_dir)
        self.server = QLabel()
        self._show_server(split_password(settings.server_url or "")[0])
        self.change_button = QPushButton("C&hange…")
        self.change_button.setToolTip("A new address or password for this school's server")
        self.change_button.clicked.connect(self.change_server)
        if self.kept is None:
            self.change_button.setEnabled(False)
            self.change_button.setToolTip("ROLLBOOK_SERVER_URL names the server; change it there")
        server_row = QHBoxLayout()
        server_row.addWidget(self.server, 1)
        server_row.addWidget(self.change_button)
        device = QLabel(settings.device_name)
        self.interval = QSpinBox()
        self.interval.setRange(1, MAX_MINUTES)
        self.interval.setSuffix(" min")
        self.interval.setValue(max(1, min(MAX_MINUTES, settings.sync_interval_s // 60)))
        self.interval.valueChanged.connect(self._interval_changed)
        if self.kept is None:
            self.interval.setEnabled(False)
            self.interval.setToolTip("This desktop syncs with the server ROLLBOOK_SERVER_URL "
                                     "names, every minute.")  # fmt: skip
        self.pause = QCheckBox("&Pause sync")
        self.pause.setChecked(window.pause_sync_action.isChecked())
        self.pause.toggled.connect(window.pause_sync_action.setChecked)
        form = QFormLayout(self)
        form.addRow("Server:", server_row)
        form.addRow("This desktop:", device)
        form.addRow("How &often:", self.interval)
        form.addRow(self.pause)

    def _interval_changed(self, minutes: int) -> None:
        seconds = minutes * 60
        if self.kept is not None:
            settings = hub().database.settings
            self.kept = save_school_server(settings.data_dir, self.kept.url,
                                           self.kept.device_name, self.kept.school_code,
                                           seconds)  # fmt: skip
        self.window_.set_sync_interval(seconds)

    def _show_server(self, url: str) -> None:
        """An address too long for the dialog is shortened in the middle; all of it on
        hover."""
        metrics = QFontMetrics(self.server.font())
        self.server.setText(metrics.elidedText(url, Qt.TextElideMode.ElideMiddle, SERVER_WIDTH))
        self.server.setToolTip(url)

    def change_server(self) -> None:
        dialog = ChangeServerDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.kept is not None:
            self.kept = dialog.kept
            self._show_server(self.kept.shown_url)
            self.window_.set_server_url(self.kept.url)


class ChangeServerDialog(QDialog):
    """The connection wizard's first page on its own: a new address or password, kept
    once the server answers for this school and device."""

    def __init__(self, parent: QGroupBox) -> None:
        from ui.wizards.connect_server import ServerPage

        super().__init__(parent)
        self.setWindowTitle("Change the school server")
        settings = hub().database.settings
        self.page = ServerPage(settings)
        self.page.url.setText(split_password(settings.server_url or "")[0])
        for fixed in (self.page.school, self.page.device):  # the same school, this desktop
            fixed.setReadOnly(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)  # fmt: skip
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(False)
        self.page.completeChanged.connect(lambda: save.setEnabled(self.page.isComplete()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.page)
        layout.addWidget(self.buttons)
        self.kept = None

    def _save(self) -> None:
        if not self.page.isComplete():
            return
        url, school, device = self.page.values()
        settings = hub().database.settings
        self.kept = save_school_server(settings.data_dir, url, device, school,
                                       settings.sync_interval_s)  # fmt: skip
        self.accept()
