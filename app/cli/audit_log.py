"""``rollbook audit log``: the audit log on the command line, filtered as on the page;
``--out FILE.xlsx`` saves it as a workbook with the house's title block. Exit 0, 2 bad
input (a date, a run id, a student number it does not know)."""

from __future__ import annotations

import argparse
import contextlib
import uuid
from dataclasses import asdict
from pathlib import Path

from app.cli.output import EXIT_OK, CommandError, count_option, date_option, print_json
from app.cli.session import school_session
from app.config import Settings

TITLES = ("When", "Who", "Did", "Row", "Changes", "Run")


def _query(args: argparse.Namespace, session, ctx):
    from app.services.audit import AuditQuery
    from app.services.students import find_student_by_number

    student_id = None
    if args.student:
        student = find_student_by_number(session, ctx, args.student)
        if student is None:
            raise CommandError(f"--student {args.student!r}: no student has that number")
        student_id = student.id
    run_id = None
    if args.run:
        try:
            run_id = uuid.UUID(args.run)
        except ValueError:
            raise CommandError(f"--run {args.run!r} is not a run id; `rollbook runs list` "
                               "shows them") from None  # fmt: skip
    return AuditQuery(
        date_from=date_option(args.date_from, "--from") if args.date_from else None,
        date_to=date_option(args.date_to, "--to") if args.date_to else None,
        actor=args.user_filter, entity=args.entity, student_id=student_id, run_id=run_id,
    )  # fmt: skip


def _described(args: argparse.Namespace) -> tuple[str, ...]:
    """The filters in words, for the workbook's title block."""
    given = (
        ("From", args.date_from),
        ("To", args.date_to),
        ("By", args.user_filter),
        ("Kind of row", args.entity),
        ("Student", args.student),
        ("Run", args.run),
    )
    return tuple(f"{name}: {value}" for name, value in given if value) or ("Every change",)


def _cells(entry) -> list:
    return [entry.at.astimezone().replace(tzinfo=None), entry.actor, entry.action, entry.row,
            entry.summary, str(entry.run_id) if entry.run_id else ""]  # fmt: skip


def cmd_audit_log(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.audit import list_audit, stream_audit

    out = Path(args.out).expanduser() if args.out else None
    if out is not None and out.suffix.lower() != ".xlsx":
        raise CommandError(f"--out {args.out!r}: name an Excel file ending in .xlsx")
    with school_session(settings) as (session, ctx):
        query = _query(args, session, ctx)
        if out is not None:
            from app.reports.catalog import title_block
            from app.reports.list_workbook import write_list_workbook

            def rows():
                batches = stream_audit(session, ctx, query)
                with contextlib.closing(batches):
                    for batch in batches:
                        yield from (_cells(e) for e in batch)

            title = title_block(session, ctx, "Audit log", _described(args))
            written = write_list_workbook(out, title, TITLES, rows())
            print(f"Saved {written:,} changes to {out}.")
            return EXIT_OK
        page = list_audit(session, ctx, query, 0, args.limit)
    if args.json:
        print_json([{**asdict(e), "summary": e.summary} for e in page.rows])
        return EXIT_OK
    if not page.rows:
        print("No changes match.")
    for e in page.rows:
        print(f"{e.at.astimezone():%Y-%m-%d %H:%M:%S}  {e.actor:<14} {e.action:<8} {e.row}"
              + (f"  — {e.summary}" if e.summary else ""))  # fmt: skip
    if page.has_more:
        print("… more changes match; use --limit, --from/--to, --by or --student (or --out "
              "to save them all).")  # fmt: skip
    return EXIT_OK


def register(audit_sub: argparse._SubParsersAction) -> None:
    log = audit_sub.add_parser("log", help="who changed what and when (admin, registrar)")
    log.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="from this day")
    log.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="to this day (included)")
    log.add_argument("--by", dest="user_filter", metavar="NAME", help="changes made by NAME")
    log.add_argument("--entity", metavar="TABLE", help="one kind of row (student, course, "
                     "course_enrollment, session_attendance …)")  # fmt: skip
    log.add_argument("--student", metavar="STUDENT_NO", help="the changes of one student's "
                     "records (their row, enrollments, attendance, registrations …)")  # fmt: skip
    log.add_argument("--run", metavar="RUN_ID", help="the changes of one import or "
                     "maintenance run")  # fmt: skip
    log.add_argument("--limit", type=count_option(1000), default=50, metavar="N",
                     help="show at most N, the latest first (default 50)")  # fmt: skip
    log.add_argument("--out", metavar="FILE.xlsx", help="save every matching change as an "
                     "Excel workbook instead")  # fmt: skip
    log.add_argument("--json", action="store_true", help="machine-readable output")
    log.set_defaults(handler=cmd_audit_log)
