"""The ``rollbook`` command. With no sub-command it opens the desktop app.

Exit codes: 0 success; 1 the command ran and found something to report (checks);
2 bad input or the database could not be reached — always with a one-line message.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from app import cli_package
from app.config import ENV_LOG_LEVEL, Settings, load_settings
from app.domain.errors import RollbookError

# As early as Rollbook's own code runs: start-up times in the log count from here.
STARTED = time.monotonic()

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
LOG_LEVELS = ("debug", "info", "warning", "error")


def app_version() -> str:
    try:
        return version("rollbook")
    except PackageNotFoundError:
        return "0+unknown"


class CommandError(RollbookError):
    """Bad command-line input detected by a sub-command."""


def _print_json(value: Any) -> None:
    from app.services.audit import to_json_value

    print(json.dumps(value, default=to_json_value, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------- sub-commands


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from app.db import migrate
    from app.runtime import open_target

    target, engine = open_target(settings)
    try:
        if args.db_command == "upgrade":
            migrate.upgrade(engine, args.revision)
        elif args.db_command == "downgrade":
            migrate.downgrade(engine, args.revision)
        current = migrate.current_revision(engine)
        head = migrate.head_revision()
    finally:
        engine.dispose()
    if args.json:
        _print_json({"current": current, "head": head, "at_head": current == head,
                     "mode": target.mode.value, "location": target.location})  # fmt: skip
    else:
        state = "at head" if current == head else f"head is {head}"
        print(f"{current or '(empty database)'} ({state}) — {target.mode.value}: {target.location}")
    return EXIT_OK


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from app.demo_data import create_demo_data
    from app.jobs import Job
    from app.runtime import open_database

    if args.students < 1:
        raise CommandError("--students must be at least 1.")
    db = open_database(settings)
    job = Job(_stderr_progress if sys.stderr.isatty() and not args.json else None)
    try:
        with db.engine.begin() as conn:
            raw = conn.connection.driver_connection
            summary = create_demo_data(raw, db.school.id, students=args.students,
                                       seed=args.seed, job=job)  # fmt: skip
    finally:
        db.close()
    if sys.stderr.isatty() and not args.json:
        print(file=sys.stderr)
    if args.json:
        _print_json(asdict(summary))
    else:
        print(
            f"Created {summary.students:,} students, {summary.courses} courses, "
            f"{summary.enrollments:,} enrollments, {summary.sessions:,} sessions, "
            f"{summary.events} events, {summary.registrations:,} registrations and "
            f"{summary.certificates:,} certificates in {summary.seconds:.1f} s."
        )
    return EXIT_OK


def _stderr_progress(report) -> None:
    fraction = f"{report.fraction:5.1%}" if report.fraction is not None else ""
    print(f"\r{fraction} {report.text[:60]:<60}", end="", file=sys.stderr, flush=True)


def cmd_students_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from app.services.students import StudentQuery, list_students

    db = open_database(settings)
    try:
        with db.sessions.begin() as session:
            page = list_students(
                session,
                db.context(),
                StudentQuery(
                    search=args.search or "",
                    status=args.status,
                    class_name=args.class_name,
                    limit=args.limit,
                ),  # fmt: skip
            )
    finally:
        db.close()
    if args.json:
        _print_json([{**asdict(row), "full_name": row.full_name} for row in page.rows])
        return EXIT_OK
    if not page.rows:
        print("No students match.")
        return EXIT_OK
    for row in page.rows:
        print(f"{row.student_no:<12} {row.full_name:<32} {row.email or '':<40} "
              f"{row.class_name or '':<6} {row.status}")  # fmt: skip
    if page.has_more:
        print("… more students match; use --limit or a narrower --search.")
    return EXIT_OK


def _import_report(outcome, as_json: bool, rejected_out, extra: dict | None = None) -> int:
    rejected = [
        {"line": r.line, "column": r.column, "message": r.message} for r in outcome.rejected
    ]
    if as_json:
        _print_json({
            "rows": outcome.rows, "created": outcome.created, "updated": outcome.updated,
            "unchanged": outcome.unchanged, "enrollments_created": outcome.enrollments_created,
            "enrollments_reactivated": outcome.enrollments_reactivated,
            "courses_created": outcome.courses_created, "committed": outcome.applied,
            "run_id": outcome.run_id, **(extra or {}), "rejected": rejected,
        })  # fmt: skip
    else:
        verb = "Imported" if outcome.applied else "Dry run (nothing changed; add --commit)"
        print(
            f"{verb}: {outcome.rows:,} rows — {outcome.created:,} students created, "
            f"{outcome.updated:,} updated, {outcome.unchanged:,} unchanged; "
            f"{outcome.enrollments_created:,} enrollments created, "
            f"{outcome.enrollments_reactivated:,} reactivated, "
            f"{outcome.courses_created:,} new courses; {len(rejected):,} rows rejected."
        )
        for item in rejected[:20]:
            print(f"  line {item['line']}, {item['column']}: {item['message']}")
        if len(rejected) > 20:
            print(f"  … and {len(rejected) - 20:,} more (use --rejected-out FILE)")
    if rejected_out and outcome.rejected:
        print(f"Rejected rows written to {rejected_out}", file=sys.stderr)
    return EXIT_FINDINGS if outcome.rejected else EXIT_OK


def cmd_import_students(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from app.imports.reading import FileFormat, detect_format
    from app.imports.service import prepare, run_import, write_rejected_csv
    from app.imports.validation import DateFormat, ImportOptions
    from app.jobs import Job
    from app.runtime import open_database

    path = Path(args.file)
    fmt = detect_format(path)
    if args.encoding or args.delimiter:
        delimiter = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(
            args.delimiter or "", args.delimiter or fmt.delimiter
        )
        fmt = FileFormat(args.encoding or fmt.encoding, delimiter)
    for warning in fmt.warnings:
        print(f"rollbook: warning: {warning}", file=sys.stderr)
    options = ImportOptions(DateFormat(args.date_format), all_or_nothing=args.all_or_nothing)
    prepared = prepare(path, fmt=fmt, options=options)
    db = open_database(settings)
    job = Job(_stderr_progress if sys.stderr.isatty() and not args.json else None)
    try:
        with db.sessions.begin() as session:
            outcome = run_import(session, db.context(), prepared, commit=args.commit, job=job)
            if not args.commit:
                session.rollback()  # a dry run leaves nothing behind, not even temp tables
    finally:
        db.close()
    if args.rejected_out and outcome.rejected:
        write_rejected_csv(Path(args.rejected_out), list(prepared.table.header), outcome.rejected)
    return _import_report(outcome, args.json, args.rejected_out)


def cmd_import_oneroster(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from app.imports.oneroster import import_oneroster
    from app.runtime import open_database

    db = open_database(settings)
    try:
        with db.sessions.begin() as session:
            result = import_oneroster(session, db.context(), Path(args.path), commit=args.commit)
            if not args.commit:
                session.rollback()
    finally:
        db.close()
    if not args.json:
        print(f"OneRoster: {result.students_in_file:,} students and {result.classes_in_file:,} "
              f"classes in the file; {result.enrollments_ended:,} enrollments "
              f"{'ended' if args.commit else 'to end'} (tobedeleted).")  # fmt: skip
    return _import_report(result.roster, args.json, None,
                          {"enrollments_ended": result.enrollments_ended})  # fmt: skip


def configure_logging(level: str | None) -> None:
    """Send Rollbook's log records from ``level`` on to stderr (nothing to set up without
    one: Python prints warnings and errors by itself).

    The level is set on Rollbook's own loggers only, other libraries keep theirs at
    warning: SQLAlchemy, for one, logs every statement once its logger allows info.
    """
    if not level:
        return
    if level.lower() not in LOG_LEVELS:
        raise CommandError(f"{level!r} is not a log level; use one of {', '.join(LOG_LEVELS)} "
                           f"(--log-level or {ENV_LOG_LEVEL}).")  # fmt: skip
    import logging

    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    for name in ("app", "ui"):
        logging.getLogger(name).setLevel(level.upper())


def cmd_gui(args: argparse.Namespace, settings: Settings) -> int:
    # Imported by name at run time: app/ must not depend on the Qt layer, but the
    # console script is the one entry point people double-click or type.
    gui = importlib.import_module("ui.app")
    return int(gui.run(settings))


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollbook",
        description="Rollbook: school administration. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"rollbook {app_version()}")
    parser.add_argument("--data-dir", help="folder for Rollbook's data (default: per-user)")
    parser.add_argument("--database-url", help="use this PostgreSQL server instead of the "
                        "embedded database (postgresql://user:pass@host/db)")  # fmt: skip
    parser.add_argument("--school", help="school code to work on (default: MAIN, or "
                        "ROLLBOOK_SCHOOL)")  # fmt: skip
    parser.add_argument("--log-level", metavar="LEVEL",
                        help=f"log Rollbook's work to stderr from this level on: "
                        f"{', '.join(LOG_LEVELS)}; info includes start-up times "
                        f"(default: warnings and errors, or {ENV_LOG_LEVEL})")  # fmt: skip
    cli_package.register(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    db = sub.add_parser("db", help="database schema: upgrade, downgrade, current")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations (default: to head)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="revert migrations to REV (e.g. -1, base)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="show the schema revision")
    for p in (up, down, db_sub.choices["current"]):
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(handler=cmd_db)

    demo = sub.add_parser("demo-data", help="create a realistic demo school")
    demo.add_argument("--students", type=int, required=True, help="how many students")
    demo.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(handler=cmd_demo_data)

    students = sub.add_parser("students", help="students")
    students_sub = students.add_subparsers(dest="students_command", required=True,
                                           metavar="ACTION")  # fmt: skip
    listing = students_sub.add_parser("list", help="list or search students")
    listing.add_argument("--search", help="word prefixes of name, student number or e-mail")
    listing.add_argument("--status", choices=["active", "inactive", "withdrawn"])
    listing.add_argument("--class", dest="class_name", help="only this class, e.g. 7A")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (max 1000)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_students_list)
    imports = sub.add_parser("import", help="import rosters (dry run unless --commit)")
    import_sub = imports.add_subparsers(dest="import_command", required=True, metavar="KIND")
    roster = import_sub.add_parser("students", help="a CSV roster of students and courses")
    roster.add_argument("file", help="the CSV file")
    roster.add_argument("--commit", action="store_true", help="apply the changes")
    roster.add_argument("--all-or-nothing", action="store_true",
                        help="import nothing if any row is rejected")  # fmt: skip
    roster.add_argument("--rejected-out", metavar="FILE",
                        help="write rejected rows, with an error column, to FILE")  # fmt: skip
    roster.add_argument("--date-format", choices=["YMD", "DMY", "MDY"], default="YMD",
                        help="order of non-ISO dates: DMY = 23/04/2011, MDY = 04/23/2011")  # fmt: skip
    roster.add_argument(
        "--encoding", help="override the detected encoding (utf-8, windows-1252, latin-1)"
    )
    roster.add_argument(
        "--delimiter", help="override the detected delimiter: comma, semicolon, tab, pipe"
    )
    roster.add_argument("--json", action="store_true", help="machine-readable output")
    roster.set_defaults(handler=cmd_import_students)
    oneroster = import_sub.add_parser("oneroster", help="a OneRoster 1.1 CSV zip or folder")
    oneroster.add_argument("path", help="the .zip file or the folder with manifest.csv")
    oneroster.add_argument("--commit", action="store_true", help="apply the changes")
    oneroster.add_argument("--json", action="store_true", help="machine-readable output")
    oneroster.set_defaults(handler=cmd_import_oneroster)

    # Sub-commands of the maintenance runs live in their own modules.
    from app import cli_consistency, cli_maintenance

    cli_maintenance.register(sub, import_sub)
    cli_consistency.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = load_settings(
        data_dir=args.data_dir, database_url=args.database_url, school_code=args.school
    )
    handler: Callable[[argparse.Namespace, Settings], int] = getattr(args, "handler", cmd_gui)
    started = time.monotonic()
    try:
        configure_logging(args.log_level or os.environ.get(ENV_LOG_LEVEL))
        return handler(args, settings)
    except RollbookError as exc:
        print(f"rollbook: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (`rollbook runs list | head`); nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"rollbook: interrupted after {time.monotonic() - started:.0f} s; "
              "nothing was changed.", file=sys.stderr)  # fmt: skip
        return 130


if __name__ == "__main__":
    sys.exit(main())
