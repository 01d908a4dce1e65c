"""``rollbook requests list|create|approve|reject``: approve and reject are recorded runs
and exit 1 when a request could not be decided (it stays as it was, with the reason)."""

from __future__ import annotations

import argparse
import uuid
from dataclasses import asdict

from app.cli.output import (
    EXIT_FINDINGS,
    EXIT_OK,
    CommandError,
    count_option,
    end_progress,
    print_json,
    progress_job,
)
from app.cli.session import school_session
from app.config import Settings
from app.domain.rows import RequestDecisions
from app.domain.wording import counted


def _uuids(values: list[str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(v) for v in values]
    except ValueError:
        raise CommandError(
            "Request ids look like 3f2b…-…; list them with: rollbook requests list"
        ) from None


def cmd_requests_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.courses import get_course_by_name
    from app.services.requests import RequestQuery, list_requests

    with school_session(settings) as (session, ctx):
        course = get_course_by_name(session, ctx, args.course).id if args.course else None
        status = None if args.status == "all" else args.status
        page = list_requests(session, ctx, RequestQuery(status=status, course_id=course,
                                                        search=args.search or ""),
                             0, args.limit)  # fmt: skip
    if args.json:
        print_json([asdict(row) for row in page.rows])
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
    from app.services.courses import get_course_by_name
    from app.services.requests import create_request
    from app.services.students import find_student_by_number

    with school_session(settings) as (session, ctx):
        student = find_student_by_number(session, ctx, args.student_no)
        if student is None:
            raise CommandError(f"There is no student with number {args.student_no}.")
        course = get_course_by_name(session, ctx, args.course)
        row = create_request(session, ctx, student.id, course.id, note=args.note)
    if args.json:
        print_json(asdict(row))
    else:
        print(f"Requested {row.course_name} for {row.student_name} ({row.student_no}): {row.id}")
    return EXIT_OK


def _decisions(args: argparse.Namespace, result: RequestDecisions, verb: str) -> int:
    if args.json:
        print_json({verb: result.decided,
                     "failed": [{"id": k, "reason": v} for k, v in result.failed.items()]})  # fmt: skip
    else:
        print(f"{verb.capitalize()} {counted(len(result.decided), 'request')}.")
        for request_id, reason in result.failed.items():
            print(f"  not {verb} {request_id}: {reason}")
    return EXIT_FINDINGS if result.failed else EXIT_OK


def _decide(args: argparse.Namespace, settings: Settings, decision: str) -> int:
    from app.domain.errors import NotFound
    from app.maintenance.request_decisions import decide_requests
    from app.services.requests import get_request

    ids = _uuids(args.ids)
    with school_session(settings) as (session, ctx):
        selected, missing = [], []
        for request_id in ids:
            try:
                selected.append(get_request(session, ctx, request_id))
            except NotFound:
                missing.append(str(request_id))
        if missing:  # a typo, or another school's: decide none rather than some
            raise NotFound(
                f"There is no enrollment request {' or '.join(missing[:3])}"
                f"{f' (and {len(missing) - 3} more)' if len(missing) > 3 else ''} in this "
                "school; nothing was decided. List them with: rollbook requests list --status all"
            )
        run = decide_requests(session, ctx, selected, decision,  # type: ignore[arg-type]
                              note=getattr(args, "note", None), job=progress_job(args.json))  # fmt: skip
        decided = run.value_or_raise()
    result = RequestDecisions(decided.decided, dict(decided.failed))
    end_progress(args.json)
    return _decisions(args, result, "approved" if decision == "approve" else "rejected")


def cmd_requests_approve(args: argparse.Namespace, settings: Settings) -> int:
    return _decide(args, settings, "approve")


def cmd_requests_reject(args: argparse.Namespace, settings: Settings) -> int:
    return _decide(args, settings, "reject")


def register(sub: argparse._SubParsersAction) -> None:
    requests = sub.add_parser("requests", help="enrollment requests")
    actions = requests.add_subparsers(dest="requests_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list requests (default: pending)")
    listing.add_argument("--status", default="pending",
                         choices=["pending", "approved", "rejected", "withdrawn", "all"])  # fmt: skip
    listing.add_argument("--course", help="only requests for this course")
    listing.add_argument("--search", help="word prefixes of name, student number or e-mail")
    listing.add_argument("--limit", type=count_option(1000), default=100,
                         help="at most this many (max 1000)")  # fmt: skip
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
