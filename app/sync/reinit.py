"""Re-initialising a desktop from the school server, without losing what it did offline.

A desktop away longer than the server keeps deleted rows (``rollbook server prune``,
app.sync.prune) is asked to re-initialise: its copy may hold rows the server removed
for good, and what it missed is brought as a fresh copy. Offline sync products commonly
drop the desktop's unsent changes at this point; Rollbook keeps them:

1. the preview (``preview_reinit``, local only, also offline) lists every change still
   waiting to be sent, who made it and when;
2. ``reinitialise`` sends them first, as any sync does; what the server cannot merge
   becomes sync conflicts, as at any sync;
3. then the desktop's copy is brought to the server's in ONE local transaction: every
   server row written (rows equal to the server's are left alone, so the audit log
   records only real differences) and every school row the server no longer has
   removed here — except a row an open conflict is about, which a decision may still
   send again (a duplicate, a row the server refused), and a row changed here while the
   copy ran. Cancelled, failed or killed, the copy is rolled back and the desktop works
   on as before; the changes already sent stay sent.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.domain.errors import NotFound
from app.domain.wording import counted
from app.jobs import Job
from app.sync.engine import connect_device, open_conflict_count, record_attempt
from app.sync.link import ServerLink
from app.sync.pull import keep_refused, school_pages
from app.sync.push import pending_transactions, push
from app.sync.resolve import describe_conflict_row
from app.sync.tables import (
    PENDING_HERE,
    SYNCED_TABLES,
    WriteOutcome,
    mark_as_pulled,
    write_rows,
)

_ACTIONS = {"insert": "added", "update": "changed", "tombstone": "deleted", "delete": "removed"}
_NOT_SHOWN = {"id", "school_id", "row_version", "created_at", "updated_at"}


@dataclass(frozen=True)
class WaitingChange:
    """One change made here and not yet sent to the school server."""

    at: datetime
    actor: str
    action: str  # added | changed | deleted | removed
    entity: str
    entity_id: uuid.UUID
    row: str  # "student S100 Anne Leigh"
    columns: tuple[str, ...]  # what an edit changed

    @property
    def summary(self) -> str:
        what = f" ({', '.join(self.columns)})" if self.columns and self.action == "changed" else ""
        return f"{self.row}: {self.action}{what} by {self.actor}"


@dataclass(frozen=True)
class ReinitPreview:
    device_name: str
    server: str
    last_sync_at: datetime | None
    last_error: str | None
    waiting: list[WaitingChange] = field(default_factory=list)
    open_conflicts: int = 0
    local_rows: int = 0


@dataclass(frozen=True)
class ReinitReport:
    message: str
    pushed_operations: int = 0
    new_conflicts: int = 0
    open_conflicts: int = 0
    copied_rows: int = 0  # rows the server sent
    changed_rows: int = 0  # of those, rows that were different or missing here
    removed_rows: int = 0  # rows this desktop had and the server no longer has


def preview_reinit(session: Session, school_id: uuid.UUID) -> ReinitPreview:
    """What a re-initialise would send first and replace (reads this desktop only)."""
    state = session.execute(text("SELECT * FROM sync_state WHERE school_id = :s"),
                            {"s": school_id}).mappings().first()  # fmt: skip
    if state is None:
        raise NotFound("This desktop has not been connected to a school server; there is "
                       "nothing to re-initialise.")  # fmt: skip
    pending, _floor = pending_transactions(session, school_id, state["push_floor"])
    waiting = [
        WaitingChange(
            at=entry["at"],
            actor=entry["actor"] or "",
            action=_ACTIONS.get(entry["action"], entry["action"]),
            entity=entry["entity"],
            entity_id=entry["entity_id"],
            row=describe_conflict_row(
                session, entry["entity"], entry["entity_id"], _kept_row(entry)
            ),
            columns=tuple(
                c for c in ((entry["changes"] or {}).get("after") or {}) if c not in _NOT_SHOWN
            ),
        )  # fmt: skip
        for tx in pending
        for entry in tx.entries
    ]
    return ReinitPreview(
        device_name=state["device_name"], server=state["server"],
        last_sync_at=state["last_sync_at"], last_error=state["last_error"], waiting=waiting,
        open_conflicts=open_conflict_count(session, school_id),
        local_rows=_school_rows(session, school_id),
    )  # fmt: skip


def _kept_row(entry: dict) -> dict:
    changes = entry["changes"] or {}
    return {**(changes.get("before") or {}), **(changes.get("after") or {}),
            "id": str(entry["entity_id"])}  # fmt: skip


def _school_filter(table: str) -> str:
    return "t.id = :s" if table == "school" else "t.school_id = :s"


def _school_rows(session: Session, school_id: uuid.UUID) -> int:
    return sum(session.execute(text(f"SELECT count(*) FROM {t} t WHERE {_school_filter(t)}"),
                               {"s": school_id}).scalar_one() for t in SYNCED_TABLES)  # fmt: skip


def reinitialise(sessions: sessionmaker[Session], server_url: str, *, school_code: str,
                 device_name: str, revision: str, job: Job | None = None,
                 link: ServerLink | None = None) -> ReinitReport:  # fmt: skip
    """Send the waiting changes, then replace this desktop's copy with the server's.
    Raises SyncUnreachable / SyncRefused (nothing replaced) and Cancelled (the copy
    rolled back)."""
    own_link = link is None
    link = link or ServerLink(server_url)
    try:
        connected = connect_device(sessions, link, school_code, device_name)
        school_id, device_id = connected.school_id, connected.device_id
        pushed = push(sessions, link, school_id=school_id, device_id=device_id,
                      revision=revision, job=job)  # fmt: skip
        copied = _recopy(sessions, link, school_id=school_id, device_id=device_id, job=job)
        link.call("rollbook_sync_reinitialised", str(device_id))
        record_attempt(sessions, school_id, error=None)
        with sessions.begin() as s:
            conflicts = open_conflict_count(s, school_id)
        message = (f"Sent {counted(pushed.operations, 'waiting change')}, then brought this "
                   f"desktop's copy to the server's: {counted(copied.written, 'row')} "
                   f"written, {counted(copied.removed, 'row')} the server no longer has "
                   "removed.")  # fmt: skip
        if conflicts:
            message += (f" {counted(conflicts, 'sync conflict')} "
                        f"{'waits' if conflicts == 1 else 'wait'} for a decision (Tools > Sync "
                        "conflicts, or rollbook sync conflicts).")  # fmt: skip
        return ReinitReport(
            message=message, pushed_operations=pushed.operations,
            new_conflicts=pushed.new_conflict_rows + copied.refused, open_conflicts=conflicts,
            copied_rows=copied.rows, changed_rows=copied.written, removed_rows=copied.removed,
        )  # fmt: skip
    finally:
        if own_link:
            link.close()


@dataclass
class _Copied:
    rows: int = 0
    written: int = 0
    removed: int = 0
    refused: int = 0


def _recopy(sessions: sessionmaker[Session], link: ServerLink, *, school_id: uuid.UUID,
            device_id: uuid.UUID, job: Job | None) -> _Copied:  # fmt: skip
    copied = _Copied()
    with link.snapshot(), sessions.begin() as s:
        total = sum(link.call("rollbook_sync_snapshot_count", str(device_id), t)
                    for t in SYNCED_TABLES)  # fmt: skip
        floor = s.execute(text("SELECT push_floor FROM sync_state WHERE school_id = :s"),
                          {"s": school_id}).scalar_one()  # fmt: skip
        mark_as_pulled(s)
        s.execute(text("CREATE TEMP TABLE rollbook_reinit_seen (entity text, id uuid) "
                       "ON COMMIT DROP"))  # fmt: skip
        held_back = WriteOutcome()
        cursor: int | None = None
        with contextlib.closing(school_pages(link, device_id)) as reading:
            for key, page in reading:
                table = SYNCED_TABLES[key[0] - 1]
                if job is not None:
                    job.check_cancel()
                    job.progress(min(copied.rows, total), total,
                                 f"Bringing this desktop's copy to the server's… {table}")  # fmt: skip
                rows = page["rows"]
                written = write_rows(s, table, rows, school_id=school_id, push_floor=floor)
                copied.written += written.written
                held_back.refused.extend(written.refused)
                s.execute(text("INSERT INTO rollbook_reinit_seen "
                               "SELECT :t, unnest(CAST(:ids AS uuid[]))"),
                          {"t": table, "ids": [r["id"] for r in rows]})  # fmt: skip
                copied.rows += len(rows)
                page_cursor = int(page["cursor"])
                cursor = page_cursor if cursor is None else min(cursor, page_cursor)
        s.execute(text("ANALYZE rollbook_reinit_seen"))
        if job is not None:
            job.check_cancel()
            job.progress(total, total, "Removing the rows the server no longer has…")
        # Children first, so that a parent the server removed goes after its rows. A row
        # made here while the copy ran is not the server's yet: it stays, and is sent. A
        # row an open conflict is about stays for the decision (send it again, merge it).
        for table in reversed(SYNCED_TABLES):
            copied.removed += s.execute(text(
                f"DELETE FROM {table} t WHERE {_school_filter(table)} AND NOT EXISTS "
                f"(SELECT 1 FROM rollbook_reinit_seen v WHERE v.entity = :t AND v.id = t.id) "
                f"AND NOT {PENDING_HERE} AND NOT EXISTS (SELECT 1 FROM sync_conflict c "
                f"WHERE c.entity_id = t.id AND c.resolved_at IS NULL)"
            ), {"s": school_id, "t": table, "school": school_id, "floor": floor}).rowcount  # fmt: skip
        # A server row held back by a key a removed row had: written now it is free.
        again = WriteOutcome()
        for table, row, _reason in held_back.refused:
            one = write_rows(s, table, [row], school_id=school_id, push_floor=floor)
            copied.written += one.written
            again.refused.extend(one.refused)
        keep_refused(s, school_id, again)
        copied.refused = len(again.refused)
        s.execute(text("""
            UPDATE sync_state SET pull_cursor = :c, initial_done = true, initial_table = NULL,
                                  initial_after = NULL
            WHERE school_id = :s"""), {"c": str(cursor), "s": school_id})  # fmt: skip
    return copied


__all__ = ["ReinitPreview", "ReinitReport", "WaitingChange", "preview_reinit", "reinitialise"]
