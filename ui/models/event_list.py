"""The Events page's table: every event with the figures its organiser looks at —
registrations (on their own / in teams), the waiting list, check-ins per event day,
certificates by kind and the average rating — from ``event_setup.event_analytics``.

Events are few (tens a school year) and their figures come in one query, so the whole
list is one page: the paged model is used for what every page of the window shares
(loading off the GUI thread, refreshing on the hub's broadcast, F5, File > Export,
remembered column widths), not for paging. The list has one order, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import EventStatus
from app.domain.rows import Page
from app.domain.wording import counted
from app.services import event_setup
from app.services import events as event_service
from app.services.event_setup import EventSummary
from ui.models.paged import Column, ListSource, PagedTableModel

ModelIndex = QModelIndex | QPersistentModelIndex
NONE_YET = "—"
#: the role under which the attendance column hands its DayBar tuple to the delegate
BARS_ROLE = int(Qt.ItemDataRole.UserRole) + 1
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)


@dataclass(frozen=True)
class EventListQuery:
    """The events list has no filter and one order: there is nothing to ask for."""


@dataclass(frozen=True)
class DayBar:
    """One event day of the attendance chart."""

    day: date
    attended: int
    registered: int
    held: bool  # the day has come, or someone checked in: a day to come is drawn empty

    @property
    def share(self) -> float:
        """Attended of registered, 0 to 1 (a check-in of a registration cancelled
        since is not counted, so it never goes over)."""
        return min(self.attended / self.registered, 1.0) if self.registered else 0.0


def day_bars(event: EventSummary, today: date) -> tuple[DayBar, ...]:
    """A bar for every day of the event, days without a check-in included."""
    present = dict(event.attendance_by_day)
    days = [event.starts_on + timedelta(days=n)
            for n in range((event.ends_on - event.starts_on).days + 1)]  # fmt: skip
    return tuple(DayBar(d, present.get(d, 0), event.registered, d <= today or d in present)
                 for d in days)  # fmt: skip


def dates_text(starts_on: date, ends_on: date) -> str:
    """ "5 Nov 2026", "10–11 Oct 2026", "30 Sep – 2 Oct 2026", "30 Dec 2026 – 2 Jan 2027"."""
    if starts_on == ends_on:
        return f"{starts_on.day} {starts_on:%b %Y}"
    if (starts_on.year, starts_on.month) == (ends_on.year, ends_on.month):
        return f"{starts_on.day}–{ends_on.day} {ends_on:%b %Y}"
    if starts_on.year == ends_on.year:
        return f"{starts_on.day} {starts_on:%b} – {ends_on.day} {ends_on:%b %Y}"
    return f"{starts_on.day} {starts_on:%b %Y} – {ends_on.day} {ends_on:%b %Y}"


def status_text(status: str) -> str:
    return status.capitalize()


def registered_text(event: EventSummary) -> str:
    return f"{event.registered_individually} / {event.registered_in_teams}"


def registered_tooltip(event: EventSummary) -> str:
    teams = f" in {counted(event.teams, 'team')}" if event.teams else ""
    places = (f"{event.registered} of {event.capacity} places taken, "
              f"{event.places_left} left" if event.capacity is not None
              else f"{counted(event.registered, 'place')} taken, no limit")  # fmt: skip
    cancelled = f"\n{event.cancelled} cancelled" if event.cancelled else ""
    return (f"{event.registered_individually} on their own, {event.registered_in_teams}"
            f"{teams}\n{places}{cancelled}")  # fmt: skip


def attendance_text(bars: tuple[DayBar, ...]) -> str:
    """The chart in words (File > Export, screen readers): "4, 3 of 4"."""
    held = [b for b in bars if b.held]
    if not held:
        return "not held yet"
    if not any(b.attended or b.registered for b in held):
        return NONE_YET  # nobody to count: "0, 0 of 0" would say nothing
    return f"{', '.join(str(b.attended) for b in held)} of {held[0].registered}"


def attendance_tooltip(event: EventSummary, bars: tuple[DayBar, ...]) -> str:
    lines = [f"Checked in, of {counted(event.registered, 'student')} registered:"]
    for bar in bars:
        figure = (f"{bar.attended} ({bar.share:.0%})" if bar.held and bar.registered
                  else str(bar.attended) if bar.held else "not held yet")  # fmt: skip
        lines.append(f"{bar.day:%a} {bar.day.day} {bar.day:%b %Y}: {figure}")
    return "\n".join(lines)


def certificates_text(event: EventSummary) -> str:
    issued = [f"{kind} {n}" for kind, n in event.certificates_by_kind if n]
    return ", ".join(issued) if issued else NONE_YET


def rating_text(event: EventSummary) -> str:
    return NONE_YET if event.average_rating is None else f"{event.average_rating:.1f}"


def rating_tooltip(event: EventSummary) -> str:
    if event.average_rating is None:
        return "No feedback yet"
    return f"Average of {counted(event.ratings, 'rating')} (1 to 5)"


def event_tooltip(event: EventSummary) -> str:
    return f"{event.name}\n{event.venue}" if event.venue else event.name


def _attendance(event: EventSummary) -> str:
    return attendance_text(day_bars(event, date.today()))


def _attendance_tooltip(event: EventSummary) -> str:
    return attendance_tooltip(event, day_bars(event, date.today()))


# The columns' numbers, in the table's order. Certificates come last: the longest
# text, it takes the width the table has left.
EVENT, DATES, STATUS, REGISTERED, WAITING, ATTENDANCE, RATING, CERTIFICATES = range(8)
_CELL_TIPS: dict[int, Callable[[EventSummary], str]] = {
    EVENT: event_tooltip,
    REGISTERED: registered_tooltip,
    ATTENDANCE: _attendance_tooltip,
    RATING: rating_tooltip,
}


def event_columns() -> list[Column[EventSummary]]:
    return [
        Column("Event", lambda e: e.name, width=220),
        Column("Dates", lambda e: dates_text(e.starts_on, e.ends_on), width=150,
               tooltip="Newest first"),
        Column("Status", lambda e: status_text(e.status), width=90),
        Column("Registered", registered_text, align_right=True, width=100,
               tooltip="Registered on their own / in teams"),
        Column("Waiting", lambda e: e.waitlisted, align_right=True, width=70,
               tooltip="On the waiting list"),
        Column("Attendance per day", _attendance, width=150,
               tooltip="Checked in of registered, a bar per event day"),
        Column("Rating", rating_text, align_right=True, width=70,
               tooltip="Average feedback rating, 1 to 5"),
        Column("Certificates", certificates_text, width=210,
               tooltip="Certificates issued and not revoked, by kind"),
    ]  # fmt: skip


def _count(session: Session, ctx: ServiceContext, query: EventListQuery) -> int:
    # The events alone, without their figures: asked for on every refresh.
    return len(event_service.list_events(session, ctx))


def _stream(session: Session, ctx: ServiceContext, query: EventListQuery,
            batch_size: int) -> Iterator[list[EventSummary]]:  # fmt: skip
    rows = event_setup.event_analytics(session, ctx)
    for start in range(0, len(rows), batch_size):
        yield rows[start : start + batch_size]


class EventListModel(PagedTableModel[EventSummary, EventListQuery]):
    # Whatever changes an event's figures: registrations and teams, check-ins,
    # feedback, certificates, and the events themselves.
    entities = frozenset({"event", "event_registration", "event_team", "event_attendance",
                          "event_feedback", "certificate"})  # fmt: skip
    source = ListSource(_count, _stream)

    def __init__(self, parent=None) -> None:
        super().__init__(event_columns(), EventListQuery(), parent)

    def fetch_page(self, session: Session, ctx: ServiceContext, query: EventListQuery,
                   offset: int, limit: int) -> Page[EventSummary]:  # fmt: skip
        rows = event_setup.event_analytics(session, ctx)
        return Page(rows[offset : offset + limit], offset, limit, offset + limit < len(rows))

    def count(self, session: Session, ctx: ServiceContext, query: EventListQuery) -> int:
        return _count(session, ctx, query)

    def row_of(self, event_id: Any) -> int:
        """The row of the event with this id among the loaded rows; -1 if none."""
        for number in range(self.rowCount()):
            row = self.row_at(number)
            if row is not None and row.id == event_id:
                return number
        return -1

    # The cells' own tooltips and the chart's bars: the paged model serves a tooltip
    # only for a refused edit, and no role of its own.
    def _cell_value(self, row: EventSummary | None, number: int, role: int) -> Any:
        if role == _TOOLTIP and row is not None and number in _CELL_TIPS:
            return _CELL_TIPS[number](row)
        return super()._cell_value(row, number, role)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == BARS_ROLE:
            if index.column() != ATTENDANCE:
                return None
            row = self.row_at(index.row())
            return None if row is None else day_bars(row, date.today())
        return super().data(index, role)


def can_become(event: EventSummary, status: EventStatus) -> bool:
    """Whether the status flow lets ``event`` move on to ``status`` now."""
    return status.value in event_setup.STATUS_FLOW.get(event.status, set())
