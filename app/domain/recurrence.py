"""Recurring class sessions: which dates a series of lessons falls on.

A series repeats weekly or every other week on chosen weekdays, or monthly on the day of
the month its first session falls on, from its first date up to and including an end
date; some dates are skipped (a holiday) and some added (a make-up lesson). The dates
come from ``dateutil.rrule`` — the iCalendar recurrence rules, maintained and tested
far beyond what a hand-written loop would be.

Monthly on a day some months lack (the 29th, 30th or 31st) falls on the last day of
those months: "monthly on the 31st" is on 30 April and 28 or 29 February, never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from dateutil import rrule

from app.domain.enums import SessionFrequency
from app.domain.errors import ValidationError

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A series longer than this is almost certainly a typo in the end date (2062 for 2026).
MAX_SESSIONS_IN_SERIES = 500
_RULE_FREQUENCY = {
    SessionFrequency.WEEKLY: (rrule.WEEKLY, 1),
    SessionFrequency.BI_WEEKLY: (rrule.WEEKLY, 2),
    SessionFrequency.MONTHLY: (rrule.MONTHLY, 1),
}


@dataclass(frozen=True)
class Recurrence:
    """When a series of sessions takes place. ``weekdays`` are 0 (Monday) to 6; empty
    means the first date's weekday. A one-time session is a series of one date."""

    frequency: SessionFrequency
    first: date
    until: date | None = None
    weekdays: tuple[int, ...] = ()
    skipped: frozenset[date] = field(default_factory=frozenset)
    extra: tuple[date, ...] = ()

    def dates(self) -> list[date]:
        """Every date of the series, in order: the rule's dates without the skipped
        ones, with the extra ones."""
        one_time = self.frequency is SessionFrequency.ONE_TIME
        ruled = [self.first] if one_time else self._ruled_dates()
        chosen = (set(ruled) | set(self.extra)) - self.skipped
        if not chosen:
            raise ValidationError(
                "skip", "Every date of the series is skipped; there is nothing to schedule."
            )
        if len(chosen) > MAX_SESSIONS_IN_SERIES:
            raise ValidationError(
                "until",
                f"The series would have {len(chosen):,} sessions (at most "
                f"{MAX_SESSIONS_IN_SERIES}); check the end date.",
            )
        return sorted(chosen)

    def _ruled_dates(self) -> list[date]:
        if self.until is None:
            raise ValidationError("until", "A recurring series needs an end date (--until).")
        if self.until < self.first:
            raise ValidationError(
                "until",
                f"The series ends ({self.until:%d %b %Y}) before it starts "
                f"({self.first:%d %b %Y}); change the end date.",
            )
        rule_frequency, interval = _RULE_FREQUENCY[self.frequency]
        options: dict[str, Any] = {"interval": interval}
        if self.frequency is SessionFrequency.MONTHLY:
            day = self.first.day
            # The last of the days up to ``day`` that the month has: the day itself, or
            # the month's last day in a shorter month.
            options.update(bymonthday=tuple(range(min(day, 28), day + 1)), bysetpos=-1)
        else:
            days = self.weekdays or (self.first.weekday(),)
            if any(not 0 <= d <= 6 for d in days):
                raise ValidationError("weekdays", "Weekdays are Monday (0) to Sunday (6).")
            options.update(byweekday=sorted(set(days)), wkst=rrule.MO)
        start = datetime.combine(self.first, datetime.min.time())
        end = datetime.combine(self.until, datetime.min.time())
        rule = rrule.rrule(rule_frequency, dtstart=start, until=end, **options)
        dates = []
        for moment in rule:  # stops early: a mistyped end date is refused, not expanded
            dates.append(moment.date())
            if len(dates) > MAX_SESSIONS_IN_SERIES:
                break
        return dates

    def pattern(self) -> dict[str, Any] | None:
        """The series as ``class_session.recurring_pattern`` keeps it (None: one-time)."""
        if self.frequency is SessionFrequency.ONE_TIME:
            return None
        if self.frequency is SessionFrequency.MONTHLY:
            days: list[Any] = [self.first.day]
        else:
            days = [WEEKDAY_NAMES[d] for d in sorted(set(self.weekdays or (self.first.weekday(),)))]
        return {
            "days": days,
            "months": [],  # every month of the series
            "specific_dates": [d.isoformat() for d in sorted(self.extra)],
            "skipped_dates": [d.isoformat() for d in sorted(self.skipped)],
            "until": self.until.isoformat() if self.until else None,
        }


def parse_weekdays(text: str) -> tuple[int, ...]:
    """ "MON,THU" or "tue thu" -> (0, 3); a clear error for anything else."""
    days = []
    for word in text.replace(",", " ").split():
        name = word.strip().lower()[:3]
        if name not in WEEKDAY_NAMES:
            raise ValidationError(
                "weekdays", f"{word!r} is not a weekday; use MON, TUE, WED, THU, FRI, SAT, SUN."
            )
        days.append(WEEKDAY_NAMES.index(name))
    if not days:
        raise ValidationError("weekdays", "Name at least one weekday, e.g. TUE,THU.")
    return tuple(sorted(set(days)))
