"""Backups at scale: Rollbook's backup and restore against plain pg_dump / pg_restore.

Builds, in a throwaway data dir, a school with ``rollbook demo-data`` (100,000 students
by default), then times, on the same database in the same run (best of ``--rounds``):

- ``backup_s``: ``app.db.backup.create_backup`` (pg_dump -Fc to a temporary name, its
  notes beside it, fsync, rename); ``raw_dump_s``: plain ``pg_dump -Fc -f FILE``;
- ``restore_s``: ``restore_backup`` (checks the file and its revision, then drops the
  schema and loads the dump in one transaction, and analyses the tables);
  ``raw_restore_s``: plain ``pg_restore --clean --if-exists --no-owner -d DB FILE``.

Prints one JSON line: {"students", "backup_s", "raw_dump_s", "restore_s",
"raw_restore_s", "backup_ratio", "restore_ratio", "dump_mb"}; ratio = raw time / ours
(the goal: >= 0.8).

    uv run python tests/benchmarks/bench_backup.py [--students N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scratch import scratch_folder  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.cli import main as rollbook  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.db.backup import MANUAL, _libpq_env, create_backup, find_tool, restore_backup  # noqa: E402
from app.runtime import open_database  # noqa: E402


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2, help="best of this many (default 2)")
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()

    data_dir = args.data_dir or scratch_folder("rollbook-bench-backup-")
    db = open_database(load_settings(data_dir=data_dir))
    with db.sessions.begin() as s:
        existing = s.scalar(text("SELECT count(*) FROM student"))
    if existing == 0:
        code = rollbook(["--data-dir", str(data_dir), "demo-data", "--students",
                         str(args.students), "--json"])  # fmt: skip
        if code != 0:
            return code
    with db.sessions.begin() as s:
        students = s.scalar(text("SELECT count(*) FROM student"))
    url = db.target.admin_url  # restoring is the owner's work (app.db.roles)
    db.close()  # a restore needs the database to itself

    env = _libpq_env(url)
    pg_dump, pg_restore = find_tool("pg_dump"), find_tool("pg_restore")
    folder = data_dir / "bench-backups"
    raw_file = data_dir / "raw.dump"
    ours: list[Path] = []

    def raw_dump() -> None:
        subprocess.run([str(pg_dump), "--format=custom", f"--file={raw_file}"], env=env,
                       check=True)  # fmt: skip

    def backup() -> None:
        ours.append(create_backup(url, folder, reason=MANUAL, keep=None).path)

    def raw_restore() -> None:
        subprocess.run([str(pg_restore), "--clean", "--if-exists", "--no-owner",
                        f"--dbname={env['PGDATABASE']}", str(raw_file)], env=env,
                       check=True)  # fmt: skip

    def restore() -> None:
        restore_backup(url, ours[-1])

    backup_s = raw_dump_s = restore_s = raw_restore_s = float("inf")
    for _ in range(max(1, args.rounds)):
        raw_dump_s = min(raw_dump_s, timed(raw_dump))
        backup_s = min(backup_s, timed(backup))
        raw_restore_s = min(raw_restore_s, timed(raw_restore))
        restore_s = min(restore_s, timed(restore))
    print(json.dumps({
        "students": students, "backup_s": round(backup_s, 2), "raw_dump_s": round(raw_dump_s, 2),
        "restore_s": round(restore_s, 2), "raw_restore_s": round(raw_restore_s, 2),
        "backup_ratio": round(raw_dump_s / backup_s, 2),
        "restore_ratio": round(raw_restore_s / restore_s, 2),
        "dump_mb": round(ours[-1].stat().st_size / 1_048_576, 1),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
