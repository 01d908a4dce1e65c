"""The shape every preview-then-apply run shares (imports, audit, backfill, repair):
a Plan of items with before/after values and a reason, plus a summary of counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.orm import Session

from app.db.models import MaintenanceRun
from app.domain.context import ServiceContext
from app.domain.enums import RunKind, RunStatus
from app.services.audit import to_json_value

MAX_LISTED_ITEMS = 10_000  # counts are always complete; the listed items stop here


@dataclass(frozen=True)
class PlanItem:
    kind: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str = ""


@dataclass(frozen=True)
class Plan:
    kind: RunKind
    summary: dict[str, int]
    items: list[PlanItem] = field(default_factory=list)
    items_truncated: bool = False
    params: dict[str, Any] = field(default_factory=dict)


def start_run(
    session: Session, ctx: ServiceContext, kind: RunKind, *, dry_run: bool, params: dict[str, Any]
) -> uuid.UUID:
    run_id = uuid.uuid4()
    session.execute(
        insert(MaintenanceRun).values(
            id=run_id,
            school_id=ctx.school_id,
            kind=kind.value,
            dry_run=dry_run,
            actor=ctx.actor,
            params=_jsonable(params),
            status=RunStatus.RUNNING.value,
        )  # fmt: skip
    )
    return run_id


def finish_run(
    session: Session, run_id: uuid.UUID, status: RunStatus, summary: dict[str, Any]
) -> None:
    session.execute(
        update(MaintenanceRun)
        .where(MaintenanceRun.id == run_id)
        .values(status=status.value, summary=_jsonable(summary), finished_at=func.now())
    )


def record_failed_run(
    sessions, ctx: ServiceContext, kind: RunKind, params: dict[str, Any], error: BaseException,
    status: RunStatus = RunStatus.FAILED,
) -> uuid.UUID:  # fmt: skip
    """In its own transaction: the failed run's own changes were rolled back, but the
    history must still show that it was tried and why it failed."""
    with sessions.begin() as session:
        run_id = start_run(session, ctx, kind, dry_run=False, params=params)
        finish_run(session, run_id, status, {"error": str(error) or type(error).__name__})
    return run_id


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return to_json_value(value)
