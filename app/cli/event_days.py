"""``rollbook events checkin|day|feedback``: the event's days at the door.

``add_event_day_commands`` adds them to the ``events`` command's sub-commands. Exit
codes follow the CLI's: 0 done (a second check-in the same day is done too: it says
when the first one was); 2 with the reason in one line when a check-in or feedback is
refused (not registered for this event, waitlisted, cancelled, not an event day, an
unknown number, a rating outside 1–5).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING

from app.cli.output import EXIT_OK, date_option, print_json
from app.cli.session import school_session
from app.config import Settings

if TYPE_CHECKING:  # building the parser must not load the database layer
    from sqlalchemy.orm import Session

    from app.domain.context import ServiceContext
    from app.services.event_setup import EventDetails


def event_argument(session: Session, ctx: ServiceContext, typed: str) -> EventDetails:
    """The event an EVENT argument names: its id, or its name in any case (the one
    event finder, app.services.event_setup.find_event)."""
    from app.services.event_setup import find_event

    return find_event(session, ctx, typed)


def date_argument(typed: str | None, option: str = "--date") -> date:
    """A --date option (YYYY-MM-DD); today when not given."""
    return date.today() if typed is None else date_option(typed, option)


def cmd_events_checkin(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.checkin import check_in

    day = date_argument(args.date)
    with school_session(settings) as (session, ctx):
        event = event_argument(session, ctx, args.event)
        result = check_in(session, ctx, event.id, args.number, day)
    if args.json:
        print_json({**asdict(result), "message": result.message})
    else:
        print(result.message)
    return EXIT_OK


def cmd_events_day(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.checkin import day_list

    day = date_argument(args.date)
    with school_session(settings, dry_run=True) as (session, ctx):
        event = event_argument(session, ctx, args.event)
        listing = day_list(session, ctx, event.id, day)
    if args.json:
        print_json(asdict(listing))
        return EXIT_OK
    print(f"{listing.event_name}, {listing.day:%a %d %b %Y}: {len(listing.present):,} in, "
          f"{len(listing.missing):,} missing.")  # fmt: skip
    for title, rows in (("In", listing.present), ("Missing", listing.missing)):
        if rows:
            print(f"{title}:")
        for row in rows:
            when = f"{row.checked_in_at.astimezone():%H:%M}" if row.checked_in_at else "     "
            status = "" if row.status == "registered" else f" ({row.status})"
            print(f"  {when}  {row.registration_no:<16} {row.student_no:<12} {row.name:<32} "
                  f"{row.team or ''}{status}")  # fmt: skip
    return EXIT_OK


def cmd_events_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.checkin import set_feedback

    with school_session(settings) as (session, ctx):
        saved = set_feedback(session, ctx, args.registration_no, args.rating, args.comments)
    feedback = saved.feedback
    if args.json:
        print_json({**asdict(feedback), "replaced": saved.replaced})
    else:
        what = "replaced the earlier feedback" if saved.replaced else "recorded"
        print(f"Feedback from {feedback.name} ({feedback.registration_no}, "
              f"{feedback.event_name}): {feedback.rating}/5, {what}.")  # fmt: skip
    return EXIT_OK


def add_event_day_commands(events_sub: argparse._SubParsersAction) -> None:
    """Add checkin, day and feedback to the ``events`` command's sub-commands."""
    checkin = events_sub.add_parser(
        "checkin", help="check a student in at an event (student or registration number)"
    )  # fmt: skip
    checkin.add_argument("event", metavar="EVENT", help="the event's name or id")
    checkin.add_argument("number", metavar="NUMBER",
                         help="student number or registration number, as scanned")  # fmt: skip
    checkin.add_argument("--date", metavar="D", help="the event day (default: today)")
    checkin.add_argument("--json", action="store_true", help="machine-readable output")
    checkin.set_defaults(handler=cmd_events_checkin)

    day = events_sub.add_parser("day", help="who is in and who is missing on an event day")
    day.add_argument("event", metavar="EVENT", help="the event's name or id")
    day.add_argument("--date", metavar="D", help="the event day (default: today)")
    day.add_argument("--json", action="store_true", help="machine-readable output")
    day.set_defaults(handler=cmd_events_day)

    feedback = events_sub.add_parser(
        "feedback", help="record a participant's feedback (one per registration; replaces)"
    )  # fmt: skip
    feedback.add_argument("registration_no", metavar="REGISTRATION_NO")
    feedback.add_argument("--rating", type=int, required=True, metavar="N", help="1 to 5")
    feedback.add_argument("--comments", metavar="T", help="what they said")
    feedback.add_argument("--json", action="store_true", help="machine-readable output")
    feedback.set_defaults(handler=cmd_events_feedback)
