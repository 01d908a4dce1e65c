"""First start on a computer: create the database, then start with demo data or empty.

Shown by ``ui.app.run`` when the data folder has no database yet. Creating and
migrating the embedded cluster takes a few seconds; it runs on a background thread
while this window says what is happening (the window keeps painting and can be
closed). Demo data is created through ``ui.ops`` with a progress bar and Cancel.
"""

from __future__ import annotations

from enum import IntEnum
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QCommandLinkButton,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.config import Settings, os_login, starting_text
from app.domain.errors import Cancelled
from app.jobs import ProgressReport
from app.runtime import Database
from ui.about import app_icon
from ui.opening import DatabaseOpener
from ui.ops import Op, OpsHub, error_text, hub, install_hub

DEMO_STUDENTS = 500
WINDOW_WIDTH = 600


class Stage(IntEnum):
    SETUP = 0
    CHOICE = 1
    DEMO = 2
    FAILED = 3


class FirstRunDialog(QDialog):
    """Accepted once the database is ready and the person has chosen how to start."""

    def __init__(self, settings: Settings, *, demo_students: int = DEMO_STUDENTS,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.settings = settings
        self.demo_students = demo_students
        self.database: Database | None = None
        self.hub: OpsHub | None = None
        self.failed = False
        self._close_requested = False
        self._demo_op: Op | None = None
        self._initialiser = DatabaseOpener(settings, thread_name="rollbook-first-run")
        self.setWindowTitle("Welcome to Rollbook")
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(WINDOW_WIDTH)

        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel("<h2>Welcome to Rollbook</h2>")
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        heading = QVBoxLayout()
        heading.addWidget(title)
        heading.addWidget(self.intro)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(heading, 1)

        self.stages = QStackedWidget()
        self.stages.addWidget(self._setup_page())
        self.stages.addWidget(self._choice_page())
        self.stages.addWidget(self._demo_page())
        self.stages.addWidget(self._failed_page())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addLayout(top)
        layout.addSpacing(8)
        layout.addWidget(self.stages)

        self._show_stage(Stage.SETUP)
        self._initialiser.progress.connect(self._setup_progress)
        self._initialiser.opened.connect(self._opened)
        self._initialiser.failed.connect(self._failed)

    # ------------------------------------------------------------ pages
    def _setup_page(self) -> QWidget:
        page = QWidget()
        self.setup_text = QLabel("Getting ready…")
        self.setup_text.setWordWrap(True)
        self.setup_bar = QProgressBar()
        self.setup_bar.setRange(0, 0)  # busy until the first step is reported
        self.setup_bar.setTextVisible(False)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.setup_text)
        layout.addWidget(self.setup_bar)
        layout.addStretch(1)
        return page

    def _choice_page(self) -> QWidget:
        page = QWidget()
        question = QLabel("The database is ready. How would you like to start?")
        question.setWordWrap(True)
        self.demo_button = QCommandLinkButton(
            "Start with &demo data",
            f"A made-up school with {self.demo_students:,} students, courses, class sessions "
            "and events, to try Rollbook out. The demo students stay in this database.",
        )
        self.empty_button = QCommandLinkButton(
            "Start &empty",
            "An empty school, ready for your own students: add them by hand or with "
            "File > Import roster.",
        )
        self.demo_button.clicked.connect(lambda: self._with_account(self.start_demo))
        self.empty_button.clicked.connect(lambda: self._with_account(self.accept))
        # Enter must not fill a real school's database with made-up students.
        self.empty_button.setDefault(True)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._account_box())
        layout.addWidget(question)
        layout.addWidget(self.demo_button)
        layout.addWidget(self.empty_button)
        layout.addStretch(1)
        return page

    def _account_box(self) -> QGroupBox:
        """The school's first account, an admin, linked to this computer's login: on this
        computer it opens Rollbook without a password while it is the only account; a
        password lets the window be locked and the account sign in elsewhere."""
        box = QGroupBox("Your administrator account")
        self.admin = None
        self.display_name = QLineEdit()
        self.username = QLineEdit(os_login())
        self.password = QLineEdit()
        self.password_again = QLineEdit()
        for field in (self.password, self.password_again):
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.textEdited.connect(lambda _text: self.account_error.setText(""))
        self.password.setPlaceholderText("optional: needed to lock the window")
        self.account_error = QLabel("")
        self.account_error.setWordWrap(True)
        self.account_error.setStyleSheet("color: #a61b1b;")
        form = QFormLayout(box)
        form.addRow("Your &name:", self.display_name)
        form.addRow("&Username:", self.username)
        form.addRow("&Password:", self.password)
        form.addRow("Password a&gain:", self.password_again)
        form.addRow(self.account_error)
        return box

    def _with_account(self, then) -> None:
        """Make the admin account (once), then ``then``."""
        from app.services.users import MIN_PASSWORD_LENGTH, create_first_admin

        if self.admin is not None:
            then()
            return
        password, again = self.password.text(), self.password_again.text()
        if password != again:
            self.account_error.setText("The two passwords differ.")
            return
        if password and len(password) < MIN_PASSWORD_LENGTH:
            self.account_error.setText(f"A password needs at least {MIN_PASSWORD_LENGTH} "
                                       "characters (or leave both empty).")  # fmt: skip
            return
        username = self.username.text().strip() or os_login()
        name = self.display_name.text().strip() or username
        login = os_login()

        def made(user) -> None:
            self.admin = user
            hub().sign_in(user)  # what follows (the demo school) is theirs
            then()

        Op(self, lambda s, ctx, job: create_first_admin(s, ctx.school_id, username, name,
                                                        password or None, os_login=login),
           show_progress=False).success(made).failure(
            lambda error: self.account_error.setText(error_text(error))).run()  # fmt: skip

    def _demo_page(self) -> QWidget:
        page = QWidget()
        self.demo_text = QLabel(f"Creating a demo school with {self.demo_students:,} students…")
        self.demo_text.setWordWrap(True)
        self.demo_bar = QProgressBar()
        self.demo_bar.setRange(0, 0)
        self.demo_cancel = QPushButton("Cancel")
        self.demo_cancel.setToolTip("Stop and go back; nothing is kept")
        self.demo_cancel.clicked.connect(self._cancel_demo)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.demo_cancel)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.demo_text)
        layout.addWidget(self.demo_bar)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return page

    def _failed_page(self) -> QWidget:
        page = QWidget()
        self.error_text = QLabel()
        self.error_text.setWordWrap(True)
        self.error_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_text.setStyleSheet("color: #a61b1b;")
        close = QPushButton("Close")
        close.clicked.connect(super().reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.error_text)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.close_button = close
        return page

    # ------------------------------------------------------------ setup
    @property
    def stage(self) -> Stage:
        return Stage(self.stages.currentIndex())

    def _show_stage(self, stage: Stage) -> None:
        where = f"<b>{escape(str(self.settings.data_dir))}</b>"
        if stage is Stage.SETUP:
            self.intro.setText(f"Rollbook keeps its database on this computer, in {where}. "
                               "This is the first start, so the database is created now.")  # fmt: skip
        else:
            self.intro.setText(f"Rollbook keeps its database on this computer, in {where}.")
        # Only the current page counts for the window's size, so it fits what it shows.
        for index in range(self.stages.count()):
            policy = QSizePolicy.Policy.Preferred if index == stage else QSizePolicy.Policy.Ignored
            self.stages.widget(index).setSizePolicy(policy, policy)
        self.stages.setCurrentIndex(stage)
        self.layout().activate()
        height = self.heightForWidth(WINDOW_WIDTH)
        self.resize(WINDOW_WIDTH, height if height > 0 else self.sizeHint().height())

    @property
    def initialiser_thread(self) -> str:
        return self._initialiser.ran_on

    @property
    def initialising(self) -> bool:
        thread = self._initialiser.thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Begin creating the database (call once the window is shown)."""
        self._show_stage(Stage.SETUP)
        self.setup_text.setText(starting_text(self.settings))
        self._initialiser.start()

    def _setup_progress(self, text: str, done: int, total: int) -> None:
        self.setup_text.setText(text)
        if total and done:
            self.setup_bar.setRange(0, total)
            self.setup_bar.setValue(done)

    def _opened(self, database: Database) -> None:
        self.database = database
        # Owned by the application: it outlives this window and serves the main window.
        self.hub = install_hub(database, QApplication.instance())
        if self._close_requested:
            super().reject()
            return
        self._show_stage(Stage.CHOICE)
        self.empty_button.setFocus()

    def _failed(self, message: str) -> None:
        self.failed = True
        self.error_text.setText(f"Rollbook could not create its database.\n\n{message}")
        self._show_stage(Stage.FAILED)
        self.close_button.setFocus()
        if self._close_requested:
            super().reject()

    # ------------------------------------------------------------ demo data
    @staticmethod
    def _load_demo(ctx, students: int, job):
        """Setting the school up, as the schema's owner (app.db.roles.owner_connection)."""
        from app.db.roles import owner_connection
        from app.demo_data import create_demo_data

        with owner_connection(hub().database.target.admin_url, ctx.actor) as raw:
            return create_demo_data(raw, ctx.school_id, students=students, job=job)

    def start_demo(self) -> None:
        students = self.demo_students
        self._show_stage(Stage.DEMO)
        self.demo_cancel.setEnabled(True)
        self.demo_cancel.setFocus()
        self._demo_op = (
            Op(
                self,
                lambda _s, ctx, job: self._load_demo(ctx, students, job),
                title="Creating demo data…",
                show_progress=False,  # this window shows it
            )
            .on_progress(self._demo_progress)
            .success(lambda _summary: self.accept())
            .failure(self._demo_failed)
            .run()
        )

    def _demo_progress(self, report: ProgressReport) -> None:
        if report.text:
            self.demo_text.setText(report.text)
        if report.total:
            self.demo_bar.setRange(0, report.total)
            self.demo_bar.setValue(min(report.done, report.total))

    def _cancel_demo(self) -> None:
        if self._demo_op is not None:
            self._demo_op.job.cancel()
            self.demo_cancel.setEnabled(False)
            self.demo_text.setText("Cancelling… nothing will be kept.")

    def _demo_failed(self, error: BaseException) -> None:
        self._demo_op = None
        if self._close_requested:
            super().reject()
            return
        self._show_stage(Stage.CHOICE)
        if not isinstance(error, Cancelled):
            self.error_text.setText(f"The demo data could not be created.\n\n{error_text(error)}")
            self._show_stage(Stage.FAILED)
            self.close_button.setFocus()
            return
        self.demo_button.setFocus()

    # ------------------------------------------------------------ closing
    def reject(self) -> None:
        """Escape or the window's close button: never cut the database set-up short."""
        if self.stage is Stage.SETUP:
            self._close_requested = True
            self.setup_text.setText("Closing as soon as the database is ready…")
        elif self.stage is Stage.DEMO:
            self._close_requested = True
            self._cancel_demo()
        else:
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        event.ignore()
        self.reject()


def run_first_run(settings: Settings) -> tuple[Database | None, OpsHub | None, bool]:
    """Show the window until the person has chosen; (database, hub, failed)."""
    dialog = FirstRunDialog(settings)
    dialog.show()
    dialog.start()
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    if not accepted and dialog.database is not None:
        if dialog.hub is not None:
            dialog.hub.shutdown()
        dialog.database.close()
        return None, None, dialog.failed
    return dialog.database, dialog.hub, dialog.failed
