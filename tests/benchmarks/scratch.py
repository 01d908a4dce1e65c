"""Scratch data folders for benchmarks run without a given folder.

A full-size run leaves 2-4 GB of database files; a few runs in a row would fill a
laptop's disk, so a folder the benchmark made itself goes when the process ends: on a
normal exit, a failure, Ctrl+C, or a plain ``kill`` (SIGTERM is turned into an exit so
the clean-up runs). ``--data-dir`` keeps a folder on purpose.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import sys
import tempfile
from pathlib import Path


def _exit_on_sigterm() -> None:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def scratch_folder(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    # Registered before the embedded server starts, so (atexit runs last-in first-out)
    # the server is stopped before its files are removed.
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    _exit_on_sigterm()
    return path


def built_school(data_dir: Path | None, prefix: str, marker_table: str, build):
    """The benchmark's database (an ``app.runtime.Database``) in ``data_dir``, or in a
    scratch folder: ``build(conn, school_id)`` fills it once, set-based, when
    ``marker_table`` is empty (a kept ``--data-dir`` is reused), then everything is
    analysed so the first measurement is planned like the rest."""
    import time

    from sqlalchemy import text

    from app.config import load_settings
    from app.runtime import open_database

    db = open_database(load_settings(data_dir=data_dir or scratch_folder(prefix)))
    with db.sessions.begin() as s:
        empty = s.scalar(text(f"SELECT count(*) FROM {marker_table}")) == 0
    if empty:
        started = time.perf_counter()
        admin = admin_engine(db)
        with admin.begin() as conn:
            build(conn, db.school.id)
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        admin.dispose()
        print(f"school: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return db


def admin_engine(db):
    """The cluster administrator's engine, for a benchmark's set-up: loading a school with
    the triggers off (session_replication_role) and analysing everything are not the
    app's to do (app.db.roles); what is measured runs as the app, on ``db``."""
    from app.db.engine import make_engine

    return make_engine(db.target.admin_url)
