"""The run history: every import, audit, backfill, repair and request decision, newest
first, and one run's report (its parameters, summary and every change it made, as the
database captured them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, func, literal_column, select
from sqlalchemy.orm import Session

from app.csvfile import write_csv
from app.db.models import AuditLog, ImportRejectedRow, MaintenanceRun
from app.domain.context import ServiceContext
from app.domain.enums import RunKind
from app.domain.errors import NotFound
from app.runs.recorder import RUN_LOCK_SPACE

REPORT_CHANGES_LIMIT = 5_000  # the report lists this many changes; the count is complete
INTERRUPTED = "interrupted"  # shown, never stored: see _status below


@dataclass(frozen=True)
class RunRow:
    id: uuid.UUID
    kind: str
    dry_run: bool
    actor: str
    status: str  # a RunStatus value, or "interrupted"
    started_at: datetime
    finished_at: datetime | None
    params: dict[str, Any]
    summary: dict[str, Any]

    @property
    def headline(self) -> str:
        """The run's result in a few words, for lists."""
        s = self.summary
        if self.status == INTERRUPTED:
            return "Interrupted before it finished (its program stopped); nothing was changed."
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
        if self.kind == RunKind.REQUESTS:
            return (f"{s.get('decided', 0):,} requests {s.get('decision', 'decided')}, "
                    f"{s.get('failed', 0):,} left pending")  # fmt: skip
        if self.params.get("kind") == "legacy-groups":
            return (f"{s.get('rows', 0):,} rows: {s.get('members_created', 0):,} memberships "
                    f"created, {s.get('members_updated', 0):,} updated, "
                    f"{s.get('rejected', 0):,} rejected")  # fmt: skip
        if self.kind == RunKind.IMPORT and "created" in s:
            parts = [f"{s.get('created', 0):,} students created", f"{s.get('updated', 0):,} updated",
                     f"{s.get('enrollments_created', 0):,} enrollments created",
                     f"{s.get('rejected', 0):,} rows rejected"]  # fmt: skip
            if s.get("enrollments_skipped"):
                parts.append(f"{s['enrollments_skipped']:,} not enrolled (not active)")
            if s.get("stale"):
                parts.append(f"{s['stale']:,} left alone (changed since the preview)")
            return ", ".join(parts)
        counts = [f"{k.replace('_', ' ')} {v:,}" for k, v in s.items() if isinstance(v, int)]
        return ", ".join(counts[:5])


# What a captured change did, in words, by table and by the columns it changed. Entries
# written before the database captured changes carry their own action names.
_ENTITY_WORDS = {
    "student": "student", "course": "course", "course_enrollment": "enrollment",
    "course_progress": "progress record", "enrollment_request": "request",
    "legacy_group": "legacy group", "legacy_group_member": "legacy membership",
    "class_session": "session", "session_attendance": "attendance mark", "event": "event",
    "event_team": "team", "event_registration": "registration",
    "event_attendance": "event check-in", "event_feedback": "feedback",
    "certificate": "certificate", "number_sequence": "number sequence",
    "app_user": "account", "school": "school",
}  # fmt: skip


def describe_change(entity: str, action: str, changes: dict[str, Any]) -> str:
    """ "enrolled", "re-enrolled", "progress record restored", "student changed" …"""
    noun = _ENTITY_WORDS.get(entity, entity.replace("_", " "))
    before, after = changes.get("before") or {}, changes.get("after") or {}
    if entity == "course_enrollment":
        if action == "insert":
            return "enrolled"
        if after.get("active") is True and before.get("active") is False:
            return "re-enrolled"
        if after.get("active") is False and before.get("active") is True:
            return "enrollment ended"
    if entity == "enrollment_request" and "status" in after and action == "update":
        return f"request {after['status']}"
    if entity == "certificate" and after.get("revocation_flagged_at"):
        return "certificate flagged for revocation"
    if action == "update" and "deleted_at" in after and after["deleted_at"] is None:
        return f"{noun} restored"
    if action == "tombstone":
        return f"{noun} set aside" if entity in ("course_progress", "session_attendance",
                                                "event_attendance") else f"{noun} removed"  # fmt: skip
    words = {"insert": "added", "update": "changed", "delete": "deleted"}
    if action in words:
        return f"{noun} {words[action]}"
    return action.replace("_", " ")  # an entry from before the database captured changes


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    action: str
    entity: str
    entity_id: uuid.UUID | None
    changes: dict[str, Any]

    @property
    def what(self) -> str:
        return describe_change(self.entity, self.action, self.changes)


@dataclass(frozen=True)
class RunReport:
    run: RunRow
    change_count: int
    changes: list[ChangeRow] = field(default_factory=list)
    rejected_count: int = 0


# A run still marked running whose transaction is gone was interrupted: its program
# died, or its transaction was rolled back. While it lives, its transaction holds the
# advisory lock (RUN_LOCK_SPACE, hashtext(id)) that app.runs.recorder takes.
_STATUS = literal_column(f"""CASE WHEN maintenance_run.status = 'running' AND NOT EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.classid = {RUN_LOCK_SPACE}::oid
      AND l.objid = hashtext(maintenance_run.id::text)::oid)
  THEN '{INTERRUPTED}' ELSE maintenance_run.status END""")

_RUN_COLUMNS = (
    MaintenanceRun.id, MaintenanceRun.kind, MaintenanceRun.dry_run, MaintenanceRun.actor,
    _STATUS.label("status"), MaintenanceRun.started_at, MaintenanceRun.finished_at,
    MaintenanceRun.params, MaintenanceRun.summary,
)  # fmt: skip


def _run_row(values) -> RunRow:
    (run_id, kind, dry_run, actor, status, started, finished, params, summary) = values
    return RunRow(run_id, kind, dry_run, actor, status, started, finished, dict(params or {}),
                  dict(summary or {}))  # fmt: skip


def list_runs(
    session: Session, ctx: ServiceContext, *, kinds: tuple[RunKind, ...] = (), limit: int = 200
) -> list[RunRow]:
    """The most recent runs first."""
    query = select(*_RUN_COLUMNS).where(MaintenanceRun.school_id == ctx.school_id)
    if kinds:
        query = query.where(MaintenanceRun.kind.in_([k.value for k in kinds]))
    query = query.order_by(MaintenanceRun.started_at.desc(), MaintenanceRun.id).limit(limit)
    return [_run_row(values) for values in session.execute(query)]


def get_run(session: Session, ctx: ServiceContext, run_id: uuid.UUID) -> RunRow:
    values = session.execute(
        select(*_RUN_COLUMNS).where(
            MaintenanceRun.id == run_id, MaintenanceRun.school_id == ctx.school_id
        )
    ).first()
    if values is None:
        raise NotFound("That run is not in this school's history.")
    return _run_row(values)


def run_report(session: Session, ctx: ServiceContext, run_id: uuid.UUID) -> RunReport:
    run = get_run(session, ctx, run_id)
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
    return RunReport(run, count, changes, rejected or 0)


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
        rows.append(["changes", "what", "entity", "id", "before", "after"])
        rows += [[c.at.isoformat(timespec="seconds"), c.what, c.entity, str(c.entity_id or ""),
                  flat_text(c.changes.get("before")), flat_text(c.changes.get("after"))]
                 for c in report.changes]  # fmt: skip
        if report.change_count > len(report.changes):
            rows.append([f"… {report.change_count - len(report.changes):,} more changes"])
    return rows


def write_report_csv(path: Path, report: RunReport) -> int:
    return write_csv(path, report_lines(report))


def flat_text(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)
