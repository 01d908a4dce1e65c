"""Backups of the whole database: ``pg_dump -Fc`` files in ``<data dir>/backups``.

A backup is one custom-format dump plus a small JSON file beside it saying why it was
taken (``reason``), the schema revision and the run it was taken before. Backups taken
by Rollbook itself (before an import, a backfill, a repair, a restore …) are pruned to
the last ``keep``; one a person made with ``rollbook backup create`` never is.

The programs are PostgreSQL's own: in embedded mode the ones shipped inside the
``pgserver`` package (the same version as the server), in server mode those or the ones
on PATH, whichever is new enough for the server.

A restore replaces everything in one transaction: the ``public`` schema is dropped and
the dump's schema and data are loaded in its place (so tables a later migration added
go too), then the tables are analysed. Nothing else may be connected meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.util import find_spec
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db.roles import OWNER_ROLE
from app.domain.errors import Cancelled, RollbookError
from app.jobs import Job

ENV_AUTO_BACKUP = "ROLLBOOK_AUTO_BACKUP"  # on / off; default on in embedded mode only
ENV_BACKUP_KEEP = "ROLLBOOK_BACKUP_KEEP"  # how many automatic backups are kept
DEFAULT_KEEP = 10
MANUAL = "manual"  # the reason of a backup made by hand: never pruned
SUFFIX = ".dump"
# pg_dump waits at most this long for a table lock, so a caller that holds one cannot
# leave it waiting for ever; it fails with one line instead.
LOCK_WAIT_MS = 30_000


class BackupError(RollbookError):
    """A backup could not be taken, read or restored; the database is as it was."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    created_at: datetime
    revision: str | None
    reason: str
    run_id: uuid.UUID | None

    @property
    def automatic(self) -> bool:
        """Taken by Rollbook itself, so pruned once there are more than ``keep``."""
        return self.reason != MANUAL

    @property
    def reason_text(self) -> str:
        """ "before import", "made by hand" …"""
        if self.reason == MANUAL:
            return "made by hand"
        return self.reason.replace("-", " ") or "unknown"


@dataclass(frozen=True)
class BackupPolicy:
    """Whether applied runs take a backup first, where to, and how many are kept."""

    folder: Path
    enabled: bool
    keep: int = DEFAULT_KEEP


def backup_policy(backups_dir: Path, *, embedded: bool) -> BackupPolicy:
    """Automatic backups are on in embedded mode and off on a server unless
    ``ROLLBOOK_AUTO_BACKUP=on``: a school's server has its own backups, and dumping
    all of it into one person's data folder before every import is not what they want."""
    setting = os.environ.get(ENV_AUTO_BACKUP, "").strip().lower()
    enabled = embedded if setting not in ("on", "off", "1", "0", "yes", "no") else setting in (
        "on", "1", "yes")  # fmt: skip
    try:
        keep = max(1, int(os.environ.get(ENV_BACKUP_KEEP, DEFAULT_KEEP)))
    except ValueError:
        keep = DEFAULT_KEEP
    return BackupPolicy(backups_dir, enabled, keep)


POLICY_KEY = "backups"  # where a session factory's info carries the BackupPolicy


def attach_policy(sessions: sessionmaker[Session], policy: BackupPolicy) -> None:
    """Sessions of ``sessions`` take backups before runs as ``policy`` says (the run
    recorder reads it); sessions without one (tests, scripts) take none."""
    sessions.kw.setdefault("info", {})[POLICY_KEY] = policy


def session_policy(session: Session) -> BackupPolicy | None:
    policy = session.info.get(POLICY_KEY)
    return policy if isinstance(policy, BackupPolicy) else None


# ---------------------------------------------------------------- the programs


def _pgserver_bin() -> Path | None:
    spec = find_spec("pgserver")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    return folder if folder.is_dir() else None


def _major(program: Path) -> int:
    out = subprocess.run([str(program), "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(found.group(1)) if found else 0


def find_tool(name: str, server_major: int | None = None) -> Path:
    """``pg_dump``, ``pg_restore`` or ``psql``: pgserver's own first, then PATH's; with
    ``server_major`` only a program at least as new as the server (pg_dump refuses
    newer servers)."""
    candidates = []
    if (bundled := _pgserver_bin()) is not None and (bundled / name).exists():
        candidates.append(bundled / name)
    if (on_path := shutil.which(name)) is not None:
        candidates.append(Path(on_path))
    for program in candidates:
        if server_major is None or _major(program) >= server_major:
            return program
    need = f" version {server_major} or newer" if server_major else ""
    raise BackupError(
        f"Rollbook cannot find the PostgreSQL program {name}{need}, which backups need. "
        "Install the PostgreSQL client programs (e.g. the postgresql-client package) "
        "and try again."
    )


def _libpq_env(url: str) -> dict[str, str]:
    """The connection as libpq environment variables: no password on a command line."""
    parsed = make_url(url)
    env = dict(os.environ)
    values = {
        "PGHOST": parsed.host or parsed.query.get("host"),
        "PGPORT": str(parsed.port) if parsed.port else None,
        "PGUSER": parsed.username,
        "PGPASSWORD": parsed.password,
        "PGDATABASE": parsed.database,
    }
    env.update({k: str(v) for k, v in values.items() if v})
    return env


def _connect(url: str) -> psycopg.Connection:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq, autocommit=True, connect_timeout=10)


def _server_facts(url: str) -> tuple[int, str | None, int]:
    """(server major version, schema revision, number of tables)."""
    with _connect(url) as conn:
        major = conn.info.server_version // 10000
        exists = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
        revision = None
        if exists and exists[0]:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
        (tables,) = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone() or (0,)
    return major, revision, int(tables)


# ---------------------------------------------------------------- running a program


def _wait(proc: subprocess.Popen, job: Job | None, report: Callable[[], None]) -> None:
    """Wait for ``proc`` to end, calling ``report`` (progress) as it runs; Cancel of
    ``job`` kills it and raises Cancelled."""
    while proc.poll() is None:
        if job is not None:
            if job.cancelled:
                proc.kill()
                proc.wait()
                raise Cancelled()
            report()
        time.sleep(0.05)


def _run(
    argv: list[str], env: dict[str, str], job: Job | None, total: int, label: str,
    marker: str, *, stdin=None,
) -> None:  # fmt: skip
    """Run a PostgreSQL program with --verbose; each stderr line holding ``marker``
    counts one table done. Cancel kills it; a failure raises with its first error."""
    proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace")  # fmt: skip
    errors: list[str] = []
    done = 0

    def read() -> None:
        nonlocal done
        assert proc.stderr is not None
        for line in proc.stderr:
            if marker in line:
                done += 1
            elif "error" in line.lower() or "fatal" in line.lower():
                errors.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    _wait(proc, job, lambda: job.progress(min(done, total), total, label))
    reader.join(timeout=5)
    if proc.returncode != 0:
        reason = next((e for e in errors if "error" in e.lower()), errors[0] if errors else "")
        raise BackupError(f"{Path(argv[0]).name} failed: {_short(reason)}")


def _short(line: str) -> str:
    line = re.sub(r"^(pg_dump|pg_restore|psql):\s*(error:\s*)?", "", line.strip())
    return (line[:200] + "…") if len(line) > 200 else (line or "no reason given")


# ---------------------------------------------------------------- creating


def backup_name(reason: str, at: datetime) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-") or "backup"
    return f"rollbook-{at:%Y-%m-%dT%H-%M-%S}-{slug}{SUFFIX}"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def create_backup(
    url: str, folder: Path, *, reason: str, run_id: uuid.UUID | None = None,
    keep: int | None = DEFAULT_KEEP, job: Job | None = None, out: Path | None = None,
    snapshot: str | None = None,
) -> BackupInfo:  # fmt: skip
    """Dump the whole database to ``folder`` (or to ``out``), complete or not at all.

    Then prunes automatic backups in ``folder`` beyond the newest ``keep`` (``None``:
    no pruning). ``reason`` is ``MANUAL`` for a backup a person asked for. ``snapshot``
    (from ``pg_export_snapshot()`` in a transaction kept open until this returns) dumps
    the data as that transaction saw it, whatever has been committed since."""
    major, revision, tables = _server_facts(url)
    pg_dump = find_tool("pg_dump", major)
    created = datetime.now().astimezone()
    if out is None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / backup_name(reason, created)
        n = 2
        while path.exists():
            path = folder / backup_name(f"{reason}-{n}", created)
            n += 1
    else:
        path = out
        path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        argv = [str(pg_dump), "--format=custom", "--verbose", f"--file={partial}",
                f"--lock-wait-timeout={LOCK_WAIT_MS}"]  # fmt: skip
        if snapshot is not None:
            argv.append(f"--snapshot={snapshot}")
        _run(argv, _libpq_env(url), job, tables, "Backing up the database…",
             "dumping contents of table")  # fmt: skip
        meta = {"reason": reason, "revision": revision, "created_at": created.isoformat(),
                "run_id": str(run_id) if run_id else None}  # fmt: skip
        side = _sidecar(path)
        side_partial = side.with_name(f".{side.name}.partial")
        side_partial.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, path)
        os.replace(side_partial, side)
    except OSError as exc:
        raise BackupError(f"The backup could not be written to {path.parent} "
                          f"({exc.strerror or exc}); nothing was changed.") from None  # fmt: skip
    finally:
        for leftover in (partial, _sidecar(path).with_name(f".{_sidecar(path).name}.partial")):
            leftover.unlink(missing_ok=True)
    if keep is not None and out is None:
        prune_backups(folder, keep)
    return _info(path)


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Remove the oldest automatic backups beyond ``keep``; never one made by hand."""
    automatic = [b for b in list_backups(folder) if b.automatic]
    removed = []
    for old in automatic[keep:]:
        old.path.unlink(missing_ok=True)
        _sidecar(old.path).unlink(missing_ok=True)
        removed.append(old.path)
    return removed


# ---------------------------------------------------------------- listing


def _info(path: Path) -> BackupInfo:
    stat = path.stat()
    meta: dict = {}
    # A dump copied in by hand has no notes: listed with what the file itself says.
    with contextlib.suppress(OSError, ValueError):
        meta = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    try:
        created = datetime.fromisoformat(meta["created_at"])
    except (KeyError, TypeError, ValueError):
        created = datetime.fromtimestamp(stat.st_mtime).astimezone()
    try:
        run_id = uuid.UUID(meta["run_id"]) if meta.get("run_id") else None
    except (TypeError, ValueError):
        run_id = None
    return BackupInfo(path, stat.st_size, created, meta.get("revision"),
                      str(meta.get("reason") or MANUAL), run_id)  # fmt: skip


def list_backups(folder: Path) -> list[BackupInfo]:
    """The backups in ``folder``, newest first."""
    if not folder.is_dir():
        return []
    found = [_info(p) for p in folder.glob(f"*{SUFFIX}") if not p.name.startswith(".")]
    return sorted(found, key=lambda b: (b.created_at, b.path.name), reverse=True)


# ---------------------------------------------------------------- restoring


def dump_revision(path: Path, pg_restore: Path) -> str:
    """The schema revision stored in the dump itself (its alembic_version row)."""
    if not path.is_file():
        raise BackupError(f"There is no backup file {path}; `rollbook backup list` shows "
                          "the backups.")  # fmt: skip
    out = subprocess.run(
        [str(pg_restore), "--data-only", "--table=alembic_version", "--file=-", str(path)],
        capture_output=True, text=True, errors="replace", check=False,
    )  # fmt: skip
    if out.returncode != 0:
        first = next((line for line in out.stderr.splitlines() if line.strip()), "")
        raise BackupError(f"{path.name} is not a readable backup ({_short(first)}); "
                          "nothing was changed.")  # fmt: skip
    lines = out.stdout.splitlines()
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else "\\."
        if line.startswith("COPY public.alembic_version") and following != "\\.":
            return following.strip()
    raise BackupError(f"{path.name} is not a backup of a Rollbook database (it has no "
                      "schema version); nothing was changed.")  # fmt: skip


def other_connections(url: str) -> int:
    """How many other sessions are connected to the database."""
    with _connect(url) as conn:
        row = conn.execute(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()
                 AND backend_type = 'client backend'"""
        ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class WhatRestoreReplaces:
    """What a restore would undo, for its confirmation."""

    students: int  # in the database now
    changes_since: int  # changes the database captured after the backup was taken
    runs_since: int  # imports and maintenance runs applied after it


def what_restore_replaces(url: str, backup: BackupInfo) -> WhatRestoreReplaces:
    with _connect(url) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM student WHERE deleted_at IS NULL),
                      (SELECT count(*) FROM audit_log WHERE at > %(at)s),
                      (SELECT count(*) FROM maintenance_run
                        WHERE started_at > %(at)s AND NOT dry_run)""",
            {"at": backup.created_at},
        ).fetchone()
    return WhatRestoreReplaces(*(int(v) for v in row)) if row else WhatRestoreReplaces(0, 0, 0)


def describe_replacement(what: WhatRestoreReplaces, backup: BackupInfo) -> str:
    """One sentence: what a restore of ``backup`` would replace."""
    return (
        f"Restoring replaces everything in the database ({what.students:,} students now) "
        f"with the backup from {backup.created_at:%Y-%m-%d %H:%M} ({backup.reason_text}): "
        f"{what.changes_since:,} changes and {what.runs_since:,} applied runs made since "
        "then are undone. A safety backup of the data as it is now is taken first."
    )


def check_restorable(url: str, path: Path, known_revisions: set[str]) -> BackupInfo:
    """Refuse, in one line, a file that cannot be restored here and now."""
    major, _revision, _tables = _server_facts(url)
    pg_restore = find_tool("pg_restore", major)
    revision = dump_revision(path, pg_restore)
    if revision not in known_revisions:
        raise BackupError(
            f"{path.name} holds database version {revision}, which this version of "
            "Rollbook does not know (it was made by a newer Rollbook); restore it with "
            "that version. Nothing was changed."
        )
    others = other_connections(url)
    if others:
        raise BackupError(
            f"{others} other connection{'s are' if others != 1 else ' is'} using the "
            "database; close the other Rollbook windows and programs using it, then "
            "restore again. Nothing was changed."
        )
    info = _info(path)
    return BackupInfo(info.path, info.size, info.created_at, revision, info.reason,
                      info.run_id)  # fmt: skip


def restore_backup(
    url: str, path: Path, *, job: Job | None = None,
    known: set[str] | None = None,
) -> BackupInfo:  # fmt: skip
    """Replace everything in the database with the dump's schema and data, in one
    transaction (all or nothing). Refuses unreadable files, unknown schema revisions and
    a database others are connected to. The caller takes the safety backup first."""
    info = check_restorable(url, path, known if known is not None else known_revisions())
    major = _server_facts(url)[0]
    pg_restore, psql = find_tool("pg_restore", major), find_tool("psql", major)
    env = _libpq_env(url)
    tables = _count_table_data(pg_restore, path)
    _prepare_roles(url)
    # Everything restored belongs to the schema's owner role (app.db.roles), whoever
    # owned it in the database the backup was taken from.
    script = subprocess.Popen(
        [str(pg_restore), "--no-owner", f"--role={OWNER_ROLE}", "--verbose", "--file=-",
         str(path)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False,
    )  # fmt: skip
    progress_lines: list[str] = []
    # pg_restore's --verbose lines on its stderr say which table it is writing.
    threading.Thread(target=_collect, args=(script.stderr, progress_lines), daemon=True).start()
    failed = True
    try:
        psql_argv = [str(psql), "--no-psqlrc", "--quiet", "--single-transaction",
                     "--set=ON_ERROR_STOP=1",
                     "--command=DROP SCHEMA public CASCADE",
                     f"--command=CREATE SCHEMA public AUTHORIZATION {OWNER_ROLE}",
                     "--command=GRANT USAGE ON SCHEMA public TO PUBLIC",
                     "--file=-", "--command=ANALYZE"]  # fmt: skip
        _run_psql(psql_argv, env, script, job, tables, progress_lines)
        failed = False
    finally:
        if failed and script.poll() is None:
            script.kill()
        script.wait()
    return info


def _prepare_roles(url: str) -> None:
    """The owner and app roles exist, and this connection may act as the owner (a backup
    taken before they existed, restored into a new cluster, needs them too)."""
    from app.db.roles import CREATE_ROLES

    with _connect(url) as conn:
        conn.execute(CREATE_ROLES)


def known_revisions() -> set[str]:
    """The schema revisions this Rollbook's migrations know (a backup at one of them
    can be restored and brought up to date)."""
    from app.db.migrate import _revisions_from_files

    return _revisions_from_files()[0]


def _collect(stream, sink: list[str]) -> None:
    for raw in stream:
        sink.append(raw.decode("utf-8", "replace"))


def _run_psql(argv, env, script, job, total, progress_lines) -> None:
    proc = subprocess.Popen(argv, env=env, stdin=script.stdout, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, errors="replace")  # fmt: skip
    script.stdout.close()  # psql owns the pipe now: pg_restore sees it close if psql dies
    errors: list[str] = []
    reader = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
    reader.start()

    def report() -> None:
        done = sum("processing data for table" in line for line in progress_lines)
        job.progress(min(done, total), total + 1, "Restoring the backup…")

    _wait(proc, job, report)
    reader.join(timeout=5)
    if proc.returncode != 0:
        first = next((e for e in errors if "ERROR" in e or "FATAL" in e), "".join(errors[:1]))
        raise BackupError(f"The restore failed and was rolled back, nothing was changed: "
                          f"{_short(first.replace('ERROR:', ''))}")  # fmt: skip


def _count_table_data(pg_restore: Path, path: Path) -> int:
    out = subprocess.run([str(pg_restore), "--list", str(path)], capture_output=True,
                         text=True, errors="replace", check=False)  # fmt: skip
    return sum(" TABLE DATA " in line for line in out.stdout.splitlines()) or 1


def restore_with_safety_backup(
    url: str, path: Path, folder: Path, *, keep: int = DEFAULT_KEEP, job: Job | None = None,
    on_safety: Callable[[BackupInfo], None] | None = None,
) -> tuple[BackupInfo, BackupInfo]:  # fmt: skip
    """What the CLI and the Backups dialog do: check the file, back up the database as it
    is now (reason ``before-restore``), restore, then prune. Returns (safety, restored)."""
    known = known_revisions()
    check_restorable(url, path, known)
    safety = create_backup(url, folder, reason="before-restore", keep=None, job=job)
    if on_safety is not None:
        on_safety(safety)
    restored = restore_backup(url, path, job=job, known=known)
    prune_backups(folder, keep)
    return safety, restored
