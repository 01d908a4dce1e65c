"""Enrollment periods: the dates a student was enrolled in a course.

The database keeps them as a multirange of half-open date ranges [from, until); here
they are plain (from, until) pairs, until None while the enrollment runs, and the words
a registrar reads: "enrolled 3 Aug–14 Oct 2026, again since 1 Dec 2026".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

Period = tuple[date, date | None]


def periods_from_range(value: Any) -> tuple[Period, ...]:
    """(from, until) pairs from a multirange as SQLAlchemy or psycopg return it."""
    periods: list[Period] = []
    for part in value or ():
        if getattr(part, "isempty", False) or part.lower is None:
            continue
        periods.append((part.lower, part.upper))
    return tuple(sorted(periods))


def _day(value: date, with_year: bool) -> str:
    text = f"{value.day} {value:%b}"
    return f"{text} {value.year}" if with_year else text


def describe_periods(periods: Iterable[Period], today: date | None = None) -> str:
    """In words, oldest first; the last day shown is the last day enrolled."""
    today = today or date.today()
    parts: list[str] = []
    for number, (start, until) in enumerate(periods):
        lead = "enrolled" if number == 0 else "again"
        if until is None:
            parts.append(f"{lead} since {_day(start, start.year != today.year)}")
            continue
        last = until - timedelta(days=1)
        if last < start:  # ended the day it began
            parts.append(f"{lead} on {_day(start, start.year != today.year)} only")
            continue
        years = start.year != last.year or last.year != today.year
        parts.append(f"{lead} {_day(start, years)}–{_day(last, years)}")
    return ", ".join(parts) if parts else "never enrolled"
