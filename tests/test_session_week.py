"""The week view's sessions: one week's, in day and time order, with the page's course
and status filters, cancelled ones shown and deleted ones not, and how far each
register has been taken."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from week_setup import WEEK, build_week

from app.domain.context import ServiceContext
from app.domain.enums import SessionFrequency
from app.domain.recurrence import Recurrence
from app.services.class_sessions import SessionPlan, schedule_sessions
from app.services.courses import create_course, get_course_by_name
from app.services.schools import ensure_school
from app.services.session_week import sessions_in_week, week_start


@pytest.fixture
def week(session, ctx):
    return build_week(session, ctx)


def _names(rows, week) -> list[str]:
    by_id = {session_id: name for name, session_id in week.items()}
    return [by_id[row.id] for row in rows]


def test_the_sessions_of_the_week_in_day_and_time_order(session, ctx, week):
    rows = sessions_in_week(session, ctx, WEEK)
    # Not the Sunday before, nor the Biology lessons of the weeks around it, nor the
    # deleted History lesson of Monday.
    assert _names(rows, week) == ["maths_mon", "bio_tue", "history", "maths_wed", "chemistry",
                                  "bio_thu", "art", "maths_fri", "music"]  # fmt: skip
    tuesday = rows[1]
    assert (tuesday.course_name, tuesday.session_date, tuesday.start_time, tuesday.end_time,
            tuesday.location, tuesday.status) == (
        "Biology", date(2026, 12, 8), time(9, 0), time(9, 45), "Lab 2", "scheduled")  # fmt: skip
    music = rows[-1]
    assert (music.session_mode, music.location, music.status) == ("online", None, "in-progress")


def test_any_day_of_the_week_asks_for_the_same_week(session, ctx, week):
    assert week_start(date(2026, 12, 13)) == WEEK == week_start(WEEK)
    thursday = sessions_in_week(session, ctx, WEEK + timedelta(days=3))
    assert thursday == sessions_in_week(session, ctx, WEEK)
    before = sessions_in_week(session, ctx, WEEK - timedelta(days=1))  # Sunday: the week before
    assert _names(before, week) == ["bio_prev_tue", "bio_prev_thu", "chess_sunday"]


def test_the_course_and_status_filters(session, ctx, week):
    biology = get_course_by_name(session, ctx, "Biology")
    assert _names(sessions_in_week(session, ctx, WEEK, course_id=biology.id), week) == [
        "bio_tue", "bio_thu"]  # fmt: skip
    assert _names(sessions_in_week(session, ctx, WEEK, status="cancelled"), week) == ["art"]
    assert _names(sessions_in_week(session, ctx, WEEK, status="completed"), week) == [
        "chemistry"]  # fmt: skip
    assert sessions_in_week(session, ctx, WEEK, course_id=biology.id, status="cancelled") == []


def test_how_many_marks_each_register_has(session, ctx, week):
    marked = {row.id: row.marked for row in sessions_in_week(session, ctx, WEEK)}
    assert marked[week["bio_tue"]] == 2  # two of Biology's three students so far
    assert marked[week["bio_thu"]] == 0 and marked[week["maths_mon"]] == 0


def test_another_schools_sessions_are_not_in_the_week(session, ctx, week):
    other = ensure_school(session, "OTHER", "Other School")
    other_ctx = ServiceContext(school_id=other.id, actor="tester")
    create_course(session, other_ctx, "Biology")
    plan = SessionPlan("Biology", Recurrence(SessionFrequency.ONE_TIME, first=WEEK), "09:00",
                       "10:00", location="Hall")  # fmt: skip
    theirs = schedule_sessions(session, other_ctx, plan).session_ids[0]
    assert theirs not in {row.id for row in sessions_in_week(session, ctx, WEEK)}
    assert [row.id for row in sessions_in_week(session, other_ctx, WEEK)] == [theirs]


def test_a_crowded_week_says_there_is_more(session, ctx, week):
    rows = sessions_in_week(session, ctx, WEEK, limit=3)
    assert len(rows) == 4  # one more than asked for: the week has more
    assert len(sessions_in_week(session, ctx, WEEK)) < 10
