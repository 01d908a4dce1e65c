"""``rollbook sync-check``, ``rollbook sync-repair`` and ``rollbook requests ...``.

sync-check exits 0 when the school is consistent and 1 when something was found;
sync-repair is a dry run unless ``--commit``; requests approve/reject exit 1 when a
request could not be decided (it stays as it was, with the reason printed).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.domain.rows import RequestDecisions

if TYPE_CHECKING:
    from app.maintenance.consistency import Finding
    from app.maintenance.plan import Plan

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2
SHOWN_PER_KIND = 5
# The finding kinds, for --kind. Written out so that building the parser (which every
# start of the app does) does not load the database layer; a test keeps this equal to
# app.maintenance.consistency.KIND_NAMES.
KIND_NAMES = (
    "approved-no-enrollment", "progress-only", "enrollment-only", "pending-but-enrolled",
    "attendance-not-enrolled", "event-attendance-cancelled", "certificate-ineligible",
    "team-size",
)  # fmt: skip


def _print_json(value: Any) -> None:
    from app.cli import _print_json as print_json

    print_json(value)


def _progress(args: argparse.Namespace):
    from app.cli import _stderr_progress
    from app.jobs import Job

    return Job(_stderr_progress if sys.stderr.isatty() and not args.json else None)


def _end_progress(args: argparse.Namespace) -> None:
    if sys.stderr.isatty() and not args.json:
        print(file=sys.stderr)


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
    from app.runtime import open_database

    db = open_database(settings)
    job = _progress(args)
    try:
        with db.sessions.begin() as session:
            plan = plan_consistency(session, db.context(), kinds=args.kind, job=job)
            run_id = record_check(session, db.context(), plan)
    finally:
        db.close()
    _end_progress(args)
    total = sum(plan.summary.values())
    if args.json:
        _print_json({"run_id": run_id, "consistent": total == 0, "total": total,
                     "summary": plan.summary, "listed_all": not plan.items_truncated,
                     "findings": [_finding_json(i) for i in plan.items]})  # fmt: skip
    else:
        _print_plan(plan, f"{total:,} inconsistencies found:")
        if total:
            print("Repair them with: rollbook sync-repair [--kind K] --commit")
    return EXIT_FINDINGS if total else EXIT_OK


def cmd_sync_repair(args: argparse.Namespace, settings: Settings) -> int:
    from app.maintenance.repair import plan_repair, run_repair
    from app.runtime import open_database

    db = open_database(settings)
    job = _progress(args)
    try:
        if not args.commit:
            with db.sessions.begin() as session:
                plan = plan_repair(session, db.context(), kinds=args.kind, job=job)
                run_id = _record_dry_run(session, db.context(), plan)
        else:
            outcome = run_repair(db.sessions, db.context(), None, kinds=args.kind, job=job)
    finally:
        db.close()
    _end_progress(args)
    if not args.commit:
        total = sum(plan.summary.values())
        if args.json:
            _print_json({"run_id": run_id, "committed": False, "total": total,
                         "summary": plan.summary,
                         "repairs": [_finding_json(i) for i in plan.items]})  # fmt: skip
        else:
            _print_plan(plan, f"Dry run (nothing changed; add --commit): {total:,} repairs:")
        return EXIT_FINDINGS if total else EXIT_OK
    if args.json:
        _print_json({"run_id": outcome.run_id, "committed": True, **outcome.summary()})
    else:
        from app.maintenance.consistency import BY_NAME

        print(f"Repaired {outcome.applied_total:,} inconsistencies (run {outcome.run_id}).")
        for name, count in outcome.applied_counts.items():
            if count:
                print(f"  {BY_NAME[name].label} ({name}): {count:,}")
    return EXIT_OK


def _record_dry_run(session, ctx, plan: Plan) -> uuid.UUID:
    from app.domain.enums import RunKind, RunStatus
    from app.maintenance.plan import finish_run, start_run

    run_id = start_run(session, ctx, RunKind.REPAIR, dry_run=True, params=plan.params)
    finish_run(session, run_id, RunStatus.SUCCEEDED,
               {**plan.summary, "total": sum(plan.summary.values())})  # fmt: skip
    return run_id


# ---------------------------------------------------------------- requests


def _uuids(values: list[str]) -> list[uuid.UUID]:
    from app.cli import CommandError

    try:
        return [uuid.UUID(v) for v in values]
    except ValueError:
        raise CommandError(
            "Request ids look like 3f2b…-…; list them with: rollbook requests list"
        ) from None


def cmd_requests_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from app.services.courses import get_course_by_name
    from app.services.requests import RequestQuery, list_requests

    db = open_database(settings)
    try:
        with db.sessions.begin() as session:
            ctx = db.context()
            course = get_course_by_name(session, ctx, args.course).id if args.course else None
            status = None if args.status == "all" else args.status
            page = list_requests(session, ctx, RequestQuery(status=status, course_id=course,
                                                            search=args.search or ""),
                                 0, args.limit)  # fmt: skip
    finally:
        db.close()
    if args.json:
        _print_json([asdict(row) for row in page.rows])
        return EXIT_OK
    if not page.rows:
        print("No requests match.")
    for r in page.rows:
        print(f"{r.id}  {r.status:<9} {r.requested_at:%Y-%m-%d}  {r.student_no:<10} "
              f"{r.student_name:<28} {r.course_name}")  # fmt: skip
    if page.has_more:
        print("… more requests match; use --limit, --course or --search.")
    return EXIT_OK


def cmd_requests_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.cli import CommandError
    from app.runtime import open_database
    from app.services.courses import get_course_by_name
    from app.services.requests import create_request
    from app.services.students import find_student_by_number

    db = open_database(settings)
    try:
        with db.sessions.begin() as session:
            ctx = db.context()
            student = find_student_by_number(session, ctx, args.student_no)
            if student is None:
                raise CommandError(f"There is no student with number {args.student_no}.")
            course = get_course_by_name(session, ctx, args.course)
            row = create_request(session, ctx, student.id, course.id, note=args.note)
    finally:
        db.close()
    if args.json:
        _print_json(asdict(row))
    else:
        print(f"Requested {row.course_name} for {row.student_name} ({row.student_no}): {row.id}")
    return EXIT_OK


def _decisions(args: argparse.Namespace, result: RequestDecisions, verb: str) -> int:
    if args.json:
        _print_json({verb: result.decided,
                     "failed": [{"id": k, "reason": v} for k, v in result.failed.items()]})  # fmt: skip
    else:
        print(f"{verb.capitalize()} {len(result.decided):,} requests.")
        for request_id, reason in result.failed.items():
            print(f"  not {verb} {request_id}: {reason}")
    return EXIT_FINDINGS if result.failed else EXIT_OK


def cmd_requests_approve(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from app.services.requests import approve_requests

    ids = _uuids(args.ids)
    db = open_database(settings)
    try:
        with db.sessions.begin() as session:
            result = approve_requests(session, db.context(), ids, job=_progress(args))
    finally:
        db.close()
    _end_progress(args)
    return _decisions(args, result, "approved")


def cmd_requests_reject(args: argparse.Namespace, settings: Settings) -> int:
    from app.runtime import open_database
    from app.services.requests import reject_requests

    ids = _uuids(args.ids)
    db = open_database(settings)
    try:
        with db.sessions.begin() as session:
            result = reject_requests(session, db.context(), ids, args.note)
    finally:
        db.close()
    return _decisions(args, result, "rejected")


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

    requests = sub.add_parser("requests", help="enrollment requests")
    actions = requests.add_subparsers(dest="requests_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list requests (default: pending)")
    listing.add_argument("--status", default="pending",
                         choices=["pending", "approved", "rejected", "withdrawn", "all"])  # fmt: skip
    listing.add_argument("--course", help="only requests for this course")
    listing.add_argument("--search", help="word prefixes of name, student number or e-mail")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (max 1000)")
    listing.set_defaults(handler=cmd_requests_list)
    create = actions.add_parser("create", help="request a course for a student")
    create.add_argument("student_no", help="the student's number")
    create.add_argument("course", help="the course name")
    create.add_argument("--note", help="why, for the registrar")
    create.set_defaults(handler=cmd_requests_create)
    approve = actions.add_parser("approve", help="approve requests (each on its own)")
    approve.add_argument("ids", nargs="+", metavar="ID", help="request ids")
    approve.set_defaults(handler=cmd_requests_approve)
    reject = actions.add_parser("reject", help="reject requests")
    reject.add_argument("ids", nargs="+", metavar="ID", help="request ids")
    reject.add_argument("--note", help="the reason, kept with the request")
    reject.set_defaults(handler=cmd_requests_reject)
    for p in (listing, create, approve, reject):
        p.add_argument("--json", action="store_true", help="machine-readable output")
