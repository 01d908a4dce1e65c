"""``rollbook sessions create`` and ``rollbook sessions list``."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date

from app.cli.output import EXIT_OK, print_json
from app.cli.session import school_session
from app.config import Settings
from app.domain.enums import SessionFrequency, SessionMode
from app.domain.errors import ValidationError
from app.domain.wording import counted


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(option, f"{option} {text!r} is not a date; use 2026-09-01.") from None


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
        first=_date(args.date, "--date"),
        until=_date(args.until, "--until") if args.until else None,
        weekdays=weekdays,
        skipped=frozenset(_date(d, "--skip") for d in args.skip),
        extra=tuple(_date(d, "--extra") for d in args.extra),
    )


def cmd_sessions_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.class_sessions import SessionPlan, schedule_sessions

    plan = SessionPlan(
        course_name=args.course, recurrence=_recurrence(args), start_time=args.start,
        end_time=args.end, session_mode=args.mode, location=args.location,
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
            date_from=_date(args.date_from, "--from") if args.date_from else None,
            date_to=_date(args.date_to, "--to") if args.date_to else None,
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
              f"{row.course_name:<28} {row.session_mode:<9} {row.location or '':<16} "
              f"{row.status:<11} {row.id}")  # fmt: skip
    if page.has_more:
        print("… more sessions match; use --limit or a narrower --from/--to.")
    return EXIT_OK


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
    create.add_argument("--json", action="store_true", help="machine-readable output")
    create.set_defaults(handler=cmd_sessions_create)

    listing = sessions_sub.add_parser("list", help="list class sessions by date")
    listing.add_argument("--course", help="only this course")
    listing.add_argument("--from", dest="date_from", help="from this date, YYYY-MM-DD")
    listing.add_argument("--to", dest="date_to", help="up to this date, YYYY-MM-DD")
    listing.add_argument("--limit", type=int, default=200, help="at most this many")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_sessions_list)
