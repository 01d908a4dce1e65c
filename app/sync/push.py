"""Pushing local changes: the ones the change capture recorded, one server transaction
per local transaction, in the order they were made.

An operation is one audit entry (one row's insert, update, tombstone or delete) with the
id ``<device>:<entry id>``: the server keeps every operation id with its answer, so a
push retried after a lost answer gets the same answer and applies nothing twice. What
the server could not apply comes back as conflicts, recorded here for a person.

Which entries are still to push: those above ``push_floor`` whose transaction is not in
``sync_pushed_tx``. An entry's id is not its commit order (a transaction still open may
hold lower ids than one that committed), so the floor only moves up to what every
transaction visible when the push began had written, and only when none was in progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import Job
from app.sync.link import ServerLink
from app.sync.tables import SYNCED_TABLES

_GENERATED = ("search_vector", "sort_name", "duration_minutes")


@dataclass
class PushOutcome:
    transactions: int = 0
    operations: int = 0
    applied: int = 0
    unchanged: int = 0
    conflicts: int = 0  # operations answered with at least one conflict
    new_conflict_rows: int = 0


@dataclass
class LocalTransaction:
    txid: str
    entries: list[dict[str, Any]] = field(default_factory=list)


def pending_transactions(session: Session, school_id: uuid.UUID, push_floor: int
                         ) -> tuple[list[LocalTransaction], int | None]:  # fmt: skip
    """The local transactions still to push, oldest first, and the floor the push may
    move to once all of them are pushed (None: it must stay)."""
    rows = session.execute(text("""
        SELECT a.id, a.txid::text AS txid, a.entity, a.entity_id, a.action, a.changes,
               a.actor, a.at
        FROM audit_log a
        WHERE a.school_id = :school AND a.origin = 'local' AND a.id > :floor
          AND a.entity = ANY (:tables)
          AND a.txid::text NOT IN (SELECT txid FROM sync_pushed_tx WHERE school_id = :school)
          -- A row removed since as the server has it (a decided conflict, a duplicate
          -- merged away): what was done to it before is not sent; what a decision wrote
          -- again after is.
          AND NOT EXISTS (SELECT 1 FROM audit_log gone
                          WHERE gone.entity = a.entity AND gone.entity_id = a.entity_id
                            AND gone.id > a.id AND gone.origin = 'sync'
                            AND gone.action = 'delete')
        ORDER BY a.id"""), {"school": school_id, "floor": push_floor,
                            "tables": list(SYNCED_TABLES)}).mappings().all()  # fmt: skip
    # Ids are handed out before commit: while any transaction is open, one of them may
    # still commit entries below the highest id seen now.
    in_progress, highest = session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_snapshot_xip(pg_current_snapshot())), "
        "(SELECT max(id) FROM audit_log)"
    )).one()  # fmt: skip
    groups: dict[str, LocalTransaction] = {}
    for row in rows:
        groups.setdefault(row["txid"], LocalTransaction(row["txid"])).entries.append(dict(row))
    next_floor = None if in_progress else (highest or push_floor)
    return list(groups.values()), next_floor


def operations(session: Session, device_id: uuid.UUID, tx: LocalTransaction) -> list[dict]:
    """The push's operations for one local transaction."""
    # A tombstone is checked on the server against the row as this desktop has it now:
    # anything the server holds differently was changed there since.
    current = _current_rows(session, [e for e in tx.entries if e["action"] == "tombstone"])
    ops: list[dict[str, Any]] = []
    for entry in tx.entries:
        changes = entry["changes"] or {}
        op: dict[str, Any] = {
            "op_id": f"{device_id}:{entry['id']}",
            "entity": entry["entity"],
            "id": str(entry["entity_id"]),
            "action": entry["action"],
            "actor": entry["actor"],
        }
        if entry["action"] == "insert":
            op["row"] = {**changes.get("after", {}), "id": str(entry["entity_id"]),
                         "created_at": entry["at"].isoformat()}  # fmt: skip
        elif entry["action"] == "delete":
            op["before"] = changes.get("before", {})
            op["local_row"] = changes.get("before", {})
        else:
            op["before"] = changes.get("before", {})
            op["after"] = changes.get("after", {})
            if entry["action"] == "tombstone":
                op["local_row"] = current.get(str(entry["entity_id"]), {})
        ops.append(op)
    return ops


def _current_rows(session: Session, entries: list[dict]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    by_table: dict[str, list] = {}
    for entry in entries:
        by_table.setdefault(entry["entity"], []).append(entry["entity_id"])
    for table, ids in by_table.items():
        drop = " - ".join(f"'{c}'" for c in _GENERATED)
        for row_id, row in session.execute(text(
            f"SELECT t.id::text, to_jsonb(t) - {drop} FROM {table} t WHERE t.id = ANY (:ids)"
        ), {"ids": ids}):  # fmt: skip
            found[row_id] = row
    return found


def conflict_rows(op: dict, result: dict, school_id: uuid.UUID) -> Iterator[dict[str, Any]]:
    """The sync_conflict rows for one operation's answer."""
    for c in result.get("conflicts") or []:
        yield {
            "school": school_id, "op": op["op_id"], "kind": c["kind"], "entity": op["entity"],
            "entity_id": op["id"], "column": c.get("column") or "",
            "base": c.get("base"), "local": c.get("local"), "server": c.get("server"),
            "existing": c.get("existing_id"), "detail": c.get("message"),
        }  # fmt: skip


RECORD_CONFLICT = text("""
    INSERT INTO sync_conflict (school_id, op_id, kind, entity, entity_id, column_name, base,
                               local, server, existing_id, detail)
    VALUES (:school, :op, :kind, :entity, :entity_id, :column, CAST(:base AS jsonb),
            CAST(:local AS jsonb), CAST(:server AS jsonb), :existing, :detail)
    ON CONFLICT ON CONSTRAINT uq_sync_conflict_once DO NOTHING""")


def push(sessions: sessionmaker[Session], link: ServerLink, *, school_id: uuid.UUID,
         device_id: uuid.UUID, revision: str, job: Job | None = None) -> PushOutcome:  # fmt: skip
    """Push everything pending, one local transaction at a time."""
    import json

    outcome = PushOutcome()
    with sessions.begin() as s:
        floor = s.execute(text("SELECT push_floor FROM sync_state WHERE school_id = :s"),
                          {"s": school_id}).scalar_one()  # fmt: skip
        pending, next_floor = pending_transactions(s, school_id, floor)
        batches = [(tx, operations(s, device_id, tx)) for tx in pending]
    total = sum(len(ops) for _tx, ops in batches)
    for tx, ops in batches:
        if job is not None:
            job.check_cancel()
            job.progress(outcome.operations, total, f"Pushing changes… {outcome.operations:,} "
                         f"of {total:,}")  # fmt: skip
        results = link.call("rollbook_sync_push", str(device_id), revision, ops) or []
        by_id = {r["op_id"]: r for r in results}
        with sessions.begin() as s:
            for op in ops:
                result = by_id.get(op["op_id"], {})
                status = result.get("status")
                if status == "applied":
                    outcome.applied += 1
                elif status == "conflict":
                    outcome.conflicts += 1
                else:
                    outcome.unchanged += 1
                for row in conflict_rows(op, result, school_id):
                    params = {**row, **{k: None if row[k] is None else json.dumps(row[k])
                                        for k in ("base", "local", "server")}}  # fmt: skip
                    outcome.new_conflict_rows += s.execute(RECORD_CONFLICT, params).rowcount
            s.execute(text("INSERT INTO sync_pushed_tx (school_id, txid) VALUES (:s, :t) "
                           "ON CONFLICT DO NOTHING"), {"s": school_id, "t": tx.txid})  # fmt: skip
        outcome.transactions += 1
        outcome.operations += len(ops)
    if next_floor is not None and next_floor > floor:
        with sessions.begin() as s:
            s.execute(text("UPDATE sync_state SET push_floor = :f WHERE school_id = :s"),
                      {"f": next_floor, "s": school_id})  # fmt: skip
            s.execute(text("DELETE FROM sync_pushed_tx WHERE school_id = :s"), {"s": school_id})
    return outcome
