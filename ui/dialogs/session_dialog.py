"""Edit session (Sessions page): one session's date, times, mode and room, priority,
teacher attendance, status, reminder, and the topics planned and covered.

Save sends only what was changed. For a session of a series it first asks what to apply
the change to: this session, this and the following sessions, or the whole series;
completed and cancelled sessions of the series are left as they were, and the answer
says how many. A new date is for this session only. **Cancel session…** asks the same
question, with an optional reason, and sets the status to cancelled: nothing is deleted.
Refusals (an end before the start, an in-person session without a room, a status the
session cannot take) are shown in the dialog, which stays open so they can be corrected.
"""

from __future__ import annotations

import html
import uuid
from datetime import time
from typing import Any

from PySide6.QtCore import QDate, Qt, QTime, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import PriorityLevel, SessionMode, SessionStatus, TeacherAttendance
from app.services import class_sessions
from app.services.class_sessions import (
    MAX_ALARM_MINUTES,
    EditScope,
    SessionDetails,
    SessionsUpdated,
)
from ui.dialogs.parts import buddy_label, refusal_label, submit_buttons
from ui.ops import Op, error_text
from ui.widgets.topic_list import TopicList

MODES = [("In person", SessionMode.IN_PERSON), ("Online", SessionMode.ONLINE),
         ("Hybrid", SessionMode.HYBRID)]  # fmt: skip
STATUS_TEXT = {
    SessionStatus.SCHEDULED.value: "Scheduled",
    SessionStatus.IN_PROGRESS.value: "In progress",
    SessionStatus.COMPLETED.value: "Completed",
    SessionStatus.CANCELLED.value: "Cancelled",
}
NOT_RECORDED = "Not recorded"
CHOICE_WIDTH = len(NOT_RECORDED) + 2  # characters


def _time(edit: QTimeEdit) -> time:
    return edit.time().toPython()  # type: ignore[no-any-return]


class ScopeDialog(QDialog):
    """Which sessions a change or a cancellation applies to: this one, it and the
    following ones, or the whole series; with an optional reason when cancelling. For a
    session that is not part of a series it only confirms."""

    def __init__(
        self,
        parent: QWidget | None,
        *,
        title: str,
        question: str,
        confirm: str,
        keep: str = "Cancel",
        following: int = 1,
        series: int = 1,
        date_moved: bool = False,
        with_reason: bool = False,
    ) -> None:
        """``with_reason``: also ask why (cancelling), and let Enter keep the sessions:
        a cancelled session cannot be scheduled again, so confirming takes a deliberate
        key (the button's letter, or Tab to it)."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        text = QLabel(question)
        text.setWordWrap(True)
        layout.addWidget(text)
        self.choices = QButtonGroup(self)
        self.this = QRadioButton("&This session")
        self.following = QRadioButton(f"This and the &following sessions ({following})")
        self.series = QRadioButton(f"The &whole series ({series})")
        for number, button in enumerate((self.this, self.following, self.series)):
            self.choices.addButton(button, number)
            button.setVisible(series > 1)
            layout.addWidget(button)
        self.this.setChecked(True)  # the safest answer is the one Enter gives
        if date_moved:
            # A new date is for one session; the service would refuse the others anyway.
            self.following.setEnabled(False)
            self.series.setEnabled(False)
            note = QLabel("A new date is for this session only.")
            note.setVisible(series > 1)
            layout.addWidget(note)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Optional, shown with the result")
        self.reason.setMaxLength(class_sessions.MAX_REASON_LENGTH)
        if with_reason:
            reason_row = QHBoxLayout()
            reason_label = QLabel("&Reason:")
            reason_label.setBuddy(self.reason)
            reason_row.addWidget(reason_label)
            reason_row.addWidget(self.reason, 1)
            layout.addLayout(reason_row)
        else:
            self.reason.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)  # fmt: skip
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(confirm)
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(keep)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        if with_reason:
            buttons.button(QDialogButtonBox.StandardButton.Ok).setAutoDefault(False)
            buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        layout.addWidget(buttons)
        (self.this if series > 1 else buttons.button(QDialogButtonBox.StandardButton.Ok)
         ).setFocus()  # fmt: skip

    def scope(self) -> EditScope:
        if self.following.isChecked():
            return "following"
        return "series" if self.series.isChecked() else "this"

    def reason_text(self) -> str | None:
        return self.reason.text().strip() or None


class SessionDialog(QDialog):
    saved = Signal(object)  # SessionsUpdated: what Save or Cancel session… changed

    def __init__(self, session_id: uuid.UUID, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_id = session_id
        self.details: SessionDetails | None = None
        self.updated: SessionsUpdated | None = None
        self.setWindowTitle("Edit session")
        self.setMinimumWidth(620)
        self.heading = QLabel("Loading the session…")
        self.heading.setWordWrap(True)

        self.date = QDateEdit(calendarPopup=True)
        self.date.setDisplayFormat("ddd d MMM yyyy")
        self.start = QTimeEdit()
        self.end = QTimeEdit()
        for edit in (self.start, self.end):
            edit.setDisplayFormat("HH:mm")
        self.duration = QLabel("")
        self.mode = QComboBox()
        for text, mode in MODES:
            self.mode.addItem(text, mode.value)
        self.location = QLineEdit()
        self.location.setPlaceholderText("The room; needed unless the session is online")
        self.priority = QComboBox()
        for level in PriorityLevel:
            self.priority.addItem(level.value.capitalize(), level.value)
        self.teacher = QComboBox()
        self.teacher.addItem(NOT_RECORDED, None)
        for attendance in TeacherAttendance:
            self.teacher.addItem(attendance.value.capitalize(), attendance.value)
        self.status = QComboBox()
        # One width for the choices, wide enough for the longest ("Not recorded"), and
        # fixed: the status list is filled only once the session is loaded.
        fixed = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        for combo in (self.mode, self.priority, self.teacher, self.status):
            combo.setMinimumContentsLength(CHOICE_WIDTH)
            combo.setSizeAdjustPolicy(fixed)
        self.cancel_button = QPushButton("Ca&ncel session…")
        self.cancel_button.setToolTip("Cancel this session, or more of its series; nothing "
                                      "is deleted")  # fmt: skip
        self.cancel_button.clicked.connect(self.cancel_session)
        self.alarm = QCheckBox("&Remind")
        self.alarm_minutes = QSpinBox()
        self.alarm_minutes.setRange(0, MAX_ALARM_MINUTES)
        self.alarm_minutes.setSuffix(" minutes before")
        self.alarm.toggled.connect(self.alarm_minutes.setEnabled)
        self.featured = QCheckBox("&Featured")
        self.announce = QCheckBox("&Announce changes")
        self.announce.setToolTip("Tell the students when this session changes")
        self.topics = TopicList("Add a topic (Enter)")
        self.covered = TopicList("Add a topic (Enter)")
        self.message = refusal_label()
        self.buttons = submit_buttons(self, "&Save", self.save)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        self._lay_out()

        for edit in (self.start, self.end):
            edit.timeChanged.connect(lambda _t: self._update_duration())
        # A refusal is about what was pressed: the next change answers it.
        for signal in (self.location.textChanged, self.start.timeChanged, self.end.timeChanged,
                       self.mode.currentIndexChanged, self.status.currentIndexChanged,
                       self.date.dateChanged):  # fmt: skip
            signal.connect(lambda *_: self.message.setText(""))
        self.form.setEnabled(False)
        self.save_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.load()

    def _lay_out(self) -> None:
        times = QHBoxLayout()
        times.addWidget(self.start)
        times.addWidget(QLabel("to"))
        times.addWidget(self.end)
        times.addWidget(self.duration, 1)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status)
        status_row.addWidget(self.cancel_button)
        status_row.addStretch(1)
        reminder = QHBoxLayout()
        reminder.addWidget(self.alarm)
        reminder.addWidget(self.alarm_minutes)
        reminder.addStretch(1)
        flags = QHBoxLayout()
        flags.addWidget(self.featured)
        flags.addWidget(self.announce)
        flags.addStretch(1)

        form = QFormLayout()
        # Text fields take the width; choices stay as wide as their longest entry.
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(buddy_label("&Date:", self.date), self.date)
        form.addRow(buddy_label("&Time:", self.start), times)  # Alt+T: the start; Tab: the end
        form.addRow(buddy_label("&Mode:", self.mode), self.mode)
        form.addRow(buddy_label("&Location:", self.location), self.location)
        form.addRow(buddy_label("Pri&ority:", self.priority), self.priority)
        form.addRow(buddy_label("Tea&cher:", self.teacher), self.teacher)
        form.addRow(buddy_label("Stat&us:", self.status), status_row)
        form.addRow(QLabel("Reminder:"), reminder)
        form.addRow(QLabel("Options:"), flags)
        topics = QGridLayout()
        topics.addWidget(buddy_label("&Planned topics", self.topics), 0, 0)
        topics.addWidget(buddy_label("Topics co&vered", self.covered), 0, 1)
        topics.addWidget(self.topics, 1, 0)
        topics.addWidget(self.covered, 1, 1)
        topics.setRowStretch(1, 1)

        self.form = QWidget()
        inner = QVBoxLayout(self.form)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(form)
        inner.addSpacing(6)
        inner.addLayout(topics, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addSpacing(4)
        layout.addWidget(self.form, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    # ------------------------------------------------------------ loading
    def load(self) -> None:
        session_id = self.session_id
        Op(self, lambda s, ctx, job: class_sessions.get_session_details(s, ctx, session_id),
           show_progress=False, read_only=True).success(self._loaded).failure(
            self._not_loaded).run()  # fmt: skip

    def _not_loaded(self, error: BaseException) -> None:
        self.heading.setText("The session could not be opened.")
        self.message.setText(error_text(error))

    def _loaded(self, details: SessionDetails) -> None:
        self.details = details
        self.setWindowTitle(f"Edit session — {details.group_name}, "
                            f"{details.session_date:%d %b %Y}")  # fmt: skip
        where = (f"session {details.series_position} of {details.series_size} of a "
                 f"{details.session_frequency} series" if details.in_series
                 else "a one-time session")  # fmt: skip
        cancelled = (f"<br>Cancelled: {html.escape(details.cancel_reason)}"
                     if details.cancel_reason else "")  # fmt: skip
        self.heading.setText(f"<b>{html.escape(details.group_name)}</b>, "
                             f"{details.session_date:%A %d %B %Y} — {where}{cancelled}")  # fmt: skip
        self.date.setDate(QDate(details.session_date))
        self.start.setTime(QTime(details.start_time))
        self.end.setTime(QTime(details.end_time))
        self._pick(self.mode, details.session_mode)
        self.location.setText(details.location or "")
        self._pick(self.priority, details.priority_level)
        self._pick(self.teacher, details.teacher_attendance_status)
        self.status.clear()
        # The current status and the ones it may become: nothing else can be chosen.
        for status in (details.status, *details.next_statuses):
            self.status.addItem(STATUS_TEXT[status], status)
        self.alarm.setChecked(details.alarm_enabled)
        self.alarm_minutes.setValue(details.alarm_before_minutes)
        self.alarm_minutes.setEnabled(details.alarm_enabled)
        self.featured.setChecked(details.is_featured)
        self.announce.setChecked(details.notification_enabled)
        self.topics.set_topics(details.topics)
        self.covered.set_topics(details.topics_covered)
        self.form.setEnabled(True)
        self.save_button.setEnabled(True)
        self.cancel_button.setEnabled(self._can_cancel())
        self._update_duration()
        self.date.setFocus()

    @staticmethod
    def _pick(combo: QComboBox, value: str | None) -> None:
        combo.setCurrentIndex(max(combo.findData(value), 0))

    def _update_duration(self) -> None:
        minutes = self.start.time().secsTo(self.end.time()) // 60
        if minutes > 0:
            hours, rest = divmod(minutes, 60)
            length = f"{hours} h {rest:02d} min" if hours else f"{minutes} minutes"
            self.duration.setText(length)
            self.duration.setStyleSheet("")
        else:
            self.duration.setText("ends before it starts")
            self.duration.setStyleSheet("color: #a61b1b;")

    # ------------------------------------------------------------ saving
    def on_screen(self) -> dict[str, Any]:
        """Every field as the dialog shows it, under the service's names."""
        return {
            "session_date": self.date.date().toPython(),
            "start_time": _time(self.start),
            "end_time": _time(self.end),
            "session_mode": self.mode.currentData(),
            "location": self.location.text().strip() or None,
            "priority_level": self.priority.currentData(),
            "teacher_attendance_status": self.teacher.currentData(),
            "status": self.status.currentData(),
            "alarm_enabled": self.alarm.isChecked(),
            "alarm_before_minutes": self.alarm_minutes.value(),
            "is_featured": self.featured.isChecked(),
            "notification_enabled": self.announce.isChecked(),
            "topics": self.topics.topics(),
            "topics_covered": self.covered.topics(),
        }

    def changes(self) -> dict[str, Any]:
        """Only the fields changed here: a series edit must not copy this session's other
        values onto the other sessions."""
        if self.details is None:
            return {}
        before = {name: getattr(self.details, name) for name in self.on_screen()}
        before["topics"] = list(before["topics"])
        before["topics_covered"] = list(before["topics_covered"])
        return {name: value for name, value in self.on_screen().items()
                if value != before[name]}  # fmt: skip

    def save(self) -> None:
        details, changes = self.details, self.changes()
        if details is None or not self.save_button.isEnabled():
            return
        if not changes:
            self.accept()  # nothing to save: as Cancel, without a question
            return
        if not details.in_series:
            self._apply(changes, "this")
            return
        ask = ScopeDialog(
            self, title="Apply the change", question="Apply the change to which sessions? "
            "Completed and cancelled sessions of the series stay as they were.",
            confirm="&Save", following=details.following_count, series=details.series_size,
            date_moved="session_date" in changes,
        )  # fmt: skip
        ask.accepted.connect(lambda: self._apply(changes, ask.scope()))
        ask.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        ask.open()

    def _apply(self, changes: dict[str, Any], scope: EditScope) -> None:
        assert self.details is not None
        session_id, version = self.session_id, self.details.row_version
        self._run(lambda s, ctx, job: class_sessions.update_sessions(
            s, ctx, session_id, changes, scope, expected_version=version))  # fmt: skip

    def cancel_session(self) -> None:
        details = self.details
        if details is None:
            return
        which = "sessions" if details.in_series else "session"
        ask = ScopeDialog(
            self, title="Cancel session",
            question="Cancel which sessions? They stay in the list with their registers, and "
            "a cancelled session cannot be scheduled again." if details.in_series else
            "Cancel this session? It stays in the list with its register, and a cancelled "
            "session cannot be scheduled again.",
            confirm=f"&Cancel {which}", keep=f"&Keep {'them' if details.in_series else 'it'}",
            following=details.following_count, series=details.series_size, with_reason=True,
        )  # fmt: skip
        ask.accepted.connect(lambda: self._cancel(ask.scope(), ask.reason_text()))
        ask.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        ask.open()

    def _cancel(self, scope: EditScope, reason: str | None) -> None:
        assert self.details is not None
        session_id, version = self.session_id, self.details.row_version
        self._run(lambda s, ctx, job: class_sessions.cancel_sessions(
            s, ctx, session_id, scope, reason, expected_version=version))  # fmt: skip

    def _run(self, work) -> None:
        self.buttons.setEnabled(False)
        self.cancel_button.setEnabled(False)
        Op(self, work, show_progress=False).success(self._done).failure(
            self._refused).run()  # fmt: skip

    def _refused(self, error: BaseException) -> None:
        self.message.setText(error_text(error))
        self.buttons.setEnabled(True)
        self.cancel_button.setEnabled(self._can_cancel())

    def _can_cancel(self) -> bool:
        return (self.details is not None
                and SessionStatus.CANCELLED.value in self.details.next_statuses)  # fmt: skip

    def _done(self, updated: SessionsUpdated) -> None:
        self.updated = updated
        self.saved.emit(updated)
        self.accept()


def open_session_dialog(parent: QWidget | None, session_id: uuid.UUID) -> SessionDialog:
    """Open Edit session for ``session_id`` (window-modal, deleted when closed). Its
    ``saved`` signal carries what changed (``SessionsUpdated.summary`` says it in words);
    the list refreshes by itself from the change broadcast."""
    dialog = SessionDialog(session_id, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
