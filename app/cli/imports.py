"""``rollbook import students|oneroster|sds|legacy-groups``: dry run unless ``--commit``;
exit 1 when rows were rejected or enrollments skipped (listed), 2 when the file cannot
be used."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    CommandError,
    delimiter_option,
    encoding_option,
    end_progress,
    output_file_option,
    print_json,
    print_rejected,
    progress_job,
)
from app.cli.session import school_session
from app.config import Settings
from app.domain.wording import counted


def save_rejected(target: str | None, header: list[str], rejections: list) -> bool:
    """Write --rejected-out while the import's transaction is still open (whether the
    rows were saved): a file that cannot be written after all (disk full, folder gone)
    rolls the import back with one line — never "committed, then a traceback"."""
    if not target or not rejections:
        return False
    from app.imports.service import write_rejected_csv
    from app.savefile import FileNotSaved

    try:
        write_rejected_csv(Path(target), header, rejections)
    except (FileNotSaved, OSError, UnicodeError) as exc:
        raise CommandError(f"The rejected rows could not be written: {exc} Nothing was "
                           "imported.") from None  # fmt: skip
    return True


def _rejected(outcome) -> list[dict]:
    return [{"line": r.line, "column": r.column, "message": r.message} for r in outcome.rejected]


def _roster_report(outcome, as_json: bool, extra: dict | None = None) -> int:
    rejected = _rejected(outcome)
    if as_json:
        print_json({
            **outcome.summary(), "committed": outcome.applied, "run_id": outcome.run_id,
            **(extra or {}), "rejected": rejected, "skipped": outcome.skipped,
            "stale": [item.label for item in outcome.stale],
            "ignored_columns": outcome.ignored_columns,
        })  # fmt: skip
    else:
        verb = "Imported" if outcome.applied else "Dry run (nothing changed; add --commit)"
        ended = f", {outcome.enrollments_ended:,} ended" if outcome.enrollments_ended else ""
        print(
            f"{verb}: {counted(outcome.rows, 'row')} — {counted(outcome.created, 'student')} "
            f"created, {outcome.updated:,} updated, {outcome.unchanged:,} unchanged; "
            f"{counted(outcome.enrollments_created, 'enrollment')} created, "
            f"{outcome.enrollments_reactivated:,} reactivated{ended}, "
            f"{outcome.enrollments_skipped:,} skipped; "
            f"{counted(outcome.courses_created, 'new course')}; "
            f"{counted(len(rejected), 'row')} rejected."
        )
        if outcome.ignored_columns:
            print(f"Columns not imported: {', '.join(outcome.ignored_columns)} "
                  '(map one with --map "COLUMN=FIELD").')  # fmt: skip
        print_rejected(rejected)
        for text in outcome.skipped[:20]:
            print(f"  not enrolled: {text}")
        if len(outcome.skipped) > 20:
            print(f"  … and {len(outcome.skipped) - 20:,} more not enrolled (--json lists them)")
    return EXIT_FINDINGS if outcome.rejected or outcome.skipped else EXIT_OK


def cmd_import_students(args: argparse.Namespace, settings: Settings) -> int:
    from app.imports.reading import FileFormat, detect_format
    from app.imports.service import prepare, run_import
    from app.imports.validation import DateFormat, ImportOptions

    path = Path(args.file)
    fmt = detect_format(path)
    if args.encoding or args.delimiter:
        fmt = FileFormat(args.encoding or fmt.encoding, args.delimiter or fmt.delimiter)
    for warning in fmt.warnings:
        print(f"rollbook: warning: {warning}", file=sys.stderr)
    date_format = DateFormat(args.date_format) if args.date_format else None  # None: infer
    options = ImportOptions(date_format, all_or_nothing=args.all_or_nothing)
    prepared = prepare(path, fmt=fmt, options=options, column_map=args.map or ())
    job = progress_job(args.json)
    with school_session(settings, dry_run=not args.commit,
                        create_school=args.commit) as (session, ctx):  # fmt: skip
        outcome = run_import(session, ctx, prepared, commit=args.commit, job=job)
        saved = save_rejected(args.rejected_out, list(prepared.table.header), outcome.rejected)
    end_progress(args.json)
    if saved:
        print(f"Rejected rows written to {args.rejected_out}", file=sys.stderr)
    return _roster_report(outcome, args.json)


def cmd_import_oneroster(args: argparse.Namespace, settings: Settings) -> int:
    from app.imports.oneroster import import_oneroster, read_oneroster

    return _import_roster_folder(args, settings, read_oneroster, import_oneroster, "class")


def cmd_import_sds(args: argparse.Namespace, settings: Settings) -> int:
    from app.imports.sds import import_sds, read_sds

    return _import_roster_folder(args, settings, read_sds, import_sds, "section")


def _import_roster_folder(args: argparse.Namespace, settings: Settings, read, run,
                          classes: str) -> int:  # fmt: skip
    """OneRoster and School Data Sync: read the folder, warn, dry run or import, report."""
    file = read(Path(args.path))
    for warning in file.warnings:
        print(f"rollbook: warning: {warning}", file=sys.stderr)
    job = progress_job(args.json)
    with school_session(settings, dry_run=not args.commit,
                        create_school=args.commit) as (session, ctx):  # fmt: skip
        result = run(session, ctx, file, commit=args.commit, job=job)
    end_progress(args.json)
    if not args.json:
        dropped = (f" ({counted(file.classes_tobedeleted, 'class')} marked tobedeleted, "
                   "not created)" if file.classes_tobedeleted else "")  # fmt: skip
        ended = (f"; {result.enrollments_ended:,} enrollments "
                 f"{'ended' if args.commit else 'to end'} (tobedeleted)"
                 if file.format.startswith("OneRoster") else "")  # fmt: skip
        print(f"{file.format}: {counted(result.students_in_file, 'student')} and "
              f"{counted(result.classes_in_file, classes)} in the file{dropped}{ended}.")  # fmt: skip
    return _roster_report(result.roster, args.json,
                          {"format": file.format, "warnings": list(file.warnings)})  # fmt: skip


def cmd_import_legacy(args: argparse.Namespace, settings: Settings) -> int:
    from app.imports.legacy_groups import (
        apply_legacy_import,
        plan_legacy_import,
        read_legacy_file,
    )

    legacy = read_legacy_file(Path(args.file))
    for warning in legacy.table.format.warnings:
        print(f"rollbook: warning: {warning}", file=sys.stderr)
    job = progress_job(args.json)
    with school_session(settings, dry_run=not args.commit,
                        create_school=args.commit) as (session, ctx):  # fmt: skip
        apply = apply_legacy_import if args.commit else plan_legacy_import
        outcome = apply(session, ctx, legacy, job=job)
        saved = save_rejected(args.rejected_out, list(legacy.table.header), outcome.rejected)
    end_progress(args.json)
    rejected = _rejected(outcome)
    if saved:
        print(f"Rejected rows written to {args.rejected_out}", file=sys.stderr)
    if args.json:
        print_json({**outcome.summary(), "committed": outcome.applied, "run_id": outcome.run_id,
                    "rejected": rejected})  # fmt: skip
    else:
        verb = "Imported" if outcome.applied else "Dry run (nothing changed; add --commit)"
        print(f"{verb}: {outcome.rows:,} rows — {outcome.groups_created:,} groups created, "
              f"{outcome.members_created:,} memberships created, {outcome.members_updated:,} "
              f"updated, {outcome.members_unchanged:,} unchanged; {len(rejected):,} rows "
              "rejected.")  # fmt: skip
        print_rejected(rejected)
    return EXIT_FINDINGS if outcome.rejected else EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    imports = sub.add_parser("import", help="import rosters (dry run unless --commit)")
    import_sub = imports.add_subparsers(dest="import_command", required=True, metavar="KIND")
    roster = import_sub.add_parser("students", help="a CSV roster of students and courses")
    roster.add_argument("file", help="the CSV file")
    roster.add_argument("--commit", action="store_true", help="apply the changes")
    roster.add_argument("--all-or-nothing", action="store_true",
                        help="import nothing if any row is rejected")  # fmt: skip
    roster.add_argument("--rejected-out", metavar="FILE", type=output_file_option,
                        help="write rejected rows, with an error column, to FILE")  # fmt: skip
    roster.add_argument("--date-format", choices=["YMD", "DMY", "MDY"], default=None,
                        help="order of non-ISO dates: DMY = 23/04/2011, MDY = 04/23/2011; "
                        "default: inferred from the file's dates (YMD: ISO dates only)")  # fmt: skip
    roster.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                        help='read COLUMN as FIELD, e.g. --map "Student ID=student_no" '
                        "(repeatable); FIELD is student_no, first_name, last_name, full_name, "
                        "email, class_name, grade, birth_date, status, course, sourced_id, "
                        "state_id or ignore")  # fmt: skip
    roster.add_argument("--encoding", type=encoding_option,
                        help="override the detected encoding (utf-8, windows-1252, latin-1)")  # fmt: skip
    roster.add_argument("--delimiter", type=delimiter_option,
                        help="override the detected delimiter: comma, semicolon, tab, pipe "
                        "or one character")  # fmt: skip
    roster.add_argument("--json", action="store_true", help="machine-readable output")
    roster.set_defaults(handler=cmd_import_students)
    oneroster = import_sub.add_parser("oneroster",
                                      help="a OneRoster 1.0, 1.1 or 1.2 CSV zip or folder")  # fmt: skip
    oneroster.add_argument("path", help="the .zip file or the folder (users.csv, classes.csv, "
                           "enrollments.csv, usually manifest.csv)")  # fmt: skip
    oneroster.add_argument("--commit", action="store_true", help="apply the changes")
    oneroster.add_argument("--json", action="store_true", help="machine-readable output")
    oneroster.set_defaults(handler=cmd_import_oneroster)
    sds = import_sub.add_parser("sds", help="a Microsoft School Data Sync v1 CSV folder or zip")
    sds.add_argument("path", help="the folder or .zip with Student.csv (Section.csv, "
                     "StudentEnrollment.csv, …)")  # fmt: skip
    sds.add_argument("--commit", action="store_true", help="apply the changes")
    sds.add_argument("--json", action="store_true", help="machine-readable output")
    sds.set_defaults(handler=cmd_import_sds)
    legacy = import_sub.add_parser("legacy-groups",
                                   help="group memberships from an older system (CSV)")  # fmt: skip
    legacy.add_argument("file", help="CSV with student_no or email, group_name, team_number, "
                        "course, active")  # fmt: skip
    legacy.add_argument("--commit", action="store_true", help="apply the changes")
    legacy.add_argument("--rejected-out", metavar="FILE", type=output_file_option,
                        help="write rejected rows, with an error column, to FILE")  # fmt: skip
    legacy.add_argument("--json", action="store_true", help="machine-readable output")
    legacy.set_defaults(handler=cmd_import_legacy)
