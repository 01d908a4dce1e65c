"""The universal lookup: everything about one student, across courses and events.

Given a student number (or the student's id, as the Students page has it), one read
gathers the student, their enrollments with dates and source, their attendance rate
per course, and their event registrations with team, days attended, feedback and
certificates. Three statements, one per section, whatever the student's history: the
student with their enrollments; the attendance per course (the summary the register
keeps, ``attendance.course_attendance_summary``); and the registrations with their
days, feedback and certificates aggregated in SQL, so a student with many events costs
no more round trips than one with none.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.errors import NotFound
from app.domain.periods import periods_from_range
from app.domain.rows import AttendanceSummaryRow, EnrollmentRow, StudentRow
from app.domain.text_limits import cut_search_text
from app.services.attendance import course_attendance_summary
from app.services.permissions import Permission, needs


@dataclass(frozen=True)
class CertificateEntry:
    certificate_no: str
    kind: str
    issued_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    flagged_at: datetime | None  # the consistency repair's flag: waits for a person
    flag_reason: str | None

    @property
    def status(self) -> str:
        """live, revoked, or flagged (still valid, but marked for a person to revoke)."""
        if self.revoked_at is not None:
            return "revoked"
        return "flagged" if self.flagged_at is not None else "live"


@dataclass(frozen=True)
class RegistrationEntry:
    id: uuid.UUID
    event_id: uuid.UUID
    event_name: str
    starts_on: date
    ends_on: date
    registration_no: str
    status: str
    team_name: str | None
    days_attended: tuple[date, ...]
    feedback_rating: int | None
    feedback_comments: str | None
    certificates: tuple[CertificateEntry, ...]


@dataclass(frozen=True)
class StudentLookup:
    student: StudentRow
    enrollments: list[EnrollmentRow]  # active first, then by course name
    attendance: list[AttendanceSummaryRow]  # per course, in natural course-name order
    registrations: list[RegistrationEntry]  # newest event first


# The student found by number (preferred) or id, and their enrollments: one row per
# enrollment, or a single row with empty enrollment columns for a student with none.
# Each arm of the UNION reads one index (uq_student_no_per_school, the primary key); an
# id that is NULL makes its arm a one-time false filter. LIMIT 1: a number that is
# also some other student's id means that number.
_STUDENT_SQL = text("""
WITH found AS (
    (SELECT s.id, 0 AS rank FROM student s
     WHERE s.school_id = :school AND s.student_no = :no AND s.deleted_at IS NULL
     UNION ALL
     SELECT s.id, 1 FROM student s
     WHERE s.id = CAST(:id AS uuid) AND s.school_id = :school AND s.deleted_at IS NULL)
    ORDER BY rank LIMIT 1
)
SELECT s.id, s.student_no, s.first_name, s.last_name, s.email, s.class_name, s.grade_level,
       s.birth_date, s.status, s.state_id, s.sourced_id, s.row_version, s.updated_at,
       e.id, e.course_id, c.name, e.active, e.enrolled_on, e.ended_on, e.source,
       p.percent, e.periods
FROM found
JOIN student s ON s.id = found.id
LEFT JOIN course_enrollment e ON e.student_id = s.id AND e.deleted_at IS NULL
LEFT JOIN course c ON c.id = e.course_id
LEFT JOIN course_progress p
       ON p.student_id = s.id AND p.course_id = e.course_id AND p.deleted_at IS NULL
""")

# The student's registrations, each with its days, feedback and certificates. Days and
# certificates are aggregated per registration by their own indexes
# (uq_event_attendance_once; certificates by registration_id), feedback is one row at
# most (its unique registration_id).
_REGISTRATIONS_SQL = text("""
SELECT r.id, r.event_id, ev.name, ev.starts_on, ev.ends_on, r.registration_no, r.status,
       t.name,
       ARRAY(SELECT a.attended_on FROM event_attendance a
             WHERE a.registration_id = r.id AND a.deleted_at IS NULL
             ORDER BY a.attended_on),
       f.rating, f.comments,
       (SELECT json_agg(json_build_array(c.certificate_no, c.kind, c.issued_at, c.revoked_at,
                                         c.revoke_reason, c.revocation_flagged_at,
                                         c.revocation_flag_reason)
                        ORDER BY c.issued_at, c.certificate_no)
        FROM certificate c WHERE c.registration_id = r.id AND c.deleted_at IS NULL)
FROM event_registration r
JOIN event ev ON ev.id = r.event_id AND ev.deleted_at IS NULL
LEFT JOIN event_team t ON t.id = r.team_id AND t.deleted_at IS NULL
LEFT JOIN event_feedback f ON f.registration_id = r.id AND f.deleted_at IS NULL
WHERE r.student_id = :student AND r.school_id = :school AND r.deleted_at IS NULL
ORDER BY ev.starts_on DESC, lower(ev.name), r.registration_no
""")


def student_parameters(ctx: ServiceContext, student_no_or_id: str | uuid.UUID) -> dict[str, Any]:
    """The parameters of ``_STUDENT_SQL``: the typed text as a number and, when it reads
    as one, as an id."""
    if isinstance(student_no_or_id, uuid.UUID):
        return {"school": ctx.school_id, "no": str(student_no_or_id), "id": student_no_or_id}
    typed = cut_search_text(student_no_or_id).strip()  # a pasted page is cut, as in a search
    try:
        as_id: uuid.UUID | None = uuid.UUID(typed)
    except ValueError:
        as_id = None
    return {"school": ctx.school_id, "no": typed, "id": as_id}


def _moment(value: str | None) -> datetime | None:
    # json_agg writes timestamptz in ISO 8601 with its offset.
    return None if value is None else datetime.fromisoformat(value)


def _certificates(value: Any) -> tuple[CertificateEntry, ...]:
    if value is None:
        return ()
    items = json.loads(value) if isinstance(value, str) else value
    return tuple(
        CertificateEntry(
            number,
            kind,
            datetime.fromisoformat(issued),
            _moment(revoked),
            reason,
            _moment(flagged),
            flag_reason,
        )
        for number, kind, issued, revoked, reason, flagged, flag_reason in items
    )


def _registration(row: Any) -> RegistrationEntry:
    return RegistrationEntry(*row[:8], days_attended=tuple(row[8] or ()), feedback_rating=row[9],
                             feedback_comments=row[10], certificates=_certificates(row[11]))  # fmt: skip


def _enrollments(rows: list[Any]) -> list[EnrollmentRow]:
    enrolled = [
        EnrollmentRow(
            id=r[13],
            student_id=r[0],
            course_id=r[14],
            course_name=r[15],
            active=r[16],
            enrolled_on=r[17],
            ended_on=r[18],
            source=r[19],
            progress_percent=r[20],
            periods=periods_from_range(r[21]),
        )
        for r in rows
        if r[13] is not None
    ]
    # The order of enrollments.list_student_enrollments: what runs now, then the past.
    return sorted(enrolled, key=lambda e: (not e.active, e.course_name.lower()))


@needs(Permission.VIEW)
def lookup_student(
    session: Session, ctx: ServiceContext, student_no_or_id: str | uuid.UUID
) -> StudentLookup:
    """Everything about one student: found by their student number (exact, surrounding
    spaces ignored) or their id. Three statements, whatever their history. NotFound,
    in one line, for a number no live student has."""
    rows = session.execute(_STUDENT_SQL, student_parameters(ctx, student_no_or_id)).all()
    if not rows:
        if isinstance(student_no_or_id, uuid.UUID):
            raise NotFound("That student no longer exists; refresh the list and try again.")
        raise NotFound(f"No student has the number {cut_search_text(student_no_or_id).strip()!r}; "
                       "search by name on the Students page.")  # fmt: skip
    enrollments = _enrollments(rows)
    student = StudentRow(*rows[0][:13], active_course_count=sum(e.active for e in enrollments))
    registrations = session.execute(
        _REGISTRATIONS_SQL, {"student": student.id, "school": ctx.school_id}
    )
    return StudentLookup(
        student=student,
        enrollments=enrollments,
        attendance=course_attendance_summary(session, ctx, student.id),
        registrations=[_registration(row) for row in registrations],
    )
