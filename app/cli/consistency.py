"""``rollbook sync-check`` and ``rollbook sync-repair``.

sync-check exits 0 when the school is consistent and 1 when something was found;
sync-repair is a dry run unless ``--commit``, which repairs every current finding of the
chosen kinds as one recorded run (a failure rolls it all back and exits 2).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from app.cli.output import EXIT_FINDINGS, EXIT_OK, end_progress, print_json, progress_job
from app.cli.session import school_session
from app.config import Settings
from app.domain.wording import counted

if TYPE_CHECKING:
    from app.maintenance.consistency import Finding
    from app.runs.plan import Plan

SHOWN_PER_KIND = 5
# The finding kinds, for --kind. Written out so that building the parser (which every
# start of the app does) does not load the database layer; a test keeps this equal to
# app.maintenance.consistency.KIND_NAMES.
KIND_NAMES = (
    "approved-no-enrollment", "progress-only", "enrollment-only", "pending-but-enrolled",
    "attendance-not-enrolled", "event-attendance-cancelled", "certificate-ineligible",
    "team-size",
)  # fmt: skip


def _finding_json(item: Finding) -> dict[str, Any]:
    return {"kind": item.kind, "row_id": item.key, "student": item.student,
            "course_or_event": item.target, "before": item.before_text,
            "after": item.after_text, "reason": item.reason, "repair": item.action}  # fmt: skip


def _print_plan(plan: Plan, heading: str) -> None:
    from app.maintenance.consistency import BY_NAME, Finding

    total = sum(plan.summary.values())
    print(heading if total else "Consistent: nothing to repair.")
    for name, count in plan.summary.items():
        if not count:
            continue
        print(f"  {BY_NAME[name].label} ({name}): {count:,}")
        listed = [item for item in plan.items if item.kind == name]
        for item in listed[:SHOWN_PER_KIND]:
            assert isinstance(item, Finding)
            print(f"    - {item.student}, {item.target}: {item.reason} "
                  f"[{item.before_text} -> {item.after_text}]")  # fmt: skip
        if count > SHOWN_PER_KIND:
            print(f"    … and {count - SHOWN_PER_KIND:,} more (--json lists them)")


def cmd_sync_check(args: argparse.Namespace, settings: Settings) -> int:
    from app.maintenance.consistency import plan_consistency, record_check

    job = progress_job(args.json)
    with school_session(settings) as (session, ctx):
        plan = plan_consistency(session, ctx, kinds=args.kind, job=job)
        run_id = record_check(session, ctx, plan)
    end_progress(args.json)
    total = sum(plan.summary.values())
    if args.json:
        print_json({"run_id": run_id, "consistent": total == 0, "total": total,
                     "summary": plan.summary, "listed_all": not plan.items_truncated,
                     "findings": [_finding_json(i) for i in plan.items]})  # fmt: skip
    else:
        _print_plan(plan, f"{counted(total, 'inconsistency')} found:")
        if total:
            print("Repair them with: rollbook sync-repair [--kind K] --commit")
    return EXIT_FINDINGS if total else EXIT_OK


def cmd_sync_repair(args: argparse.Namespace, settings: Settings) -> int:
    from app.domain.enums import RunKind
    from app.maintenance.repair import apply_repair, plan_repair
    from app.runs.recorder import record_dry_run

    job = progress_job(args.json)
    with school_session(settings) as (session, ctx):
        if not args.commit:
            plan = plan_repair(session, ctx, kinds=args.kind, job=job)
            run_id = record_dry_run(session, ctx, RunKind.REPAIR, plan.params,
                                    {**plan.summary, "total": sum(plan.summary.values())})  # fmt: skip
        else:
            run = apply_repair(session, ctx, None, kinds=args.kind, job=job)
            # Raised after the run is recorded: the CLI prints one line and exits 2.
            outcome = run.value_or_raise()
    end_progress(args.json)
    if not args.commit:
        total = sum(plan.summary.values())
        if args.json:
            print_json({"run_id": run_id, "committed": False, "total": total,
                         "summary": plan.summary,
                         "repairs": [_finding_json(i) for i in plan.items]})  # fmt: skip
        else:
            _print_plan(
                plan, f"Dry run (nothing changed; add --commit): {counted(total, 'repair')}:"
            )
        return EXIT_FINDINGS if total else EXIT_OK
    if args.json:
        print_json({"run_id": outcome.run_id, "committed": True, **outcome.summary()})
    else:
        from app.maintenance.consistency import BY_NAME

        print(f"Repaired {counted(outcome.applied_total, 'inconsistency')} (run {outcome.run_id}).")
        for name, count in outcome.applied_counts.items():
            if count:
                print(f"  {BY_NAME[name].label} ({name}): {count:,}")
    return EXIT_OK


# ---------------------------------------------------------------- parser


def register(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("sync-check", help="check the school's data for inconsistencies "
                           "(exit 1 when something is found)")  # fmt: skip
    repair = sub.add_parser("sync-repair", help="repair what sync-check finds (dry run unless "
                            "--commit)")  # fmt: skip
    for p, handler in ((check, cmd_sync_check), (repair, cmd_sync_repair)):
        p.add_argument("--kind", action="append", choices=KIND_NAMES, metavar="KIND",
                       help=f"only this kind (repeatable): {', '.join(KIND_NAMES)}")  # fmt: skip
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(handler=handler)
    repair.add_argument("--commit", action="store_true", help="apply the repairs")
