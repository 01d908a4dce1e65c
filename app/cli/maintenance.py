"""``rollbook audit enrollments``, ``backfill enrollments`` and ``runs list|show``: the
maintenance runs of the Maintenance wizard, for scripts.

Exit codes follow the CLI's: 0 done / nothing to report, 1 findings (a coverage
warning, a plan with changes, a failed apply), 2 bad input; the audit uses 2 for
missing enrollments, as automation expects a failing check there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    EXIT_OK,
    count_option,
    end_progress,
    output_file_option,
    print_json,
    progress_job,
)
from app.cli.session import school_session
from app.config import Settings
from app.domain.enums import RunKind
from app.domain.wording import counted


def cmd_audit_enrollments(args: argparse.Namespace, settings: Settings) -> int:
    from app.maintenance.enrollment_audit import PAIR_STATES, audit_enrollments

    with school_session(settings) as (session, ctx):
        result = audit_enrollments(session, ctx, job=progress_job(args.json))
    end_progress(args.json)
    if args.json:
        print_json({**result.summary(list_limit=args.list), "run_id": result.run_id})
    else:
        print(f"Coverage {result.coverage_percent}%: {result.pairs:,} student–course pairs from "
              f"{result.memberships:,} active legacy memberships; {result.covered:,} covered, "
              f"{result.inactive:,} with an inactive enrollment, {result.missing:,} with none.")  # fmt: skip
        for state in PAIR_STATES[:2]:
            students = result.lists[state]
            if students:
                print(f"{state.capitalize()}:")
            for s in students[: args.list]:
                print(f"  {s.student_no:<12} {s.name:<32} {s.course}")
            if result.count(state) > min(len(students), args.list):
                print(f"  … and {result.count(state) - min(len(students), args.list):,} more")
        print(f"Run {str(result.run_id)[:8]} recorded; `rollbook backfill enrollments` fills "
              "the gaps." if result.missing or result.inactive else "Nothing to backfill.")  # fmt: skip
    return int(result.verdict)


def cmd_backfill_enrollments(args: argparse.Namespace, settings: Settings) -> int:
    from app.maintenance.backfill import apply_backfill, plan_backfill
    from app.runs.recorder import BulkRunBusy

    job = progress_job(args.json)
    with school_session(settings) as (session, ctx):
        if args.commit:
            run = apply_backfill(session, ctx, job=job)
        else:
            planned = plan_backfill(session, ctx, job=job)
    end_progress(args.json)
    if not args.commit:
        counts = planned.counts.as_dict()
        if args.json:
            print_json({**counts, "committed": False, "run_id": planned.run_id,
                         "items": [item.__dict__ for item in planned.plan.items[: args.list]]})  # fmt: skip
        else:
            print(f"Dry run (nothing changed; add --commit): {counts['enrollments_created']:,} "
                  f"enrollments to create, {counts['enrollments_reactivated']:,} to reactivate, "
                  f"{counts['courses_created']:,} new courses, {counts['skipped']:,} students "
                  "not to enrol (not active).")  # fmt: skip
            for item in planned.plan.items[: args.list]:
                what = (item.after or {}).get("course", "") or item.reason
                print(f"  {item.kind:<22} {item.key:<40} {what}")
        has_changes = counts["enrollments_created"] or counts["enrollments_reactivated"]
        return EXIT_FINDINGS if has_changes else EXIT_OK
    result = run.value
    if args.json:
        print_json({**(result.counts.as_dict() if result else {}), "committed": run.succeeded,
                    "status": run.status.value, "run_id": run.run_id, "error": run.error,
                    "skipped": result.skipped if result else []})  # fmt: skip
    elif run.succeeded and result is not None:
        counts = result.counts
        print(f"Backfilled: {counted(counts.enrollments_created, 'enrollment')} created, "
              f"{counts.enrollments_reactivated:,} reactivated, "
              f"{counted(counts.courses_created, 'new course')}, "
              f"{counted(counts.skipped, 'student')} not "
              f"enrolled (run {str(run.run_id)[:8]}).")  # fmt: skip
        for text in result.skipped[: args.list]:
            print(f"  not enrolled: {text}")
    else:
        print(f"rollbook: backfill {run.status.value}: {run.error}", file=sys.stderr)
    if isinstance(run.cause, BulkRunBusy):
        return EXIT_BAD_INPUT  # refused, not a finding: another bulk run holds the school
    return EXIT_OK if run.succeeded else EXIT_FINDINGS


def cmd_runs_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.runs.history import list_runs

    kinds = tuple(RunKind(k) for k in args.kind or [])
    with school_session(settings) as (session, ctx):
        runs = list_runs(session, ctx, kinds=kinds, limit=args.limit)
    if args.json:
        print_json([{**r.__dict__, "headline": r.headline} for r in runs])
        return EXIT_OK
    for r in runs:
        mode = "dry run" if r.dry_run else "applied"
        print(f"{str(r.id)[:8]}  {r.started_at:%Y-%m-%d %H:%M}  {r.kind:<11} {mode:<8} "
              f"{r.status:<9} {r.headline}")  # fmt: skip
    if not runs:
        print("No runs yet.")
    return EXIT_OK


def cmd_runs_show(args: argparse.Namespace, settings: Settings) -> int:
    from app.runs.history import find_run, report_lines, run_report, write_report_csv

    with school_session(settings) as (session, ctx):
        report = run_report(session, ctx, find_run(session, ctx, args.run))
    if args.csv:
        write_report_csv(Path(args.csv), report)
        print(f"Report written to {args.csv}", file=sys.stderr)
    if args.json:
        print_json({**report.run.__dict__, "change_count": report.change_count,
                     "rejected_rows": report.rejected_count,
                    "changes": [{**c.__dict__, "what": c.what, "before": c.before,
                                 "after": c.after} for c in report.changes]})  # fmt: skip
    elif not args.csv:
        for line in report_lines(report):
            print("  ".join(str(cell) for cell in line))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="the audit log; enrollments against legacy "
                           "memberships")  # fmt: skip
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="WHAT")
    enrollments = audit_sub.add_parser(
        "enrollments", help="coverage of legacy memberships; exit 0 full, 1 only inactive, "
        "2 enrollments missing")  # fmt: skip
    enrollments.add_argument("--list", type=count_option(minimum=0), default=20, metavar="N",
                             help="list at most N students per gap (default 20)")  # fmt: skip
    enrollments.add_argument("--json", action="store_true", help="machine-readable output")
    enrollments.set_defaults(handler=cmd_audit_enrollments)
    from app.cli import audit_log

    audit_log.register(audit_sub)

    backfill = sub.add_parser("backfill", help="create enrollments legacy memberships call for")
    backfill_sub = backfill.add_subparsers(dest="backfill_command", required=True,
                                           metavar="WHAT")  # fmt: skip
    fill = backfill_sub.add_parser("enrollments", help="dry run unless --commit; exit 1 when the "
                                   "dry run has changes or the apply failed, 2 when another "
                                   "bulk run of the school is applying")  # fmt: skip
    fill.add_argument("--commit", action="store_true", help="apply the backfill")
    fill.add_argument("--list", type=count_option(minimum=0), default=20, metavar="N",
                      help="list at most N planned changes (default 20)")  # fmt: skip
    fill.add_argument("--json", action="store_true", help="machine-readable output")
    fill.set_defaults(handler=cmd_backfill_enrollments)

    runs = sub.add_parser("runs", help="history of imports and maintenance runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = runs_sub.add_parser("list", help="the most recent runs first")
    listing.add_argument("--kind", action="append", choices=[k.value for k in RunKind],
                         help="only runs of this kind (repeatable)")  # fmt: skip
    listing.add_argument(
        "--limit", type=count_option(), default=50, help="at most this many (default 50)"
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_runs_list)
    show = runs_sub.add_parser("show", help="one run's report: parameters, summary, changes")
    show.add_argument("run", help="the run id or its first characters")
    show.add_argument(
        "--csv", metavar="FILE", type=output_file_option, help="write the report to FILE as CSV"
    )
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=cmd_runs_show)
