"""Connecting to PostgreSQL: the embedded cluster (pgserver) or a server URL.

The embedded cluster lives in ``<data dir>/pgdata`` and listens on a Unix socket only;
its server log is ``<data dir>/logs/postgresql.log``. pgserver keeps a list of the
processes using a cluster, so two ``rollbook`` processes on the same data dir share one
server and the last one to exit stops it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.config import RunMode, Settings
from app.db.capture import stamp_transactions
from app.db.roles import app_url
from app.domain.errors import DatabaseUnavailable

EMBEDDED_DATABASE = "rollbook"
CONNECT_TIMEOUT_S = 5


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the database is, in words a person understands and as URLs: ``url`` for
    the application's work, ``admin_url`` for what only the schema's owner may do
    (migrations, restores; app.db.roles). On the embedded cluster they log in as
    different roles; a server URL is the school's to choose, and serves both."""

    url: str
    mode: RunMode
    location: str
    admin_url: str = ""

    def __post_init__(self) -> None:
        if not self.admin_url:
            object.__setattr__(self, "admin_url", self.url)


def resolve_target(settings: Settings, progress: StartProgress | None = None) -> DatabaseTarget:
    """Start (or join) the embedded cluster, or check the server URL is reachable.
    ``progress`` hears about an embedded start that takes a while (crash recovery)."""
    if settings.mode is RunMode.SERVER:
        assert settings.database_url
        url = normalise_url(settings.database_url)
        check_reachable(url)
        return DatabaseTarget(url=url, mode=RunMode.SERVER, location=describe_url(url))
    admin_url = start_embedded(settings.pgdata_dir, progress)
    return DatabaseTarget(url=app_url(admin_url), mode=settings.mode,
                          location=str(settings.pgdata_dir), admin_url=admin_url)  # fmt: skip


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


def start_embedded(pgdata: Path, progress: StartProgress | None = None) -> str:
    """Start or join the pgserver cluster in ``pgdata``; returns a SQLAlchemy URL of
    its admin (the cluster's superuser; the application logs in as app.db.roles's role).

    Rollbook starts the server itself (pgserver only joins it): pgserver gives a start
    10 seconds, which crash recovery can exceed, and on failure prints the whole server
    log. ``progress`` hears about a start that takes a while (crash recovery)."""
    ensure_writable_dir(pgdata.parent)
    # pgserver keeps its inter-process lock in the user runtime dir; without
    # XDG_RUNTIME_DIR platformdirs warns and falls back to /tmp, which is fine.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=Warning)
    # pgserver logs every command it runs and, when a start fails, the server's whole
    # log; Rollbook says what failed in one line and names the log file instead.
    log = server_log_path(pgdata)
    _pgserver_errors_to(log)
    try:
        import pgserver
        from pgserver.postgres_server import PostgresServer

        resolved = pgdata.expanduser().resolve()
        if resolved not in PostgresServer._instances:
            resolved.mkdir(exist_ok=True)
            with PostgresServer._lock:
                _prune_dead_handles(resolved)
                _start_cluster(resolved, log, progress)
                # Counted as a user at once, so nobody leaving now stops the server.
                _handles(resolved).get_and_add(os.getpid())
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
        _ensure_database(server.get_uri())
        admin_uri = server.get_uri(EMBEDDED_DATABASE)
    except DatabaseUnavailable:
        raise
    except Exception as exc:  # pgserver raises assorted OS/subprocess errors
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(
            f"The embedded database in {pgdata} could not be started ({reason}). "
            f"PostgreSQL's log is {log}."
        ) from None
    return normalise_url(admin_uri)


StartProgress = Callable[[str], None]

# Crash recovery replays the write-ahead log written since the last checkpoint (up to
# max_wal_size, 1 GB): on a slow disk that takes minutes, not pgserver's 10 seconds.
START_LIMIT_S = 600
# A start that takes longer than this is told about (progress); a normal one is not.
QUIET_START_S = 2.0
SERVER_LOG_MAX_BYTES = 20 * 1024 * 1024


def server_log_path(pgdata: Path) -> Path:
    """PostgreSQL's own log of the embedded cluster: ``<data dir>/logs/postgresql.log``
    (beside pgdata rather than in it, so it survives a rebuilt cluster and is found)."""
    return pgdata.parent / "logs" / "postgresql.log"


def _pgserver_errors_to(log: Path) -> None:
    """pgserver's errors (a failed initdb with its output) go to the server log rather
    than stderr; its chatter nowhere."""
    pg_logger = logging.getLogger("pgserver")
    pg_logger.propagate = False
    if any(getattr(h, "baseFilename", None) == str(log) for h in pg_logger.handlers):
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log, delay=True, encoding="utf-8")
    handler.setLevel(logging.ERROR)
    handler.setFormatter(logging.Formatter("%(asctime)s rollbook/pgserver: %(message)s"))
    pg_logger.addHandler(handler)


def _handles(pgdata: Path):
    from pgserver.utils import DiskList

    # pgserver's list of the processes using the cluster; the last to leave stops it.
    return DiskList(pgdata / ".handle_pids.json")


def _prune_dead_handles(pgdata: Path) -> list[int]:
    """Drop the ids of processes that are gone (a killed Rollbook never removes its
    own), so the last live user stops the server again. Call with pgserver's lock."""
    import psutil

    handles = _handles(pgdata)
    try:
        pids = handles.get()
    except ValueError:  # a half-written file from a killed process
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and pid > 0 and psutil.pid_exists(pid)]
    if alive != pids and handles.path.exists():
        handles.put(alive)
    return alive


def _system_user() -> str | None:
    """Running as root, PostgreSQL runs as the ``pgserver`` user (as pgserver does)."""
    if os.name == "nt" or os.geteuid() != 0:
        return None
    from pgserver.utils import ensure_user_exists

    ensure_user_exists("pgserver")
    return "pgserver"


def _postmaster(pgdata: Path):
    """The cluster's postmaster.pid as pgserver reads it, or None (absent, unreadable)."""
    from pgserver.utils import PostmasterInfo

    try:
        return PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError, OSError):  # written half-way by a killed server
        return None


def _is_running(info) -> bool:
    if info is None or not info.is_running():
        return False
    try:  # the id of a killed postmaster may be in use by another program by now
        return info.process.name().startswith("postgres")
    except Exception:
        return True


def _start_cluster(pgdata: Path, log: Path, progress: StartProgress | None) -> None:
    """Create the cluster if it is new and start it unless it runs; pgserver's lock held."""
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import ensure_prefix_permissions, find_suitable_socket_dir

    info = _postmaster(pgdata)
    if _is_running(info) and info.status == "ready":
        return
    user = _system_user()
    if not (pgdata / "PG_VERSION").exists():
        # pgserver's own initdb step (permissions for its system user, options).
        PostgresServer.ensure_pgdata_inited(
            SimpleNamespace(pgdata=pgdata, system_user=user, postgres_user="postgres")
        )
    _write_settings(pgdata)
    _prepare_log(log, owner_of=pgdata)
    socket_dir = find_suitable_socket_dir(pgdata, PostgresServer.runtime_path)
    if user is not None and socket_dir != pgdata:
        ensure_prefix_permissions(socket_dir)
        socket_dir.chmod(0o777)
    recovering = info is not None  # postmaster.pid left behind: it did not stop cleanly
    text = (
        "Recovering the database after an unexpected stop"
        if recovering
        else "Starting the database"
    )
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w",
               "-t", str(START_LIMIT_S), "-o", '-h ""', "-o", f"-k {socket_dir}",
               "-l", str(log), "start"]  # fmt: skip
    # Output to DEVNULL: the server inherits pg_ctl's handles, and a pipe would hang.
    pg_ctl = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, user=user)  # fmt: skip
    started = time.monotonic()
    while True:
        try:
            pg_ctl.wait(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            waited = time.monotonic() - started
            if progress is not None and (recovering or waited >= QUIET_START_S):
                progress(f"{text}… {waited:.0f} s")
    waited = time.monotonic() - started
    if pg_ctl.returncode != 0 or not _is_running(_postmaster(pgdata)):
        if waited >= START_LIMIT_S:
            reason = f"it was still starting after {START_LIMIT_S // 60} minutes"
        else:
            reason = "PostgreSQL stopped while starting"
        raise DatabaseUnavailable(
            f"The embedded database in {pgdata} could not be started ({reason}). "
            f"PostgreSQL's log is {log}."
        )
    if progress is not None and (recovering or waited >= QUIET_START_S):
        progress(f"{text}: ready after {waited:.0f} s")


def _prepare_log(log: Path, *, owner_of: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if log.stat().st_size > SERVER_LOG_MAX_BYTES:
            log.replace(log.with_name(log.name + ".1"))  # keep one older log
    log.touch()
    owner = owner_of.stat()
    if (log.stat().st_uid, log.stat().st_gid) != (owner.st_uid, owner.st_gid):
        os.chown(log.parent, owner.st_uid, owner.st_gid)
        os.chown(log, owner.st_uid, owner.st_gid)


# The embedded cluster is Rollbook's own, so it is sized for Rollbook rather than for
# PostgreSQL's 128 MB minimum: at a million students the student table and its search
# index are about 550 MB, and a search that reads them from shared buffers instead of
# the operating system's cache answers in half the time. They are written to
# postgresql.auto.conf (where ALTER SYSTEM writes) before the server starts, so a new
# data folder runs with them from its very first start.
# client_connection_check_interval: a statement whose client was killed stops within
# seconds instead of running on (for a minute or more) holding its locks.
EMBEDDED_SETTINGS = {
    "shared_buffers": "512MB",
    "work_mem": "16MB",
    "maintenance_work_mem": "256MB",
    "client_connection_check_interval": "2s",
}
_SETTING_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=", re.MULTILINE)


def _write_settings(pgdata: Path) -> None:
    """Add the settings not yet in postgresql.auto.conf; the server is not running.
    Values set there already (by hand, with ALTER SYSTEM) are left as they are."""
    auto_conf = pgdata / "postgresql.auto.conf"
    text = auto_conf.read_text(encoding="utf-8") if auto_conf.exists() else ""
    configured = set(_SETTING_LINE.findall(text))
    missing = [f"{k} = '{v}'\n" for k, v in EMBEDDED_SETTINGS.items() if k not in configured]
    if not missing:
        return
    if text and not text.endswith("\n"):
        text += "\n"
    auto_conf.write_text(text + "".join(missing), encoding="utf-8")
    owner = pgdata.stat()
    os.chown(auto_conf, owner.st_uid, owner.st_gid)
    auto_conf.chmod(0o600)


def stop_embedded(pgdata: Path) -> bool:
    """Leave the embedded cluster in ``pgdata``; the last process using it stops it.

    Normally this happens when the process exits; the self-test and the benchmarks
    stop it themselves to check the shutdown. Processes that are gone no longer count
    as users; when none is left, a running server is stopped. Returns True when the
    server is down.
    """
    from pgserver._commands import pg_ctl
    from pgserver.postgres_server import PostgresServer

    resolved = pgdata.expanduser().resolve()
    if not resolved.exists():
        return True
    with PostgresServer._lock:
        users = _prune_dead_handles(resolved)
        # pgserver keeps one handle per data folder; get_server() would start a new one.
        server = PostgresServer._instances.get(resolved)
        if server is None and not users and _is_running(_postmaster(resolved)):
            with contextlib.suppress(subprocess.CalledProcessError):
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=resolved, user=_system_user())
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


# psycopg prepares repeated statements; a generic plan cannot see how selective a search
# is, so always plan with the actual values. Imports and maintenance runs stage rows in
# temporary tables; PostgreSQL's 8 MB default spills a 100,000-row staging table to disk.
SESSION_OPTIONS = "-c plan_cache_mode=force_custom_plan -c temp_buffers=64MB"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "rollbook",
            "options": SESSION_OPTIONS,
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
    "server_log_path",
    "start_embedded",
    "stop_embedded",
]
