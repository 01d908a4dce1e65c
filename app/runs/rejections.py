"""Rejected input rows, kept with the run that read them: never dropped, always
exportable (File > the wizard's Save rejected rows…, ``--rejected-out``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ImportRejectedRow, MaintenanceRun
from app.domain.context import ServiceContext
from app.domain.errors import NotFound
from app.services.permissions import Permission, needs


@dataclass(frozen=True)
class Rejection:
    """One input row that was not used: where, which column, why, and the row as read."""

    line: int
    column: str
    message: str
    raw: dict[str, str]


def store_rejections(conn: psycopg.Connection, ctx: ServiceContext, run_id: uuid.UUID,
                     rejections: list[Rejection]) -> None:  # fmt: skip
    if not rejections:
        return
    with conn.cursor().copy(
        "COPY import_rejected_row (id, school_id, run_id, line_no, raw, errors) FROM STDIN"
    ) as copy:
        for rejection in rejections:
            copy.write_row((uuid.uuid4(), ctx.school_id, run_id, rejection.line,
                            Jsonb(rejection.raw),
                            Jsonb([{"column": rejection.column, "message": rejection.message}])))  # fmt: skip


@needs(Permission.VIEW)
def stored_rejections(
    session: Session, ctx: ServiceContext, run_id: uuid.UUID
) -> tuple[list[str], list[Rejection]]:
    """The rejected rows kept for a run: (the file's header, rejections)."""
    run = session.get(MaintenanceRun, run_id)
    if run is None or run.school_id != ctx.school_id:
        raise NotFound("That import run no longer exists.")
    header = list((run.params or {}).get("mapping", {}).keys())
    rows = session.scalars(
        select(ImportRejectedRow)
        .where(ImportRejectedRow.run_id == run_id)
        .order_by(ImportRejectedRow.line_no)
    )
    rejections = [
        Rejection(row.line_no, (row.errors or [{}])[0].get("column", ""),
                  "; ".join(e.get("message", "") for e in row.errors or []), dict(row.raw))
        for row in rows
    ]  # fmt: skip
    return header, rejections
