"""``rollbook events list|create|open|close|complete|register|cancel``: setting events up
and registering students, on their own or in teams, from the command line."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date, datetime, time

from app.cli.event_days import add_event_day_commands
from app.cli.output import EXIT_OK, CommandError, date_option, print_json
from app.cli.session import school_session
from app.config import Settings
from app.domain.enums import EventStatus
from app.domain.errors import EventFull, RegistrationHasRecords, ValidationError
from app.domain.wording import counted


def _moment(text: str, option: str, *, end_of_day: bool) -> datetime:
    """A --opens/--closes value: "2026-09-01 09:00" (or with a T, or an offset), in this
    computer's time zone unless it says otherwise; a date alone is the start of that
    day for --opens and its last minute for --closes."""
    typed = text.strip()
    try:
        if len(typed) == 10:
            moment = datetime.combine(date.fromisoformat(typed),
                                      time(23, 59) if end_of_day else time(0, 0))  # fmt: skip
        else:
            moment = datetime.fromisoformat(typed)
    except ValueError:
        raise ValidationError(
            option, f"{option} {text!r} is not a date and time; use 2026-09-01 09:00."
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def _team_size(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        sizes = (int(low), int(high or low))
    except ValueError:
        raise ValidationError(
            "--team-size", f"--team-size {text!r} is not a size; use MIN-MAX, e.g. 2-4."
        ) from None
    return sizes


def cmd_events_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.event_setup import event_analytics

    with school_session(settings, dry_run=True) as (session, ctx):
        events = event_analytics(session, ctx)
    if args.json:
        print_json([{**asdict(e), "registered": e.registered, "places_left": e.places_left}
                    for e in events])  # fmt: skip
        return EXIT_OK
    if not events:
        print("No events yet; create one with: rollbook events create NAME --from D --to D")
        return EXIT_OK
    for e in events:
        places = f"{e.registered}/{e.capacity}" if e.capacity else f"{e.registered}"
        print(f"{e.starts_on:%Y-%m-%d}–{e.ends_on:%Y-%m-%d} {e.name:<28} {e.status:<9} "
              f"{places:>7} registered ({e.registered_individually} alone, "
              f"{e.registered_in_teams} in {counted(e.teams, 'team')}), {e.waitlisted} waiting, "
              f"{e.cancelled} cancelled  {e.id}")  # fmt: skip
        days = ", ".join(f"{day:%d %b} {n}" for day, n in e.attendance_by_day) or "none"
        certificates = ", ".join(f"{n} {kind}" for kind, n in e.certificates_by_kind if n)
        rating = f"{e.average_rating:.1f} of 5 ({e.ratings})" if e.ratings else "none"
        print(f"    checked in: {days}; certificates: {certificates or 'none'}; "
              f"feedback: {rating}")  # fmt: skip
    return EXIT_OK


def cmd_events_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.event_setup import EventInput, create_event

    teams = args.teams or args.team_size is not None
    low, high = _team_size(args.team_size) if args.team_size else (1, 1)
    data = EventInput(
        name=args.name, starts_on=date_option(args.date_from, "--from"),
        ends_on=date_option(args.date_to, "--to"), venue=args.venue, capacity=args.capacity,
        registration_opens_at=_moment(args.opens, "--opens", end_of_day=False)
        if args.opens else None,
        registration_closes_at=_moment(args.closes, "--closes", end_of_day=True)
        if args.closes else None,
        allow_individual=not args.no_individual, allow_teams=teams, team_size_min=low,
        team_size_max=high, certificate_min_days=args.certificate_min_days,
    )  # fmt: skip
    with school_session(settings) as (session, ctx):
        event = create_event(session, ctx, data)
    if args.json:
        print_json(asdict(event))
        return EXIT_OK
    print(f"Created {event.name} as a draft: {event.id}. Open it for registration with: "
          f"rollbook events open {event.id}")  # fmt: skip
    return EXIT_OK


def cmd_events_status(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.event_setup import find_event, set_event_status

    with school_session(settings) as (session, ctx):
        event = find_event(session, ctx, args.event)
        before = event.status
        event = set_event_status(session, ctx, event.id, args.status)
    if args.json:
        print_json(asdict(event))
        return EXIT_OK
    if before == event.status:
        print(f"{event.name} is {event.status} already.")
    else:
        print(f"{event.name} is {event.status} now (was {before}).")
    return EXIT_OK


def cmd_events_register(args: argparse.Namespace, settings: Settings) -> int:
    from app.services import registrations
    from app.services.event_setup import find_event

    if args.team is None and len(args.student_nos) > 1:
        raise CommandError("Several students register together as a team: add --team NAME "
                           "(or register them one by one).")  # fmt: skip
    if args.team is not None and args.waitlist:
        raise CommandError("A team registers whole or not at all and never waits; --waitlist "
                           "is for one student on their own.")  # fmt: skip
    with school_session(settings) as (session, ctx):
        event = find_event(session, ctx, args.event)
        if args.team is None:
            try:
                result = registrations.register_student(
                    session, ctx, event.id, args.student_nos[0], waitlist_if_full=args.waitlist
                )
            except EventFull as full:
                raise CommandError(f"{full} Add --waitlist to put them on it.") from None
        elif registrations.team_exists(session, ctx, event.id, args.team):
            result = registrations.add_team_members(session, ctx, event.id, args.team,
                                                    args.student_nos)  # fmt: skip
        else:
            result = registrations.create_team(session, ctx, event.id, args.team,
                                               args.student_nos)  # fmt: skip
    if args.json:
        print_json(asdict(result))
    else:
        print(result.summary)
    return EXIT_OK


def cmd_events_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.registrations import cancel_registration

    with school_session(settings) as (session, ctx):
        try:
            result = cancel_registration(session, ctx, args.registration_no,
                                         revoke_certificates=args.revoke_certificates)  # fmt: skip
        except RegistrationHasRecords as held:
            raise CommandError(f"{held} Add --revoke-certificates to cancel it anyway.") from None
    if args.json:
        print_json(asdict(result))
    else:
        print(result.summary)
    return EXIT_OK


def cmd_events_remove_member(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.event_setup import find_event
    from app.services.registrations import remove_team_member

    with school_session(settings) as (session, ctx):
        event = find_event(session, ctx, args.event)
        try:
            result = remove_team_member(session, ctx, event.id, args.team, args.student_no,
                                        revoke_certificates=args.revoke_certificates)  # fmt: skip
        except RegistrationHasRecords as held:
            raise CommandError(
                f"{held} Add --revoke-certificates to take them out anyway."
            ) from None
    if args.json:
        print_json(asdict(result))
    else:
        print(result.summary)
    return EXIT_OK


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def register(sub: argparse._SubParsersAction) -> None:
    events = sub.add_parser("events", help="events: set-up and registration")
    events_sub = events.add_subparsers(dest="events_command", required=True, metavar="ACTION")

    listing = events_sub.add_parser(
        "list", help="every event with registrations, check-ins per day, certificates and "
        "feedback",
    )  # fmt: skip
    _json_flag(listing)
    listing.set_defaults(handler=cmd_events_list)

    create = events_sub.add_parser(
        "create", help="create an event (as a draft; `events open` opens registration)"
    )
    create.add_argument("name", metavar="NAME")
    create.add_argument("--from", dest="date_from", required=True, metavar="D",
                        help="first day, YYYY-MM-DD")  # fmt: skip
    create.add_argument("--to", dest="date_to", required=True, metavar="D",
                        help="last day, YYYY-MM-DD")  # fmt: skip
    create.add_argument("--venue", metavar="V")
    create.add_argument("--capacity", type=int, metavar="N",
                        help="places (people; a team of 3 takes 3); default no limit")  # fmt: skip
    create.add_argument("--opens", metavar="DT", help="registration opens, YYYY-MM-DD [HH:MM] "
                        "(default: when the event is opened)")  # fmt: skip
    create.add_argument("--closes", metavar="DT", help="registration closes, YYYY-MM-DD "
                        "[HH:MM]; a date alone closes at 23:59 (default: when the event is "
                        "closed)")  # fmt: skip
    create.add_argument("--teams", action="store_true", help="take teams (needs --team-size)")
    create.add_argument("--no-individual", action="store_true",
                        help="teams only: no students on their own")  # fmt: skip
    create.add_argument("--team-size", metavar="MIN-MAX",
                        help="members per team, e.g. 2-4 (implies --teams)")  # fmt: skip
    create.add_argument("--certificate-min-days", type=int, default=1, metavar="N",
                        help="days attended for a participation certificate (default 1)")  # fmt: skip
    _json_flag(create)
    create.set_defaults(handler=cmd_events_create)

    for status, verb, what in (
        (EventStatus.OPEN, "open", "open an event for registration (from draft)"),
        (EventStatus.CLOSED, "close", "close registration (an open event)"),
        (EventStatus.COMPLETED, "complete", "mark a closed event as held"),
    ):
        step = events_sub.add_parser(verb, help=what)
        step.add_argument("event", metavar="EVENT", help="the event's name or id")
        _json_flag(step)
        step.set_defaults(handler=cmd_events_status, status=status.value)

    reg = events_sub.add_parser(
        "register", help="register a student, or a team (with --team)",
        description="With --team: the students join that team of the event, or, when the "
        "event has no team of that name yet, they form it (all members at once, within "
        "the event's team sizes). A team never goes on the waiting list.",
    )  # fmt: skip
    reg.add_argument("event", metavar="EVENT", help="the event's name or id")
    reg.add_argument("student_nos", metavar="STUDENT_NO", nargs="+",
                     help="the student's number (several with --team)")  # fmt: skip
    reg.add_argument("--team", metavar="NAME", help="join this team, or form it")
    reg.add_argument("--waitlist", action="store_true",
                     help="when the event is full, put the student on the waiting list")  # fmt: skip
    _json_flag(reg)
    reg.set_defaults(handler=cmd_events_register)

    remove = events_sub.add_parser(
        "remove-member", help="take a student out of a team (their registration is cancelled, "
        "kept; the next on the waiting list moves up); refused below the smallest team",
    )  # fmt: skip
    remove.add_argument("event", metavar="EVENT", help="the event's name or id")
    remove.add_argument("team", metavar="TEAM")
    remove.add_argument("student_no", metavar="STUDENT_NO")
    remove.add_argument("--revoke-certificates", action="store_true",
                        help="also when the student checked in or holds certificates")  # fmt: skip
    _json_flag(remove)
    remove.set_defaults(handler=cmd_events_remove_member)

    cancel = events_sub.add_parser(
        "cancel", help="cancel a registration (kept, marked cancelled); the next on the "
        "waiting list moves up",
    )  # fmt: skip
    cancel.add_argument("registration_no", metavar="REGISTRATION_NO")
    cancel.add_argument("--revoke-certificates", action="store_true",
                        help="also when the student checked in or holds certificates: revoke "
                        "them and set the check-ins aside")  # fmt: skip
    _json_flag(cancel)
    cancel.set_defaults(handler=cmd_events_cancel)

    add_event_day_commands(events_sub)  # checkin, day, feedback
