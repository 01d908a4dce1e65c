"""``rollbook sessions create|list|edit|cancel``."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import asdict

from app.cli.output import EXIT_OK, CommandError, count_option, date_option, print_json
from app.cli.session import school_session
from app.config import Settings
from app.domain.enums import (
    PriorityLevel,
    SessionFrequency,
    SessionMode,
    SessionStatus,
    TeacherAttendance,
)
from app.domain.errors import ValidationError
from app.domain.wording import counted


def _recurrence(args: argparse.Namespace):
    from app.domain.recurrence import Recurrence, parse_weekdays

    if args.weekly:
        frequency, weekdays = SessionFrequency.WEEKLY, parse_weekdays(args.weekly)
    elif args.biweekly:
        frequency, weekdays = SessionFrequency.BI_WEEKLY, parse_weekdays(args.biweekly)
    elif args.monthly:
        frequency, weekdays = SessionFrequency.MONTHLY, ()
    else:
        frequency, weekdays = SessionFrequency.ONE_TIME, ()
    if frequency is SessionFrequency.ONE_TIME and (args.until or args.skip or args.extra):
        raise ValidationError(
            "until", "--until, --skip and --extra are for a series: add --weekly, "
            "--biweekly or --monthly."
        )  # fmt: skip
    return Recurrence(
        frequency=frequency,
        first=date_option(args.date, "--date"),
        until=date_option(args.until, "--until") if args.until else None,
        weekdays=weekdays,
        skipped=frozenset(date_option(d, "--skip") for d in args.skip),
        extra=tuple(date_option(d, "--extra") for d in args.extra),
    )


def cmd_sessions_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.class_sessions import SessionPlan, schedule_sessions

    plan = SessionPlan(
        course_name=args.course, recurrence=_recurrence(args), start_time=args.start,
        end_time=args.end, session_mode=args.mode, location=args.location,
        class_name=args.class_name,
    )  # fmt: skip
    with school_session(settings) as (session, ctx):
        scheduled = schedule_sessions(session, ctx, plan)
    if args.json:
        print_json(asdict(scheduled))
        return EXIT_OK
    dates = scheduled.dates
    span = f"on {dates[0]:%a %d %b %Y}" if len(dates) == 1 else (
        f"from {dates[0]:%a %d %b %Y} to {dates[-1]:%a %d %b %Y}")  # fmt: skip
    print(f"Scheduled {counted(len(dates), 'session')} of {scheduled.course_name} {span}.")
    return EXIT_OK


def cmd_sessions_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.class_sessions import SessionQuery, list_sessions
    from app.services.courses import get_course_by_name

    with school_session(settings, dry_run=True) as (session, ctx):
        course_id = get_course_by_name(session, ctx, args.course).id if args.course else None
        query = SessionQuery(
            course_id=course_id,
            date_from=date_option(args.date_from, "--from") if args.date_from else None,
            date_to=date_option(args.date_to, "--to") if args.date_to else None,
        )
        page = list_sessions(session, ctx, query, limit=args.limit)
    if args.json:
        print_json([asdict(row) for row in page.rows])
        return EXIT_OK
    if not page.rows:
        print("No sessions match.")
        return EXIT_OK
    for row in page.rows:
        print(f"{row.session_date:%a %Y-%m-%d} {row.start_time:%H:%M}–{row.end_time:%H:%M} "
              f"{row.course_name:<28} {row.class_name or '':<6} {row.session_mode:<9} "
              f"{row.location or '':<16} "
              f"{row.status:<11} {row.id}")  # fmt: skip
    if page.has_more:
        print("… more sessions match; use --limit or a narrower --from/--to.")
    return EXIT_OK


def session_id_argument(text: str) -> uuid.UUID:
    """A SESSION_ID argument; one line naming where ids are found when it is not one."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationError(
            "session", f"{text!r} is not a session id; `rollbook sessions list` shows them."
        ) from None


def _topics(text: str) -> list[str]:
    # "a;b;" and "a; ;b" are two topics: a stray separator is not a blank topic.
    return [topic.strip() for topic in text.split(";") if topic.strip()]


def _edit_changes(args: argparse.Namespace) -> dict[str, object]:
    options = {
        "session_date": date_option(args.date, "--date") if args.date else None,
        "start_time": args.start, "end_time": args.end, "session_mode": args.mode,
        "priority_level": args.priority, "is_featured": args.featured, "status": args.status,
        "notification_enabled": args.announce,
        "topics": _topics(args.topics) if args.topics is not None else None,
        "topics_covered": _topics(args.covered) if args.covered is not None else None,
    }  # fmt: skip
    changes: dict[str, object] = {name: value for name, value in options.items()
                                  if value is not None}  # fmt: skip
    if args.location is not None:  # --location "" takes the room away
        changes["location"] = args.location
    if args.teacher is not None:
        changes["teacher_attendance_status"] = None if args.teacher == "none" else args.teacher
    if args.no_alarm:
        changes["alarm_enabled"] = False
    elif args.alarm is not None:
        changes["alarm_enabled"] = True
        changes["alarm_before_minutes"] = args.alarm
    return changes


def _print_updated(done, as_json: bool) -> int:
    if as_json:
        print_json({**asdict(done), "changed": done.changed, "summary": done.summary})
        return EXIT_OK
    print(done.summary + (f" Reason: {done.reason}" if done.reason else ""))
    return EXIT_OK


def cmd_sessions_edit(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.class_sessions import update_sessions

    session_id = session_id_argument(args.session)
    changes = _edit_changes(args)
    if not changes:
        raise CommandError("Nothing to change: give at least one of --date, --start, --end, "
                           "--mode, --location, --priority, --featured, --teacher, --status, "
                           "--topics, --covered, --alarm, --announce.")  # fmt: skip
    with school_session(settings) as (session, ctx):
        done = update_sessions(session, ctx, session_id, changes, args.scope)
    return _print_updated(done, args.json)


def cmd_sessions_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.class_sessions import cancel_sessions

    session_id = session_id_argument(args.session)
    with school_session(settings) as (session, ctx):
        done = cancel_sessions(session, ctx, session_id, args.scope, args.reason)
    return _print_updated(done, args.json)


def _add_scope(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope", choices=["this", "following", "series"], default="this",
        help="this session (default), it and the following sessions of its series, or the "
        "whole series; completed and cancelled sessions of a series are left as they were",
    )  # fmt: skip


def _register_edit(sessions_sub: argparse._SubParsersAction) -> None:
    edit = sessions_sub.add_parser(
        "edit", help="change a session, or it and the following ones, or its whole series",
        description="Only the options given change. A new --date is for one session only "
        "(--scope this).",
    )  # fmt: skip
    edit.add_argument("session", metavar="SESSION_ID", help="the id `sessions list` shows")
    _add_scope(edit)
    edit.add_argument("--date", help="move the session to this date, YYYY-MM-DD")
    edit.add_argument("--start", help="start time, HH:MM")
    edit.add_argument("--end", help="end time, HH:MM")
    edit.add_argument("--mode", choices=[m.value for m in SessionMode])
    edit.add_argument("--location", help='the room; "" for none (online sessions only)')
    edit.add_argument("--priority", choices=[p.value for p in PriorityLevel])
    featured = edit.add_mutually_exclusive_group()
    featured.add_argument("--featured", dest="featured", action="store_const", const=True,
                          help="feature the session")  # fmt: skip
    featured.add_argument("--not-featured", dest="featured", action="store_const", const=False,
                          help="stop featuring it")  # fmt: skip
    edit.add_argument("--teacher", choices=[*(t.value for t in TeacherAttendance), "none"],
                      help="the teacher's attendance; none to clear it")  # fmt: skip
    edit.add_argument("--status", choices=[s.value for s in SessionStatus],
                      help="scheduled -> in-progress -> completed, or cancelled")  # fmt: skip
    edit.add_argument("--topics", metavar='"A;B"', help='planned topics, separated by ";" '
                      '(replaces the list; "" empties it)')  # fmt: skip
    edit.add_argument("--covered", metavar='"A;B"', help="topics covered, as --topics")
    alarm = edit.add_mutually_exclusive_group()
    alarm.add_argument("--alarm", type=int, metavar="MINUTES",
                       help="remind this many minutes before (0-1440)")  # fmt: skip
    alarm.add_argument("--no-alarm", action="store_true", help="no reminder")
    announce = edit.add_mutually_exclusive_group()
    announce.add_argument("--announce", dest="announce", action="store_const", const=True,
                          help="announce changes to the session")  # fmt: skip
    announce.add_argument("--no-announce", dest="announce", action="store_const", const=False,
                          help="change it quietly")  # fmt: skip
    edit.add_argument("--json", action="store_true", help="machine-readable output")
    edit.set_defaults(handler=cmd_sessions_edit)

    cancel = sessions_sub.add_parser(
        "cancel", help="cancel a session, or it and the following ones, or its whole series",
        description="Cancelled sessions stay in the list with their registers; nothing is "
        "deleted, and a cancelled session cannot be scheduled again.",
    )  # fmt: skip
    cancel.add_argument("session", metavar="SESSION_ID", help="the id `sessions list` shows")
    _add_scope(cancel)
    cancel.add_argument("--reason", help="why, shown with the result")
    cancel.add_argument("--json", action="store_true", help="machine-readable output")
    cancel.set_defaults(handler=cmd_sessions_cancel)


def register(sub: argparse._SubParsersAction) -> None:
    sessions = sub.add_parser("sessions", help="class sessions")
    sessions_sub = sessions.add_subparsers(dest="sessions_command", required=True,
                                           metavar="ACTION")  # fmt: skip
    create = sessions_sub.add_parser(
        "create", help="schedule a session, or a weekly, bi-weekly or monthly series",
        description="Monthly on a day a month lacks (29th-31st) falls on its last day.",
    )  # fmt: skip
    create.add_argument("course", metavar="COURSE", help="the course's name")
    create.add_argument("--date", required=True, help="the (first) session's date, YYYY-MM-DD")
    create.add_argument("--start", required=True, help="start time, HH:MM")
    create.add_argument("--end", required=True, help="end time, HH:MM")
    repeat = create.add_mutually_exclusive_group()
    repeat.add_argument("--weekly", metavar="DAYS", help="every week on these days, e.g. TUE,THU")
    repeat.add_argument("--biweekly", metavar="DAYS", help="every other week on these days")
    repeat.add_argument("--monthly", action="store_true", help="every month on --date's day")
    create.add_argument("--until", help="the series' last possible date, YYYY-MM-DD")
    create.add_argument("--skip", action="append", default=[], metavar="DATE",
                        help="a date without a session (repeatable)")  # fmt: skip
    create.add_argument("--extra", action="append", default=[], metavar="DATE",
                        help="an extra date with a session (repeatable)")  # fmt: skip
    create.add_argument("--mode", default=SessionMode.IN_PERSON.value,
                        choices=[m.value for m in SessionMode])  # fmt: skip
    create.add_argument("--location", help="the room; needed unless --mode online")
    create.add_argument("--class", dest="class_name", metavar="CLASS",
                        help="the class the lessons are for (7A): their registers list the "
                        "course's students of that class only; default the whole course")  # fmt: skip
    create.add_argument("--json", action="store_true", help="machine-readable output")
    create.set_defaults(handler=cmd_sessions_create)

    listing = sessions_sub.add_parser("list", help="list class sessions by date")
    listing.add_argument("--course", help="only this course")
    listing.add_argument("--from", dest="date_from", help="from this date, YYYY-MM-DD")
    listing.add_argument("--to", dest="date_to", help="up to this date, YYYY-MM-DD")
    listing.add_argument("--limit", type=count_option(), default=200, help="at most this many")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_sessions_list)
    _register_edit(sessions_sub)
