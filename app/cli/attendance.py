"""``rollbook attendance show|mark|mark-all``: a session's register from the command line."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import asdict

from app.cli.output import EXIT_OK, print_json
from app.cli.session import school_session
from app.config import Settings
from app.domain.enums import AttendanceStatus
from app.domain.errors import ValidationError
from app.domain.wording import counted

_STATUSES = [s.value for s in AttendanceStatus]


def _session_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationError(
            "session", f"{text!r} is not a session id; `rollbook sessions list` shows them."
        ) from None


def cmd_attendance_show(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.attendance import session_register

    with school_session(settings) as (session, ctx):
        register = session_register(session, ctx, _session_id(args.session))
    if args.json:
        print_json(asdict(register))
        return EXIT_OK
    print(f"{register.course_name}, {register.session_date:%a %d %b %Y} "
          f"{register.start_time:%H:%M}–{register.end_time:%H:%M} ({register.session_status}): "
          f"{counted(len(register.rows), 'student')}")  # fmt: skip
    for row in register.rows:
        print(f"  {row.student_no:<12} {row.name:<32} {row.class_name or '':<6} "
              f"{row.status or '-':<8} {row.note or ''}")  # fmt: skip
    return EXIT_OK


def cmd_attendance_mark(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.attendance import Mark, save_marks, session_register, why_not_on_register

    session_id = _session_id(args.session)
    with school_session(settings) as (session, ctx):
        register = session_register(session, ctx, session_id)
        if args.command_name == "mark-all":
            marks = [Mark(row.enrollment_id, args.status, row.note) for row in register.rows]
            who = counted(len(marks), "student")
        else:
            row = next((r for r in register.rows if r.student_no == args.student_no.strip()),
                       None)  # fmt: skip
            if row is None:
                reason = why_not_on_register(session, ctx, session_id, args.student_no)
                raise ValidationError("student", reason or "That student is not on the register.")
            marks, who = [Mark(row.enrollment_id, args.status, args.note)], row.name
        changed = save_marks(session, ctx, session_id, marks)
    if args.json:
        print_json({"session_id": str(session_id), "marked": len(marks), "changed": changed})
    else:
        print(f"Marked {who} {args.status} ({counted(changed, 'mark')} changed).")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    attendance = sub.add_parser("attendance", help="a class session's register")
    attendance_sub = attendance.add_subparsers(dest="attendance_command", required=True,
                                               metavar="ACTION")  # fmt: skip
    show = attendance_sub.add_parser("show", help="a session's register with its marks")
    show.add_argument("session", metavar="SESSION_ID")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=cmd_attendance_show)

    mark = attendance_sub.add_parser("mark", help="mark one student; says why one is not listed")
    mark.add_argument("session", metavar="SESSION_ID")
    mark.add_argument("student_no", metavar="STUDENT_NO")
    mark.add_argument("status", metavar="STATUS", choices=_STATUSES,
                      help="present, absent, late or excused")  # fmt: skip
    mark.add_argument("--note", help="e.g. minutes late, or the reason for an excuse")
    mark.add_argument("--json", action="store_true", help="machine-readable output")
    mark.set_defaults(handler=cmd_attendance_mark, command_name="mark")

    mark_all = attendance_sub.add_parser("mark-all", help="mark everyone on the register")
    mark_all.add_argument("session", metavar="SESSION_ID")
    mark_all.add_argument("status", metavar="STATUS", choices=_STATUSES)
    mark_all.add_argument("--json", action="store_true", help="machine-readable output")
    mark_all.set_defaults(handler=cmd_attendance_mark, command_name="mark-all")
