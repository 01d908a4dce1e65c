"""Checking students in at the door of an event (Events page: Check in…).

One field takes what the desk scans or types — a student number or a registration
number — and Enter checks the student in: a barcode scanner types the number and
Enter by itself, so the field keeps the focus and is emptied at once for the next scan
while the answer comes back. The answer is one big line: green when the student is
checked in, amber when they already were (nothing changes), red with the reason when
they may not be. Below, who is in (with the time) and who is still missing that day,
read again with every check-in. Feedback… records a participant's rating.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import RollbookError
from app.services import checkin, event_setup
from app.services.checkin import CheckInResult, DayList, DayListRow
from app.services.event_setup import EventDetails
from ui.dialogs.feedback_dialog import FeedbackDialog
from ui.dialogs.parts import refusal_label
from ui.ops import Op, error_text

log = logging.getLogger(__name__)

PLACEHOLDER = "Scan or type a student or registration number"
# Colour says it at a glance from across the desk; the sign says it without colour.
RESULT_STYLES = {
    "in": ("✔", "#14532d", "#dcfce7", "#86efac"),
    "already": ("●", "#713f12", "#fef3c7", "#fcd34d"),
    "refused": ("✖", "#7f1d1d", "#fee2e2", "#fca5a5"),
    "waiting": ("…", "palette(text)", "palette(base)", "palette(mid)"),
}


@dataclass(frozen=True)
class Scanned:
    """What one scan's operation brings back: the check-in and the day as it is now."""

    result: CheckInResult
    day: DayList


def event_days(event: EventDetails) -> list[date]:
    return [event.starts_on + timedelta(days=n) for n in range(event.days)]


def first_day_shown(event: EventDetails, today: date) -> date:
    """Today when the event runs today (the desk's usual case), else its first day."""
    return today if event.starts_on <= today <= event.ends_on else event.starts_on


def _clock(row: DayListRow) -> str:
    return f"{row.checked_in_at.astimezone():%H:%M}" if row.checked_in_at else ""


class DayTable(QTableWidget):
    """One of the day's lists. A scan that lands here (the person clicked a row, then
    the scanner typed) goes on into the number field instead of searching the list;
    Enter on a row with the field empty opens Feedback…."""

    def __init__(self, headers: list[str], dialog: CheckInDialog) -> None:
        super().__init__(0, len(headers))
        self.dialog = dialog
        self.setHorizontalHeaderLabels(headers)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        number = self.dialog.number
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not number.text():
            self.dialog.give_feedback()
            return
        plain = not event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier
                                          | Qt.KeyboardModifier.KeypadModifier)  # fmt: skip
        if enter or (plain and event.text().strip() and event.text().isprintable()):
            number.setFocus()
            QApplication.sendEvent(number, event)
            return
        super().keyPressEvent(event)


class CheckInDialog(QDialog):
    def __init__(self, event_id: uuid.UUID, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.event_id = event_id
        self.details: EventDetails | None = None
        self.day_shown: DayList | None = None
        self.checked_in = 0  # by this dialog: the opener may refresh its figures
        self.feedback_dialog: FeedbackDialog | None = None
        self._list_op: Op | None = None
        self.setWindowTitle("Check-in")
        self.resize(920, 640)
        self.heading = QLabel("Loading the event…")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.day = QComboBox()
        self.day.setMinimumContentsLength(18)
        self.day.currentIndexChanged.connect(lambda _i: self._day_chosen())
        self.number = QLineEdit()
        self.number.setPlaceholderText(PLACEHOLDER)
        self.number.setClearButtonEnabled(True)
        font = self.number.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.number.setFont(font)
        self.number.returnPressed.connect(self.scan)
        self.number.setEnabled(False)  # until the event's days are known
        self.result = QLabel("")
        self.result.setObjectName("scanResult")
        self.result.setWordWrap(True)
        self.result.setMinimumHeight(3 * self.result.fontMetrics().lineSpacing())
        font = self.result.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.result.setFont(font)
        self.present = DayTable(["Time", "Student", "Registration", "Team"], self)
        self.missing = DayTable(["Student", "Registration", "Team"], self)
        self.present_label = QLabel("&In")
        self.present_label.setBuddy(self.present)
        self.missing_label = QLabel("&Missing")
        self.missing_label.setBuddy(self.missing)
        for label in (self.present_label, self.missing_label):
            font = label.font()
            font.setBold(True)
            label.setFont(font)
        for table in (self.present, self.missing):
            table.itemSelectionChanged.connect(lambda t=table: self._highlighted(t))
            table.doubleClicked.connect(lambda _index: self.give_feedback())
        self.feedback_button = QPushButton("&Feedback…")
        self.feedback_button.setToolTip("Record the highlighted participant's rating and "
                                        "comments (Enter in the lists)")  # fmt: skip
        self.feedback_button.setEnabled(False)
        self.feedback_button.clicked.connect(self.give_feedback)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.message = refusal_label()  # the event or the day list could not be read
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText("Close")
        self.buttons.rejected.connect(self.reject)
        self._layout()
        # Enter belongs to the number field (the scanner ends every number with it): no
        # button is the default that Enter would press instead.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
            button.setDefault(False)
        QShortcut(QKeySequence.StandardKey.Refresh, self, self.refresh_day)
        self._show_result("waiting", "Loading…")
        self._load()

    def _layout(self) -> None:
        top = QGridLayout()
        day_label = QLabel("&Day:")
        day_label.setBuddy(self.day)
        number_label = QLabel("&Number:")
        number_label.setBuddy(self.number)
        top.addWidget(day_label, 0, 0)
        top.addWidget(self.day, 0, 1, Qt.AlignmentFlag.AlignLeft)
        top.addWidget(number_label, 1, 0)
        top.addWidget(self.number, 1, 1)
        top.setColumnStretch(1, 1)
        lists = QGridLayout()
        lists.addWidget(self.present_label, 0, 0)
        lists.addWidget(self.missing_label, 0, 1)
        lists.addWidget(self.present, 1, 0)
        lists.addWidget(self.missing, 1, 1)
        lists.setColumnStretch(0, 3)
        lists.setColumnStretch(1, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.feedback_button)
        bottom.addWidget(self.note, 1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(top)
        layout.addWidget(self.result)
        layout.addLayout(lists, 1)
        layout.addWidget(self.message)
        layout.addLayout(bottom)
        for table, stretch in ((self.present, 1), (self.missing, 0)):
            header = table.horizontalHeader()
            header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
            header.setStretchLastSection(False)

    # ------------------------------------------------------------ the event and its day
    def _load(self) -> None:
        event_id, today = self.event_id, date.today()

        def work(s, ctx, job) -> tuple[EventDetails, DayList]:
            # The event and its day list in one operation: one wait before the desk starts.
            event = event_setup.get_event(s, ctx, event_id)
            return event, checkin.day_list(s, ctx, event_id, first_day_shown(event, today))

        Op(self, work, read_only=True, show_progress=False).success(
            lambda loaded: self._loaded(*loaded)).failure(self._not_loaded).run()  # fmt: skip

    def _loaded(self, event: EventDetails, day: DayList) -> None:
        self.details = event
        self.setWindowTitle(f"Check-in — {event.name}")
        cancelled = " — cancelled: there is no check-in" if event.status == "cancelled" else ""
        self.heading.setText(f"<span style='font-size:x-large'><b>{escape(event.name)}</b></span>"
                             f" &nbsp; {checkin.event_days_text(event.starts_on, event.ends_on)}"
                             f"{cancelled}")  # fmt: skip
        today = date.today()
        self.day.blockSignals(True)
        for n, each in enumerate(event_days(event), start=1):
            label = f"{each:%a %d %b %Y}" + (" (today)" if each == today else "")
            self.day.addItem(f"Day {n}: {label}" if event.days > 1 else label, each)
        # By position: findData does not match a date with the one stored.
        self.day.setCurrentIndex(event_days(event).index(day.day))
        self.day.blockSignals(False)
        self.number.setEnabled(True)
        self.number.setFocus()
        self._show_result("waiting", "Ready: scan a card, or type a number and press Enter.")
        self._show_day(day)

    def _not_loaded(self, error: BaseException) -> None:
        self._show_result("refused", error_text(error))

    def chosen_day(self) -> date | None:
        return self.day.currentData()

    def _day_chosen(self) -> None:
        day = self.chosen_day()
        if day is None:
            return
        self._show_result("waiting", f"Checking in for {day:%A %d %B}: scan a card, or type "
                                     "a number and press Enter.")  # fmt: skip
        self.refresh_day()
        self.number.setFocus()

    def refresh_day(self) -> None:
        """The chosen day's lists, read again (F5, another day chosen)."""
        day, event_id = self.chosen_day(), self.event_id
        if day is None:
            return
        if self._list_op is not None:
            self._list_op.cancel()  # the list asked for before is not wanted any more
        self._list_op = Op(self, lambda s, ctx, job: checkin.day_list(s, ctx, event_id, day),
                           read_only=True, show_progress=False).success(self._show_day).failure(
            lambda error: self.message.setText(error_text(error))).run()  # fmt: skip

    # ------------------------------------------------------------ scanning
    def scan(self) -> None:
        typed, day, event_id = self.number.text().strip(), self.chosen_day(), self.event_id
        if not typed or day is None:
            return
        # Emptied now, not when the answer comes: the scanner's next number may already
        # be on its way, and it must not be typed onto the end of this one. The line
        # changes too, so two scans with the same answer are still seen as two.
        self.number.clear()
        self._show_result("waiting", f"Checking {typed}…")

        def work(s, ctx, job) -> Scanned:
            result = checkin.check_in(s, ctx, event_id, typed, day)
            return Scanned(result, checkin.day_list(s, ctx, event_id, day))

        Op(self, work, show_progress=False).success(self._scanned).failure(
            lambda error: self._refused(typed, error)).finally_(self.number.setFocus).run()  # fmt: skip

    def _scanned(self, scanned: Scanned) -> None:
        result = scanned.result
        self._show_result("already" if result.already else "in", result.message)
        self.checked_in += not result.already
        self._show_day(scanned.day, arrived=result.registration_no)

    def _refused(self, typed: str, error: BaseException) -> None:
        if not isinstance(error, RollbookError):
            log.error("check-in of %r failed", typed, exc_info=error)
        self._show_result("refused", error_text(error))
        QApplication.beep()  # the desk may be looking at the student, not the screen

    def _show_result(self, kind: str, text: str) -> None:
        sign, colour, background, border = RESULT_STYLES[kind]
        self.result.setProperty("outcome", kind)
        self.result.setText(f"{sign}  {text}")
        self.result.setStyleSheet(
            f"QLabel#scanResult {{ color: {colour}; background: {background}; "
            f"border: 1px solid {border}; border-radius: 6px; padding: 8px 12px; }}"
        )

    def outcome(self) -> str:
        """in, already, refused or waiting: what the result line shows now."""
        return str(self.result.property("outcome"))

    # ------------------------------------------------------------ the day's lists
    def _show_day(self, day: DayList, arrived: str | None = None) -> None:
        if day.day != self.chosen_day():
            return  # a scan for the day chosen before answered late; its list is old
        self.day_shown = day
        self.message.setText("")
        chosen = self.highlighted()
        self.present_label.setText(f"&In ({len(day.present):,})")
        self.missing_label.setText(f"&Missing ({len(day.missing):,})")
        _fill(self.present, [(_clock(r), f"{r.name} ({r.student_no})", r.registration_no,
                              r.team or "") for r in day.present])  # fmt: skip
        _fill(self.missing, [(f"{r.name} ({r.student_no})", r.registration_no, r.team or "")
                             for r in day.missing])  # fmt: skip
        self.present.resizeColumnToContents(0)
        for table in (self.present, self.missing):
            table.resizeColumnToContents(table.columnCount() - 2)
        if arrived is not None:
            # The newest arrival is the one the desk is talking to: ready for Feedback….
            self._reselect(arrived)
        elif chosen is not None:
            self._reselect(chosen.registration_no)
        self._update_feedback_button()

    def _select(self, table: DayTable, row: int) -> None:
        if row < 0:
            return
        table.selectRow(row)
        table.scrollToItem(table.item(row, 0))

    def _reselect(self, registration_no: str) -> None:
        assert self.day_shown is not None
        for table, rows in ((self.present, self.day_shown.present),
                            (self.missing, self.day_shown.missing)):  # fmt: skip
            for n, row in enumerate(rows):
                if row.registration_no == registration_no:
                    self._select(table, n)
                    return

    def _highlighted(self, table: DayTable) -> None:
        # One highlighted participant at a time, whichever list they are in.
        if table.selectedItems():
            other = self.missing if table is self.present else self.present
            other.blockSignals(True)
            other.clearSelection()
            other.blockSignals(False)
        self._update_feedback_button()

    def highlighted(self) -> DayListRow | None:
        """The participant highlighted in either list."""
        if self.day_shown is None:
            return None
        for table, rows in ((self.present, self.day_shown.present),
                            (self.missing, self.day_shown.missing)):  # fmt: skip
            selected = table.selectionModel().selectedRows()
            if selected and selected[0].row() < len(rows):
                return rows[selected[0].row()]
        return None

    def _update_feedback_button(self) -> None:
        self.feedback_button.setEnabled(self.highlighted() is not None)

    # ------------------------------------------------------------ feedback
    def give_feedback(self) -> None:
        row = self.highlighted()
        if row is None:
            return
        dialog = FeedbackDialog(row.registration_no, self, event_id=self.event_id,
                                who=f"{row.name} ({row.student_no})")  # fmt: skip
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._feedback_saved(dialog))
        dialog.finished.connect(lambda _result: self._feedback_closed())
        self.feedback_dialog = dialog
        dialog.open()

    def _feedback_saved(self, dialog: FeedbackDialog) -> None:
        if dialog.saved is None:
            return
        given = dialog.saved.feedback
        self.note.setText(f"Feedback {'replaced' if dialog.saved.replaced else 'saved'} for "
                          f"{given.name}: {given.rating} of 5.")  # fmt: skip

    def _feedback_closed(self) -> None:
        self.feedback_dialog = None
        self.number.setFocus()  # back to scanning


def _fill(table: QTableWidget, rows: list[tuple[str, ...]]) -> None:
    table.setRowCount(len(rows))
    for number, values in enumerate(rows):
        for column, value in enumerate(values):
            table.setItem(number, column, QTableWidgetItem(value))
