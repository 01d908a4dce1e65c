"""``rollbook students list``."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from app.cli.output import EXIT_OK, count_option, print_json
from app.cli.session import school_session
from app.config import Settings


def cmd_students_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.services.students import StudentQuery, list_students

    with school_session(settings) as (session, ctx):
        page = list_students(session, ctx, StudentQuery(
            search=args.search or "", status=args.status, class_name=args.class_name,
            limit=args.limit,
        ))  # fmt: skip
    if args.json:
        print_json([{**asdict(row), "full_name": row.full_name} for row in page.rows])
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


def register(sub: argparse._SubParsersAction) -> None:
    students = sub.add_parser("students", help="students")
    students_sub = students.add_subparsers(dest="students_command", required=True,
                                           metavar="ACTION")  # fmt: skip
    listing = students_sub.add_parser("list", help="list or search students")
    listing.add_argument("--search", help="word prefixes of name, student number or e-mail")
    listing.add_argument("--status", choices=["active", "inactive", "withdrawn"])
    listing.add_argument("--class", dest="class_name", help="only this class, e.g. 7A")
    listing.add_argument("--limit", type=count_option(1000), default=100,
                         help="at most this many (max 1000)")  # fmt: skip
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_students_list)
