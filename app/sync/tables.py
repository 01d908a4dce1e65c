"""Which tables the offline sync keeps in step, and how their rows are written locally.

The server sends rows as JSON (``to_jsonb`` of the row, generated columns left out);
a page of one table is written here in one statement: insert what is new, update what
differs — but never a row this desktop has changed and not pushed yet (its change is
merged on the server at the next push, and the server's row comes back after that).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.capture import ORIGIN_SETTING

# Parents before children. app_user is left out: accounts and their passwords are not the
# sync's to copy. migrations/versions/0014_sync_engine.py keeps the same list for the
# server's functions (tests/test_sync_engine.py compares them).
SYNCED_TABLES: tuple[str, ...] = (
    "school", "course", "event", "number_sequence", "student", "class_session",
    "course_enrollment", "course_progress", "enrollment_request", "event_team",
    "legacy_group", "event_registration", "legacy_group_member", "session_attendance",
    "certificate", "event_attendance", "event_feedback",
)  # fmt: skip


def mark_as_pulled(session: Session) -> None:
    """What this transaction writes comes from the server: captured with origin ``sync``
    (never pushed back), with the server's row versions and times kept."""
    session.execute(text(f"SELECT set_config('{ORIGIN_SETTING}', 'sync', true)"))


def writable_columns(session: Session, table: str) -> list[str]:
    """The table's columns a row can be written with (not generated ones)."""
    cache: dict[str, list[str]] = session.info.setdefault("sync_columns", {})
    if table not in cache:
        cache[table] = list(session.execute(text(
            "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
            "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"
        ), {"t": f"public.{table}"}).scalars())  # fmt: skip
    return cache[table]


@dataclass
class WriteOutcome:
    written: int = 0
    # Rows the desktop could not take (a unique key its own unpushed row holds, a
    # parent it does not have): each kept whole for a person to decide.
    refused: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)


# The row ``t`` has a change made here and not pushed yet.
PENDING_HERE = """
    EXISTS (SELECT 1 FROM audit_log a
            WHERE a.entity_id = t.id AND a.origin = 'local' AND a.id > :floor
              AND a.txid::text NOT IN (SELECT p.txid FROM sync_pushed_tx p
                                       WHERE p.school_id = :school))"""


def write_rows(session: Session, table: str, rows: list[dict[str, Any]], *, school_id: uuid.UUID,
               push_floor: int) -> WriteOutcome:  # fmt: skip
    """Upsert the server's ``rows`` of ``table`` (one statement; row by row, each in a
    savepoint, only when that statement fails)."""
    outcome = WriteOutcome()
    if not rows:
        return outcome
    statement = _upsert(session, table)
    params = {"rows": json.dumps(rows), "floor": push_floor, "school": school_id}
    try:
        with session.begin_nested():
            outcome.written = session.execute(statement, params).rowcount
        return outcome
    except IntegrityError:
        pass
    for row in rows:
        try:
            with session.begin_nested():
                one = {**params, "rows": json.dumps([row])}
                outcome.written += session.execute(statement, one).rowcount
        except IntegrityError as exc:
            outcome.refused.append((table, row, _first_line(exc)))
    return outcome


def delete_rows(session: Session, table: str, ids: list[str], *, school_id: uuid.UUID,
                push_floor: int) -> WriteOutcome:  # fmt: skip
    """Rows the server no longer has (a hard delete there)."""
    outcome = WriteOutcome()
    for row_id in ids:
        try:
            with session.begin_nested():
                outcome.written += session.execute(text(
                    f"DELETE FROM {table} t WHERE t.id = :id AND NOT {PENDING_HERE}"
                ), {"id": row_id, "floor": push_floor, "school": school_id}).rowcount  # fmt: skip
        except IntegrityError as exc:
            outcome.refused.append((table, {"id": row_id}, _first_line(exc)))
    return outcome


def _upsert(session: Session, table: str):
    columns = writable_columns(session, table)
    names = ", ".join(f'"{c}"' for c in columns)
    settable = [c for c in columns if c != "id"]
    assign = ", ".join(f'"{c}"' for c in settable)
    excluded = ", ".join(f'EXCLUDED."{c}"' for c in settable)
    current = ", ".join(f't."{c}"' for c in settable)
    return text(
        f"INSERT INTO {table} AS t ({names}) "
        f"SELECT {names} FROM jsonb_populate_recordset(NULL::{table}, CAST(:rows AS jsonb)) "
        f"ON CONFLICT (id) DO UPDATE SET ({assign}) = ROW({excluded}) "
        f"WHERE ROW({current}) IS DISTINCT FROM ROW({excluded}) AND NOT {PENDING_HERE}"
    )


def _first_line(exc: Exception) -> str:
    message = str(getattr(exc, "orig", exc)).strip()
    return message.splitlines()[0] if message else type(exc).__name__
