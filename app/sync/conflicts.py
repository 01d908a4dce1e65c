"""Where a desktop stands with the school server, and the conflicts waiting for a person."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.sync.engine import count_open_and_pending
from app.sync.numbers import reserved_left


@dataclass(frozen=True)
class SyncStatus:
    connected: bool  # this desktop has synced with a server at least once (or started to)
    device_name: str | None = None
    server: str | None = None
    initial_done: bool = False
    last_sync_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    next_retry_at: datetime | None = None
    pending_operations: int = 0
    open_conflicts: int = 0
    # Registration and certificate numbers reserved here and not issued yet, by sequence.
    numbers_left: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ConflictRow:
    id: uuid.UUID
    kind: str
    entity: str
    entity_id: uuid.UUID
    column: str
    base: Any
    local: Any
    server: Any
    existing_id: uuid.UUID | None
    detail: str | None
    created_at: datetime
    from_pull: bool = False  # a server row this desktop could not take

    @property
    def summary(self) -> str:
        if self.kind == "column":
            return (f"{self.entity} {self.column}: base {self.base!r}, here {self.local!r}, "
                    f"server {self.server!r}")  # fmt: skip
        if self.kind == "duplicate_key":
            return (f"{self.entity}: the same key already exists on the server"
                    f"{f' ({self.detail})' if self.detail else ''}")  # fmt: skip
        if self.kind == "edit_delete":
            return f"{self.entity}: changed here, deleted on the server"
        if self.kind == "delete_edit":
            return f"{self.entity}: deleted here, changed on the server"
        if self.kind == "missing_row":
            return f"{self.entity}: changed here, but the server does not have the row"
        return f"{self.entity}: the server refused the change ({self.detail})"


def sync_status(session: Session, school_id: uuid.UUID) -> SyncStatus:
    state = session.execute(text("SELECT * FROM sync_state WHERE school_id = :s"),
                            {"s": school_id}).mappings().first()  # fmt: skip
    if state is None:
        return SyncStatus(connected=False)
    open_conflicts, pending = count_open_and_pending(session, school_id)
    return SyncStatus(
        connected=True, device_name=state["device_name"], server=state["server"],
        initial_done=state["initial_done"], last_sync_at=state["last_sync_at"],
        last_attempt_at=state["last_attempt_at"], last_error=state["last_error"],
        failures=state["failures"], next_retry_at=state["next_retry_at"],
        pending_operations=pending, open_conflicts=open_conflicts,
        numbers_left={r.name: r.left for r in reserved_left(session, school_id)},
    )  # fmt: skip


def open_conflicts(session: Session, school_id: uuid.UUID) -> list[ConflictRow]:
    rows = session.execute(
        text("""
        SELECT id, kind, entity, entity_id, column_name, base, local, server, existing_id,
               detail, created_at, op_id LIKE 'pull:%' AS from_pull
        FROM sync_conflict WHERE school_id = :s AND resolved_at IS NULL
        ORDER BY created_at, entity, entity_id, column_name"""),
        {"s": school_id},
    ).all()
    return [ConflictRow(*row) for row in rows]
