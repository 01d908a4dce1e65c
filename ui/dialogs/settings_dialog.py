"""Tools > Settings… (Ctrl+,): the person's own settings, and the school's attendance
rule (kept in the database, for everyone). Each takes effect as it is ticked; Close
closes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.services import attendance
from ui import preferences
from ui.dialogs.parts import refusal_label
from ui.ops import Op, error_text


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(460)
        self.reminders = self._switch(
            "Show session &reminders", preferences.REMINDERS,
            "A desktop notification before a session whose alarm is on, as many minutes"
            " before as the session says",
        )  # fmt: skip
        self.announcements = self._switch(
            "&Announce changes to sessions", preferences.ANNOUNCEMENTS,
            "When a session is moved, cancelled or changes room, a line in the window's"
            " notification area (for sessions with notifications on)",
        )  # fmt: skip
        hint = QLabel(
            "Rollbook looks for both while it runs. They appear in the notification"
            " area at the bottom of the window (View > Notifications); reminders also"
            " pop up from the system tray where there is one."
        )
        hint.setWordWrap(True)
        hint.setObjectName("settingsHint")
        hint.setStyleSheet("QLabel#settingsHint { color: palette(placeholder-text); }")
        group = QGroupBox("&Notifications")
        group_layout = QVBoxLayout(group)
        group_layout.addWidget(self.reminders)
        group_layout.addWidget(self.announcements)
        group_layout.addSpacing(4)
        group_layout.addWidget(hint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(group)
        layout.addWidget(self._school_group())
        layout.addStretch(1)
        layout.addWidget(buttons)

    # ------------------------------------------------------------ the school's rule
    def _school_group(self) -> QGroupBox:
        self.excused_rule = QCheckBox("An &excused absence needs a reason")
        self.excused_rule.setToolTip("Marking a student excused asks for the reason in the "
                                     "mark's note (for everyone at this school)")  # fmt: skip
        self.excused_rule.setEnabled(False)  # until the school's rule is read
        self.rule_message = refusal_label()
        group = QGroupBox("&School attendance rules")
        group_layout = QVBoxLayout(group)
        group_layout.addWidget(self.excused_rule)
        group_layout.addWidget(self.rule_message)
        Op(self, lambda s, ctx, job: attendance.excused_needs_reason(s, ctx),
           show_progress=False, read_only=True).success(self._rule_loaded).run()  # fmt: skip
        return group

    def _rule_loaded(self, needed: bool) -> None:
        self.excused_rule.setChecked(needed)
        self.excused_rule.setEnabled(True)
        self.excused_rule.toggled.connect(self._rule_toggled)

    def _rule_toggled(self, needed: bool) -> None:
        self.excused_rule.setEnabled(False)
        Op(self, lambda s, ctx, job: attendance.set_excused_needs_reason(s, ctx, needed),
           show_progress=False).success(lambda _none: self.rule_message.setText("")).failure(
            lambda error: self._rule_refused(needed, error)).finally_(
            lambda: self.excused_rule.setEnabled(True)).run()  # fmt: skip

    def _rule_refused(self, needed: bool, error: BaseException) -> None:
        self.excused_rule.blockSignals(True)
        self.excused_rule.setChecked(not needed)  # the rule stays as it is
        self.excused_rule.blockSignals(False)
        self.rule_message.setText(error_text(error))

    def _switch(self, text: str, key: str, tip: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setToolTip(tip)
        box.setChecked(preferences.is_on(key))
        box.toggled.connect(lambda on: preferences.set_on(key, on))
        return box


def open_settings(parent: QWidget) -> SettingsDialog:
    dialog = SettingsDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
