"""Recorded runs: applying a change as one unit that always leaves a maintenance_run
behind, and reading the run history back.

``apply_recorded`` puts the work in a savepoint inside the caller's transaction. When
the work fails or is cancelled, the savepoint rolls every change back and the run is
still written — marked failed or cancelled, with the reason — so the history shows that
it was tried, and the database is exactly as before.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import Text, cast, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.models import AuditLog, ImportRejectedRow, MaintenanceRun
from app.domain.context import ServiceContext
from app.domain.enums import RunKind, RunStatus
from app.domain.errors import Cancelled, NotFound, RollbookError
from app.maintenance.plan import finish_run, start_run

T = TypeVar("T")
REPORT_CHANGES_LIMIT = 5_000  # the report lists this many changes; the count is complete


@dataclass(frozen=True)
class RecordedRun(Generic[T]):
    """What an apply ended as. ``value`` is the work's result when it succeeded."""

    run_id: uuid.UUID
    status: RunStatus
    value: T | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is RunStatus.SUCCEEDED


def apply_recorded(
    session: Session, ctx: ServiceContext, kind: RunKind, params: dict[str, Any],
    work: Callable[[uuid.UUID], tuple[T, dict[str, Any]]],
) -> RecordedRun[T]:  # fmt: skip
    """Run ``work(run_id) -> (value, summary)`` as one all-or-nothing unit and record it."""
    run_id = start_run(session, ctx, kind, dry_run=False, params=params)
    try:
        with session.begin_nested():
            session.connection()  # SAVEPOINT now: the work may use the raw driver connection
            value, summary = work(run_id)
    except Cancelled as exc:
        finish_run(session, run_id, RunStatus.CANCELLED, {"error": str(exc)})
        return RecordedRun(run_id, RunStatus.CANCELLED, error=str(exc))
    except (RollbookError, DBAPIError, psycopg.Error) as exc:
        message = failure_text(exc)
        finish_run(session, run_id, RunStatus.FAILED, {"error": message})
        return RecordedRun(run_id, RunStatus.FAILED, error=message)
    finish_run(session, run_id, RunStatus.SUCCEEDED, summary)
    return RecordedRun(run_id, RunStatus.SUCCEEDED, value=value)


def failure_text(exc: BaseException) -> str:
    """One readable line: the database's own message, not a driver dump."""
    original = getattr(exc, "orig", exc)
    diag = getattr(original, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    lines = str(original).splitlines()
    text = primary or (lines[0] if lines else type(exc).__name__)
    return f"The database refused the change: {text}. Nothing was changed."


# ---------------------------------------------------------------- history


@dataclass(frozen=True)
class RunRow:
    id: uuid.UUID
    kind: str
    dry_run: bool
    actor: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    params: dict[str, Any]
    summary: dict[str, Any]

    @property
    def headline(self) -> str:
        """The run's result in a few words, for lists."""
        s = self.summary
        if s.get("error"):
            return str(s["error"])
        if self.kind == RunKind.AUDIT:
            return (f"{s.get('coverage_percent', 0)}% covered — {s.get('missing', 0):,} missing, "
                    f"{s.get('inactive', 0):,} inactive of {s.get('pairs', 0):,} pairs")  # fmt: skip
        if self.kind == RunKind.BACKFILL:
            created, reactivated = (
                s.get("enrollments_created", 0),
                s.get("enrollments_reactivated", 0),
            )
            if self.dry_run:
                return f"would create {created:,} enrollments and reactivate {reactivated:,}"
            return f"created {created:,} enrollments, reactivated {reactivated:,}"
        if self.kind == RunKind.CONSISTENCY or (self.kind == RunKind.REPAIR and self.dry_run):
            found = s.get("total", 0)
            return f"{found:,} findings" if found else "consistent: nothing to repair"
        if self.kind == RunKind.REPAIR:
            return f"{s.get('applied', 0):,} repairs applied, {s.get('skipped', 0):,} skipped"
        if self.params.get("kind") == "legacy-groups":
            return (f"{s.get('rows', 0):,} rows: {s.get('members_created', 0):,} memberships "
                    f"created, {s.get('members_updated', 0):,} updated, "
                    f"{s.get('rejected', 0):,} rejected")  # fmt: skip
        counts = [f"{k.replace('_', ' ')} {v:,}" for k, v in s.items() if isinstance(v, int)]
        return ", ".join(counts[:5])


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    action: str
    entity: str
    entity_id: uuid.UUID | None
    changes: dict[str, Any]


@dataclass(frozen=True)
class RunReport:
    run: RunRow
    change_count: int
    changes: list[ChangeRow] = field(default_factory=list)
    rejected_count: int = 0


def _run_row(run: MaintenanceRun) -> RunRow:
    return RunRow(run.id, run.kind, run.dry_run, run.actor, run.status, run.started_at,
                  run.finished_at, dict(run.params or {}), dict(run.summary or {}))  # fmt: skip


def list_runs(
    session: Session, ctx: ServiceContext, *, kinds: tuple[RunKind, ...] = (), limit: int = 200
) -> list[RunRow]:
    """The most recent runs first."""
    query = select(MaintenanceRun).where(MaintenanceRun.school_id == ctx.school_id)
    if kinds:
        query = query.where(MaintenanceRun.kind.in_([k.value for k in kinds]))
    query = query.order_by(MaintenanceRun.started_at.desc(), MaintenanceRun.id).limit(limit)
    return [_run_row(run) for run in session.scalars(query)]


def run_report(session: Session, ctx: ServiceContext, run_id: uuid.UUID) -> RunReport:
    run = session.get(MaintenanceRun, run_id)
    if run is None or run.school_id != ctx.school_id:
        raise NotFound("That run is not in this school's history.")
    linked = AuditLog.run_id == run_id
    count = session.scalar(select(func.count()).select_from(AuditLog).where(linked)) or 0
    entries = session.scalars(
        select(AuditLog).where(linked).order_by(AuditLog.id).limit(REPORT_CHANGES_LIMIT)
    )
    rejected = session.scalar(
        select(func.count())
        .select_from(ImportRejectedRow)
        .where(ImportRejectedRow.run_id == run_id)
    )
    changes = [ChangeRow(e.at, e.action, e.entity, e.entity_id, dict(e.changes or {}))
               for e in entries]  # fmt: skip
    return RunReport(_run_row(run), count, changes, rejected or 0)


def find_run(session: Session, ctx: ServiceContext, prefix: str) -> uuid.UUID:
    """A run by its id or the id's first characters (as the CLI prints them)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 4:
        raise NotFound("Give at least the first 4 characters of the run id.")
    matches = list(session.scalars(
        select(MaintenanceRun.id)
        .where(MaintenanceRun.school_id == ctx.school_id,
               cast(MaintenanceRun.id, Text).like(f"{prefix}%"))
        .limit(2)
    ))  # fmt: skip
    if not matches:
        raise NotFound(f"No run id starts with {prefix!r}; `rollbook runs list` shows them.")
    if len(matches) > 1:
        raise NotFound(f"More than one run id starts with {prefix!r}; give more characters.")
    return matches[0]


def report_lines(report: RunReport) -> list[list[str]]:
    """The report as rows for a CSV file: the run, its summary, then every change."""
    run = report.run
    rows = [["run", str(run.id)], ["kind", run.kind], ["dry run", "yes" if run.dry_run else "no"],
            ["status", run.status], ["actor", run.actor],
            ["started", run.started_at.isoformat(timespec="seconds")],
            ["finished", run.finished_at.isoformat(timespec="seconds") if run.finished_at else ""]]  # fmt: skip
    rows += [[f"parameter {k}", flat_text(v)] for k, v in run.params.items()]
    for key, value in run.summary.items():
        if key == "lists":
            continue
        rows.append([key.replace("_", " "), flat_text(value)])
    for state, students in (run.summary.get("lists") or {}).items():
        rows.append([])
        rows.append([f"{state} pairs", "student no", "student", "course"])
        rows += [["", s.get("student_no", ""), s.get("name", ""), s.get("course", "")]
                 for s in students]  # fmt: skip
    if report.changes:
        rows.append([])
        rows.append(["changes", "action", "entity", "id", "before", "after"])
        rows += [[c.at.isoformat(timespec="seconds"), c.action, c.entity, str(c.entity_id or ""),
                  flat_text(c.changes.get("before")), flat_text(c.changes.get("after"))]
                 for c in report.changes]  # fmt: skip
        if report.change_count > len(report.changes):
            rows.append([f"… {report.change_count - len(report.changes):,} more changes"])
    return rows


def write_report_csv(path: Path, report: RunReport) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        csv.writer(handle).writerows(report_lines(report))


def flat_text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
