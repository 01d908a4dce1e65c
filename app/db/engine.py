"""Connecting to PostgreSQL: the embedded cluster (pgserver) or a server URL.

The embedded cluster lives in ``<data dir>/pgdata`` and listens on a Unix socket only.
pgserver keeps a list of the processes using a cluster, so two ``rollbook`` processes
on the same data dir share one server and the last one to exit stops it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import RunMode, Settings
from app.db.capture import stamp_transactions
from app.domain.errors import DatabaseUnavailable

EMBEDDED_DATABASE = "rollbook"
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the database is, in words a person understands and as a URL."""

    url: str
    mode: RunMode
    location: str


def resolve_target(settings: Settings) -> DatabaseTarget:
    """Start (or join) the embedded cluster, or check the server URL is reachable."""
    if settings.mode is RunMode.SERVER:
        assert settings.database_url
        url = normalise_url(settings.database_url)
        check_reachable(url)
        return DatabaseTarget(url=url, mode=RunMode.SERVER, location=describe_url(url))
    url = start_embedded(settings.pgdata_dir)
    return DatabaseTarget(url=url, mode=settings.mode, location=str(settings.pgdata_dir))


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and point SQLAlchemy at psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def describe_url(url: str) -> str:
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "local socket"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{host}{port}/{parsed.database or ''}"


def check_reachable(url: str) -> None:
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S):
            pass
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(
            f"Cannot reach the database server at {describe_url(url)}: {reason}. "
            "Check the address and that the server is running, or unset "
            "ROLLBOOK_DATABASE_URL to work on this computer's own database."
        ) from None


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_writable_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise DatabaseUnavailable(
            f"Rollbook cannot write to its data folder {path} ({exc.strerror or exc}). "
            "Choose a folder you can write to with ROLLBOOK_DATA_DIR or --data-dir."
        ) from None


def start_embedded(pgdata: Path) -> str:
    """Start or join the pgserver cluster in ``pgdata``; returns a SQLAlchemy URL."""
    ensure_writable_dir(pgdata.parent)
    # pgserver keeps its inter-process lock in the user runtime dir; without
    # XDG_RUNTIME_DIR platformdirs warns and falls back to /tmp, which is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=Warning)
    try:
        import pgserver

        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        if _tune_embedded_cluster(server.get_uri()):
            server = _restarted_if_alone(pgdata, server)
        _ensure_database(server.get_uri())
        admin_uri = server.get_uri(EMBEDDED_DATABASE)
    except DatabaseUnavailable:
        raise
    except Exception as exc:  # pgserver raises assorted OS/subprocess errors
        raise DatabaseUnavailable(
            f"The embedded database in {pgdata} could not be started ({exc}). "
            f"See {pgdata / 'log'} for details."
        ) from None
    return normalise_url(admin_uri)


# The embedded cluster is Rollbook's own, so it is sized for Rollbook rather than for
# PostgreSQL's 128 MB minimum: at a million students the student table and its search
# index are about 550 MB, and a search that reads them from shared buffers instead of
# the operating system's cache answers in half the time. shared_buffers takes effect
# when the cluster starts (see _restarted_if_alone); the others at once.
EMBEDDED_SETTINGS = {
    "shared_buffers": "512MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
}
SETTINGS_NEEDING_RESTART = {"shared_buffers"}


def _restarted_if_alone(pgdata: Path, server):
    """Stop and start the cluster so settings that wait for a restart hold at once.

    Only a fresh data folder gets here. Its first run is typically a bulk load (demo
    data, a first roster) followed by searches, and with 128 MB of shared buffers those
    searches took twice as long until the next start. When another program already
    uses the cluster, it is left running and the settings wait for the next start."""
    import pgserver

    if server.global_process_id_list.get() != [os.getpid()]:
        return server
    atexit.unregister(server._cleanup)
    server.cleanup()  # this process is the only user: stops the server
    return pgserver.get_server(pgdata, cleanup_mode="stop")


def _tune_embedded_cluster(maintenance_uri: str) -> bool:
    """Write the missing settings; True when one of them waits for a restart."""
    with psycopg.connect(maintenance_uri, autocommit=True) as conn:
        configured = {
            name for (name,) in conn.execute(
                "SELECT name FROM pg_file_settings WHERE sourcefile LIKE %s AND error IS NULL",
                ("%postgresql.auto.conf",),
            )
        }  # fmt: skip
        missing = {k: v for k, v in EMBEDDED_SETTINGS.items() if k not in configured}
        for name, value in missing.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        if missing:
            conn.execute("SELECT pg_reload_conf()")
    return bool(SETTINGS_NEEDING_RESTART & missing.keys())


def stop_embedded(pgdata: Path) -> bool:
    """Leave the embedded cluster in ``pgdata``; the last process using it stops it.

    Normally this happens when the process exits; the self-test and the benchmarks
    stop it themselves to check the shutdown. Returns True when the server is down.
    """
    from pgserver.postgres_server import PostgresServer

    # pgserver keeps one handle per data folder; get_server() would start a new one.
    server = PostgresServer._instances.get(pgdata.expanduser().resolve())
    if server is not None:
        server.cleanup()
    return not (pgdata / "postmaster.pid").exists()


def _ensure_database(maintenance_uri: str) -> None:
    with psycopg.connect(maintenance_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DATABASE,)
        ).fetchone()
        if not exists:
            # Another rollbook process may create it at the same moment.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{EMBEDDED_DATABASE}"')


def make_engine(url: str, *, echo: bool = False) -> Engine:
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "rollbook",
            # psycopg prepares repeated statements; a generic plan cannot see how
            # selective a search is, so always plan with the actual values.
            # Imports and maintenance runs stage rows in temporary tables; PostgreSQL's
            # 8 MB default spills a 100,000-row staging table to disk.
            "options": "-c plan_cache_mode=force_custom_plan -c temp_buffers=64MB",
        },
    )


def make_session_factory(engine: Engine, actor: str | None = None) -> sessionmaker[Session]:
    """Sessions for one person's work: every transaction they begin is captured in the
    audit log as ``actor``'s (see app.db.capture)."""
    # expire_on_commit=False: services hand out dataclasses, but callers may still
    # read attributes after the transaction ends without a surprise round-trip.
    sessions = sessionmaker(engine, expire_on_commit=False)
    if actor:
        stamp_transactions(sessions, actor)
    return sessions


__all__ = [
    "DatabaseTarget",
    "EMBEDDED_DATABASE",
    "make_engine",
    "make_session_factory",
    "resolve_target",
    "start_embedded",
    "stop_embedded",
]
