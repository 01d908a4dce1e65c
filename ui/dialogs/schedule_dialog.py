"""New sessions (Sessions page, Ctrl+N): one lesson, or a term of them in one dialog.

The person picks the course, the first date and the times, and how it repeats: weekly
or every other week on ticked weekdays, or monthly, up to an end date, with dates to
leave out. The dialog shows, as they type, how many sessions that makes and on which
dates — the preview — and creates nothing until **Schedule** is pressed. A refusal
(an unknown course, an in-person session without a room) is shown in the dialog, which
stays open so the choice can be corrected.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QStringListModel, Qt, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import SessionFrequency, SessionMode
from app.domain.errors import RollbookError, ValidationError
from app.domain.recurrence import WEEKDAY_NAMES, Recurrence
from app.domain.wording import counted
from app.services import class_sessions, courses, students
from app.services.class_sessions import ScheduledSessions, SessionPlan
from ui.dialogs.parts import refusal_label, submit_buttons
from ui.ops import Op, error_text
from ui.widgets.course_picker import CoursePicker, CourseSuggestions

REPEATS = [
    ("Does not repeat", SessionFrequency.ONE_TIME),
    ("Every week", SessionFrequency.WEEKLY),
    ("Every other week", SessionFrequency.BI_WEEKLY),
    ("Every month, on the same day", SessionFrequency.MONTHLY),
]
DATES_PREVIEWED = 6


def _to_date(edit: QDateEdit) -> date:
    return edit.date().toPython()  # type: ignore[no-any-return]


class ScheduleDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, first_day: date | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New sessions")
        self.setMinimumWidth(560)
        self.scheduled: ScheduledSessions | None = None
        first_day = first_day or date.today()
        self.course = CoursePicker()
        self.course.lineEdit().setPlaceholderText("Loading courses…")
        self.course_suggestions = CourseSuggestions(offer_create=False)
        self.course_suggestions.picked.connect(self._suggestion_picked)
        self.class_name = QLineEdit()
        self.class_name.setPlaceholderText("Empty for the whole course, or the class, e.g. 7A")
        self.class_name.setToolTip("The register of a lesson for a class lists the course's "
                                   "students of that class only")  # fmt: skip
        self.class_names = QStringListModel(self)
        class_completer = QCompleter(self.class_names, self)
        class_completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.class_name.setCompleter(class_completer)
        self.first = QDateEdit(QDate(first_day), calendarPopup=True)
        self.first.setDisplayFormat("ddd d MMM yyyy")
        self.start = QTimeEdit(QTime(9, 0))
        self.end = QTimeEdit(QTime(9, 45))
        for edit in (self.start, self.end):
            edit.setDisplayFormat("HH:mm")
        times = QHBoxLayout()
        times.addWidget(self.start)
        times.addWidget(QLabel("to"))
        times.addWidget(self.end)
        times.addStretch(1)
        self.repeats = QComboBox()
        for text, frequency in REPEATS:
            self.repeats.addItem(text, frequency)
        self.weekdays = [QCheckBox(name.capitalize()) for name in WEEKDAY_NAMES]
        days = QHBoxLayout()
        for box in self.weekdays:
            days.addWidget(box)
        days.addStretch(1)
        self.until = QDateEdit(QDate(first_day).addMonths(3), calendarPopup=True)
        self.until.setDisplayFormat("ddd d MMM yyyy")
        self.skip = QLineEdit()
        self.skip.setPlaceholderText("Dates without a lesson, e.g. 2026-10-27, 2026-10-29")
        self.mode = QComboBox()
        for mode in SessionMode:
            self.mode.addItem(mode.value, mode.value)
        self.mode.setCurrentIndex(self.mode.findData(SessionMode.IN_PERSON.value))
        self.location = QLineEdit()
        self.location.setPlaceholderText("The room; needed unless the session is online")
        self.preview = QLabel("")
        self.preview.setWordWrap(True)
        self.message = refusal_label()
        self.buttons = submit_buttons(self, "Sc&hedule", self.submit)
        self.schedule_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)

        form = QFormLayout()
        form.addRow("&Course:", self.course)
        form.addRow("", self.course_suggestions)
        form.addRow("C&lass:", self.class_name)
        form.addRow("&Date:", self.first)
        time_label = QLabel("&Time:")
        time_label.setBuddy(self.start)  # a row of two fields: Alt+T goes to the first
        form.addRow(time_label, times)
        form.addRow("&Repeats:", self.repeats)
        form.addRow("On:", days)
        form.addRow("&Until:", self.until)
        form.addRow("Lea&ve out:", self.skip)
        form.addRow("&Mode:", self.mode)
        form.addRow("R&oom:", self.location)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

        self._first_weekday = first_day.weekday()
        self.first.dateChanged.connect(lambda _d: self._first_date_moved())
        for signal in (self.first.dateChanged, self.until.dateChanged,
                       self.repeats.currentIndexChanged, self.skip.textChanged):  # fmt: skip
            signal.connect(lambda *_: self._update_preview())
        for box in self.weekdays:
            box.toggled.connect(lambda _on: self._update_preview())
        self.course.currentTextChanged.connect(lambda _t: self.course_suggestions.clear())
        # A refusal is about what was pressed: a change to the room or course answers it.
        for field in (self.location.textChanged, self.course.currentTextChanged,
                      self.class_name.textChanged):  # fmt: skip
            field.connect(lambda _t: self.message.setText(""))
        self.weekdays[first_day.weekday()].setChecked(True)
        self._update_preview()
        Op(
            self,
            lambda s, ctx, job: courses.list_courses(s, ctx, active_only=True),
            show_progress=False,
        ).success(self._courses_loaded).run()
        Op(self, lambda s, ctx, job: students.list_class_names(s, ctx),
           show_progress=False).success(self.class_names.setStringList).run()  # fmt: skip

    # ------------------------------------------------------------ the series
    def frequency(self) -> SessionFrequency:
        return SessionFrequency(self.repeats.currentData())  # Qt hands back the plain text

    def recurrence(self) -> Recurrence:
        """The series as typed so far; ValidationError with the reason if it is not one."""
        skipped = set()
        for word in self.skip.text().replace(",", " ").split():
            try:
                skipped.add(date.fromisoformat(word))
            except ValueError:
                raise ValidationError(
                    "skip", f"{word!r} is not a date; write dates like 2026-10-27."
                ) from None
        frequency = self.frequency()
        return Recurrence(
            frequency=frequency,
            first=_to_date(self.first),
            until=None if frequency is SessionFrequency.ONE_TIME else _to_date(self.until),
            weekdays=tuple(n for n, box in enumerate(self.weekdays) if box.isChecked()),
            skipped=frozenset(skipped),
        )

    def _first_date_moved(self) -> None:
        """The ticked weekday follows the first date while it is the only one ticked
        and the one the date gave: the person has not chosen days yet."""
        weekday = _to_date(self.first).weekday()
        ticked = [n for n, box in enumerate(self.weekdays) if box.isChecked()]
        if ticked == [self._first_weekday]:
            self.weekdays[self._first_weekday].setChecked(False)
            self.weekdays[weekday].setChecked(True)
        self._first_weekday = weekday

    def _update_preview(self) -> None:
        weekly = self.frequency() in (SessionFrequency.WEEKLY, SessionFrequency.BI_WEEKLY)
        for box in self.weekdays:
            box.setEnabled(weekly)
        self.until.setEnabled(self.frequency() is not SessionFrequency.ONE_TIME)
        self.skip.setEnabled(self.frequency() is not SessionFrequency.ONE_TIME)
        try:
            dates = self.recurrence().dates()
        except RollbookError as error:
            self.preview.setText("")
            self.message.setText(error_text(error))
            self.schedule_button.setEnabled(False)
            return
        self.message.setText("")
        self.schedule_button.setEnabled(True)
        shown = ", ".join(f"{d:%a %d %b}" for d in dates[:DATES_PREVIEWED])
        more = f" … {dates[-1]:%a %d %b %Y}" if len(dates) > DATES_PREVIEWED else ""
        self.preview.setText(f"<b>{counted(len(dates), 'session')}</b>: {shown}{more}")

    # ------------------------------------------------------------ the course
    def _courses_loaded(self, rows) -> None:
        self.course.lineEdit().setPlaceholderText("Type or pick a course")
        self.course.set_courses(rows)

    def _suggestion_picked(self, name: str) -> None:
        self.course.pick(name)
        self.course_suggestions.clear()
        self.schedule_button.setFocus()

    # ------------------------------------------------------------ scheduling
    def plan(self) -> SessionPlan | None:
        course = self.course.chosen()
        if course is None:
            if self.course.typed():  # the same rule as enrolling: a question, never a course
                self.course_suggestions.show_for(self.course.typed(), self.course.suggestions())
            else:
                self.message.setText("Pick the course first.")
            return None
        return SessionPlan(
            course_name=course.name, recurrence=self.recurrence(),
            start_time=self.start.time().toPython(), end_time=self.end.time().toPython(),
            session_mode=self.mode.currentData(), location=self.location.text().strip() or None,
            class_name=self.class_name.text().strip() or None,
        )  # fmt: skip

    def submit(self) -> None:
        plan = self.plan()
        if plan is None:
            return
        self.buttons.setEnabled(False)
        Op(self, lambda s, ctx, job: class_sessions.schedule_sessions(s, ctx, plan),
           show_progress=False).success(self._scheduled).failure(
            lambda error: self.message.setText(error_text(error))).finally_(
            lambda: self.buttons.setEnabled(True)).run()  # fmt: skip

    def _scheduled(self, scheduled: ScheduledSessions) -> None:
        self.scheduled = scheduled
        self.accept()
