"""New event… and Edit event… (Events page): the event's name and venue, its first and
last day, its capacity, when registration opens and closes, who registers (students on
their own, teams, or both, and the team sizes) and the days a participant must attend
for a participation certificate.

The dialog keeps what it can in shape as it is typed (the last day moves with the
first, a team is never smaller than its smallest size, a certificate never needs more
days than the event has) and says the event's length. Every other rule is the
service's: a refusal (a capacity below the places taken, teams only while students are
registered on their own) is shown in the dialog in the service's words, the field it is
about takes the focus, and the dialog stays open so it can be corrected.
"""

from __future__ import annotations

import html
import uuid
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, QDateTime, Qt, QTime, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import ValidationError
from app.domain.wording import counted
from app.services import event_setup
from app.services.event_setup import FINISHED, EventDetails, EventInput, EventUpdated
from ui.dialogs.parts import buddy_label, refusal_label, submit_buttons
from ui.ops import Op, error_text

MAX_CAPACITY = 100_000
MAX_TEAM_SIZE = 100
DATE_FORMAT = "ddd d MMM yyyy"
MOMENT_FORMAT = "ddd d MMM yyyy HH:mm"
WRONG_STYLE = "color: #a61b1b;"


def _day(edit: QDateEdit) -> date:
    return edit.date().toPython()  # type: ignore[no-any-return]


def _moment(edit: QDateTimeEdit) -> datetime:
    """The time shown, in this computer's time zone (the service wants the zone)."""
    shown: datetime = edit.dateTime().toPython()  # type: ignore[assignment]
    return shown.replace(second=0, microsecond=0).astimezone()


def _local(moment: datetime) -> QDateTime:
    return QDateTime(moment.astimezone().replace(tzinfo=None))


def _hint() -> QLabel:
    return QLabel("")


class EventDialog(QDialog):
    #: what was saved, in words for the status bar, and the event's id
    saved = Signal(str, object)

    def __init__(self, event_id: uuid.UUID | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.event_id = event_id
        self.details: EventDetails | None = None
        self.setWindowTitle("Edit event" if event_id else "New event")
        self.setMinimumWidth(560)
        self.heading = QLabel("Loading the event…" if event_id else
                              "A new event is a draft: open registration from the Events "
                              "page when it is ready.")  # fmt: skip
        self.heading.setWordWrap(True)
        self._build_fields()
        self.message = refusal_label()
        self.buttons = submit_buttons(self, "&Save" if event_id else "C&reate", self.submit)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        QShortcut(QKeySequence.StandardKey.Save, self, self.submit)
        self._lay_out()
        self._connect()
        self._update_hints()
        if event_id is None:
            self.name.setFocus()
        else:
            self.form.setEnabled(False)
            self.save_button.setEnabled(False)
            self.load()

    # ------------------------------------------------------------ the form
    def _build_fields(self) -> None:
        today = QDate.currentDate()
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Science Fair 2026")
        self.venue = QLineEdit()
        self.venue.setPlaceholderText("Optional, e.g. Main hall")
        self.first = QDateEdit(today, calendarPopup=True)
        self.last = QDateEdit(today, calendarPopup=True)
        for edit in (self.first, self.last):
            edit.setDisplayFormat(DATE_FORMAT)
        self.length = _hint()
        self.capacity = QSpinBox()
        self.capacity.setRange(0, MAX_CAPACITY)
        # 0 is not a capacity the service takes: here it stands for none.
        self.capacity.setSpecialValueText("No limit")
        self.capacity.setToolTip("Places, in people: a team of three takes three")
        self.capacity_hint = _hint()
        self.opens = QCheckBox("Registration &opens:")
        self.closes = QCheckBox("Registration &closes:")
        # Ticked, registration opens by default at the start of this hour.
        self.opens_at = QDateTimeEdit(QDateTime(today, QTime(QTime.currentTime().hour(), 0)),
                                      calendarPopup=True)  # fmt: skip
        self.closes_at = QDateTimeEdit(calendarPopup=True)
        for edit in (self.opens_at, self.closes_at):
            edit.setDisplayFormat(MOMENT_FORMAT)
        self.opens_hint = _hint()
        self.closes_hint = _hint()
        self.individual = QCheckBox("Students register on their o&wn")
        self.individual.setChecked(True)
        self.teams = QCheckBox("&Teams register")
        self.team_min = QSpinBox()
        self.team_min.setRange(1, MAX_TEAM_SIZE)
        self.team_min.setValue(2)
        self.team_max = QSpinBox()
        self.team_max.setRange(2, MAX_TEAM_SIZE)
        self.team_max.setValue(4)
        self.team_max.setAccessibleName("Largest team")
        self.team_min.setAccessibleName("Smallest team")
        self.certificate_days = QSpinBox()
        self.certificate_days.setValue(1)
        self.certificate_days.setToolTip("0: every registered student gets one, whatever "
                                         "they attended")  # fmt: skip
        self.certificate_hint = _hint()
        self._closes_follow_first()
        self.last.setMinimumDate(self.first.date())
        # One width for each kind, whatever range each allows: the fields line up.
        for edits in ((self.first, self.last), (self.opens_at, self.closes_at)):
            widest = max(edit.sizeHint().width() for edit in edits)
            for edit in edits:
                edit.setMinimumWidth(widest)

    def _lay_out(self) -> None:
        def row(*widgets: QWidget) -> QHBoxLayout:
            line = QHBoxLayout()
            for widget in widgets:
                line.addWidget(widget)
            line.addStretch(1)
            return line

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(buddy_label("&Name:", self.name), self.name)
        form.addRow(buddy_label("&Venue:", self.venue), self.venue)
        form.addRow(buddy_label("&First day:", self.first), row(self.first))
        form.addRow(buddy_label("&Last day:", self.last), row(self.last, self.length))
        form.addRow(buddy_label("Ca&pacity:", self.capacity),
                    row(self.capacity, self.capacity_hint))  # fmt: skip
        form.addRow(self.opens, row(self.opens_at, self.opens_hint))
        form.addRow(self.closes, row(self.closes_at, self.closes_hint))
        form.addRow(QLabel("Who registers:"), row(self.individual, self.teams))
        self.team_size_label = buddy_label("Team si&ze:", self.team_min)
        members = QLabel("members")
        to = QLabel("to")
        form.addRow(self.team_size_label, row(self.team_min, to, self.team_max, members))
        self._team_widgets = (self.team_size_label, self.team_min, to, self.team_max, members)
        form.addRow(buddy_label("&Days for a certificate:", self.certificate_days),
                    row(self.certificate_days, self.certificate_hint))  # fmt: skip
        self.form = QWidget()
        self.form.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addSpacing(4)
        layout.addWidget(self.form)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    def _connect(self) -> None:
        self._first_day = _day(self.first)
        self.first.dateChanged.connect(lambda _d: self._first_day_moved())
        for signal in (self.last.dateChanged, self.capacity.valueChanged, self.opens.toggled,
                       self.closes.toggled, self.opens_at.dateTimeChanged,
                       self.closes_at.dateTimeChanged, self.teams.toggled,
                       self.team_min.valueChanged, self.certificate_days.valueChanged):  # fmt: skip
            signal.connect(lambda *_: self._update_hints())
        # A refusal is about what was pressed: the next change answers it.
        for signal in (self.name.textChanged, self.venue.textChanged, self.first.dateChanged,
                       self.last.dateChanged, self.capacity.valueChanged, self.opens.toggled,
                       self.closes.toggled, self.opens_at.dateTimeChanged,
                       self.closes_at.dateTimeChanged, self.individual.toggled,
                       self.teams.toggled, self.team_min.valueChanged,
                       self.team_max.valueChanged, self.certificate_days.valueChanged):  # fmt: skip
            signal.connect(lambda *_: self.message.setText(""))

    def _first_day_moved(self) -> None:
        """The last day keeps the event's length, as in a calendar: moving the first day
        moves the event."""
        moved = (_day(self.first) - self._first_day).days
        self._first_day = _day(self.first)
        self.last.setMinimumDate(self.first.date())
        self.last.setDate(self.last.date().addDays(moved))
        self._closes_follow_first()
        self._update_hints()

    def _closes_follow_first(self) -> None:
        if not self.closes.isChecked():
            # Unticked, the closing time waits at the eve of the first day: the usual
            # choice once the box is ticked.
            eve = datetime.combine(_day(self.first) - timedelta(days=1), time(23, 59))
            self.closes_at.setDateTime(QDateTime(eve))

    def _update_hints(self) -> None:
        days = self.days()
        self.length.setText(counted(days, "day"))
        self.certificate_days.setRange(0, days)
        self.certificate_hint.setText(f"of {counted(days, 'day')} attended")
        self.capacity_hint.setText("places" if self.capacity.value() else "")
        self.opens_at.setEnabled(self.opens.isChecked())
        self.closes_at.setEnabled(self.closes.isChecked())
        self.opens_hint.setText("" if self.opens.isChecked()
                                else "as soon as the event is opened")  # fmt: skip
        wrong = (self.opens.isChecked() and self.closes.isChecked()
                 and self.closes_at.dateTime() <= self.opens_at.dateTime())  # fmt: skip
        self.closes_hint.setText("before it opens" if wrong else "" if self.closes.isChecked()
                                 else "until the event is closed")  # fmt: skip
        self.closes_hint.setStyleSheet(WRONG_STYLE if wrong else "")
        for widget in self._team_widgets:
            widget.setEnabled(self.teams.isChecked())
        # A team is at least 2, and the largest at least the smallest.
        self.team_max.setMinimum(max(2, self.team_min.value()))

    def days(self) -> int:
        return (_day(self.last) - _day(self.first)).days + 1

    # ------------------------------------------------------------ loading
    def load(self) -> None:
        event_id = self.event_id
        assert event_id is not None
        Op(self, lambda s, ctx, job: event_setup.get_event(s, ctx, event_id),
           show_progress=False, read_only=True).success(self._loaded).failure(
            self._not_loaded).run()  # fmt: skip

    def _not_loaded(self, error: BaseException) -> None:
        self.heading.setText("The event could not be opened.")
        self.message.setText(error_text(error))

    def _loaded(self, details: EventDetails) -> None:
        self.details = details
        self.setWindowTitle(f"Edit event — {details.name}")
        self.heading.setText(f"<b>{html.escape(details.name)}</b> is {details.status}.")
        self.name.setText(details.name)
        self.venue.setText(details.venue or "")
        self.first.setDate(QDate(details.starts_on))
        self.last.setDate(QDate(details.ends_on))
        self.capacity.setValue(details.capacity or 0)
        for box, edit, moment in ((self.opens, self.opens_at, details.registration_opens_at),
                                  (self.closes, self.closes_at,
                                   details.registration_closes_at)):  # fmt: skip
            box.setChecked(moment is not None)
            if moment is not None:
                edit.setDateTime(_local(moment))
        self.individual.setChecked(details.allow_individual)
        self.teams.setChecked(details.allow_teams)
        if details.allow_teams:
            self.team_min.setValue(details.team_size_min)
            self.team_max.setValue(details.team_size_max)
        self._update_hints()
        self.certificate_days.setValue(details.certificate_min_days)
        self.message.setText("")
        if details.status in FINISHED:
            # The service refuses any change now; say so before anything is typed.
            self.heading.setText(f"<b>{html.escape(details.name)}</b> is {details.status}; "
                                 "its details can no longer be changed.")  # fmt: skip
            return
        self.form.setEnabled(True)
        self.save_button.setEnabled(True)
        self.name.setFocus()
        self.name.selectAll()

    # ------------------------------------------------------------ saving
    def on_screen(self) -> EventInput:
        """The event as the dialog shows it."""
        teams = self.teams.isChecked()
        return EventInput(
            name=self.name.text(), venue=self.venue.text() or None,
            starts_on=_day(self.first), ends_on=_day(self.last),
            capacity=self.capacity.value() or None,
            registration_opens_at=_moment(self.opens_at) if self.opens.isChecked() else None,
            registration_closes_at=_moment(self.closes_at) if self.closes.isChecked() else None,
            allow_individual=self.individual.isChecked(), allow_teams=teams,
            team_size_min=self.team_min.value() if teams else 1,
            team_size_max=self.team_max.value() if teams else 1,
            certificate_min_days=self.certificate_days.value(),
        )  # fmt: skip

    def _unchanged(self, data: EventInput) -> bool:
        details = self.details
        if details is None:
            return False
        before = EventInput(
            details.name, details.starts_on, details.ends_on, details.venue, details.capacity,
            details.registration_opens_at, details.registration_closes_at,
            details.allow_individual, details.allow_teams, details.team_size_min,
            details.team_size_max, details.certificate_min_days,
        )  # fmt: skip
        return data == before

    def submit(self) -> None:
        if not self.save_button.isEnabled():
            return
        data = self.on_screen()
        if self._unchanged(data):
            self.accept()  # nothing to save: as Cancel, without a question
            return
        self.buttons.setEnabled(False)
        if self.details is None:
            op = Op(self, lambda s, ctx, job: event_setup.create_event(s, ctx, data),
                    show_progress=False).success(self._created)  # fmt: skip
        else:
            event_id, version = self.details.id, self.details.row_version
            op = Op(self, lambda s, ctx, job: event_setup.update_event(
                s, ctx, event_id, data, expected_version=version),
                show_progress=False).success(self._updated)  # fmt: skip
        op.failure(self._refused).finally_(lambda: self.buttons.setEnabled(True)).run()

    def _refused(self, error: BaseException) -> None:
        self.message.setText(error_text(error))
        field = self._fields().get(error.field) if isinstance(error, ValidationError) else None
        if field is not None and field.isEnabled():
            field.setFocus()  # on what to change

    def _fields(self) -> dict[str, QWidget]:
        """The field each of the service's refusals is about, by the service's name."""
        return {
            "name": self.name, "venue": self.venue, "starts_on": self.first,
            "ends_on": self.last, "capacity": self.capacity,
            "registration_opens_at": self.opens_at, "registration_closes_at": self.closes_at,
            "allow_individual": self.individual, "allow_teams": self.teams,
            "team_size_min": self.team_min, "team_size_max": self.team_max,
            "certificate_min_days": self.certificate_days,
        }  # fmt: skip

    def _created(self, details: EventDetails) -> None:
        self.details = details
        self.saved.emit(f"Created {details.name}, a draft: open registration when it is "
                        "ready.", details.id)  # fmt: skip
        self.accept()

    def _updated(self, updated: EventUpdated) -> None:
        event = updated.event
        said = f"Saved {event.name}."
        if updated.promoted:
            names = ", ".join(f"{p.student_name} ({p.registration_no})" for p in updated.promoted)
            said += (f" {counted(len(updated.promoted), 'student')} moved up from the waiting "
                     f"list: {names}.")  # fmt: skip
        self.details = event
        self.saved.emit(said, event.id)
        self.accept()


def open_event_dialog(parent: QWidget | None, event_id: uuid.UUID | None) -> EventDialog:
    """New event (``event_id`` None) or Edit event, window-modal, deleted when closed."""
    dialog = EventDialog(event_id, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
