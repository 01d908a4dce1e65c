"""``rollbook export attendance|student-attendance|event-attendance|certificates``.

Each writes one Excel workbook (the reports of app.reports.catalog, the same ones the
Reports page saves) and says where, with its sheets and rows. Exit codes: 0 saved; 1
the choice selects nothing to report (the reason is printed, no file is written); 2 bad
input (an unknown course, event or student, a bad date or threshold, an --out that is
not an .xlsx file or cannot be written), one line on stderr.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    CommandError,
    date_option,
    end_progress,
    print_json,
    progress_job,
)
from app.cli.session import school_session
from app.config import Settings
from app.domain.wording import counted
from app.reports.kinds import (
    DEFAULT_THRESHOLD,
    EmptyReport,
    ReportFilters,
    ReportKind,
    report_info,
)


def _out(typed: str) -> Path:
    path = Path(typed).expanduser()
    if path.suffix.lower() != ".xlsx":
        raise CommandError(f"--out {typed!r}: name an Excel file ending in .xlsx.")
    return path


def _threshold(typed: str) -> float:
    """0.8, 80% or 80 all mean 80 %."""
    text = typed.strip().rstrip("%")
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"--threshold {typed!r} is not a rate; use 0.8 (or 80%).") from None
    return value / 100 if value > 1 or typed.strip().endswith("%") else value


def _filters(args: argparse.Namespace) -> ReportFilters:
    return ReportFilters(
        courses=tuple(getattr(args, "course", None) or ()),
        classes=tuple(getattr(args, "class_name", None) or ()),
        student_no=getattr(args, "student_no", None),
        events=tuple(getattr(args, "event", None) or ()),
        date_from=date_option(args.date_from, "--from") if args.date_from else None,
        date_to=date_option(args.date_to, "--to") if args.date_to else None,
        threshold=_threshold(args.threshold) if getattr(args, "threshold", None) else
        DEFAULT_THRESHOLD,
    )  # fmt: skip


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    kind = ReportKind(args.report)
    path = _out(args.out)
    filters = _filters(args)
    from app.reports.catalog import write_report

    job = progress_job(args.json)
    try:
        with school_session(settings, dry_run=True) as (session, ctx):
            saved = write_report(session, ctx, job, kind, filters, path)
    except EmptyReport as empty:
        end_progress(args.json)
        if args.json:
            print_json({"saved": False, "report": kind.value, "reason": str(empty)})
        else:
            print(f"{empty} No file was written.")
        return EXIT_FINDINGS
    end_progress(args.json)
    if args.json:
        print_json({"saved": True, "report": kind.value, "path": str(saved.path),
                    "sheets": list(saved.sheets), "rows": saved.rows,
                    "summary": saved.summary})  # fmt: skip
    else:
        print(f"Saved {report_info(kind).title.lower()} to {saved.path}: "
              f"{counted(len(saved.sheets), 'sheet')}, {counted(saved.rows, 'row')} "
              f"({saved.summary}).")  # fmt: skip
    return EXIT_OK


def _common(parser: argparse.ArgumentParser, *, dates: bool = True,
            threshold: bool = False) -> None:  # fmt: skip
    parser.add_argument("--out", required=True, metavar="FILE.xlsx", help="the workbook to write")
    if dates:
        parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                            help="first day covered (default: the earliest)")  # fmt: skip
        parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                            help="last day covered (default: the latest)")  # fmt: skip
    else:
        parser.set_defaults(date_from=None, date_to=None)
    if threshold:
        parser.add_argument("--threshold", metavar="RATE",
                            help="rates under it are highlighted: 0.8 or 80%% (default 0.8)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=cmd_export)


def register(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser(
        "export", help="save attendance and certificate reports as Excel workbooks",
        description="Save a report as an Excel workbook (.xlsx). Exit 0 saved, 1 nothing "
        "to report (no file written), 2 bad input.",
    )  # fmt: skip
    reports = export.add_subparsers(dest="report", metavar="REPORT", required=True)

    attendance = reports.add_parser(
        ReportKind.COURSE_ATTENDANCE.value, help=report_info("attendance").description
    )
    attendance.add_argument("--course", action="append", metavar="COURSE",
                            help="a course by name (repeat for more; default: every course "
                            "with lessons in the range)")  # fmt: skip
    attendance.add_argument("--class", dest="class_name", action="append", metavar="CLASS",
                            help="only this class's lessons and students (repeatable)")  # fmt: skip
    _common(attendance, threshold=True)

    student = reports.add_parser(
        ReportKind.STUDENT_ATTENDANCE.value, help=report_info("student-attendance").description
    )
    student.add_argument("student_no", nargs="?", metavar="STUDENT_NO",
                         help="the student (or give --class)")  # fmt: skip
    student.add_argument("--class", dest="class_name", action="append", metavar="CLASS",
                         help="every student of this class (repeatable)")  # fmt: skip
    _common(student, threshold=True)

    event = reports.add_parser(
        ReportKind.EVENT_ATTENDANCE.value, help=report_info("event-attendance").description
    )
    event.add_argument("--event", action="append", required=True, metavar="EVENT",
                       help="the event, by name or id (repeat for more)")  # fmt: skip
    _common(event, dates=False)

    certificates = reports.add_parser(
        ReportKind.CERTIFICATES.value, help=report_info("certificates").description
    )
    certificates.add_argument("--event", action="append", metavar="EVENT",
                              help="only this event's certificates (repeatable)")  # fmt: skip
    _common(certificates)
