"""One sync of a desktop with the school server, and the loop that keeps syncing.

A sync: say hello (which device, which school), copy the school if this desktop has
never had it (resumable), push local changes, pull the server's, and top up the blocks
of registration and certificate numbers it issues offline. Whatever fails is kept
in ``sync_state`` (the reason, how many failures in a row, when to try again) and tried
again by the loop with back-off — also when nothing new happens on the desktop, so a
push that failed once does not wait for the next edit.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.domain.errors import Cancelled, SyncRefused, SyncUnreachable
from app.domain.wording import counted
from app.jobs import Job
from app.sync.link import ServerLink
from app.sync.numbers import top_up
from app.sync.pull import initial_copy, pull
from app.sync.push import pending_transactions, push
from app.sync.tables import SYNCED_TABLES, mark_as_pulled, write_rows

# After a failure: 5 s, 10 s, 20 s … up to 5 minutes, each with up to a fifth more so
# that desktops cut off together do not all come back in the same second.
RETRY_FIRST_S = 5.0
RETRY_MAX_S = 300.0


def retry_delay(failures: int, *, first: float = RETRY_FIRST_S, longest: float = RETRY_MAX_S
                ) -> float:  # fmt: skip
    if failures <= 0:
        return 0.0
    base = min(longest, first * 2 ** (failures - 1))
    return base * (1 + random.random() / 5)


@dataclass(frozen=True)
class SyncReport:
    status: str  # synced | conflicts | unreachable | refused | upgrade_required | reinit_required
    message: str
    pushed_transactions: int = 0
    pushed_operations: int = 0
    applied_operations: int = 0
    pulled_rows: int = 0
    changed_rows: int = 0
    copied_rows: int = 0
    new_conflicts: int = 0
    reserved_numbers: int = 0  # registration and certificate numbers reserved for offline
    open_conflicts: int = 0
    pending_operations: int = 0
    retry_in_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("synced", "conflicts")


@dataclass
class Connected:
    school_id: uuid.UUID
    device_id: uuid.UUID
    accepted: list[str] = field(default_factory=list)
    # Away longer than the server keeps deleted rows: sync waits for a re-initialise.
    reinit_required: bool = False
    retention_days: int | None = None


def _connected(hello: dict, school_id: uuid.UUID, device_id: uuid.UUID) -> Connected:
    return Connected(
        school_id,
        device_id,
        hello.get("accepted_revisions") or [],
        bool(hello.get("reinit_required")),
        hello.get("retention_days"),
    )


def connect_device(sessions: sessionmaker[Session], link: ServerLink, school_code: str,
             device_name: str) -> Connected:  # fmt: skip
    """Say hello: which device of which school; the school row and sync state made
    here on the first connection."""
    hello = link.call("rollbook_sync_hello", school_code, device_name)
    school_id, device_id = uuid.UUID(hello["school_id"]), uuid.UUID(hello["device_id"])
    with sessions.begin() as s:
        state = s.execute(text("SELECT device_id, device_name FROM sync_state "
                               "WHERE school_id = :s"), {"s": school_id}).first()  # fmt: skip
        if state is not None:
            if state.device_id != device_id:
                raise SyncRefused(
                    f"this desktop syncs as device \"{state.device_name}\"; the server knows "
                    f"\"{device_name}\" as another device — use --device "
                    f"\"{state.device_name}\"")  # fmt: skip
            return _connected(hello, school_id, device_id)
        here = s.execute(text("SELECT id FROM school WHERE code = :c"),
                         {"c": hello["school_code"]}).scalar()  # fmt: skip
        if here is not None and here != school_id and _holds_nothing(s, here):
            # A school made by the first start, before anything was entered: it gives
            # way to the server's (removed as pulled, so it is not pushed as a delete).
            mark_as_pulled(s)
            s.execute(text("DELETE FROM school WHERE id = :s"), {"s": here})
        elif here is not None and here != school_id:
            raise SyncRefused(
                f"this desktop already has its own school {hello['school_code']}, made here "
                "and not copied from the school server; sync a new data folder, or one "
                "first copied from the server")  # fmt: skip
    # The school row first: the desktop's sync state belongs to it.
    with link.snapshot():
        page = link.call("rollbook_sync_snapshot_page", str(device_id), "school", None, 1)
    with sessions.begin() as s:
        mark_as_pulled(s)
        write_rows(s, "school", page["rows"], school_id=school_id, push_floor=0)
        s.execute(text("""
            INSERT INTO sync_state (school_id, device_id, device_name, server)
            VALUES (:s, :d, :n, :w) ON CONFLICT (school_id) DO NOTHING"""),
                  {"s": school_id, "d": device_id, "n": device_name, "w": link.where})  # fmt: skip
    return _connected(hello, school_id, device_id)


def _holds_nothing(session: Session, school_id: uuid.UUID) -> bool:
    """Whether a school has no rows at all besides its own."""
    tables = [t for t in SYNCED_TABLES if t != "school"] + ["app_user", "maintenance_run"]
    held = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE school_id = :s)" for t in tables)
    return not session.execute(text(f"SELECT {held}"), {"s": school_id}).scalar()


def record_attempt(sessions: sessionmaker[Session], school_id: uuid.UUID | None, *, error: str | None
            ) -> float | None:  # fmt: skip
    """Keep how this attempt ended; after a failure, when to try again (seconds)."""
    if school_id is None:
        return retry_delay(1) if error else None
    with sessions.begin() as s:
        if error is None:
            s.execute(text("UPDATE sync_state SET last_sync_at = now(), last_attempt_at = now(), "
                           "last_error = NULL, failures = 0, next_retry_at = NULL "
                           "WHERE school_id = :s"), {"s": school_id})  # fmt: skip
            return None
        failures = (s.execute(text("SELECT failures FROM sync_state WHERE school_id = :s"),
                              {"s": school_id}).scalar() or 0) + 1  # fmt: skip
        delay = retry_delay(failures)
        s.execute(text("UPDATE sync_state SET last_attempt_at = now(), last_error = :e, "
                       "failures = :f, next_retry_at = now() + make_interval(secs => :d) "
                       "WHERE school_id = :s"),
                  {"e": error, "f": failures, "d": delay, "s": school_id})  # fmt: skip
        return delay


def _school_id(sessions: sessionmaker[Session], school_code: str) -> uuid.UUID | None:
    with sessions.begin() as s:
        return s.execute(text("SELECT st.school_id FROM sync_state st JOIN school sc "
                              "ON sc.id = st.school_id WHERE sc.code = :c"),
                         {"c": school_code.upper()}).scalar()  # fmt: skip


def sync_once(sessions: sessionmaker[Session], server_url: str, *, school_code: str,
              device_name: str, revision: str, job: Job | None = None,
              link: ServerLink | None = None) -> SyncReport:  # fmt: skip
    """Copy (first time), push, pull. Never raises for an unreachable or refusing
    server: the report says so, and when to try again."""
    own_link = link is None
    link = link or ServerLink(server_url)
    school_id = _school_id(sessions, school_code)
    copied = 0
    try:
        connected = connect_device(sessions, link, school_code, device_name)
        school_id = connected.school_id
        if connected.reinit_required:
            raise SyncRefused(reinit_message(connected.retention_days), reinit_required=True)
        copy = initial_copy(sessions, link, school_id=school_id, device_id=connected.device_id,
                            job=job)  # fmt: skip
        copied = copy.rows
        pushed = push(sessions, link, school_id=school_id, device_id=connected.device_id,
                      revision=revision, job=job)  # fmt: skip
        pulled = pull(sessions, link, school_id=school_id, device_id=connected.device_id,
                      job=job)  # fmt: skip
        reserved = top_up(sessions, link, school_id=school_id, device_id=connected.device_id)
    except SyncUnreachable as exc:
        delay = record_attempt(sessions, school_id, error=str(exc))
        return _report(sessions, school_id, "unreachable", str(exc), retry_in_s=delay)
    except SyncRefused as exc:
        delay = record_attempt(sessions, school_id, error=str(exc))
        status = ("upgrade_required" if exc.upgrade_required
                  else "reinit_required" if exc.reinit_required else "refused")  # fmt: skip
        return _report(sessions, school_id, status, str(exc), retry_in_s=delay)
    except Cancelled:
        raise
    finally:
        if own_link:
            link.close()
    record_attempt(sessions, school_id, error=None)
    report = _report(
        sessions, school_id, "synced", "",
        pushed_transactions=pushed.transactions, pushed_operations=pushed.operations,
        applied_operations=pushed.applied, pulled_rows=pulled.rows,
        changed_rows=pulled.written, copied_rows=copied,
        new_conflicts=pushed.new_conflict_rows + pulled.refused, reserved_numbers=reserved,
    )  # fmt: skip
    if report.open_conflicts:
        return SyncReport(**{**report.__dict__, "status": "conflicts",
                             "message": f"{counted(report.open_conflicts, 'conflict')} "
                             "waiting for a decision (rollbook sync conflicts)"})  # fmt: skip
    return report


def _report(sessions: sessionmaker[Session], school_id: uuid.UUID | None, status: str,
            message: str, **figures) -> SyncReport:  # fmt: skip
    open_conflicts = pending = 0
    if school_id is not None:
        with sessions.begin() as s:
            open_conflicts, pending = count_open_and_pending(s, school_id)
    return SyncReport(status=status, message=message, open_conflicts=open_conflicts,
                      pending_operations=pending, **figures)  # fmt: skip


def reinit_message(retention_days: int | None) -> str:
    kept = f" ({retention_days} days)" if retention_days else ""
    return (
        f"this desktop has been away longer than the school server keeps deleted "
        f"rows{kept}: re-initialise it from the server (Tools > Re-initialise from the "
        "server…, or rollbook sync reinit). Its waiting changes are sent first; nothing "
        "is lost."
    )


def open_conflict_count(session: Session, school_id: uuid.UUID) -> int:
    return session.execute(text(
        "SELECT count(*) FROM sync_conflict WHERE school_id = :s AND resolved_at IS NULL"
    ), {"s": school_id}).scalar_one()  # fmt: skip


def count_open_and_pending(session: Session, school_id: uuid.UUID) -> tuple[int, int]:
    open_conflicts = open_conflict_count(session, school_id)
    floor = session.execute(text("SELECT push_floor FROM sync_state WHERE school_id = :s"),
                            {"s": school_id}).scalar() or 0  # fmt: skip
    pending, _ = pending_transactions(session, school_id, floor)
    return open_conflicts, sum(len(tx.entries) for tx in pending)


def keep_syncing(sessions: sessionmaker[Session], server_url: str, *, school_code: str,
                 device_name: str, revision: str, interval_s: float,
                 stop: threading.Event, on_report: Callable[[SyncReport], None] | None = None,
                 first_retry_s: float = RETRY_FIRST_S) -> SyncReport | None:  # fmt: skip
    """Sync every ``interval_s`` until ``stop`` is set; after a failure sooner, with
    back-off. The last report."""
    last: SyncReport | None = None
    failures = 0
    with ServerLink(server_url) as link:
        while not stop.is_set():
            last = sync_once(sessions, server_url, school_code=school_code,
                             device_name=device_name, revision=revision, link=link)  # fmt: skip
            if on_report is not None:
                on_report(last)
            failures = 0 if last.ok else failures + 1
            wait = interval_s if last.ok else retry_delay(failures, first=first_retry_s)
            stop.wait(wait)
    return last


__all__ = [
    "Connected",
    "SyncReport",
    "connect_device",
    "record_attempt",
    "reinit_message",
    "count_open_and_pending",
    "keep_syncing",
    "open_conflict_count",
    "retry_delay",
    "sync_once",
]
