"""``rollbook attendance show|mark|mark-all|rules``: a session's register from the command
line, and the school's rule for excused absences."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from app.cli.output import EXIT_OK, print_json
from app.cli.session import school_session
from app.cli.sessions import session_id_argument
from app.config import Settings
from app.domain.enums import AttendanceStatus
from app.domain.errors import ValidationError
from app.domain.wording import counted

_STATUSES = [s.value for s in AttendanceStatus]


def cmd_attendance_show(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.attendance import session_register

    with school_session(settings) as (session, ctx):
        register = session_register(session, ctx, session_id_argument(args.session))
    if args.json:
        print_json(asdict(register))
        return EXIT_OK
    print(f"{register.group_name}, {register.session_date:%a %d %b %Y} "
          f"{register.start_time:%H:%M}–{register.end_time:%H:%M} ({register.session_status}): "
          f"{counted(len(register.rows), 'student')}")  # fmt: skip
    for row in register.rows:
        late = f"{row.minutes_late} min " if row.minutes_late else ""
        print(f"  {row.student_no:<12} {row.name:<32} {row.class_name or '':<6} "
              f"{row.status or '-':<8} {late}{row.note or ''}")  # fmt: skip
    return EXIT_OK


def cmd_attendance_mark(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.attendance import Mark, save_marks, session_register, why_not_on_register

    session_id = session_id_argument(args.session)
    with school_session(settings) as (session, ctx):
        register = session_register(session, ctx, session_id)
        if args.command_name == "mark-all":
            # Everyone gets the status; notes stay, minutes late only where still late.
            marks = [Mark(row.enrollment_id, args.status, row.note,
                          row.minutes_late if args.status == "late" else None)
                     for row in register.rows]  # fmt: skip
            who = counted(len(marks), "student")
        else:
            row = next((r for r in register.rows if r.student_no == args.student_no.strip()),
                       None)  # fmt: skip
            if row is None:
                reason = why_not_on_register(session, ctx, session_id, args.student_no)
                raise ValidationError("student", reason or "That student is not on the register.")
            marks = [Mark(row.enrollment_id, args.status, args.note, args.minutes_late)]
            who = row.name
        changed = save_marks(session, ctx, session_id, marks)
    if args.json:
        print_json({"session_id": str(session_id), "marked": len(marks), "changed": changed})
    else:
        print(f"Marked {who} {args.status} ({counted(changed, 'mark')} changed).")
    return EXIT_OK


def cmd_attendance_rules(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.attendance import excused_needs_reason, set_excused_needs_reason

    with school_session(settings) as (session, ctx):
        if args.excused_needs_reason is not None:
            set_excused_needs_reason(session, ctx, args.excused_needs_reason == "yes")
        needed = excused_needs_reason(session, ctx)
    if args.json:
        print_json({"excused_needs_reason": needed})
    else:
        print("An excused absence " + ("needs a reason (the mark's note)." if needed
                                       else "may be recorded without a reason."))  # fmt: skip
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
    mark.add_argument("--note", help="e.g. the reason for an excuse (the school may require one)")
    mark.add_argument("--minutes-late", type=int, metavar="N",
                      help="how late a late arrival was, 1 to 600 minutes")  # fmt: skip
    mark.add_argument("--json", action="store_true", help="machine-readable output")
    mark.set_defaults(handler=cmd_attendance_mark, command_name="mark")

    mark_all = attendance_sub.add_parser("mark-all", help="mark everyone on the register")
    mark_all.add_argument("session", metavar="SESSION_ID")
    mark_all.add_argument("status", metavar="STATUS", choices=_STATUSES)
    mark_all.add_argument("--json", action="store_true", help="machine-readable output")
    mark_all.set_defaults(handler=cmd_attendance_mark, command_name="mark-all")

    rules = attendance_sub.add_parser("rules", help="show or set the school's attendance rules")
    rules.add_argument("--excused-needs-reason", choices=["yes", "no"],
                       help="whether an excused absence must carry a reason (default yes)")  # fmt: skip
    rules.add_argument("--json", action="store_true", help="machine-readable output")
    rules.set_defaults(handler=cmd_attendance_rules)
