"""The one run recorder: every apply leaves a run in the history, whatever happens.

``apply_recorded`` is how imports, legacy groups, the backfill, the repair and bulk
request decisions apply a change:

1. The run is registered at once, in a short transaction of its own, as ``running``;
   the caller's transaction holds an advisory lock named after the run for as long as
   it lives. A run whose lock is gone while it still says ``running`` had its process
   die (or its transaction rolled back): the history shows it as *interrupted*.
2. The work runs in a savepoint of the caller's transaction, with every change the
   database captures linked to the run (app.db.capture.recording_run).
3. Success is recorded in the caller's transaction, so the run is "succeeded" exactly
   when its changes are committed. A failure or Cancel rolls the savepoint back (the
   data is exactly as before) and is recorded in a transaction of its own, so the
   history keeps it even when the caller then rolls back too.

Planned runs re-check their plan first (``recheck``): rows that changed since the
preview are left alone and reported as stale.

One bulk run per school at a time: before anything else, ``apply_recorded`` takes a
transaction-level advisory lock on the school (BULK_LOCK_SPACE, hashtext(school id)).
A second run of the same school waits up to BULK_RUN_WAIT_S for it, then is refused
with BulkRunBusy naming the run that holds it (its kind, actor and start) — never a
unique-violation from two merges of overlapping files. Dry runs take no lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import Engine, func, insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.backup import create_backup, session_policy
from app.db.capture import recording_run
from app.db.models import MaintenanceRun
from app.db.staging import stage_rows
from app.domain.context import ServiceContext
from app.domain.enums import RunKind, RunStatus
from app.domain.errors import Cancelled, RollbookError
from app.domain.jsonable import jsonable
from app.jobs import Job
from app.runs.plan import Fingerprint, StaleItem

T = TypeVar("T")

# The first key of the advisory locks that mark a run as alive ("Rb" in ASCII); the
# second is hashtext() of the run id. See runs.history for the reading side.
RUN_LOCK_SPACE = 0x5262
# The first key of the lock that lets one bulk run per school apply at a time ("Rs");
# the second is hashtext() of the school id.
BULK_LOCK_SPACE = 0x5273
# How long a bulk run waits for another one of its school before it is refused: long
# enough for a small import to finish, short enough that nobody wonders what hangs.
BULK_RUN_WAIT_S = 3.0
_BULK_POLL_S = 0.1


@dataclass
class RunScope:
    """What the work of a run gets: its id, and where to report stale plan items."""

    run_id: uuid.UUID
    stale: list[StaleItem] = field(default_factory=list)
    # What the work knew before it ended (counts, rejected rows): kept with a failed run.
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedRun(Generic[T]):
    """What an apply ended as. ``value`` is the work's result when it succeeded."""

    run_id: uuid.UUID
    status: RunStatus
    value: T | None = None
    error: str | None = None
    stale: list[StaleItem] = field(default_factory=list)
    # What ended a failed or cancelled run (a typed error, Cancelled, a database error).
    cause: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.status is RunStatus.SUCCEEDED

    def value_or_raise(self) -> T:
        """The value of a run that succeeded; else what ended it, raised again for callers
        whose failures travel as exceptions (the run is in the history either way)."""
        if self.cause is not None:
            if isinstance(self.cause, RollbookError):
                raise self.cause
            raise RunFailed(
                f"{self.error or 'The run failed; nothing was changed.'} The failed "
                "run is in the run history."
            ) from self.cause
        return self.value  # type: ignore[return-value]


class RunFailed(RollbookError):
    """A run failed for a reason the database gave; everything it did was rolled back."""


class BulkRunBusy(RollbookError):
    """Another bulk run (import, backfill, repair, request decisions) of the same school
    is applying its changes; this one changed nothing."""


_KIND_WORDS = {RunKind.REQUESTS.value: "bulk request decision"}

# The run whose transaction holds the school's bulk lock: the lock's backend, and the
# running run whose own lock (RUN_LOCK_SPACE) that backend holds. Before its run row is
# committed (a moment after the lock), only the backend's transaction start is known.
# Advisory locks belong to a database: the school's id may be the same in another one.
_BULK_HOLDER_SQL = text(f"""
SELECT r.kind, r.actor, coalesce(r.started_at, a.xact_start)
FROM pg_locks school_lock
LEFT JOIN pg_stat_activity a ON a.pid = school_lock.pid
LEFT JOIN pg_locks run_lock
       ON run_lock.pid = school_lock.pid AND run_lock.locktype = 'advisory'
      AND run_lock.granted AND run_lock.objsubid = 2
      AND run_lock.classid = {RUN_LOCK_SPACE}::oid
LEFT JOIN maintenance_run r
       ON r.school_id = :school AND r.status = 'running'
      AND hashtext(r.id::text)::oid = run_lock.objid
WHERE school_lock.locktype = 'advisory' AND school_lock.granted
  AND school_lock.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND school_lock.objsubid = 2 AND school_lock.classid = {BULK_LOCK_SPACE}::oid
  AND school_lock.objid = hashtext(:school_text)::oid
ORDER BY r.started_at DESC NULLS LAST
LIMIT 1
""")


def _busy_text(session: Session, ctx: ServiceContext) -> str:
    holder = session.execute(
        _BULK_HOLDER_SQL, {"school": ctx.school_id, "school_text": str(ctx.school_id)}
    ).first()
    kind, actor, started = holder if holder is not None else (None, None, None)
    what = _KIND_WORDS.get(kind, kind or "bulk run")
    by = f" by {actor}" if actor else ""
    at = ""
    if started is not None:
        local = started.astimezone()
        at = f" at {local:%H:%M}" if local.date() == date.today() else f" at {local:%Y-%m-%d %H:%M}"
    return (f"Nothing was changed: another {what} is running on this school, started{by}{at}; "
            "try again when it has finished.")  # fmt: skip


def lock_school_for_bulk_run(session: Session, ctx: ServiceContext) -> None:
    """Hold the school's bulk lock until the caller's transaction ends, waiting up to
    BULK_RUN_WAIT_S for a run that holds it; BulkRunBusy, naming that run, after that."""
    params = {"space": BULK_LOCK_SPACE, "school": str(ctx.school_id)}
    deadline = time.monotonic() + BULK_RUN_WAIT_S
    while not session.execute(
        text("SELECT pg_try_advisory_xact_lock(:space, hashtext(:school))"), params
    ).scalar():
        if time.monotonic() >= deadline:
            raise BulkRunBusy(_busy_text(session, ctx))
        time.sleep(_BULK_POLL_S)


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def start_run(
    session: Session, ctx: ServiceContext, kind: RunKind, params: dict[str, Any], *,
    run_id: uuid.UUID | None = None, backup_file: str | None = None,
) -> uuid.UUID:  # fmt: skip
    """Register a run as running, visible to everyone at once, held by this transaction."""
    run_id = run_id or uuid.uuid4()
    session.execute(
        text("SELECT pg_advisory_xact_lock(:space, hashtext(:run))"),
        {"space": RUN_LOCK_SPACE, "run": str(run_id)},
    )
    with _engine(session).begin() as own:
        own.execute(_new_run(run_id, ctx, kind, params, dry_run=False, status=RunStatus.RUNNING,
                             backup_file=backup_file))  # fmt: skip
    return run_id


def _new_run(
    run_id: uuid.UUID, ctx: ServiceContext, kind: RunKind, params: dict[str, Any], *,
    dry_run: bool, status: RunStatus, **columns: Any,
):  # fmt: skip
    return insert(MaintenanceRun).values(
        id=run_id, school_id=ctx.school_id, kind=kind.value, dry_run=dry_run,
        actor=ctx.actor, params=jsonable(params), status=status.value, **columns,
    )  # fmt: skip


def _finished(run_id: uuid.UUID, status: RunStatus, summary: dict[str, Any]):
    return (
        update(MaintenanceRun)
        .where(MaintenanceRun.id == run_id)
        .values(status=status.value, summary=jsonable(summary), finished_at=func.clock_timestamp())
    )


def finish_run(
    session: Session, run_id: uuid.UUID, status: RunStatus, summary: dict[str, Any]
) -> None:
    """Record the run's end in the caller's transaction (committed with its changes)."""
    session.execute(_finished(run_id, status, summary))


def record_failure(
    session: Session, run_id: uuid.UUID, status: RunStatus, error: str,
    summary: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Record a failed or cancelled end in a transaction of its own: it stays in the
    history whatever the caller's transaction does next."""
    with _engine(session).begin() as own:
        own.execute(_finished(run_id, status, {**(summary or {}), "error": error}))


def record_dry_run(
    session: Session, ctx: ServiceContext, kind: RunKind, params: dict[str, Any],
    summary: dict[str, Any],
) -> uuid.UUID:  # fmt: skip
    """Keep a preview or a check in the history (nothing was changed)."""
    run_id = uuid.uuid4()
    session.execute(
        _new_run(run_id, ctx, kind, params, dry_run=True, status=RunStatus.SUCCEEDED,
                 summary=jsonable(summary), finished_at=func.now())
    )  # fmt: skip
    return run_id


def apply_recorded(
    session: Session, ctx: ServiceContext, kind: RunKind, params: dict[str, Any],
    work: Callable[[RunScope], tuple[T, dict[str, Any]]],
) -> RecordedRun[T]:  # fmt: skip
    """Run ``work(scope) -> (value, summary)`` as one all-or-nothing unit and record it.

    A typed error or a database error ends the run as failed (returned, not raised);
    Cancel as cancelled. Anything else is recorded as failed and raised again.

    Imports, backfills and repairs first take a backup when the session's policy says so
    (see app.db.backup): a run that cannot be backed up fails and changes nothing.

    One bulk run per school applies at a time (lock_school_for_bulk_run): a run refused
    for another one is recorded as failed with BulkRunBusy, having changed nothing."""
    run_id = uuid.uuid4()
    try:
        lock_school_for_bulk_run(session, ctx)
    except BulkRunBusy as exc:
        start_run(session, ctx, kind, params, run_id=run_id)
        record_failure(session, run_id, RunStatus.FAILED, str(exc))
        return RecordedRun(run_id, RunStatus.FAILED, error=str(exc), cause=exc)
    try:
        backup = backup_before(session, kind, run_id)
    except (RollbookError, psycopg.Error) as exc:
        message = f"No backup could be taken before the run, so nothing was changed: {exc}"
        start_run(session, ctx, kind, params, run_id=run_id)
        record_failure(session, run_id, RunStatus.FAILED, message)
        return RecordedRun(run_id, RunStatus.FAILED, error=message, cause=exc)
    scope = RunScope(start_run(session, ctx, kind, params, run_id=run_id))
    try:
        with session.begin_nested():
            session.connection()  # SAVEPOINT now: the work may use the raw driver connection
            with recording_run(session, scope.run_id):
                value, summary = work(scope)
            if backup is not None:  # inside the savepoint: no backup, no change
                session.execute(update(MaintenanceRun).where(MaintenanceRun.id == run_id)
                                .values(backup_file=backup.wait()))  # fmt: skip
    except Cancelled as exc:
        record_failure(session, scope.run_id, RunStatus.CANCELLED, str(exc), scope.summary)
        return RecordedRun(scope.run_id, RunStatus.CANCELLED, error=str(exc), cause=exc)
    except (RollbookError, DBAPIError, psycopg.Error) as exc:
        message = failure_text(exc)
        record_failure(session, scope.run_id, RunStatus.FAILED, message, scope.summary)
        return RecordedRun(scope.run_id, RunStatus.FAILED, error=message, cause=exc)
    except BaseException as exc:
        status = RunStatus.CANCELLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        record_failure(session, scope.run_id, status, f"{type(exc).__name__}: {exc}",
                       scope.summary)  # fmt: skip
        raise
    finally:
        if backup is not None:
            backup.abandon()  # a run that failed needs no backup; one done is kept
    if scope.stale:
        summary = {**summary, "stale": len(scope.stale)}
    finish_run(session, scope.run_id, RunStatus.SUCCEEDED, summary)
    return RecordedRun(scope.run_id, RunStatus.SUCCEEDED, value=value, stale=list(scope.stale))


# The runs that change many rows at once: each is preceded by a backup (DESIGN §5).
BACKED_UP_KINDS = frozenset({RunKind.IMPORT, RunKind.BACKFILL, RunKind.REPAIR})


class BackupBeforeRun:
    """The backup of a run, dumped while the run works (its time is the longer of the
    two, not their sum) yet holding the data exactly as it was before the run began:
    pg_dump reads a snapshot exported before the run was even registered, from a
    transaction kept open until the dump is done. Nothing of the run is committed before
    ``wait`` returns, so nothing of it can be in the backup, nor the run's own row."""

    def __init__(self, url: str, policy: Any, kind: RunKind, run_id: uuid.UUID) -> None:
        # Autocommit, so the BEGIN below is the transaction itself (not one inside
        # psycopg's own), kept open until the dump has read everything.
        self._holder = psycopg.connect(
            url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True
        )
        self._holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = self._holder.execute("SELECT pg_export_snapshot()").fetchone()[0]
        self._job = Job()
        self._info: Any = None
        self._error: BaseException | None = None

        def dump() -> None:
            try:
                self._info = create_backup(url, policy.folder, reason=f"before-{kind.value}",
                                           run_id=run_id, keep=policy.keep, job=self._job,
                                           snapshot=snapshot)  # fmt: skip
            except BaseException as exc:  # handed to wait(): the run fails with it
                self._error = exc
            finally:
                self._holder.close()

        self._thread = threading.Thread(target=dump, name="rollbook-backup", daemon=True)
        self._thread.start()

    def wait(self) -> str:
        """The backup's file name once written; BackupNotTaken when it failed."""
        self._thread.join()
        if self._error is not None:
            raise BackupNotTaken(
                f"No backup could be taken before the run, so nothing was changed: {self._error}"
            )
        return self._info.path.name

    def abandon(self) -> None:
        """Stop a dump still running (the run failed); a finished one is kept."""
        self._job.cancel()
        self._thread.join()


class BackupNotTaken(RollbookError):
    """The backup before a run failed: the run changes nothing."""


def backup_before(session: Session, kind: RunKind, run_id: uuid.UUID) -> BackupBeforeRun | None:
    """Start the backup before a run of ``kind``, or None when the session's policy takes
    none (tests, a server without ROLLBOOK_AUTO_BACKUP).

    pg_dump reads in a connection of its own while the caller's transaction is open.
    Callers have written only temporary tables and row locks by now, which pg_dump never
    waits for; a table lock would make it give up after LOCK_WAIT_MS instead of waiting
    for ever."""
    policy = session_policy(session)
    if kind not in BACKED_UP_KINDS or policy is None or not policy.enabled:
        return None
    url = _engine(session).url.render_as_string(hide_password=False)
    return BackupBeforeRun(url, policy, kind, run_id)


def failure_text(exc: BaseException) -> str:
    """One readable line: the typed error's text or the database's own message."""
    if isinstance(exc, RollbookError):
        return str(exc)
    original = getattr(exc, "orig", exc)
    diag = getattr(original, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    lines = str(original).splitlines()
    reason = primary or (lines[0] if lines else type(exc).__name__)
    return f"The database refused the change: {reason}. Nothing was changed."


# ---------------------------------------------------------------- re-checking a plan

STALE_WHY = "Changed since the preview, so it was left alone; preview again to see it now."


def recheck(
    conn: psycopg.Connection, fingerprints: Sequence[Fingerprint], current_sql: str,
    params: dict[str, Any] | None = None, *, label_sql: str | None = None,
) -> list[StaleItem]:  # fmt: skip
    """The planned rows that are not as they were planned.

    ``current_sql`` selects (entity, key, version) of the rows as they are now; it may
    join ``run_fingerprint`` (entity, key, version) — the staged fingerprints — to
    look only at the planned keys. A key it does not return no longer exists.
    ``label_sql`` (entity, key, label) names the stale ones for the report, so that a
    plan of a hundred thousand rows need not carry a label for each.
    """
    if not fingerprints:
        return []
    stage_rows(conn, "run_fingerprint", "entity text, key text, version bigint, label text",
               ((f.entity, f.key, f.version, f.label) for f in fingerprints),
               index="entity, key")  # fmt: skip
    rows = conn.execute(
        f"""SELECT f.entity, f.key, f.label FROM run_fingerprint f
            LEFT JOIN ({current_sql}) now ON now.entity = f.entity AND now.key = f.key
            WHERE now.version IS DISTINCT FROM f.version""",
        params or {},
    ).fetchall()
    conn.execute("DROP TABLE run_fingerprint")
    unnamed = [(entity, key) for entity, key, label in rows if not label]
    if label_sql and unnamed:
        names = dict(((entity, key), label) for entity, key, label in conn.execute(
            f"""SELECT named.entity, named.key, named.label FROM ({label_sql}) named
                WHERE (named.entity, named.key) IN (SELECT * FROM unnest(%(entities)s::text[],
                                                                         %(keys)s::text[]))""",
            {**(params or {}), "entities": [e for e, _ in unnamed], "keys": [k for _, k in unnamed]},
        ))  # fmt: skip
        rows = [
            (entity, key, label or names.get((entity, key), key)) for entity, key, label in rows
        ]
    rows.sort(key=lambda row: (row[2], row[1]))
    return [StaleItem(entity, key, label, STALE_WHY) for entity, key, label in rows]
