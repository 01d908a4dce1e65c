"""Scheduling class sessions: a one-time session or a recurring series, from the
service and from ``rollbook sessions create``; refusals in one line, exit 2."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.db.models import AuditLog, ClassSession
from app.domain.enums import SessionFrequency
from app.domain.errors import UnknownCourse, ValidationError
from app.domain.recurrence import Recurrence, parse_weekdays
from app.services.class_sessions import SessionPlan, schedule_sessions
from app.services.courses import create_course


@pytest.fixture(autouse=True)
def biology(db):
    with db.sessions.begin() as s:  # committed: the command line sees it too
        return create_course(s, db.context(), "Biology")


def _plan(recurrence: Recurrence, **changes) -> SessionPlan:
    values = {"course_name": "biology", "recurrence": recurrence, "start_time": "09:00",
              "end_time": "09:45", "location": "Lab 2"} | changes  # fmt: skip
    return SessionPlan(**values)


def test_a_term_of_tuesday_thursday_lessons_is_one_series(session, ctx):
    term = Recurrence(SessionFrequency.WEEKLY, first=date(2026, 9, 1), until=date(2026, 12, 17),
                      weekdays=parse_weekdays("TUE,THU"),
                      skipped=frozenset({date(2026, 10, 27), date(2026, 10, 29)}))  # fmt: skip
    scheduled = schedule_sessions(session, ctx, _plan(term))
    rows = session.scalars(select(ClassSession).order_by(ClassSession.session_date)).all()
    assert len(rows) == len(scheduled.dates) == 30  # 16 weeks of two, less the half-term week
    assert {r.series_id for r in rows} == {scheduled.series_id}
    assert {(r.session_frequency, r.is_recurring, r.status) for r in rows} == {
        ("weekly", True, "scheduled")}  # fmt: skip
    assert rows[0].recurring_pattern["days"] == ["tue", "thu"]
    assert (rows[0].start_time, rows[0].end_time, rows[0].duration_minutes) == (
        time(9), time(9, 45), 45)  # fmt: skip
    assert date(2026, 10, 27) not in {r.session_date for r in rows}
    # One statement: the database's change capture wrote one entry per session.
    entries = session.scalar(select(func.count()).select_from(AuditLog)
                             .where(AuditLog.entity == "class_session"))  # fmt: skip
    assert entries == 30


def test_a_one_time_session_has_no_series(session, ctx):
    once = Recurrence(SessionFrequency.ONE_TIME, first=date(2026, 9, 3))
    scheduled = schedule_sessions(session, ctx, _plan(once, session_mode="online", location=None))
    row = session.get(ClassSession, scheduled.session_ids[0])
    assert (row.series_id, row.is_recurring, row.recurring_pattern) == (None, False, None)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"course_name": "Biolgy"}, UnknownCourse, "Did you mean 'Biology'"),
        ({"location": None}, ValidationError, "in-person session needs a location"),
        ({"end_time": "08:30"}, ValidationError, "must end after it starts"),
        ({"start_time": "9h"}, ValidationError, "not a time"),
    ],
)
def test_a_plan_that_cannot_be_is_refused_and_nothing_is_written(
    session, ctx, changes, error, message
):
    once = Recurrence(SessionFrequency.ONE_TIME, first=date(2026, 9, 3))
    with pytest.raises(error, match=message):
        schedule_sessions(session, ctx, _plan(once, **changes))
    assert session.scalar(select(func.count()).select_from(ClassSession)) == 0


def _cli(db, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_sessions_create_and_list_from_the_command_line(db, capsys):
    code, out, err = _cli(db, capsys, "sessions", "create", "Biology", "--date", "2026-09-01",
                          "--start", "09:00", "--end", "09:45", "--weekly", "TUE,THU",
                          "--until", "2026-09-30", "--skip", "2026-09-17",
                          "--extra", "2026-09-19", "--location", "Lab 2")  # fmt: skip
    assert code == 0, err
    assert out.strip() == (
        "Scheduled 9 sessions of Biology from Tue 01 Sep 2026 to Tue 29 Sep 2026."
    )
    code, out, err = _cli(db, capsys, "sessions", "list", "--course", "biology",
                          "--from", "2026-09-15", "--to", "2026-09-20", "--json")  # fmt: skip
    assert code == 0, err
    listed = json.loads(out)
    assert [r["session_date"] for r in listed] == ["2026-09-15", "2026-09-19"]
    assert {r["location"] for r in listed} == {"Lab 2"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weekly", "TUE", "--until", "2026-08-01"], "ends (01 Aug 2026) before it starts"),
        (["--until", "2026-10-01"], "are for a series"),
        (["--weekly", "Tuseday", "--until", "2026-10-01"], "'Tuseday' is not a weekday"),
        (["--date", "1/9/2026"], "--date '1/9/2026' is not a date"),
    ],
)
def test_sessions_create_refusals_are_one_line_and_exit_2(db, capsys, args, message):
    base = ["sessions", "create", "Biology", "--date", "2026-09-01", "--start", "09:00",
            "--end", "09:45", "--location", "Lab 2"]  # fmt: skip
    if "--date" in args:
        base[base.index("--date") + 1] = args[args.index("--date") + 1]
        args = [a for i, a in enumerate(args) if a != "--date" and args[i - 1] != "--date"]
    code, out, err = _cli(db, capsys, *base, *args)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ClassSession)) == 0


def test_a_session_goes_scheduled_in_progress_completed_or_is_cancelled(session, ctx):
    from app.services.class_sessions import update_session

    once = Recurrence(SessionFrequency.ONE_TIME, first=date(2026, 9, 3))
    lesson = schedule_sessions(session, ctx, _plan(once)).session_ids[0]
    with pytest.raises(ValidationError, match="A scheduled session cannot become completed: "
                                              "it can become cancelled or in-progress."):  # fmt: skip
        update_session(session, ctx, lesson, {"status": "completed"})
    update_session(session, ctx, lesson, {"status": "in-progress"})
    update_session(session, ctx, lesson, {"status": "completed"})
    with pytest.raises(ValidationError, match="cannot change any more; schedule a new session"):
        update_session(session, ctx, lesson, {"status": "scheduled"})
    update_session(session, ctx, lesson, {"location": "Lab 3"})  # other fields still change
    assert session.get(ClassSession, lesson).status == "completed"


def test_lessons_for_one_class_from_the_command_line(db, capsys):
    from app.services.students import StudentInput, create_student

    with db.sessions.begin() as s:
        create_student(s, db.context(), StudentInput("S1", "Ada", "Marsh", class_name="7A"))
    lesson = ["sessions", "create", "Biology", "--date", "2026-09-01", "--start", "09:00",
              "--end", "09:45", "--location", "Lab 2"]  # fmt: skip
    code, out, err = _cli(db, capsys, *lesson, "--class", "7Q")
    assert code == 2 and err.strip() == (
        "rollbook: No student is in class '7Q'; check the class name, or leave it empty for "
        "lessons of the whole course.")  # fmt: skip
    code, out, err = _cli(db, capsys, *lesson, "--class", "7A")
    assert code == 0, err
    code, out, err = _cli(db, capsys, "sessions", "list", "--json")
    assert [r["class_name"] for r in json.loads(out)] == ["7A"]
