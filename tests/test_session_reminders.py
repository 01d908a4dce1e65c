"""Session reminders and change announcements, against the real database: which
reminders go off when, and the lines the change capture's entries become."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from app.db.models import ClassSession
from app.domain.enums import SessionFrequency
from app.domain.errors import ValidationError
from app.domain.recurrence import Recurrence
from app.services.class_sessions import SessionPlan, schedule_sessions, update_session
from app.services.courses import create_course, find_or_create_course
from app.services.session_reminders import due_reminders, session_changes_since

TUESDAY = date(2026, 12, 8)


def _session(db, course: str = "Biology 7A", day: date = TUESDAY, **columns) -> uuid.UUID:
    """A 09:00–09:45 session in Lab 1, committed, with ``columns`` set as given."""
    with db.sessions.begin() as s:
        ctx = db.context()
        find_or_create_course(s, ctx, course)
        plan = SessionPlan(course, Recurrence(SessionFrequency.ONE_TIME, first=day),
                           "09:00", "09:45", location="Lab 1")  # fmt: skip
        session_id = schedule_sessions(s, ctx, plan).session_ids[0]
        row = s.get(ClassSession, session_id)
        for name, value in columns.items():
            setattr(row, name, value)
    return session_id


def _due(db, after: datetime, until: datetime) -> list:
    with db.sessions.begin() as s:
        return due_reminders(s, db.context(), after, until)


def _changes(db, after: int | None) -> tuple[list, int]:
    with db.sessions.begin() as s:
        return session_changes_since(s, db.context(), after)


def _at(hour: int, minute: int, second: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second)


def test_a_reminder_goes_off_its_minutes_before_the_session_and_only_then(db):
    session_id = _session(db, alarm_enabled=True, alarm_before_minutes=15)
    (reminder,) = _due(db, _at(8, 44, 30), _at(8, 45, 15))
    assert (reminder.session_id, reminder.course_name, reminder.minutes_before) == (
        session_id, "Biology 7A", 15)  # fmt: skip
    assert reminder.remind_at == _at(8, 45)
    assert (reminder.location, f"{reminder.start_time:%H:%M}", f"{reminder.end_time:%H:%M}") == (
        "Lab 1", "09:00", "09:45")  # fmt: skip
    assert reminder.title == "Biology 7A at 09:00"
    assert reminder.text(_at(8, 45)) == "Tue 8 Dec, 09:00–09:45, Lab 1: starts in 15 minutes"
    assert reminder.text(_at(9, 1)) == "Tue 8 Dec, 09:00–09:45, Lab 1: started 1 minute ago"
    assert reminder.summary == "Biology 7A starts at 09:00 on Tue 8 Dec (until 09:45, Lab 1)"
    # The window is (after, until]: a poll ending at 08:45 has it, the next one not.
    assert _due(db, _at(8, 44), _at(8, 45)) != []
    assert _due(db, _at(8, 45), _at(8, 46)) == []
    assert _due(db, _at(8, 30), _at(8, 44, 59)) == []
    assert _due(db, _at(8, 46), _at(9, 10)) == []
    # the day before at the same time is not the day itself
    assert _due(db, _at(8, 40, day=TUESDAY - timedelta(days=1)),
                _at(8, 50, day=TUESDAY - timedelta(days=1))) == []  # fmt: skip


def test_a_time_zone_aware_window_is_read_as_this_computers_wall_clock(db):
    _session(db, alarm_enabled=True, alarm_before_minutes=15)
    until = _at(8, 45).astimezone()  # the same moment, with the local zone
    assert len(_due(db, until - timedelta(seconds=30), until)) == 1


@pytest.mark.parametrize(
    "columns",
    [
        {"alarm_enabled": False},
        {"alarm_enabled": True, "status": "cancelled"},
        {"alarm_enabled": True, "deleted_at": datetime(2026, 12, 1).astimezone()},
    ],
    ids=["alarm off", "cancelled", "deleted"],
)
def test_no_reminder_for_a_session_without_alarm_cancelled_or_deleted(db, columns):
    _session(db, alarm_before_minutes=15, **columns)
    assert _due(db, _at(8, 0), _at(8, 50)) == []


def test_a_long_window_leaves_out_sessions_that_are_over_and_orders_the_rest(db):
    _session(db, alarm_enabled=True, alarm_before_minutes=15)
    _session(db, "Chemistry 7B", alarm_enabled=True, alarm_before_minutes=30)
    # The computer slept from 08:00 to 09:20: both reminders fell in the gap, both
    # sessions are still on.
    assert [r.course_name for r in _due(db, _at(8, 0), _at(9, 20))] == [
        "Chemistry 7B", "Biology 7A"]  # fmt: skip
    # Woken after both ended, neither is any use.
    assert _due(db, _at(8, 0), _at(9, 50)) == []


def test_an_alarm_set_weeks_ahead_goes_off_a_week_ahead(db):
    _session(db, alarm_enabled=True, alarm_before_minutes=60 * 24 * 30)
    week_before = _at(9, 0, day=TUESDAY - timedelta(days=7))
    assert len(_due(db, week_before - timedelta(minutes=1), week_before)) == 1


def test_a_window_that_ends_before_it_starts_is_refused(db):
    with pytest.raises(ValidationError, match="before its start"):
        _due(db, _at(9, 0), _at(8, 0))


# ---------------------------------------------------------------- announcements
def test_the_first_look_only_says_where_the_log_is(db):
    _session(db)
    lines, newest = _changes(db, None)
    assert lines == [] and newest > 0
    assert _changes(db, newest) == ([], newest)


def test_a_move_and_a_cancellation_are_announced_in_words(db):
    session_id = _session(db)
    _lines, cursor = _changes(db, None)
    with db.sessions.begin() as s:
        update_session(s, db.context(), session_id, {"start_time": "10:00", "end_time": "10:45"})
    with db.sessions.begin() as s:
        update_session(s, db.context(), session_id, {"location": "Lab 2"})
    with db.sessions.begin() as s:
        update_session(s, db.context(), session_id, {"status": "cancelled"})
    changes, newest = _changes(db, cursor)
    assert [c.text for c in changes] == [
        "Biology 7A on Tue 8 Dec moved to 10:00–10:45 (was 09:00–09:45)",
        "Biology 7A on Tue 8 Dec room changed to Lab 2",
        "Biology 7A on Tue 8 Dec cancelled",
    ]
    assert {(c.session_id, c.actor) for c in changes} == {(session_id, "tester")}
    assert newest > cursor and [c.audit_id for c in changes] == sorted(c.audit_id for c in changes)
    assert _changes(db, newest) == ([], newest)  # announced once


def test_each_line_names_the_day_the_session_had_then(db):
    session_id = _session(db)
    _lines, cursor = _changes(db, None)
    with db.sessions.begin() as s:
        update_session(s, db.context(), session_id, {"start_time": "09:15"})
    with db.sessions.begin() as s:
        update_session(s, db.context(), session_id, {"session_date": date(2026, 12, 9)})
    with db.sessions.begin() as s:  # removing it: a tombstone
        s.get(ClassSession, session_id).deleted_at = datetime(2026, 12, 7).astimezone()
    assert [c.text for c in _changes(db, cursor)[0]] == [
        "Biology 7A on Tue 8 Dec now starts at 09:15 (was 09:00)",
        "Biology 7A on Tue 8 Dec moved to Wed 9 Dec, 09:15–09:45 (was Tue 8 Dec, 09:15–09:45)",
        "Biology 7A on Wed 9 Dec was removed from the timetable",
    ]


def test_sessions_without_notifications_and_routine_changes_are_not_announced(db):
    quiet = _session(db, notification_enabled=False)
    loud = _session(db, "Chemistry 7B")
    _lines, cursor = _changes(db, None)
    with db.sessions.begin() as s:
        update_session(s, db.context(), quiet, {"status": "cancelled"})
        # what was covered is routine, not news
        s.get(ClassSession, loud).topics_covered = ["cells"]
    changes, newest = _changes(db, cursor)
    assert changes == [] and newest > cursor


def test_another_schools_sessions_are_not_announced(db):
    from app.services.schools import ensure_school

    _lines, cursor = _changes(db, None)
    with db.sessions.begin() as s:
        other = ensure_school(s, "OTHER", "Other School")
        ctx = db.context().__class__(school_id=other.id, actor="tester")
        create_course(s, ctx, "Biology 7A")
        plan = SessionPlan("Biology 7A", Recurrence(SessionFrequency.ONE_TIME, first=TUESDAY),
                           "09:00", "09:45", location="Lab 1")  # fmt: skip
        session_id = schedule_sessions(s, ctx, plan).session_ids[0]
        update_session(s, ctx, session_id, {"status": "cancelled"})
    changes, newest = _changes(db, cursor)
    assert changes == [] and newest > cursor
