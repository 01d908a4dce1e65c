"""Which dates a series of class sessions falls on."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.enums import SessionFrequency
from app.domain.errors import ValidationError
from app.domain.recurrence import MAX_SESSIONS_IN_SERIES, Recurrence, parse_weekdays

TUE_THU = parse_weekdays("TUE,THU")


def test_weekly_on_two_days_across_a_month_boundary_with_a_skipped_and_an_extra_date():
    series = Recurrence(
        SessionFrequency.WEEKLY, first=date(2026, 9, 22), until=date(2026, 10, 8),
        weekdays=TUE_THU, skipped=frozenset({date(2026, 10, 1)}),
        extra=(date(2026, 10, 3),),
    )  # fmt: skip
    assert series.dates() == [
        date(2026, 9, 22), date(2026, 9, 24), date(2026, 9, 29),
        date(2026, 10, 3), date(2026, 10, 6), date(2026, 10, 8),
    ]  # fmt: skip
    assert series.pattern() == {
        "days": ["tue", "thu"], "months": [], "specific_dates": ["2026-10-03"],
        "skipped_dates": ["2026-10-01"], "until": "2026-10-08",
    }  # fmt: skip


def test_biweekly_skips_every_other_week():
    series = Recurrence(SessionFrequency.BI_WEEKLY, first=date(2026, 9, 1),
                        until=date(2026, 10, 1), weekdays=(1,))  # fmt: skip
    assert series.dates() == [date(2026, 9, 1), date(2026, 9, 15), date(2026, 9, 29)]


def test_monthly_on_the_31st_falls_on_the_last_day_of_shorter_months():
    series = Recurrence(SessionFrequency.MONTHLY, first=date(2026, 1, 31), until=date(2026, 5, 31))
    assert series.dates() == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
        date(2026, 5, 31),
    ]  # fmt: skip
    leap = Recurrence(SessionFrequency.MONTHLY, first=date(2028, 1, 30), until=date(2028, 3, 30))
    assert leap.dates() == [date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]


def test_without_weekdays_a_weekly_series_keeps_the_first_dates_weekday():
    series = Recurrence(SessionFrequency.WEEKLY, first=date(2026, 9, 2), until=date(2026, 9, 16))
    assert series.dates() == [date(2026, 9, 2), date(2026, 9, 9), date(2026, 9, 16)]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (Recurrence(SessionFrequency.WEEKLY, first=date(2026, 9, 8), until=date(2026, 9, 1)),
         r"ends \(01 Sep 2026\) before it starts \(08 Sep 2026\)"),
        (Recurrence(SessionFrequency.WEEKLY, first=date(2026, 9, 8)), "needs an end date"),
        (Recurrence(SessionFrequency.WEEKLY, first=date(2026, 9, 1), until=date(2062, 9, 1)),
         f"at most {MAX_SESSIONS_IN_SERIES}"),
        (Recurrence(SessionFrequency.ONE_TIME, first=date(2026, 9, 1),
                    skipped=frozenset({date(2026, 9, 1)})), "nothing to schedule"),
    ],
)  # fmt: skip
def test_a_series_that_cannot_be_is_refused_with_the_reason(series, message):
    with pytest.raises(ValidationError, match=message):
        series.dates()


def test_weekday_names_are_read_as_people_write_them():
    assert parse_weekdays("mon, Thursday") == (0, 3)
    with pytest.raises(ValidationError, match="'Tuseday' is not a weekday"):
        parse_weekdays("Tuseday")
