"""Pulling the server's changes, and the first copy of a school onto a new desktop.

Both read the server inside one REPEATABLE READ transaction, page by page, and write
each page here in a local transaction of its own, captured with origin ``sync``. Writing
a page twice changes nothing (rows equal to the server's are left alone), so a pull cut
off half-way — the server restarted, the desktop killed — is simply done again: the
cursor moves only after the last page. The cursor is the snapshot's xmin: every
transaction still running when the pull read the server has an id at or above it, so it
is read by a later pull once it commits, however late.

The first copy is resumable: after every page the table and last id reached are kept,
and an interrupted copy carries on from there (with a new snapshot; the cursor stays at
the first snapshot's xmin, so whatever changed in between comes with the next pull).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import Job
from app.sync.link import ServerLink
from app.sync.tables import SYNCED_TABLES, WriteOutcome, delete_rows, mark_as_pulled, write_rows

PAGE_ROWS = 5_000

Key = tuple[int, str | None]  # (table's rank, last id sent) of a page


@dataclass
class PullOutcome:
    rows: int = 0  # rows the server sent
    written: int = 0  # rows that changed here
    refused: int = 0


def _state(session: Session, school_id: uuid.UUID) -> dict[str, Any]:
    return dict(session.execute(text("SELECT * FROM sync_state WHERE school_id = :s"),
                                {"s": school_id}).mappings().one())  # fmt: skip


def _write_page(session: Session, rows: list[dict], *, school_id: uuid.UUID, push_floor: int
                ) -> WriteOutcome:  # fmt: skip
    mark_as_pulled(session)
    total = WriteOutcome()
    by_table: dict[str, list[dict]] = {}
    gone: dict[str, list[str]] = {}
    for item in rows:
        if item.get("row") is None:
            gone.setdefault(item["entity"], []).append(item["id"])
        else:
            by_table.setdefault(item["entity"], []).append(item["row"])
    for table in SYNCED_TABLES:
        for part in (write_rows(session, table, by_table.get(table, []), school_id=school_id,
                                push_floor=push_floor),
                     delete_rows(session, table, gone.get(table, []), school_id=school_id,
                                 push_floor=push_floor)):  # fmt: skip
            total.written += part.written
            total.refused.extend(part.refused)
    keep_refused(session, school_id, total)
    return total


def keep_refused(session: Session, school_id: uuid.UUID, outcome: WriteOutcome) -> None:
    """A server row this desktop cannot take is a conflict, never dropped."""
    for table, row, reason in outcome.refused:
        kind = "duplicate_key" if "duplicate key" in reason else "refused"
        session.execute(text("""
            INSERT INTO sync_conflict (school_id, op_id, kind, entity, entity_id, server, detail)
            VALUES (:s, :op, :kind, :entity, :id, CAST(:row AS jsonb), :detail)
            ON CONFLICT ON CONSTRAINT uq_sync_conflict_once DO UPDATE
            SET server = EXCLUDED.server, detail = EXCLUDED.detail, resolved_at = NULL"""),
            {"s": school_id, "op": f"pull:{row['id']}", "kind": kind, "entity": table,
             "id": row["id"], "row": json.dumps(row), "detail": reason})  # fmt: skip


def pull(sessions: sessionmaker[Session], link: ServerLink, *, school_id: uuid.UUID,
         device_id: uuid.UUID, job: Job | None = None) -> PullOutcome:  # fmt: skip
    """Bring the server's changes since the cursor."""
    outcome = PullOutcome()
    with sessions.begin() as s:
        state = _state(s, school_id)
    cursor = state["pull_cursor"]
    next_cursor = cursor

    def fetch(key: Key) -> dict:
        return link.call("rollbook_sync_pull", str(device_id), cursor, key[0], key[1],
                         PAGE_ROWS)  # fmt: skip

    def next_key(page: dict, _key: Key) -> Key | None:
        rows = page["rows"]
        return None if page["done"] or not rows else (rows[-1]["rank"], rows[-1]["id"])

    with link.snapshot(), contextlib.closing(read_ahead(fetch, next_key, (0, None))) as pages:
        for page in pages:
            if job is not None:
                job.check_cancel()
                job.progress(0, 0, f"Bringing the school's changes… {outcome.rows:,} rows")
            rows = page["rows"]
            next_cursor = page["next_cursor"]
            with sessions.begin() as s:
                written = _write_page(s, rows, school_id=school_id,
                                      push_floor=state["push_floor"])  # fmt: skip
            outcome.rows += len(rows)
            outcome.written += written.written
            outcome.refused += len(written.refused)
    if next_cursor != cursor:
        with sessions.begin() as s:
            s.execute(text("UPDATE sync_state SET pull_cursor = :c WHERE school_id = :s"),
                      {"c": next_cursor, "s": school_id})  # fmt: skip
    return outcome


def read_ahead(fetch: Callable[[Key], dict], next_key: Callable[[dict, Key], Key | None],
               first: Key, *, with_keys: bool = False) -> Iterator[Any]:  # fmt: skip
    """The server's pages from ``first`` on, each next one read while the caller writes
    the one it was given: reading the server and writing here take about as long, so a
    pull or a first copy takes the longer of the two instead of their sum. The next
    page's key comes from the page before (``next_key``; None: that was the last)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollbook-sync-read") as reader:
        key = first
        coming = reader.submit(fetch, first)
        while coming is not None:
            page = coming.result()
            following = next_key(page, key)
            coming = reader.submit(fetch, following) if following is not None else None
            # Left early (cancelled, a write failed): the read under way finishes before
            # the snapshot ends, and its page is dropped.
            yield (key, page) if with_keys else page
            key = following


def school_pages(link: ServerLink, device_id: uuid.UUID, first: Key = (1, None),
                 page_rows: int = PAGE_ROWS) -> Iterator[tuple[Key, dict]]:  # fmt: skip
    """The school's rows on the server, every synced table in turn (parents first), page
    by page from ``first``, each with its key; read ahead. Call inside ``link.snapshot()``
    so that every page is of one snapshot."""
    tables = len(SYNCED_TABLES)

    def fetch(key: Key) -> dict:
        rank, last = key
        return link.call("rollbook_sync_snapshot_page", str(device_id), SYNCED_TABLES[rank - 1],
                         last, page_rows)  # fmt: skip

    def next_key(page: dict, key: Key) -> Key | None:
        rows = page["rows"]
        if len(rows) == page_rows:
            return key[0], rows[-1]["id"]
        return (key[0] + 1, None) if key[0] < tables else None

    return read_ahead(fetch, next_key, first, with_keys=True)


@dataclass
class InitialOutcome:
    rows: int = 0
    resumed: bool = False
    done: bool = False


def initial_copy(sessions: sessionmaker[Session], link: ServerLink, *, school_id: uuid.UUID,
                 device_id: uuid.UUID, job: Job | None = None,
                 page_rows: int | None = None) -> InitialOutcome:  # fmt: skip
    """Copy the school from the server, table by table, resuming where a copy stopped."""
    page_rows = page_rows or PAGE_ROWS
    outcome = InitialOutcome()
    with sessions.begin() as s:
        state = _state(s, school_id)
    if state["initial_done"]:
        outcome.done = True
        return outcome
    start_table = state["initial_table"] or 0
    after = state["initial_after"]
    outcome.resumed = start_table > 0
    first = (max(start_table, 1), str(after) if start_table and after else None)
    with link.snapshot():
        total = sum(link.call("rollbook_sync_snapshot_count", str(device_id), t)
                    for t in SYNCED_TABLES)  # fmt: skip
        with contextlib.closing(school_pages(link, device_id, first, page_rows)) as pages:
            for key, page in pages:
                rank, last = key
                table = SYNCED_TABLES[rank - 1]
                if job is not None:
                    job.check_cancel()
                    job.progress(min(outcome.rows, total), total,
                                 f"Copying the school from the server… {table}")  # fmt: skip
                rows = page["rows"]
                with sessions.begin() as s:
                    _write_page(s, [{"entity": table, "id": r["id"], "row": r} for r in rows],
                                school_id=school_id, push_floor=state["push_floor"])  # fmt: skip
                    last = rows[-1]["id"] if rows else last
                    # The cursor is the oldest snapshot's: whatever changed since any page
                    # was read comes again with the next pull.
                    s.execute(text("""
                        UPDATE sync_state
                        SET initial_table = :rank, initial_after = :after,
                            pull_cursor = CASE WHEN pull_cursor IS NULL
                                                 OR CAST(pull_cursor AS numeric) > CAST(:c AS numeric)
                                               THEN CAST(:c AS text) ELSE pull_cursor END
                        WHERE school_id = :s"""),
                              {"rank": rank, "after": last, "c": page["cursor"],
                               "s": school_id})  # fmt: skip
                outcome.rows += len(rows)
    with sessions.begin() as s:
        s.execute(text("UPDATE sync_state SET initial_done = true, initial_table = NULL, "
                       "initial_after = NULL WHERE school_id = :s"), {"s": school_id})  # fmt: skip
    outcome.done = True
    return outcome
