"""Settings > Signing in: the school's rules for accounts (app.services.users's
``account_rules``), the same as ``rollbook users rules``. Everyone sees them; only a
role that may change the school's settings (admin) changes them, and for anyone else
the controls are greyed with the reason on hover. Each change is saved as it is made,
like the rest of the dialog; the idle lock takes effect in this window at once."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout

from app.services.permissions import Permission
from app.services.users import MAX_IDLE_LOCK_MINUTES, AccountRules, account_rules, set_account_rules
from ui.dialogs.parts import refusal_label
from ui.ops import Op, error_text
from ui.role import allowed, why_not


class AccountRulesGroup(QGroupBox):
    def __init__(self, window=None) -> None:
        super().__init__("Signing &in")
        self.main_window = window
        self.rules: AccountRules | None = None
        self.require_passwords = QCheckBox("Accounts linked to this computer's login also "
                                           "sign in with their pass&word")  # fmt: skip
        self.require_passwords.setToolTip(
            "Off: a person whose account is linked to their computer login starts Rollbook "
            "without typing a password (as the command line does). On: everyone types it."
        )
        self.idle_minutes = QSpinBox()
        self.idle_minutes.setRange(0, MAX_IDLE_LOCK_MINUTES)
        self.idle_minutes.setSuffix(" min")
        self.idle_minutes.setSpecialValueText("never")
        self.idle_minutes.setAccelerated(True)
        self.idle_minutes.setToolTip("After this long without a key pressed or the mouse "
                                     "used, the window hides the school's data until the "
                                     "password is given again (0: never)")  # fmt: skip
        idle_label = QLabel("Loc&k the window after")
        idle_label.setBuddy(self.idle_minutes)
        self.registrars_repair = QCheckBox("Re&gistrars may apply repairs from the consistency "
                                           "check")  # fmt: skip
        self.registrars_repair.setToolTip("Off: only an admin applies a repair; registrars "
                                          "still run the check and see what it finds")  # fmt: skip
        self.message = refusal_label()
        idle_row = QHBoxLayout()
        idle_row.addWidget(idle_label)
        idle_row.addWidget(self.idle_minutes)
        idle_row.addWidget(QLabel("idle"))
        idle_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.require_passwords)
        layout.addLayout(idle_row)
        layout.addWidget(self.registrars_repair)
        layout.addWidget(self.message)
        self._controls = (self.require_passwords, self.idle_minutes, self.registrars_repair)
        for control in self._controls:
            control.setEnabled(False)  # until the rules are read
        Op(self, lambda s, ctx, job: account_rules(s, ctx), show_progress=False,
           read_only=True).success(self._loaded).run()  # fmt: skip

    def _loaded(self, rules: AccountRules) -> None:
        self._show(rules)
        may = allowed(Permission.SCHOOL_SETTINGS)
        for control in self._controls:
            control.setEnabled(may)
            if not may:
                control.setToolTip(why_not(Permission.SCHOOL_SETTINGS))
        self.require_passwords.toggled.connect(lambda on: self._save(require_passwords=on))
        self.registrars_repair.toggled.connect(lambda on: self._save(registrars_may_repair=on))
        self.idle_minutes.editingFinished.connect(self._idle_edited)

    def _show(self, rules: AccountRules) -> None:
        self.rules = rules
        for control in self._controls:
            control.blockSignals(True)
        self.require_passwords.setChecked(rules.require_passwords)
        self.idle_minutes.setValue(rules.idle_lock_minutes)
        self.registrars_repair.setChecked(rules.registrars_may_repair)
        for control in self._controls:
            control.blockSignals(False)

    def _idle_edited(self) -> None:
        if self.rules is not None and self.idle_minutes.value() != self.rules.idle_lock_minutes:
            self._save(idle_lock_minutes=self.idle_minutes.value())

    def _save(self, **change) -> None:
        for control in self._controls:
            control.setEnabled(False)
        Op(self, lambda s, ctx, job: set_account_rules(s, ctx, **change),
           show_progress=False).success(self._saved).failure(self._refused).finally_(
            lambda: [c.setEnabled(True) for c in self._controls]).run()  # fmt: skip

    def _saved(self, rules: AccountRules) -> None:
        self._show(rules)
        self.message.setText("")
        lock = getattr(self.main_window, "window_lock", None)
        if lock is not None:
            lock.apply_idle_minutes(rules.idle_lock_minutes)

    def _refused(self, error: BaseException) -> None:
        if self.rules is not None:
            self._show(self.rules)  # the rules stay as they are
        self.message.setText(error_text(error))
