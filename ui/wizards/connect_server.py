"""Tools > Connect to a school server…: the first connection of a desktop.

1. The server: its address (postgresql://…), the password apart, the school's code and
   this desktop's device name (as the server's ``rollbook server add-device`` knows
   it); **Test connection** asks the server who it is before anything is copied.
2. The copy: the school from the server, with progress and Cancel. Cancelled or cut
   off, nothing is lost: connecting again carries on where the copy stopped.
3. Done: the server is kept in the data folder (the password in the OS keyring, or a
   file only this user can read, app.school_server), and the window syncs in the
   background from then on.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.config import POSTGRES_SCHEMES, Settings
from app.domain.errors import SyncRefused, ValidationError
from app.domain.rows import SchoolRow
from app.school_server import SchoolServer, save_school_server, split_password, with_password
from app.services.schools import get_school
from app.sync.engine import SyncReport, sync_once
from app.sync.link import ServerLink
from app.sync.server import accepted_revisions
from ui.ops import Op, error_text, hub
from ui.wizards.apply_page import ApplyPage, ask_to_stop


@dataclasses.dataclass(frozen=True)
class Answer:
    """What the server said to the test."""

    school_name: str
    school_code: str


def check_url(url: str) -> str:
    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in POSTGRES_SCHEMES:
        raise ValidationError("url", "The school server's address starts with postgresql:// "
                              "(for example postgresql://office@server/school).")  # fmt: skip
    return url


def ask_server(url: str, school_code: str, device_name: str) -> Answer:
    """Ask the server who it is, as a sync's first step does."""
    with ServerLink(url) as link:
        hello = link.call("rollbook_sync_hello", school_code, device_name)
    return Answer(hello["school_name"], hello["school_code"])


class ServerPage(QWizardPage):
    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.setTitle("The school server")
        self.setSubTitle("Where the school's central database is, this desktop's own login "
                         "there and its name (the school's administrator gives them all: "
                         "rollbook server add-device prints them).")  # fmt: skip
        self.url = QLineEdit()
        self.url.setPlaceholderText("postgresql://rollbook_device_…@server.school.local/rollbook")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.school = QLineEdit(settings.school_code)
        self.device = QLineEdit(settings.device_name)
        self.test_button = QPushButton("&Test connection")
        self.test_button.clicked.connect(self.test)
        self.answer = QLabel("")
        self.answer.setWordWrap(True)
        self.answer.setObjectName("answer")
        form = QFormLayout()
        for label, field in (("Server &address:", self.url), ("&Password:", self.password),
                             ("Sc&hool code:", self.school), ("&Device name:", self.device)):  # fmt: skip
            form.addRow(label, field)
            field.textEdited.connect(self._edited)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.answer)
        layout.addStretch(1)
        self.tested: tuple[str, ...] | None = None
        self.found: Answer | None = None

    def values(self) -> tuple[str, str, str]:
        """(the URL with the password, the school code, the device name)."""
        url = self.url.text().strip()
        shown, in_url = split_password(url) if "://" in url else (url, None)
        password = self.password.text() or in_url
        return (with_password(shown, password), self.school.text().strip().upper(),
                self.device.text().strip())  # fmt: skip

    def _edited(self) -> None:
        self.tested = None
        self.answer.setText("")
        self.completeChanged.emit()

    def test(self) -> None:
        try:
            url = check_url(self.values()[0])
        except ValidationError as exc:
            self.answer.setText(str(exc))
            return
        _url, school, device = self.values()
        if not school or not device:
            self.answer.setText("Give the school's code and this desktop's device name.")
            return
        asked = (url, school, device)
        self.test_button.setEnabled(False)
        self.answer.setText("Asking the server…")
        Op(self, lambda job: ask_server(url, school, device), network=True,
           show_progress=False).success(lambda answer: self._answered(asked, answer)).failure(
            self._refused).finally_(lambda: self.test_button.setEnabled(True)).run()  # fmt: skip

    def _answered(self, asked: tuple[str, ...], answer: Answer) -> None:
        self.tested, self.found = asked, answer
        self.answer.setText(f"The server answers: {answer.school_name} ({answer.school_code}) "
                            f"knows this desktop as \"{asked[2]}\". Next copies the school.")  # fmt: skip
        self.completeChanged.emit()

    def _refused(self, error: BaseException) -> None:
        self.answer.setText(error_text(error))

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.tested is not None and self.tested == self.values()


class CopyPage(ApplyPage):
    network = True

    def __init__(self) -> None:
        super().__init__(title="Copying the school",
                         subtitle="The school's students, courses, enrollments, sessions and "
                         "events come to this desktop. Cancel stops the copy; connecting "
                         "again carries on where it stopped.",
                         working="Copying the school from the server…",
                         cancel_label="&Cancel the copy",
                         nothing_changed="The copy so far is kept; connecting again carries on "
                         "where it stopped.")  # fmt: skip
        self.report: SyncReport | None = None
        self.kept: SchoolServer | None = None
        self.school: SchoolRow | None = None  # the school as copied (the server's row)

    def work(self):
        wizard: ConnectServerWizard = self.wizard()  # type: ignore[assignment]
        url, school, device = wizard.server_page.values()
        sessions = hub().database.sessions
        data_dir = hub().database.settings.data_dir

        def connect(job) -> tuple[SyncReport, SchoolServer, SchoolRow]:
            report = sync_once(sessions, url, school_code=school, device_name=device,
                               revision=accepted_revisions()[0], job=job)  # fmt: skip
            if not report.ok:
                raise SyncRefused(report.message)
            kept = save_school_server(data_dir, url, device, school)
            with sessions.begin() as session:
                return report, kept, get_school(session, school)

        return connect

    def keep(self, result: Any) -> None:
        self.report, self.kept, self.school = result

    def has_result(self) -> bool:
        return self.report is not None


class DonePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Connected")
        self.text = QLabel("")
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        wizard: ConnectServerWizard = self.wizard()  # type: ignore[assignment]
        report, kept = wizard.copy_page.report, wizard.copy_page.kept
        assert report is not None and kept is not None
        found = wizard.server_page.found
        name = found.school_name if found else kept.school_code
        where = {"keyring": "The server's password is kept in this computer's keyring.",
                 "file": "The server's password is kept in a file only you can read, in "
                 "the data folder.", "none": ""}[kept.password_kept_in]  # fmt: skip
        lines = [f"This desktop is connected to {name} as \"{kept.device_name}\"; "
                 f"{report.copied_rows:,} rows were copied.", where]  # fmt: skip
        lines.append("When you finish, this window shows the school's copy, and Rollbook "
                     "syncs in the background from then on: the status bar says how it "
                     "stands, and Tools > Sync now (F9) syncs at once.")  # fmt: skip
        self.text.setText("\n\n".join(line for line in lines if line))


class ConnectServerWizard(QWizard):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to a school server")
        self.resize(640, 440)
        settings = hub().database.settings
        self.server_page = ServerPage(settings)
        self.copy_page = CopyPage()
        self.addPage(self.server_page)
        self.addPage(self.copy_page)
        self.addPage(DonePage())

    def connected(self) -> tuple[Settings, SchoolRow] | None:
        """The window's settings as a replica of the server just connected, and the
        school as copied (the first start's empty school gave way to it)."""
        kept, school = self.copy_page.kept, self.copy_page.school
        if kept is None or school is None:
            return None
        settings = dataclasses.replace(hub().database.settings, server_url=kept.url,
                                       device_name=kept.device_name, school_code=school.code,
                                       sync_interval_s=kept.interval_s)  # fmt: skip
        return settings, school

    def reject(self) -> None:
        if ask_to_stop(self, self.copy_page, "Connect to a school server",
                       "Stop copying the school? Connecting again carries on where it "
                       "stopped."):  # fmt: skip
            super().reject()
