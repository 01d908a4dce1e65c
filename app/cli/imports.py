"""``rollbook import students|oneroster|legacy-groups``: dry run unless ``--commit``;
exit 1 when rows were rejected or enrollments skipped (listed), 2 when the file cannot
be used."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
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


def _rejected(outcome) -> list[dict]:
    return [{"line": r.line, "column": r.column, "message": r.message} for r in outcome.rejected]


def _roster_report(outcome, as_json: bool, extra: dict | None = None) -> int:
    rejected = _rejected(outcome)
    if as_json:
        print_json({
            **outcome.summary(), "committed": outcome.applied, "run_id": outcome.run_id,
            **(extra or {}), "rejected": rejected, "skipped": outcome.skipped,
            "stale": [item.label for item in outcome.stale],
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
        print_rejected(rejected)
        for text in outcome.skipped[:20]:
            print(f"  not enrolled: {text}")
        if len(outcome.skipped) > 20:
            print(f"  … and {len(outcome.skipped) - 20:,} more not enrolled (--json lists them)")
    return EXIT_FINDINGS if outcome.rejected or outcome.skipped else EXIT_OK


def cmd_import_students(args: argparse.Namespace, settings: Settings) -> int:
    from app.imports.reading import FileFormat, detect_format
    from app.imports.service import prepare, run_import, write_rejected_csv
    from app.imports.validation import DateFormat, ImportOptions

    path = Path(args.file)
    fmt = detect_format(path)
    if args.encoding or args.delimiter:
        fmt = FileFormat(args.encoding or fmt.encoding, args.delimiter or fmt.delimiter)
    for warning in fmt.warnings:
        print(f"rollbook: warning: {warning}", file=sys.stderr)
    options = ImportOptions(DateFormat(args.date_format), all_or_nothing=args.all_or_nothing)
    prepared = prepare(path, fmt=fmt, options=options)
    job = progress_job(args.json)
    with school_session(settings, dry_run=not args.commit,
                        create_school=args.commit) as (session, ctx):  # fmt: skip
        outcome = run_import(session, ctx, prepared, commit=args.commit, job=job)
    end_progress(args.json)
    if args.rejected_out and outcome.rejected:
        write_rejected_csv(Path(args.rejected_out), list(prepared.table.header), outcome.rejected)
        print(f"Rejected rows written to {args.rejected_out}", file=sys.stderr)
    return _roster_report(outcome, args.json)


def cmd_import_oneroster(args: argparse.Namespace, settings: Settings) -> int:
    from app.imports.oneroster import import_oneroster, read_oneroster

    file = read_oneroster(Path(args.path))
    job = progress_job(args.json)
    with school_session(settings, dry_run=not args.commit,
                        create_school=args.commit) as (session, ctx):  # fmt: skip
        result = import_oneroster(session, ctx, file, commit=args.commit, job=job)
    end_progress(args.json)
    if not args.json:
        print(f"OneRoster: {result.students_in_file:,} students and {result.classes_in_file:,} "
              f"classes in the file; {result.enrollments_ended:,} enrollments "
              f"{'ended' if args.commit else 'to end'} (tobedeleted).")  # fmt: skip
    return _roster_report(result.roster, args.json)


def cmd_import_legacy(args: argparse.Namespace, settings: Settings) -> int:
    from app.imports.legacy_groups import (
        apply_legacy_import,
        plan_legacy_import,
        read_legacy_file,
    )
    from app.imports.service import write_rejected_csv

    legacy = read_legacy_file(Path(args.file))
    for warning in legacy.table.format.warnings:
        print(f"rollbook: warning: {warning}", file=sys.stderr)
    job = progress_job(args.json)
    with school_session(settings, dry_run=not args.commit,
                        create_school=args.commit) as (session, ctx):  # fmt: skip
        apply = apply_legacy_import if args.commit else plan_legacy_import
        outcome = apply(session, ctx, legacy, job=job)
    end_progress(args.json)
    rejected = _rejected(outcome)
    if args.rejected_out and outcome.rejected:
        write_rejected_csv(Path(args.rejected_out), list(legacy.table.header), outcome.rejected)
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
    roster.add_argument("--date-format", choices=["YMD", "DMY", "MDY"], default="YMD",
                        help="order of non-ISO dates: DMY = 23/04/2011, MDY = 04/23/2011")  # fmt: skip
    roster.add_argument("--encoding", type=encoding_option,
                        help="override the detected encoding (utf-8, windows-1252, latin-1)")  # fmt: skip
    roster.add_argument("--delimiter", type=delimiter_option,
                        help="override the detected delimiter: comma, semicolon, tab, pipe "
                        "or one character")  # fmt: skip
    roster.add_argument("--json", action="store_true", help="machine-readable output")
    roster.set_defaults(handler=cmd_import_students)
    oneroster = import_sub.add_parser("oneroster", help="a OneRoster 1.1 CSV zip or folder")
    oneroster.add_argument("path", help="the .zip file or the folder with manifest.csv")
    oneroster.add_argument("--commit", action="store_true", help="apply the changes")
    oneroster.add_argument("--json", action="store_true", help="machine-readable output")
    oneroster.set_defaults(handler=cmd_import_oneroster)
    legacy = import_sub.add_parser("legacy-groups",
                                   help="group memberships from an older system (CSV)")  # fmt: skip
    legacy.add_argument("file", help="CSV with student_no or email, group_name, team_number, "
                        "course, active")  # fmt: skip
    legacy.add_argument("--commit", action="store_true", help="apply the changes")
    legacy.add_argument("--rejected-out", metavar="FILE", type=output_file_option,
                        help="write rejected rows, with an error column, to FILE")  # fmt: skip
    legacy.add_argument("--json", action="store_true", help="machine-readable output")
    legacy.set_defaults(handler=cmd_import_legacy)
