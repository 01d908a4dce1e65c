"""Register students for an event by student number (Registrations page: Register…,
Ctrl+N), built for a desk with a barcode scanner, which types the number and Enter.

The Student number field keeps the focus: each Enter registers that student on their
own, adds the service's one-line result to the list of what happened and empties the
field for the next scan. A refusal shows in red under the field (and in the list), and
the field stays where it is. When the event is full the dialog asks whether to put the
student on the waiting list.

Register a team (Alt+T): the team's name, then its members scanned one by one into a
list (Delete removes the highlighted one); Register team (Ctrl+Enter) registers them
all in one transaction, or adds them to the team when the event has one of that name.
"""

from __future__ import annotations

import uuid
from collections import deque

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import EventStatus, RegistrationStatus, StudentStatus
from app.domain.errors import EventFull
from app.domain.rows import EventRow, StudentRow
from app.domain.wording import counted, plural
from app.jobs import Job
from app.services import event_setup, events, registrations, students
from app.services.event_setup import EventDetails
from app.services.events import RegistrationQuery
from app.services.registrations import RegistrationResult, TeamResult
from ui.dialogs.parts import refusal_label
from ui.ops import Op, error_text, hub

REFUSED = QColor("#a61b1b")  # the refusal line's red (ui.dialogs.parts)
NUMBER = Qt.ItemDataRole.UserRole  # a member's student number, on their list item
EventFacts = tuple[EventDetails, int, int]  # the event, places taken, on the waiting list


class _ShortList(QListWidget):
    """A list a few lines high: QListWidget's own hint (192 px) would make the dialog
    taller than a laptop's screen once both lists show."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self.rows = rows

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        height = self.fontMetrics().lineSpacing() * self.rows + 2 * self.frameWidth() + 6
        return QSize(super().sizeHint().width(), height)


class RegistrationDialog(QDialog):
    def __init__(self, event_id: uuid.UUID | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Register for an event")
        self.setMinimumWidth(620)
        self.wanted_event = event_id
        self.registered = 0  # students given a place this time, for the page's status bar
        self.waitlisted = 0
        # Scans waiting their turn: a scanner can be quicker than the database, and each
        # one is registered (and, when the event is full, asked about) in the order scanned.
        self._scans: deque[tuple[uuid.UUID, str, str]] = deque()
        self._scanning = False
        self._facts_op: Op[EventFacts] | None = None

        self.event = QComboBox()
        self.event.setPlaceholderText("Loading the open events…")
        self.event.setMinimumContentsLength(36)
        self.facts = QLabel("")
        self.team_mode = QCheckBox("Register a &team")
        self.team_mode.setToolTip("A team's members scanned one by one, registered together "
                                  "(Alt+T)")  # fmt: skip
        self.team_name = QLineEdit()
        self.team_name.setPlaceholderText("A new team's name, or an existing team to add to")
        self.number = QLineEdit()
        self.message = refusal_label()
        self.members = _ShortList(4)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.members.setToolTip("Delete removes the highlighted member")
        remove = QShortcut(QKeySequence.StandardKey.Delete, self.members, self.remove_member)
        remove.setContext(Qt.ShortcutContext.WidgetShortcut)  # Delete in a field edits it
        self.register_team_button = QPushButton("&Register team")
        self.register_team_button.setToolTip("Register the team with the members listed "
                                              "(Ctrl+Enter)")  # fmt: skip
        self.register_team_button.clicked.connect(self.register_team)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):  # the main and the keypad Enter
            QShortcut(QKeySequence(keys), self, self._ctrl_enter)
        self.log = _ShortList(7)
        self.log.setWordWrap(True)
        self.log.setResizeMode(QListView.ResizeMode.Adjust)  # wrapped lines re-flow on resize
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)

        members_box = QWidget()
        members_row = QHBoxLayout(members_box)
        members_row.setContentsMargins(0, 0, 0, 0)
        members_row.addWidget(self.members, 1)
        members_row.addWidget(self.register_team_button, 0, Qt.AlignmentFlag.AlignBottom)
        members_box.setFocusProxy(self.members)  # Alt+M goes to the list
        self.form = QFormLayout()
        self.form.addRow("&Event:", self.event)
        self.form.addRow("", self.facts)
        self.form.addRow("", self.team_mode)
        self.form.addRow("Team &name:", self.team_name)
        self.form.addRow("&Student number:", self.number)
        self.form.addRow("", self.message)
        self.form.addRow("&Members:", members_box)
        self.form.addRow("&What happened:", self.log)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.buttons)
        # Enter belongs to the scan: it never presses a button by being the default one.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
        self.number.installEventFilter(self)
        self.team_name.returnPressed.connect(self.number.setFocus)  # name, then members
        self.number.textEdited.connect(lambda text: self.message.setText("") if text else None)
        self.event.activated.connect(lambda _i: self.number.setFocus())  # picked: scan on
        self.event.currentIndexChanged.connect(lambda _i: self._event_changed())
        self.team_mode.toggled.connect(self._show_team_mode)
        hub().changed.connect(self._data_changed)
        self._show_team_mode(False)
        self.number.setFocus()
        Op(self, lambda s, ctx, job: events.list_events(s, ctx), show_progress=False,
           read_only=True).success(self._events_loaded).failure(self._refused).run()  # fmt: skip

    # ------------------------------------------------------------ the event
    def _events_loaded(self, rows: list[EventRow]) -> None:
        open_events = [e for e in rows if e.status == EventStatus.OPEN.value]
        self.event.blockSignals(True)
        for e in open_events:
            self.event.addItem(f"{e.name} ({e.starts_on:%d %b %Y})", e.id)
        self.event.setPlaceholderText("Pick the event" if open_events
                                      else "No event is open for registration")  # fmt: skip
        # The page's event when it is open; the only open one when there is one; else
        # none, so nobody registers for an event they did not pick.
        ids = [e.id for e in open_events]
        if self.wanted_event in ids:
            self.event.setCurrentIndex(ids.index(self.wanted_event))
        elif len(ids) == 1:
            self.event.setCurrentIndex(0)
        else:
            self.event.setCurrentIndex(-1)
        self.event.blockSignals(False)
        wanted = next((e for e in rows if e.id == self.wanted_event), None)
        if wanted is not None and wanted.status != EventStatus.OPEN.value:
            self.message.setText(f"{wanted.name} is {wanted.status}: it takes no registrations. "
                                 "Pick an open event.")  # fmt: skip
        self._event_changed()

    def event_id(self) -> uuid.UUID | None:
        return self.event.currentData()

    def _event_changed(self) -> None:
        self.facts.setText("")
        self._load_facts()

    def _data_changed(self, changed: frozenset[str]) -> None:
        # Whoever registered or cancelled (this dialog, the page, another desk's change
        # seen here), the places shown follow.
        if "event_registration" in changed or "event" in changed:
            self._load_facts()

    def _load_facts(self) -> None:
        event_id = self.event_id()
        if self._facts_op is not None:
            self._facts_op.cancel()  # a newer question replaces it
        if event_id is None:
            return

        def work(s: Session, ctx: ServiceContext, job: Job) -> EventFacts:
            def count(status: RegistrationStatus) -> int:
                query = RegistrationQuery(event_id=event_id, status=status.value)
                return events.count_registrations(s, ctx, query)

            return (event_setup.get_event(s, ctx, event_id),
                    count(RegistrationStatus.REGISTERED), count(RegistrationStatus.WAITLISTED))  # fmt: skip

        # No error box when they cannot be read: the facts are a help, and registering
        # says what is wrong.
        self._facts_op = (
            Op(self, work, show_progress=False, read_only=True)
            .success(lambda facts: self._show_facts(event_id, facts))
            .failure(lambda _error: None)
        )
        self._facts_op.run()

    def _show_facts(self, event_id: uuid.UUID, facts: EventFacts) -> None:
        if event_id == self.event_id():  # not an answer about an event since left
            self.facts.setText(facts_text(*facts))

    # ------------------------------------------------------------ one student at a time
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (watched is self.number and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and not event.modifiers() & Qt.KeyboardModifier.ControlModifier):  # fmt: skip
            self.scanned()
            return True  # the scanner's Enter: never the dialog's too
        return super().eventFilter(watched, event)

    def scanned(self) -> None:
        """A number was scanned or typed: register it, or in team mode list the member."""
        number = self.number.text().strip()
        if not number:
            return
        event_id = self.event_id()
        if event_id is None:
            self.message.setText("Pick the event first (Alt+E).")
            return
        self.number.clear()
        if self.team_mode.isChecked():
            self.add_member(number)
            return
        self._scans.append((event_id, self.event.currentText(), number))
        self._next_scan()

    def _next_scan(self) -> None:
        if self._scanning or not self._scans:
            return
        self._scanning = True
        self._register(*self._scans.popleft(), waitlist=False)

    def _register(self, event_id: uuid.UUID, event_text: str, number: str, *,
                  waitlist: bool) -> None:  # fmt: skip
        def work(s: Session, ctx: ServiceContext, job: Job) -> RegistrationResult:
            return registrations.register_student(s, ctx, event_id, number,
                                                  waitlist_if_full=waitlist)  # fmt: skip

        Op(self, work, show_progress=False).success(self._registered).failure(
            lambda error: self._register_refused(event_id, event_text, number, error, waitlist)
        ).run()

    def _registered(self, result: RegistrationResult) -> None:
        if result.status == RegistrationStatus.WAITLISTED.value:
            self.waitlisted += 1
        else:
            self.registered += 1
        self._log(result.summary)
        self._scan_done()

    def _register_refused(self, event_id: uuid.UUID, event_text: str, number: str,
                          error: BaseException, waitlisted: bool) -> None:  # fmt: skip
        if isinstance(error, EventFull) and not waitlisted:
            answer = QMessageBox.question(
                self, f"Waiting list — {number}", str(error),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )  # fmt: skip
            if answer == QMessageBox.StandardButton.Yes:
                self._register(event_id, event_text, number, waitlist=True)
                return
            self._refused_line(f"{number} is not registered: {event_text} is full "
                               f"({error.taken} of {error.capacity} places).")  # fmt: skip
        else:
            self._refused(error)
        self._scan_done()

    def _scan_done(self) -> None:
        self._scanning = False
        if not self.team_mode.isChecked():
            self.number.setFocus()  # back to the field for the next scan (after a question)
        self._next_scan()

    # ------------------------------------------------------------ teams
    def _show_team_mode(self, on: bool) -> None:
        for field in (self.team_name, self.members.parentWidget()):
            self.form.setRowVisible(field, on)
        self.register_team_button.setEnabled(on)
        self.number.setPlaceholderText(
            "Scan each member, or type the number and Enter; then Ctrl+Enter" if on
            else "Scan the student card, or type the number and Enter"
        )  # fmt: skip
        self.message.setText("")
        (self.team_name if on and not self.team_name.text() else self.number).setFocus()

    def add_member(self, number: str) -> None:
        if self._member_item(number) is not None:
            self.message.setText(f"{number} is listed already; list each member once.")
            return
        item = QListWidgetItem(f"{number} …")
        item.setData(NUMBER, number)
        self.members.addItem(item)
        self.members.scrollToItem(item)
        Op(self, lambda s, ctx, job: students.find_student_by_number(s, ctx, number),
           show_progress=False, read_only=True).success(
            lambda student: self._member_found(number, student)).run()  # fmt: skip

    def _member_found(self, number: str, student: StudentRow | None) -> None:
        item = self._member_item(number)
        if item is None:
            return  # removed meanwhile
        if student is None:
            self.members.takeItem(self.members.row(item))
            self.message.setText(f"No student has the number {number!r}; not listed.")
            return
        # Shown so the desk sees whom it scanned; whether they may register is the
        # service's to say when the team is registered.
        name = f"{student.first_name} {student.last_name} ({student.student_no})"
        if student.status != StudentStatus.ACTIVE.value:
            name += f" — {student.status}"
            item.setForeground(REFUSED)
        item.setText(name)

    def _member_item(self, number: str) -> QListWidgetItem | None:
        return next((self.members.item(row) for row in range(self.members.count())
                     if self.members.item(row).data(NUMBER) == number), None)  # fmt: skip

    def member_numbers(self) -> list[str]:
        return [self.members.item(row).data(NUMBER) for row in range(self.members.count())]

    def remove_member(self) -> None:
        row = self.members.currentRow()
        if row >= 0:
            self.members.takeItem(row)

    def _ctrl_enter(self) -> None:
        if self.team_mode.isChecked():
            self.register_team()

    def register_team(self) -> None:
        event_id, name, numbers = self.event_id(), self.team_name.text(), self.member_numbers()
        if event_id is None:
            self.message.setText("Pick the event first (Alt+E).")
            return

        def work(s: Session, ctx: ServiceContext, job: Job) -> TeamResult:
            if registrations.team_exists(s, ctx, event_id, name):
                return registrations.add_team_members(s, ctx, event_id, name, numbers)
            return registrations.create_team(s, ctx, event_id, name, numbers)

        self.register_team_button.setEnabled(False)
        # A refusal shows in the red line only: it is about the team still being put
        # together, not something that happened.
        Op(self, work, show_progress=False).success(self._team_registered).failure(
            lambda error: self.message.setText(error_text(error))).finally_(
            lambda: self.register_team_button.setEnabled(self.team_mode.isChecked())).run()  # fmt: skip

    def _team_registered(self, result: TeamResult) -> None:
        self.registered += len(result.members)
        self._log(result.summary)
        self.members.clear()
        self.team_name.clear()
        self.message.setText("")
        self.team_name.setFocus()  # the next team

    # ------------------------------------------------------------ what happened
    def _refused(self, error: BaseException) -> None:
        self._refused_line(error_text(error))

    def _refused_line(self, text: str) -> None:
        self.message.setText(text)
        self._log(text, refused=True)

    def _log(self, text: str, *, refused: bool = False) -> None:
        item = QListWidgetItem(text)
        if refused:
            item.setForeground(REFUSED)
        self.log.addItem(item)
        self.log.scrollToBottom()

    def log_lines(self) -> list[str]:
        return [self.log.item(row).text() for row in range(self.log.count())]


def facts_text(event: EventDetails, taken: int, waiting: int) -> str:
    """ "38 of 40 places taken, 2 on the waiting list · students on their own or teams
    of 2 to 3": what the desk needs to know about the event while registering."""
    if event.capacity is None:
        places = f"{counted(taken, 'place')} taken (no limit)"
    else:
        places = f"{taken} of {counted(event.capacity, 'place')} taken"
    if waiting:
        places += f", {waiting} on the waiting list"
    low, high = event.team_size_min, event.team_size_max
    sizes = f"{low}" if low == high else f"{low} to {high}"
    takes = [("students on their own", event.allow_individual),
             (f"teams of {sizes} {plural(high, 'member')}", event.allow_teams)]  # fmt: skip
    return f"{places} · {' or '.join(text for text, yes in takes if yes) or 'no one'}"
