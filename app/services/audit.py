"""Reading the audit log: who changed what, when, field by field.

The database writes the log (app.db.capture); this reads it for the audit-log page and
``rollbook audit log``, filtered by time, person, kind of row, student and run. "A
student" means the student's own row and every row that is theirs: enrollments,
progress, requests, attendance marks, event registrations and what hangs off those
(event attendance, feedback, certificates), also ones deleted since (found by the
student id their deletion recorded).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, literal, or_, select, text, union_all
from sqlalchemy.orm import Session

from app.db.models import (
    AuditLog,
    Certificate,
    Course,
    CourseEnrollment,
    CourseProgress,
    EnrollmentRequest,
    EventAttendance,
    EventFeedback,
    EventRegistration,
    LegacyGroupMember,
    SessionAttendance,
    Student,
)
from app.domain.context import ServiceContext
from app.domain.rows import Page
from app.services.paging import STREAM_BATCH, count_rows, fetch_page, order_by, stream_batches
from app.services.permissions import Permission, needs

AuditSort = Literal["at", "actor", "entity"]

ACTIONS = {"insert": "added", "update": "changed", "tombstone": "deleted", "delete": "removed"}


@dataclass(frozen=True)
class AuditQuery:
    date_from: date | None = None
    date_to: date | None = None  # inclusive: the whole day
    actor: str | None = None
    entity: str | None = None
    student_id: uuid.UUID | None = None
    run_id: uuid.UUID | None = None
    sort: AuditSort = "at"
    descending: bool = True  # the latest first


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str  # added | changed | deleted | removed
    entity: str
    entity_id: uuid.UUID | None
    row: str  # "student S100 Anne Leigh", "course Biology", "session attendance 3f2a…"
    fields: tuple[FieldChange, ...]
    run_id: uuid.UUID | None
    origin: str  # local | sync

    @property
    def shown_fields(self) -> list[str]:
        """Each field as a person reads it: "first name: Ann → Anna" for a change, the
        value alone for a row added or removed. A deletion's own time is the "deleted"
        already said."""
        return self._lines(self.fields)

    def _lines(self, fields: tuple[FieldChange, ...]) -> list[str]:
        lines = []
        for c in fields:
            if self.action in ("changed", "deleted"):
                if c.field != "deleted_at":
                    lines.append(f"{words(c.field)}: {shown(c.before)} → {shown(c.after)}")
            else:
                value = c.after if self.action == "added" else c.before
                lines.append(f"{words(c.field)}: {shown(value)}")
        return lines

    @property
    def summary(self) -> str:
        """The changes in one line: "class name: 7A → 7B; e-mail: (empty) → a@b.org".
        References to other rows are left to the row's name."""
        return "; ".join(self._lines(tuple(c for c in self.fields
                                           if not c.field.endswith("_id"))))  # fmt: skip


def words(field: str) -> str:
    return field.replace("_", " ")


def shown(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _fields(action: str, changes: dict | None) -> tuple[FieldChange, ...]:
    changes = changes or {}
    before, after = changes.get("before") or {}, changes.get("after") or {}
    if action == "update" or action == "tombstone":
        return tuple(FieldChange(k, before.get(k), after.get(k)) for k in after)
    if action == "insert":
        return tuple(FieldChange(k, None, v) for k, v in after.items())
    return tuple(FieldChange(k, v, None) for k, v in before.items())


def _label(entity: str, entity_id: uuid.UUID | None, student: str | None,
           course: str | None, changes: dict | None) -> str:  # fmt: skip
    if student:
        return f"student {student}"
    if course:
        return f"course {course}"
    values = {**((changes or {}).get("before") or {}), **((changes or {}).get("after") or {})}
    if entity == "student" and values.get("student_no"):
        return f"student {values['student_no']} {values.get('first_name', '')} " \
               f"{values.get('last_name', '')}".rstrip()  # fmt: skip
    for key in ("name", "registration_no", "certificate_no", "code"):
        if values.get(key):
            return f"{words(entity)} {values[key]}"
    return f"{words(entity)} {str(entity_id)[:8]}" if entity_id else words(entity)


def _student_rows(student_id: uuid.UUID) -> Select:
    """The ids of every row that is the student's (current rows)."""
    registrations = select(EventRegistration.id).where(EventRegistration.student_id == student_id)
    enrollments = select(CourseEnrollment.id).where(CourseEnrollment.student_id == student_id)
    return union_all(
        select(literal(student_id).label("id")),
        enrollments,
        select(CourseProgress.id).where(CourseProgress.student_id == student_id),
        select(EnrollmentRequest.id).where(EnrollmentRequest.student_id == student_id),
        select(LegacyGroupMember.id).where(LegacyGroupMember.student_id == student_id),
        registrations,
        select(SessionAttendance.id).where(SessionAttendance.enrollment_id.in_(enrollments)),
        select(EventAttendance.id).where(EventAttendance.registration_id.in_(registrations)),
        select(EventFeedback.id).where(EventFeedback.registration_id.in_(registrations)),
        select(Certificate.id).where(Certificate.registration_id.in_(registrations)),
    )  # fmt: skip


def _filtered(ctx: ServiceContext, query: AuditQuery) -> Select:
    s, c = Student.__table__.alias("s"), Course.__table__.alias("c")
    stmt = (
        select(AuditLog.id, AuditLog.at, AuditLog.actor, AuditLog.action, AuditLog.entity,
               AuditLog.entity_id, AuditLog.changes, AuditLog.run_id, AuditLog.origin,
               (s.c.student_no + " " + s.c.first_name + " " + s.c.last_name).label("student"),
               c.c.name.label("course"))
        .outerjoin(s, and_(AuditLog.entity == "student", s.c.id == AuditLog.entity_id))
        .outerjoin(c, and_(AuditLog.entity == "course", c.c.id == AuditLog.entity_id))
        .where(AuditLog.school_id == ctx.school_id)
    )  # fmt: skip
    if query.date_from is not None:
        stmt = stmt.where(AuditLog.at >= datetime.combine(query.date_from, time()).astimezone())
    if query.date_to is not None:
        end = datetime.combine(query.date_to + timedelta(days=1), time()).astimezone()
        stmt = stmt.where(AuditLog.at < end)
    if query.actor:
        stmt = stmt.where(AuditLog.actor == query.actor)
    if query.entity:
        stmt = stmt.where(AuditLog.entity == query.entity)
    if query.run_id is not None:
        stmt = stmt.where(AuditLog.run_id == query.run_id)
    if query.student_id is not None:
        removed = AuditLog.changes["before"]["student_id"].astext == str(query.student_id)
        stmt = stmt.where(or_(AuditLog.entity_id.in_(_student_rows(query.student_id)),
                              and_(AuditLog.action == "delete", removed)))  # fmt: skip
    return stmt


def _sorted(ctx: ServiceContext, query: AuditQuery) -> Select:
    return order_by(_filtered(ctx, query), query.sort, query.descending,
                    {"at": [AuditLog.at], "actor": [AuditLog.actor, AuditLog.at],
                     "entity": [AuditLog.entity, AuditLog.at]}, AuditLog.id)  # fmt: skip


def _row(r: Any, names: dict[uuid.UUID, str] | None = None) -> AuditRow:
    label = (names or {}).get(r.entity_id) or _label(r.entity, r.entity_id, r.student, r.course,
                                                     r.changes)  # fmt: skip
    return AuditRow(r.id, r.at, r.actor, ACTIONS.get(r.action, r.action), r.entity, r.entity_id,
                    label, _fields(r.action, r.changes), r.run_id, r.origin)  # fmt: skip


# Rows named by whose and of what they are: "course enrollment: S1 Ann Lee in Biology".
_OWNED = """
SELECT t.id, s.student_no || ' ' || s.first_name || ' ' || s.last_name, {what}
FROM {table} t JOIN student s ON s.id = t.student_id {join}
WHERE t.id = ANY (:ids)"""
_OWNERS = {
    "course_enrollment": ("c.name", "LEFT JOIN course c ON c.id = t.course_id"),
    "course_progress": ("c.name", "LEFT JOIN course c ON c.id = t.course_id"),
    "enrollment_request": ("c.name", "LEFT JOIN course c ON c.id = t.course_id"),
    "event_registration": ("e.name", "LEFT JOIN event e ON e.id = t.event_id"),
}
_MARKS = """
SELECT m.id, s.student_no || ' ' || s.first_name || ' ' || s.last_name,
       c.name || ' on ' || to_char(cs.session_date, 'YYYY-MM-DD')
FROM session_attendance m
JOIN course_enrollment ce ON ce.id = m.enrollment_id JOIN student s ON s.id = ce.student_id
JOIN class_session cs ON cs.id = m.session_id JOIN course c ON c.id = cs.course_id
WHERE m.id = ANY (:ids)"""


def _names(session: Session, rows: list[Any]) -> dict[uuid.UUID, str]:
    """Names of the page's rows that belong to a student, a query per kind of row."""
    wanted: dict[str, list[uuid.UUID]] = {}
    for r in rows:
        if r.entity in _OWNERS or r.entity == "session_attendance":
            wanted.setdefault(r.entity, []).append(r.entity_id)
    names: dict[uuid.UUID, str] = {}
    for entity, ids in wanted.items():
        if entity == "session_attendance":
            statement = _MARKS
        else:
            what, join = _OWNERS[entity]
            statement = _OWNED.format(what=what, table=entity, join=join)
        for row_id, student, of in session.execute(text(statement), {"ids": ids}):
            names[row_id] = f"{words(entity)}: {student}" + (f" in {of}" if of else "")
    return names


def _rows(session: Session, rows: list[Any]) -> list[AuditRow]:
    names = _names(session, rows)
    return [_row(r, names) for r in rows]


@needs(Permission.VIEW_AUDIT_LOG)
def list_audit(session: Session, ctx: ServiceContext, query: AuditQuery, offset: int = 0,
               limit: int = 200) -> Page[AuditRow]:  # fmt: skip
    page = fetch_page(session, _sorted(ctx, query), offset, limit, lambda r: r)
    return Page(_rows(session, page.rows), page.offset, page.limit, page.has_more)


@needs(Permission.VIEW_AUDIT_LOG)
def stream_audit(session: Session, ctx: ServiceContext, query: AuditQuery,
                 batch_size: int = STREAM_BATCH) -> Iterator[list[AuditRow]]:  # fmt: skip
    """Every entry of the list, in list order, in batches (File > Export)."""
    return stream_batches(session, _sorted(ctx, query), lambda rows: _rows(session, list(rows)),
                          batch_size)  # fmt: skip


@needs(Permission.VIEW_AUDIT_LOG)
def count_audit(session: Session, ctx: ServiceContext, query: AuditQuery) -> int:
    return count_rows(session, _filtered(ctx, query))


@needs(Permission.VIEW_AUDIT_LOG)
def audit_actors(session: Session, ctx: ServiceContext) -> list[str]:
    """Everyone the log names, for the page's filter."""
    return list(session.scalars(select(AuditLog.actor).where(AuditLog.school_id == ctx.school_id)
                                .group_by(AuditLog.actor).order_by(AuditLog.actor)))  # fmt: skip


@needs(Permission.VIEW_AUDIT_LOG)
def audit_entities(session: Session, ctx: ServiceContext) -> list[str]:
    """The kinds of row the log holds changes of."""
    return list(session.scalars(select(AuditLog.entity).where(AuditLog.school_id == ctx.school_id)
                                .group_by(AuditLog.entity).order_by(AuditLog.entity)))  # fmt: skip


__all__ = [
    "AuditQuery", "AuditRow", "FieldChange", "audit_actors", "audit_entities", "count_audit",
    "list_audit", "shown", "stream_audit", "words",
]  # fmt: skip
