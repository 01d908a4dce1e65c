"""``rollbook db current|upgrade|downgrade`` and ``rollbook demo-data``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from app.cli.output import EXIT_OK, CommandError, end_progress, print_json, progress_job
from app.config import Settings


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from app.db import migrate
    from app.runtime import open_target

    target, engine = open_target(settings)
    backup = None
    try:
        if args.db_command == "upgrade":
            migrate.upgrade(engine, args.revision)
        elif args.db_command == "downgrade":
            backup = _guarded_downgrade(args, settings, target.url, engine)
        current = migrate.current_revision(engine)
        head = migrate.head_revision()
    finally:
        engine.dispose()
    if args.json:
        print_json({"current": current, "head": head, "at_head": current == head,
                    "mode": target.mode.value, "location": target.location,
                    **({"backup": str(backup)} if backup else {})})  # fmt: skip
    else:
        state = "at head" if current == head else f"head is {head}"
        print(f"{current or '(empty database)'} ({state}) — {target.mode.value}: {target.location}")
    return EXIT_OK


def _guarded_downgrade(args: argparse.Namespace, settings: Settings, url: str, engine):
    """Downgrade, refusing when it would delete data unless --force; with --force a
    backup is taken first. Returns the backup's path, or None when none was needed."""
    from app.db import migrate

    at_risk = migrate.data_lost_by_downgrade(engine, args.revision)
    if at_risk and not args.force:
        raise migrate.DowngradeLosesData(
            f"Downgrading to {args.revision} would delete {at_risk.describe()}; nothing "
            "was changed. Add --force to downgrade anyway (a backup is taken first)."
        )
    backup = None
    if at_risk:
        from app.db.backup import create_backup

        backup = create_backup(url, settings.backups_dir, reason="downgrade").path
        print(f"Backup taken first: {backup}", file=sys.stderr if args.json else sys.stdout)
    migrate.downgrade(engine, args.revision)
    return backup


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.roles import owner_connection
    from app.demo_data import create_demo_data
    from app.runtime import open_database

    if args.students < 1:
        raise CommandError("--students must be at least 1.")
    db = open_database(settings)
    job = progress_job(args.json)
    try:
        with owner_connection(db.target.admin_url, settings.actor) as raw:
            summary = create_demo_data(raw, db.school.id, students=args.students,
                                       seed=args.seed, job=job)  # fmt: skip
    finally:
        db.close()
    end_progress(args.json)
    if args.json:
        print_json(asdict(summary))
    else:
        print(
            f"Created {summary.students:,} students, {summary.courses} courses, "
            f"{summary.enrollments:,} enrollments, {summary.sessions:,} sessions, "
            f"{summary.events} events, {summary.registrations:,} registrations and "
            f"{summary.certificates:,} certificates in {summary.seconds:.1f} s."
        )
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database schema: upgrade, downgrade, current")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db_sub.add_parser("upgrade", help="apply migrations (default: to head)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="revert migrations to REV (e.g. -1, base)")
    down.add_argument("revision")
    down.add_argument("--force", action="store_true",
                      help="downgrade even when it deletes data (a backup is taken first)")  # fmt: skip
    db_sub.add_parser("current", help="show the schema revision")
    for p in (up, down, db_sub.choices["current"]):
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(handler=cmd_db)

    demo = sub.add_parser("demo-data", help="create a realistic demo school")
    demo.add_argument("--students", type=int, required=True, help="how many students")
    demo.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    demo.set_defaults(handler=cmd_demo_data)
