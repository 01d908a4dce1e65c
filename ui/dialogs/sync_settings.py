"""Tools > Settings…, on a desktop that syncs: where it syncs, how often, and Pause.

The server and device name are the ones the desktop was connected with (Tools > Connect
to a school server…, kept in the data folder) or that ROLLBOOK_SERVER_URL and
ROLLBOOK_DEVICE_NAME give; the password is never shown. How often is kept with the
connection; Pause is the same switch as Tools > Pause sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel, QSpinBox

from app.school_server import load_school_server, save_school_server, split_password
from ui.ops import hub

if TYPE_CHECKING:
    from ui.main_window import MainWindow

MAX_MINUTES = 120


class SyncSettingsGroup(QGroupBox):
    def __init__(self, window: MainWindow) -> None:
        super().__init__("S&ync with the school server")
        self.window_ = window
        settings = hub().database.settings
        self.kept = load_school_server(settings.data_dir)
        server = QLabel(split_password(settings.server_url or "")[0])
        server.setWordWrap(True)
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
        form.addRow("Server:", server)
        form.addRow("This desktop:", device)
        form.addRow("Sync e&very:", self.interval)
        form.addRow(self.pause)

    def _interval_changed(self, minutes: int) -> None:
        seconds = minutes * 60
        if self.kept is not None:
            settings = hub().database.settings
            self.kept = save_school_server(settings.data_dir, self.kept.url,
                                           self.kept.device_name, self.kept.school_code,
                                           seconds)  # fmt: skip
        self.window_.set_sync_interval(seconds)
