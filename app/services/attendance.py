"""A class session's register: who is on it, their marks, saving marks, and why a
student someone expected is not on it.

A student is on a session's register when one of their enrollment's periods in the
course covers the session's date (``course_enrollment.periods``: a student who left in
October and came back in December is on September's and December's registers, not
November's) and they are active — or when they were already marked, so a past
register keeps what was recorded. Each student has one mark per session: the database
enforces it (``uq_session_attendance_once``), and saving is one upsert.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import AttendanceStatus, SessionStatus, UserRole
from app.domain.errors import NotFound, ValidationError
from app.services.permissions import require_role

STATUSES = tuple(s.value for s in AttendanceStatus)


@dataclass(frozen=True)
class RegisterRow:
    enrollment_id: uuid.UUID
    student_id: uuid.UUID
    student_no: str
    name: str
    class_name: str | None
    status: str | None  # None: not marked yet
    note: str | None


@dataclass(frozen=True)
class Register:
    session_id: uuid.UUID
    course_name: str
    session_date: date
    start_time: time
    end_time: time
    session_status: str
    rows: list[RegisterRow]


@dataclass(frozen=True)
class Mark:
    enrollment_id: uuid.UUID
    status: str
    note: str | None = None


_SESSION_SQL = text("""
SELECT cs.id, c.name, cs.session_date, cs.start_time, cs.end_time, cs.status
FROM class_session cs JOIN course c ON c.id = cs.course_id
WHERE cs.id = :session AND cs.school_id = :school AND cs.deleted_at IS NULL
""")

_REGISTER_SQL = text("""
SELECT e.id, s.id, s.student_no, btrim(s.first_name || ' ' || s.last_name), s.class_name,
       a.status, a.note
FROM class_session cs
JOIN course_enrollment e ON e.course_id = cs.course_id AND e.deleted_at IS NULL
JOIN student s ON s.id = e.student_id AND s.deleted_at IS NULL
LEFT JOIN session_attendance a
       ON a.session_id = cs.id AND a.enrollment_id = e.id AND a.deleted_at IS NULL
WHERE cs.id = :session
  AND ((e.periods @> cs.session_date AND s.status = 'active') OR a.id IS NOT NULL)
ORDER BY s.sort_name, s.id
""")


def _session_header(session: Session, ctx: ServiceContext, session_id: uuid.UUID):
    row = session.execute(_SESSION_SQL, {"session": session_id, "school": ctx.school_id}).first()
    if row is None:
        raise NotFound("That session no longer exists; refresh and try again.")
    return row


def session_register(session: Session, ctx: ServiceContext, session_id: uuid.UUID) -> Register:
    """The register of a session: its students in name order with their marks."""
    header = _session_header(session, ctx, session_id)
    rows = session.execute(_REGISTER_SQL, {"session": session_id}).all()
    return Register(*header, rows=[RegisterRow(*row) for row in rows])


def save_marks(
    session: Session, ctx: ServiceContext, session_id: uuid.UUID, marks: Sequence[Mark]
) -> int:
    """Record ``marks`` (one per student) in one statement; a student marked before gets
    the new mark in place of the old one. Returns how many marks changed."""
    require_role(ctx, UserRole.ADMIN, UserRole.REGISTRAR, UserRole.STAFF,
                 doing="take attendance")  # fmt: skip
    header = _session_header(session, ctx, session_id)
    if header.status == SessionStatus.CANCELLED.value:
        raise ValidationError("session", "This session was cancelled; it has no register.")
    for mark in marks:
        if mark.status not in STATUSES:
            raise ValidationError("status", f"{mark.status!r} is not a mark; use "
                                  f"{', '.join(STATUSES)}.")  # fmt: skip
    on_register = {row.enrollment_id for row in session_register(session, ctx, session_id).rows}
    strangers = [m for m in marks if m.enrollment_id not in on_register]
    if strangers:
        raise ValidationError(
            "student", "Some students are not on this session's register; open it again."
        )
    changed = session.execute(
        text("""
        INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status, note,
                                        marked_at, marked_by)
        SELECT gen_random_uuid(), :school, :session, m.enrollment_id, m.status,
               nullif(btrim(m.note), ''), now(), :actor
        FROM unnest(CAST(:enrollments AS uuid[]), CAST(:statuses AS text[]),
                    CAST(:notes AS text[])) AS m(enrollment_id, status, note)
        ON CONFLICT (session_id, enrollment_id) DO UPDATE
           SET status = EXCLUDED.status, note = EXCLUDED.note, marked_at = EXCLUDED.marked_at,
               marked_by = EXCLUDED.marked_by, deleted_at = NULL
           WHERE (session_attendance.status, session_attendance.note,
                  session_attendance.deleted_at)
                 IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.note, NULL)
        """),
        {"school": ctx.school_id, "session": session_id, "actor": ctx.actor,
         "enrollments": [m.enrollment_id for m in marks],
         "statuses": [m.status for m in marks], "notes": [m.note for m in marks]},
    )  # fmt: skip
    return changed.rowcount


def why_not_on_register(
    session: Session, ctx: ServiceContext, session_id: uuid.UUID, student_no: str
) -> str | None:
    """In one line, why the student with this number is not on the session's register;
    None when they are on it."""
    header = _session_header(session, ctx, session_id)
    student = session.execute(
        text("SELECT id, btrim(first_name || ' ' || last_name), status FROM student "
             "WHERE school_id = :school AND student_no = :no AND deleted_at IS NULL"),
        {"school": ctx.school_id, "no": student_no.strip()},
    ).first()  # fmt: skip
    if student is None:
        return f"No student has the number {student_no.strip()!r}."
    who = f"{student[1]} ({student_no.strip()})"
    if header.status == SessionStatus.CANCELLED.value:
        return f"The session was cancelled; it has no register, so {who} is not on it."
    enrollment = session.execute(
        text("""
        SELECT e.periods @> CAST(:day AS date),
               (SELECT max(upper(p)) FROM unnest(e.periods) p WHERE upper(p) <= CAST(:day AS date)),
               (SELECT min(lower(p)) FROM unnest(e.periods) p WHERE lower(p) > CAST(:day AS date))
        FROM course_enrollment e JOIN class_session cs ON cs.course_id = e.course_id
        WHERE cs.id = :session AND e.student_id = :student AND e.deleted_at IS NULL
        """),
        {"day": header.session_date, "session": session_id, "student": student[0]},
    ).first()  # fmt: skip
    course, day = header.name, f"{header.session_date:%d %b %Y}"
    if enrollment is None:
        return f"{who} is not enrolled in {course}."
    covered, ended, starts_again = enrollment
    if not covered:
        # A period is [from, until): its last day is the one before ``until``.
        ended_text = f"{ended - timedelta(days=1):%d %b %Y}" if ended else None
        if ended_text and starts_again:
            return (f"{who} was not enrolled in {course} on {day}: the enrollment ended on "
                    f"{ended_text} and began again on {starts_again:%d %b %Y}.")  # fmt: skip
        if ended_text:
            return f"{who}'s enrollment in {course} ended on {ended_text}, before {day}."
        if starts_again:
            return f"{who} is enrolled in {course} only from {starts_again:%d %b %Y}, after {day}."
        return f"{who} was not enrolled in {course} on {day}."
    if student[2] != "active":
        return f"{who} is {student[2]}: only active students are on registers."
    return None
