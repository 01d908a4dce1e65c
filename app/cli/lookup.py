"""``rollbook lookup STUDENT_NO``: everything about one student, across courses and
events, as readable sections or (``--json``) every field."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from app.cli.output import EXIT_OK, print_json
from app.cli.session import school_session
from app.config import Settings

if TYPE_CHECKING:  # building the parser at every start must not load the services
    from app.services.lookup import RegistrationEntry, StudentLookup


def lookup_json(found: StudentLookup) -> dict[str, Any]:
    """Every field of the lookup, with what the dataclasses compute (full name, period
    text, rate, certificate status) written out for readers without them."""
    return {
        "student": {**asdict(found.student), "full_name": found.student.full_name},
        "enrollments": [{**asdict(e), "period_text": e.period_text} for e in found.enrollments],
        "attendance": [
            {**asdict(a), "not_marked": a.not_marked, "rate": a.rate} for a in found.attendance
        ],
        "registrations": [
            {
                **asdict(r),
                "certificates": [{**asdict(c), "status": c.status} for c in r.certificates],
            }
            for r in found.registrations
        ],
    }


def _day(value: date) -> str:
    return f"{value:%d %b %Y}"


def _event_dates(r: RegistrationEntry) -> str:
    return _day(r.starts_on) if r.starts_on == r.ends_on else (
        f"{_day(r.starts_on)}–{_day(r.ends_on)}")  # fmt: skip


def _print_registration(r: RegistrationEntry) -> None:
    team = f", team {r.team_name}" if r.team_name else ""
    print(f"  {r.event_name} ({_event_dates(r)}): {r.registration_no}, {r.status}{team}")
    days = ", ".join(_day(d) for d in r.days_attended) or "none"
    print(f"      days attended: {days}")
    if r.feedback_rating is not None:
        said = f' "{r.feedback_comments}"' if r.feedback_comments else ""
        print(f"      feedback: {r.feedback_rating}/5{said}")
    for c in r.certificates:
        why = {"revoked": f": {c.revoke_reason}", "flagged": f": {c.flag_reason}"}.get(c.status, "")
        print(f"      certificate {c.certificate_no} ({c.kind}, issued {_day(c.issued_at)}), "
              f"{c.status}{why}")  # fmt: skip


def print_lookup(found: StudentLookup) -> None:
    s = found.student
    details = " · ".join(part for part in (s.class_name, s.status, s.email) if part)
    print(f"{s.full_name} ({s.student_no}){' · ' + details if details else ''}")
    print("\nEnrollments")
    for e in found.enrollments:
        state = "active" if e.active else "ended"
        print(f"  {e.course_name:<32} {state:<7} {e.period_text} (source: {e.source})")
    if not found.enrollments:
        print("  none")
    print("\nAttendance")
    for a in found.attendance:
        rate = "–" if a.rate is None else f"{a.rate:.0%}"
        print(f"  {a.course_name:<32} held {a.sessions_held:>3}  P {a.present:>3}  "
              f"A {a.absent:>3}  L {a.late:>3}  E {a.excused:>3}  rate {rate}")  # fmt: skip
    if not found.attendance:
        print("  none")
    print("\nEvents")
    for r in found.registrations:
        _print_registration(r)
    if not found.registrations:
        print("  none")


def cmd_lookup(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.lookup import lookup_student

    with school_session(settings) as (session, ctx):
        found = lookup_student(session, ctx, args.student_no)
    if args.json:
        print_json(lookup_json(found))
    else:
        print_lookup(found)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    lookup = sub.add_parser(
        "lookup", help="everything about one student: enrollments, attendance, events"
    )
    lookup.add_argument("student_no", metavar="STUDENT_NO",
                        help="the student's number (or their id)")  # fmt: skip
    lookup.add_argument("--json", action="store_true", help="machine-readable output")
    lookup.set_defaults(handler=cmd_lookup)
