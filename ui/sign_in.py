"""Signing in to the window, and locking it.

At start-up (``sign_in_at_start``): a school without accounts opens as before; a
desktop whose only account is linked to this computer's login opens as that account
(unless the school requires passwords); otherwise the sign-in dialog asks. Five wrong
passwords lock an account for five minutes (app.services.users) — the dialog says so.

**Lock** (Ctrl+L, and by itself after the school's idle time): the window's contents
are hidden and the dialog asks for the password again; the same person, or another,
signs in to carry on. ``IdleLock`` watches the keyboard and mouse of the whole
application for that.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.services.users import (
    SignIn,
    StartSignIn,
    UserRow,
    idle_lock_minutes,
    sign_in,
    start_sign_in,
)
from ui.ops import Op, error_text, hub


class SignInDialog(QDialog):
    """Username and password; accepted once the account signed in (``user``)."""

    def __init__(self, parent: QWidget | None = None, *, suggested: str = "",
                 locked_by: str = "") -> None:  # fmt: skip
        super().__init__(parent)
        self.user: UserRow | None = None
        self.setWindowTitle("Rollbook is locked" if locked_by else "Sign in to Rollbook")
        school = hub().database.school
        intro = QLabel(f"Rollbook was locked by {locked_by}. Enter the password to carry on, "
                       "or sign in as someone else." if locked_by else
                       f"Sign in to {school.name} ({school.code}).")  # fmt: skip
        intro.setWordWrap(True)
        self.username = QLineEdit(suggested)
        self.username.setObjectName("username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel("")
        self.message.setObjectName("signInMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020")
        # Room for the longest answer (a lock, with what to do), so the dialog does not
        # jump as messages come and go.
        self.message.setMinimumHeight(self.message.fontMetrics().lineSpacing() * 3)
        self.setMinimumWidth(460)
        form = QFormLayout()
        form.addRow("&Username:", self.username)
        form.addRow("&Password:", self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_in_button = buttons.addButton("&Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setDefault(True)
        cancel = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        cancel.setText("&Quit Rollbook")
        cancel.setAutoDefault(False)  # Enter in the password signs in, never quits
        buttons.accepted.connect(self.try_sign_in)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        (self.password if suggested else self.username).setFocus()

    def try_sign_in(self) -> None:
        username, password = self.username.text().strip(), self.password.text()
        if not username or not password:
            self.message.setText("Give your username and password.")
            return
        school_id = hub().database.school.id
        self.sign_in_button.setEnabled(False)
        self.message.setText("Signing in…")
        # On the database worker, committed also when it fails: the count of wrong
        # passwords is kept.
        Op(self, lambda session, _ctx, _job: sign_in(session, school_id, username, password),
           show_progress=False).success(self._answered).failure(
            lambda error: self._show(error_text(error))).finally_(
            lambda: self.sign_in_button.setEnabled(True)).run()  # fmt: skip

    def _answered(self, outcome: SignIn) -> None:
        if outcome.user is None:
            self._show(outcome.message)
            return
        self.user = outcome.user
        self.accept()

    def _show(self, message: str) -> None:
        self.message.setText(message)
        self.password.clear()
        self.password.setFocus()


def sign_in_at_start(parent: QWidget, login: str, then: Callable[[StartSignIn], None],
                     cancelled: Callable[[], None]) -> None:  # fmt: skip
    """Work out who the window acts as, asking when it must; ``then`` with the outcome
    (the hub's ``signed_in`` set), or ``cancelled`` when the person quit instead."""
    school_id = hub().database.school.id

    def decided(start: StartSignIn) -> None:
        if not start.needed:
            hub().sign_in(start.user)
            then(start)
            return
        dialog = SignInDialog(parent, suggested=start.suggested)
        parent.sign_in_dialog = dialog  # type: ignore[attr-defined] - for tests

        def done(result: int) -> None:
            if result != QDialog.DialogCode.Accepted or dialog.user is None:
                cancelled()
                return
            hub().sign_in(dialog.user)
            then(start)

        dialog.finished.connect(done)
        dialog.open()

    Op(parent, lambda session, _ctx, _job: start_sign_in(session, school_id, login),
       read_only=True, show_progress=False).success(decided).run()  # fmt: skip


class IdleLock(QObject):
    """Calls ``lock`` after ``minutes`` without a key pressed or the mouse used anywhere
    in the application (0: never)."""

    _INPUT = {QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
              QEvent.Type.Wheel}  # fmt: skip

    def __init__(self, minutes: int, lock: Callable[[], None], parent: QObject | None = None
                 ) -> None:  # fmt: skip
        super().__init__(parent)
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(lock)
        self.minutes = 0
        self.set_minutes(minutes)

    def set_minutes(self, minutes: int) -> None:
        # Every event of the application passes the filter: watch only when it can lock.
        app = QApplication.instance()
        if minutes > 0 and self.minutes <= 0:
            app.installEventFilter(self)
        elif minutes <= 0 and self.minutes > 0:
            app.removeEventFilter(self)
        self.minutes = minutes
        self.timer.stop()
        if minutes > 0:
            self.timer.start(minutes * 60_000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in self._INPUT and self.minutes > 0:
            self.timer.start(self.minutes * 60_000)
        return False


class WindowLock(QObject):
    """File > Lock (Ctrl+L), the idle lock and the status bar's "Signed in as …"."""

    def __init__(self, window, menu) -> None:
        super().__init__(window)
        self.window = window
        self.action = QAction("&Lock", window)
        self.action.setShortcut(QKeySequence("Ctrl+L"))
        self.action.triggered.connect(self.lock)
        menu.addAction(self.action)
        self.label = QLabel("")
        self.label.setObjectName("signedIn")
        window.statusBar().addPermanentWidget(self.label)
        self.idle = IdleLock(0, self.lock, self)
        self.dialog: SignInDialog | None = None
        self._show()
        school_id = hub().database.school.id
        Op(window, lambda session, _ctx, _job: idle_lock_minutes(session, school_id),
           read_only=True, show_progress=False).success(self.apply_idle_minutes).run()  # fmt: skip

    def apply_idle_minutes(self, minutes: int) -> None:
        if self.lockable:
            self.idle.set_minutes(minutes)

    @property
    def lockable(self) -> bool:
        user = hub().signed_in
        return user is not None and user.has_password

    def _show(self) -> None:
        user = hub().signed_in
        self.action.setEnabled(self.lockable)
        tip = ("Hide the window until your password is given again" if self.lockable
               else "Only a person signed in with a password can lock the window "
               "(rollbook users add gives the school accounts)")  # fmt: skip
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.label.setText(f"Signed in as {user.username} ({user.role.value})" if user else "")

    def lock(self) -> None:
        user = hub().signed_in
        if not self.lockable or self.dialog is not None or user is None:
            return
        central = self.window.centralWidget()
        central.hide()  # nothing of the school's shows while it is locked
        self.idle.timer.stop()
        self.dialog = SignInDialog(self.window, suggested=user.username, locked_by=user.username)
        self.window.lock_dialog = self.dialog  # for tests

        def done(result: int) -> None:
            dialog, self.dialog = self.dialog, None
            if result != QDialog.DialogCode.Accepted or dialog is None or dialog.user is None:
                self.window.close()
                return
            changed = dialog.user.id != user.id
            hub().sign_in(dialog.user)
            central.show()
            self._show()
            self.idle.set_minutes(self.idle.minutes)
            if changed:  # another person: pages show what their role may see and do
                hub().changed.emit(frozenset({"app_user"}))

        self.dialog.finished.connect(done)
        self.dialog.open()
