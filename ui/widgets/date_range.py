"""A date range to report on: two dates with calendar pop-ups, and "All dates", which
sets them aside (and greys them) without forgetting them."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QCheckBox, QDateEdit, QHBoxLayout, QLabel, QWidget

DISPLAY_FORMAT = "d MMM yyyy"  # "1 Sep 2026": no day/month order to misread


def school_year_so_far(today: date) -> tuple[date, date]:
    """From 1 September of the school year ``today`` is in, up to ``today``. The summer
    holidays count to the year just ended: a report made in August is about it."""
    start_year = today.year if today.month >= 9 else today.year - 1
    return date(start_year, 9, 1), today


class DateRange(QWidget):
    #: the range or "All dates" changed
    changed = Signal()

    def __init__(self, first: date, last: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.date_from = self._date_edit(first, "The first day the report covers")
        self.date_to = self._date_edit(last, "The last day the report covers")
        self.all_dates = QCheckBox("A&ll dates")
        self.all_dates.setToolTip("Report on every date, whatever the range says")
        self.all_dates.toggled.connect(self._all_toggled)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.date_from)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.date_to)
        layout.addSpacing(12)
        layout.addWidget(self.all_dates)
        layout.addStretch(1)
        # A label's Alt+letter for the range lands on its first date.
        self.setFocusProxy(self.date_from)

    def _date_edit(self, day: date, tip: str) -> QDateEdit:
        edit = QDateEdit(QDate(day))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(DISPLAY_FORMAT)
        edit.setToolTip(tip)
        edit.dateChanged.connect(lambda _d: self.changed.emit())
        return edit

    def _all_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(not on)
        self.date_to.setEnabled(not on)
        # With the dates greyed, Alt+letter goes to the box that brings them back.
        self.setFocusProxy(self.all_dates if on else self.date_from)
        self.changed.emit()

    def set_range(self, first: date | None, last: date | None) -> None:
        """Show this range; None for both is "All dates"."""
        if first is None and last is None:
            self.all_dates.setChecked(True)
            return
        if first is not None:
            self.date_from.setDate(QDate(first))
        if last is not None:
            self.date_to.setDate(QDate(last))
        self.all_dates.setChecked(False)

    def chosen(self) -> tuple[date | None, date | None]:
        """(first, last); (None, None) for all dates."""
        if self.all_dates.isChecked():
            return None, None
        return self.date_from.date().toPython(), self.date_to.date().toPython()  # type: ignore[return-value]
