"""The run history: every import, audit, backfill, repair and request decision, newest
first, and one run's report (its parameters, summary and every change it made, as the
database captured them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, func, literal_column, select, text
from sqlalchemy.orm import Session

from app.csvfile import write_csv
from app.db.models import AuditLog, ImportRejectedRow, MaintenanceRun
from app.domain.context import ServiceContext
from app.domain.enums import RunKind
from app.domain.errors import NotFound
from app.domain.wording import counted
from app.runs.recorder import RUN_LOCK_SPACE
from app.services.permissions import Permission, needs

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
    backup_file: str | None = None  # the backup taken just before it (undoes it)

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
                return (
                    f"would create {counted(created, 'enrollment')} and reactivate {reactivated:,}"
                )
            return f"created {counted(created, 'enrollment')}, reactivated {reactivated:,}"
        if self.kind == RunKind.CONSISTENCY or (self.kind == RunKind.REPAIR and self.dry_run):
            found = s.get("total", 0)
            return counted(found, "finding") if found else "consistent: nothing to repair"
        if self.kind == RunKind.REPAIR:
            return f"{s.get('applied', 0):,} repairs applied, {s.get('skipped', 0):,} skipped"
        if self.kind == RunKind.REQUESTS:
            return (f"{counted(s.get('decided', 0), 'request')} {s.get('decision', 'decided')}, "
                    f"{s.get('failed', 0):,} left pending")  # fmt: skip
        if self.params.get("kind") == "legacy-groups":
            return (f"{counted(s.get('rows', 0), 'row')}: "
                    f"{counted(s.get('members_created', 0), 'membership')} created, {s.get('members_updated', 0):,} updated, "
                    f"{s.get('rejected', 0):,} rejected")  # fmt: skip
        if self.kind == RunKind.IMPORT and "created" in s:
            parts = [f"{counted(s.get('created', 0), 'student')} created",
                     f"{s.get('updated', 0):,} updated",
                     f"{counted(s.get('enrollments_created', 0), 'enrollment')} created",
                     f"{counted(s.get('rejected', 0), 'row')} rejected"]  # fmt: skip
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


# Columns a report does not show as a change: ids named in the Student and Course
# columns instead, and bookkeeping the database keeps for itself.
_UNSHOWN = frozenset({"id", "school_id", "student_id", "course_id", "row_version",
                      "updated_at", "created_at", "search_vector", "sort_name"})  # fmt: skip


def change_text(values: dict[str, Any] | None) -> str:
    """A side of a change as a person reads it: "active: yes; ended on: 2026-12-01"."""

    def shown(value: Any) -> str:
        if value is True or value is False:
            return "yes" if value else "no"
        if isinstance(value, str) and len(value) > 19 and value[10:11] == "T":
            try:  # a moment, as captured: shown in local time to the minute
                return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M")
            except ValueError:
                pass
        return "—" if value is None else str(value)

    return "; ".join(f"{key.replace('_', ' ')}: {shown(value)}"
                     for key, value in (values or {}).items() if key not in _UNSHOWN)  # fmt: skip


@dataclass(frozen=True)
class ChangeRow:
    at: datetime
    action: str
    entity: str
    entity_id: uuid.UUID | None
    changes: dict[str, Any]
    student: str = ""  # "S0001 Ana Peña": whose row it is, where it is a student's
    course: str = ""  # the course's name, where the row belongs to a course

    @property
    def what(self) -> str:
        return describe_change(self.entity, self.action, self.changes)

    @property
    def before(self) -> str:
        return change_text(self.changes.get("before"))

    @property
    def after(self) -> str:
        after = self.changes.get("after") or {}
        if self.action == "insert":  # a new row: its empty fields say nothing
            after = {key: value for key, value in after.items() if value is not None}
        return change_text(after)


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
    MaintenanceRun.params, MaintenanceRun.summary, MaintenanceRun.backup_file,
)  # fmt: skip


def _run_row(values) -> RunRow:
    (run_id, kind, dry_run, actor, status, started, finished, params, summary, backup) = values
    return RunRow(run_id, kind, dry_run, actor, status, started, finished, dict(params or {}),
                  dict(summary or {}), backup)  # fmt: skip


@needs(Permission.VIEW)
def list_runs(
    session: Session, ctx: ServiceContext, *, kinds: tuple[RunKind, ...] = (), limit: int = 200
) -> list[RunRow]:
    """The most recent runs first."""
    query = select(*_RUN_COLUMNS).where(MaintenanceRun.school_id == ctx.school_id)
    if kinds:
        query = query.where(MaintenanceRun.kind.in_([k.value for k in kinds]))
    query = query.order_by(MaintenanceRun.started_at.desc(), MaintenanceRun.id).limit(limit)
    return [_run_row(values) for values in session.execute(query)]


@needs(Permission.VIEW)
def get_run(session: Session, ctx: ServiceContext, run_id: uuid.UUID) -> RunRow:
    values = session.execute(
        select(*_RUN_COLUMNS).where(
            MaintenanceRun.id == run_id, MaintenanceRun.school_id == ctx.school_id
        )
    ).first()
    if values is None:
        raise NotFound("That run is not in this school's history.")
    return _run_row(values)


@needs(Permission.VIEW)
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
    return RunReport(run, count, _named(session, changes), rejected or 0)


# Tables whose rows belong to a student and a course: (student column, course expression).
_OWNED = {
    "course_enrollment": "SELECT id, student_id, course_id FROM course_enrollment",
    "course_progress": "SELECT id, student_id, course_id FROM course_progress",
    "enrollment_request": "SELECT id, student_id, course_id FROM enrollment_request",
    "session_attendance": "SELECT a.id, a.student_id, cs.course_id FROM session_attendance a "
                          "JOIN class_session cs ON cs.id = a.session_id",
}  # fmt: skip


def _named(session: Session, changes: list[ChangeRow]) -> list[ChangeRow]:
    """The changes with the student (number and name) and the course they concern,
    read from the rows (or, for a deleted row, from what the change captured)."""
    owners: dict[uuid.UUID, tuple[Any, Any]] = {}
    for entity, rows_sql in _OWNED.items():
        ids = [c.entity_id for c in changes if c.entity == entity and c.entity_id]
        if ids:
            found = session.execute(text(f"SELECT * FROM ({rows_sql}) r WHERE r.id = ANY(:ids)"),
                                    {"ids": ids})  # fmt: skip
            owners.update({row_id: (student, course) for row_id, student, course in found})

    def owner(change: ChangeRow) -> tuple[Any, Any]:
        if change.entity == "student":
            return change.entity_id, None
        if change.entity == "course":
            return None, change.entity_id
        captured = {**(change.changes.get("before") or {}), **(change.changes.get("after") or {})}
        student, course = owners.get(change.entity_id, (None, None))  # type: ignore[arg-type]
        return student or captured.get("student_id"), course or captured.get("course_id")

    pairs = [owner(c) for c in changes]
    student_ids = list({str(s) for s, _ in pairs if s})
    course_ids = list({str(c) for _, c in pairs if c})
    students = dict(session.execute(text(
        "SELECT id::text, student_no || ' ' || btrim(first_name || ' ' || last_name) "
        "FROM student WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": student_ids}).all()
    ) if student_ids else {}  # fmt: skip
    courses = dict(session.execute(text(
        "SELECT id::text, name FROM course WHERE id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": course_ids}).all()) if course_ids else {}  # fmt: skip
    return [replace(c, student=students.get(str(s), "") if s else "",
                    course=courses.get(str(k), "") if k else "")
            for c, (s, k) in zip(changes, pairs, strict=True)]  # fmt: skip


@needs(Permission.VIEW)
def find_run(session: Session, ctx: ServiceContext, prefix: str) -> uuid.UUID:
    """A run by its id or the id's first characters (as the CLI prints them)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 4:
        raise NotFound("Give at least the first 4 characters of the run id.")
    matches = list(session.scalars(
        select(MaintenanceRun.id)
        .where(MaintenanceRun.school_id == ctx.school_id,
               cast(MaintenanceRun.id, Text).startswith(prefix, autoescape=True))
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
    if run.backup_file:  # `rollbook backup restore` of it undoes the run
        rows.append(["backup before", run.backup_file])
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
        rows.append(["changes", "what", "student", "course", "before", "after", "table",
                     "row id"])  # fmt: skip
        rows += [[c.at.isoformat(timespec="seconds"), c.what, c.student, c.course, c.before,
                  c.after, c.entity, str(c.entity_id or "")]
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
