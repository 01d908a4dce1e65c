"""``rollbook backup create|list|restore``: whole-database backups in the data folder.

Exit codes: 0 done; 2 a file that is missing, damaged or from a newer Rollbook, the
PostgreSQL programs missing, other programs connected, or a restore without ``--yes``
(one line on stderr, the database unchanged).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.output import EXIT_OK, CommandError, end_progress, print_json, progress_job
from app.config import Settings


def _size(n: int) -> str:
    return f"{n / 1_048_576:,.1f} MB" if n >= 104_858 else f"{n / 1024:,.0f} kB"


def _backup_json(b) -> dict:
    return {"file": str(b.path), "size": b.size, "created_at": b.created_at,
            "revision": b.revision, "reason": b.reason, "run_id": b.run_id,
            "automatic": b.automatic}  # fmt: skip


def _keep() -> int:
    from app.db.backup import backup_policy

    return backup_policy(Path("."), embedded=True).keep


def cmd_backup_create(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.backup import MANUAL, create_backup
    from app.runtime import open_target

    target, engine = open_target(settings)
    engine.dispose()
    out = Path(args.out).expanduser() if args.out else None
    info = create_backup(target.url, settings.backups_dir, reason=MANUAL, keep=_keep(),
                         job=progress_job(args.json), out=out)  # fmt: skip
    end_progress(args.json)
    if args.json:
        print_json(_backup_json(info))
    else:
        print(f"Backup written to {info.path} ({_size(info.size)}, database version "
              f"{info.revision}).")  # fmt: skip
    return EXIT_OK


def cmd_backup_list(args: argparse.Namespace, settings: Settings) -> int:
    from app.db.backup import list_backups

    backups = list_backups(settings.backups_dir)
    if args.json:
        print_json([_backup_json(b) for b in backups])
        return EXIT_OK
    for b in backups:
        run = str(b.run_id)[:8] if b.run_id else ""
        print(f"{b.created_at:%Y-%m-%d %H:%M:%S}  {_size(b.size):>10}  {b.reason_text:<22} "
              f"{run:<8}  {b.path.name}")  # fmt: skip
    if not backups:
        print(f"No backups yet in {settings.backups_dir}; `rollbook backup create` makes one.")
    return EXIT_OK


def _backup_file(text: str, settings: Settings) -> Path:
    """FILE as given, or a backup's name in the backups folder."""
    given = Path(text).expanduser()
    if not given.exists() and (settings.backups_dir / text).exists():
        return settings.backups_dir / text
    return given


def cmd_backup_restore(args: argparse.Namespace, settings: Settings) -> int:
    from app.db import migrate
    from app.db.backup import (
        check_restorable,
        describe_replacement,
        known_revisions,
        restore_with_safety_backup,
        what_restore_replaces,
    )
    from app.db.engine import make_engine
    from app.runtime import open_target

    path = _backup_file(args.file, settings)
    target, engine = open_target(settings)
    engine.dispose()
    backup = check_restorable(target.admin_url, path, known_revisions())
    if not args.yes:
        what = what_restore_replaces(target.admin_url, backup)
        raise CommandError(f"{describe_replacement(what, backup)} Add --yes to restore.")

    def told(safety) -> None:
        if not args.json:
            end_progress(args.json)
            print(f"Safety backup of the data as it was: {safety.path}", flush=True)

    job = progress_job(args.json)
    safety, restored = restore_with_safety_backup(target.admin_url, path, settings.backups_dir,
                                                  keep=_keep(), job=job, on_safety=told)  # fmt: skip
    end_progress(args.json)
    engine = make_engine(target.admin_url)
    try:  # a backup from an older Rollbook: bring it up to this one's tables
        upgraded = migrate.upgrade_if_behind(engine)
        current = migrate.current_revision(engine)
    finally:
        engine.dispose()
    if args.json:
        print_json({"restored": _backup_json(restored), "safety_backup": _backup_json(safety),
                    "revision": current, "upgraded": upgraded})  # fmt: skip
    else:
        print(f"Restored {restored.path.name} (taken {restored.created_at:%Y-%m-%d %H:%M}, "
              f"{restored.reason_text}); database version {current}"
              + (f", brought up from {restored.revision}." if upgraded else "."))  # fmt: skip
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    backup = sub.add_parser("backup", help="back up and restore the whole database")
    backup_sub = backup.add_subparsers(dest="backup_command", required=True, metavar="ACTION")
    create = backup_sub.add_parser("create", help="back the database up now (kept until you "
                                   "delete it)")  # fmt: skip
    create.add_argument("--out", metavar="FILE", help="write the backup to FILE instead of "
                        "the backups folder")  # fmt: skip
    create.set_defaults(handler=cmd_backup_create)
    listing = backup_sub.add_parser("list", help="the backups in the data folder, newest first")
    listing.set_defaults(handler=cmd_backup_list)
    restore = backup_sub.add_parser("restore", help="replace the database with a backup "
                                    "(a safety backup is taken first)")  # fmt: skip
    restore.add_argument("file", metavar="FILE", help="the backup file, or its name as "
                         "`backup list` shows it")  # fmt: skip
    restore.add_argument("--yes", action="store_true", help="really replace the database")
    restore.set_defaults(handler=cmd_backup_restore)
    for parser in (create, listing, restore):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
