"""The append-only audit log: one entry per change, with before and after values."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.db.models import AuditLog
from app.domain.context import ServiceContext


def to_json_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Only the fields that changed, as {"before": {...}, "after": {...}}."""
    before = before or {}
    after = after or {}
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    return {
        "before": {k: to_json_value(before.get(k)) for k in keys if k in before},
        "after": {k: to_json_value(after.get(k)) for k in keys if k in after},
    }


def record(
    session: Session,
    ctx: ServiceContext,
    *,
    action: str,
    entity: str,
    entity_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.execute(
        insert(AuditLog).values(
            school_id=ctx.school_id,
            actor=ctx.actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            changes=diff(before, after),
            run_id=ctx.run_id,
        )
    )
