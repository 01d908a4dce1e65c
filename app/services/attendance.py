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
from app.domain.enums import AttendanceStatus, SessionStatus
from app.domain.errors import NotFound, ValidationError
from app.domain.rows import AttendanceSummaryRow
from app.domain.wording import group_name
from app.services.permissions import Permission, needs

STATUSES = tuple(s.value for s in AttendanceStatus)
# The most minutes late a mark may record: catches typing slips ("1000").
MAX_MINUTES_LATE = 600


@dataclass(frozen=True)
class RegisterRow:
    enrollment_id: uuid.UUID
    student_id: uuid.UUID
    student_no: str
    name: str
    class_name: str | None
    status: str | None  # None: not marked yet
    note: str | None
    minutes_late: int | None = None


@dataclass(frozen=True)
class Register:
    session_id: uuid.UUID
    course_name: str
    session_date: date
    start_time: time
    end_time: time
    session_status: str
    class_name: str | None  # the class the lesson is for; None: the whole course
    excused_needs_reason: bool  # the school's rule (school.excused_needs_reason)
    rows: list[RegisterRow]

    @property
    def group_name(self) -> str:
        return group_name(self.course_name, self.class_name)


@dataclass(frozen=True)
class Mark:
    enrollment_id: uuid.UUID
    status: str
    note: str | None = None
    minutes_late: int | None = None  # late arrivals only


# The session, then who is on its register. A student is on it by one of three ways,
# each read through its own index: enrolled in a course whose lessons are for the whole
# course (course_enrollment by course); a student of the lesson's class enrolled in the
# course (student by class name, then the enrollment by course and student); or
# already marked (session_attendance by session). A way that does not apply to the
# session (a class's lesson, a whole-course one) is a one-time filter: it costs nothing.
# One round trip; an empty register still returns the session's row.
_REGISTER_SQL = text("""
SELECT cs.id, c.name, cs.session_date, cs.start_time, cs.end_time, cs.status, cs.class_name,
       sc.excused_needs_reason,
       r.enrollment_id, r.student_id, r.student_no, r.full_name, r.class_name, r.status,
       r.note, r.minutes_late
FROM class_session cs
JOIN course c ON c.id = cs.course_id
JOIN school sc ON sc.id = cs.school_id
LEFT JOIN LATERAL (
    SELECT e.id AS enrollment_id, s.id AS student_id, s.student_no, s.sort_name,
           btrim(s.first_name || ' ' || s.last_name) AS full_name, s.class_name,
           a.status, a.note, a.minutes_late
    FROM (
        SELECT e.id FROM course_enrollment e JOIN student s ON s.id = e.student_id
        WHERE cs.class_name IS NULL
          AND e.course_id = cs.course_id AND e.deleted_at IS NULL
          AND e.periods @> cs.session_date
          AND s.status = 'active' AND s.deleted_at IS NULL
        UNION
        SELECT e.id FROM student s JOIN course_enrollment e ON e.student_id = s.id
        WHERE s.school_id = cs.school_id
          AND public.rollbook_natural_key(s.class_name)
              = public.rollbook_natural_key(cs.class_name)
          AND s.class_name = cs.class_name
          AND s.status = 'active' AND s.deleted_at IS NULL
          AND e.course_id = cs.course_id AND e.deleted_at IS NULL
          AND e.periods @> cs.session_date
        UNION
        SELECT a.enrollment_id FROM session_attendance a
        WHERE a.session_id = cs.id AND a.deleted_at IS NULL
    ) on_register
    JOIN course_enrollment e ON e.id = on_register.id
    JOIN student s ON s.id = e.student_id AND s.deleted_at IS NULL
    LEFT JOIN session_attendance a
           ON a.session_id = cs.id AND a.enrollment_id = e.id AND a.deleted_at IS NULL
) r ON true
WHERE cs.id = :session AND cs.school_id = :school AND cs.deleted_at IS NULL
ORDER BY r.sort_name, r.student_id
""")


@needs(Permission.VIEW)
def session_register(session: Session, ctx: ServiceContext, session_id: uuid.UUID) -> Register:
    """The register of a session: its students in name order with their marks."""
    rows = session.execute(_REGISTER_SQL, {"session": session_id, "school": ctx.school_id}).all()
    if not rows:
        raise NotFound("That session no longer exists; refresh and try again.")
    return Register(
        *rows[0][:8],
        rows=[RegisterRow(*row[8:]) for row in rows if row.enrollment_id is not None],
    )


def _check_marks(marks: Sequence[Mark]) -> None:
    for mark in marks:
        if mark.status not in STATUSES:
            raise ValidationError("status", f"{mark.status!r} is not a mark; use "
                                  f"{', '.join(STATUSES)}.")  # fmt: skip
        if mark.minutes_late is None:
            continue
        if mark.status != AttendanceStatus.LATE.value:
            raise ValidationError("minutes_late", "Minutes late go with the mark late only.")
        if not 1 <= mark.minutes_late <= MAX_MINUTES_LATE:
            raise ValidationError(
                "minutes_late", f"Minutes late must be between 1 and {MAX_MINUTES_LATE}."
            )


# Saving is one statement, one round trip: the marks are checked against the register
# (the same three ways in as _REGISTER_SQL) and the school's excused-absence rule, and
# written only when every mark passes, so a refused save changes nothing. The counts it
# returns say which check refused.
_SAVE_SQL = text("""
WITH cs AS MATERIALIZED (
    SELECT cs.id, cs.school_id, cs.course_id, cs.session_date, cs.class_name, cs.status,
           sc.excused_needs_reason
    FROM class_session cs JOIN school sc ON sc.id = cs.school_id
    WHERE cs.id = :session AND cs.school_id = :school AND cs.deleted_at IS NULL
), m AS (
    SELECT * FROM unnest(CAST(:enrollments AS uuid[]), CAST(:statuses AS text[]),
                         CAST(:notes AS text[]), CAST(:minutes AS integer[]))
                  AS m(enrollment_id, status, note, minutes_late)
), accepted AS (
    SELECT m.* FROM m
    JOIN course_enrollment e ON e.id = m.enrollment_id AND e.deleted_at IS NULL
    JOIN student s ON s.id = e.student_id AND s.deleted_at IS NULL
    JOIN cs ON cs.course_id = e.course_id
    WHERE (e.periods @> cs.session_date AND s.status = 'active'
           AND (cs.class_name IS NULL OR s.class_name = cs.class_name))
       OR EXISTS (SELECT FROM session_attendance a WHERE a.session_id = cs.id
                  AND a.enrollment_id = e.id AND a.deleted_at IS NULL)
), unexcused AS (
    -- A mark kept as it was is not re-judged: the rule may be newer than the mark.
    SELECT m.enrollment_id FROM m
    WHERE m.status = 'excused' AND nullif(btrim(m.note), '') IS NULL
      AND (SELECT excused_needs_reason FROM cs)
      AND NOT EXISTS (SELECT FROM session_attendance a
                      WHERE a.session_id = (SELECT id FROM cs)
                        AND a.enrollment_id = m.enrollment_id AND a.deleted_at IS NULL
                        AND a.status = 'excused' AND a.note IS NULL)
), written AS (
    INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status, note,
                                    minutes_late, marked_at, marked_by)
    SELECT gen_random_uuid(), :school, :session, a.enrollment_id, a.status,
           nullif(btrim(a.note), ''), a.minutes_late, now(), :actor
    FROM accepted a
    WHERE (SELECT status FROM cs) <> 'cancelled'
      AND (SELECT count(*) FROM accepted) = (SELECT count(*) FROM m)
      AND NOT EXISTS (SELECT FROM unexcused)
    ON CONFLICT (session_id, enrollment_id) DO UPDATE
       SET status = EXCLUDED.status, note = EXCLUDED.note,
           minutes_late = EXCLUDED.minutes_late, marked_at = EXCLUDED.marked_at,
           marked_by = EXCLUDED.marked_by, deleted_at = NULL
       WHERE (session_attendance.status, session_attendance.note,
              session_attendance.minutes_late, session_attendance.deleted_at)
             IS DISTINCT FROM (EXCLUDED.status, EXCLUDED.note, EXCLUDED.minutes_late, NULL)
    RETURNING 1
)
SELECT (SELECT status FROM cs), (SELECT count(*) FROM m), (SELECT count(*) FROM accepted),
       (SELECT array_agg(enrollment_id) FROM unexcused), (SELECT count(*) FROM written)
""")


@needs(Permission.TAKE_ATTENDANCE)
def save_marks(
    session: Session, ctx: ServiceContext, session_id: uuid.UUID, marks: Sequence[Mark]
) -> int:
    """Record ``marks`` (one per student) in one statement; a student marked before gets
    the new mark in place of the old one. Returns how many marks changed. Refused, and
    nothing written, for a cancelled session, a student not on the register, or an
    excused absence without a reason where the school asks for one."""
    _check_marks(marks)
    status, asked, accepted, unexcused, written = session.execute(
        _SAVE_SQL,
        {"school": ctx.school_id, "session": session_id, "actor": ctx.actor,
         "enrollments": [m.enrollment_id for m in marks],
         "statuses": [m.status for m in marks], "notes": [m.note for m in marks],
         "minutes": [m.minutes_late for m in marks]},
    ).one()  # fmt: skip
    if status is None:
        raise NotFound("That session no longer exists; refresh and try again.")
    if status == SessionStatus.CANCELLED.value:
        raise ValidationError("session", "This session was cancelled; it has no register.")
    if accepted < asked:
        raise ValidationError(
            "student", "Some students are not on this session's register; open it again."
        )
    if unexcused:
        names = _student_names(session, unexcused)
        raise ValidationError(
            "note", f"An excused absence needs a reason (type it in the note): {names}."
        )
    return written


def _student_names(session: Session, enrollment_ids: Sequence[uuid.UUID]) -> str:
    names = session.execute(
        text("SELECT btrim(s.first_name || ' ' || s.last_name) FROM course_enrollment e "
             "JOIN student s ON s.id = e.student_id WHERE e.id = ANY(:ids) ORDER BY s.sort_name"),
        {"ids": list(enrollment_ids)},
    ).scalars().all()  # fmt: skip
    return ", ".join(names)


@needs(Permission.VIEW)
def excused_needs_reason(session: Session, ctx: ServiceContext) -> bool:
    """The school's rule: whether an excused absence must carry a reason."""
    return bool(session.scalar(text("SELECT excused_needs_reason FROM school WHERE id = :school"),
                               {"school": ctx.school_id}))  # fmt: skip


@needs(Permission.SCHOOL_SETTINGS)
def set_excused_needs_reason(session: Session, ctx: ServiceContext, needed: bool) -> None:
    """Set the school's rule that an excused absence carries a reason."""
    session.execute(
        text("UPDATE school SET excused_needs_reason = :needed WHERE id = :school"),
        {"needed": needed, "school": ctx.school_id},
    )


_SESSION_SQL = text("""
SELECT cs.id, c.name, cs.session_date, cs.start_time, cs.end_time, cs.status, cs.class_name,
       cs.cancel_reason
FROM class_session cs JOIN course c ON c.id = cs.course_id
WHERE cs.id = :session AND cs.school_id = :school AND cs.deleted_at IS NULL
""")


def _session_header(session: Session, ctx: ServiceContext, session_id: uuid.UUID):
    row = session.execute(_SESSION_SQL, {"session": session_id, "school": ctx.school_id}).first()
    if row is None:
        raise NotFound("That session no longer exists; refresh and try again.")
    return row


@needs(Permission.VIEW)
def why_not_on_register(
    session: Session, ctx: ServiceContext, session_id: uuid.UUID, student_no: str
) -> str | None:
    """In one line, why the student with this number is not on the session's register;
    None when they are on it."""
    header = _session_header(session, ctx, session_id)
    student = session.execute(
        text("SELECT id, btrim(first_name || ' ' || last_name), status, class_name FROM student "
             "WHERE school_id = :school AND student_no = :no AND deleted_at IS NULL"),
        {"school": ctx.school_id, "no": student_no.strip()},
    ).first()  # fmt: skip
    if student is None:
        return f"No student has the number {student_no.strip()!r}."
    who = f"{student[1]} ({student_no.strip()})"
    if header.status == SessionStatus.CANCELLED.value:
        why = f" ({header.cancel_reason})" if header.cancel_reason else ""
        return f"The session was cancelled{why}; it has no register, so {who} is not on it."
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
    if header.class_name and student[3] != header.class_name:
        in_class = f"in class {student[3]}" if student[3] else "in no class"
        return f"{who} is {in_class}; this lesson of {course} is for class {header.class_name}."
    return None


# Per enrollment of the student: the sessions held on their register since they
# enrolled (completed sessions of the course in the enrollment's periods, for the whole
# course or the student's class) together with any session they were marked in, and
# the marks by status. Sessions come by ix_class_session_course (course, class, date):
# the lessons of the student's class only, however many classes the course is taught
# to; marks by ix_session_attendance_enrollment.
_SUMMARY_SQL = text("""
SELECT c.name,
       (SELECT count(*) FROM (
            SELECT cs.id FROM class_session cs
            WHERE cs.course_id = e.course_id AND cs.class_name IS NULL
              AND cs.deleted_at IS NULL AND cs.status = 'completed'
              AND e.periods @> cs.session_date
            UNION
            SELECT cs.id FROM class_session cs
            WHERE cs.course_id = e.course_id AND cs.class_name = s.class_name
              AND cs.deleted_at IS NULL AND cs.status = 'completed'
              AND e.periods @> cs.session_date
            UNION
            SELECT a.session_id FROM session_attendance a
            WHERE a.enrollment_id = e.id AND a.deleted_at IS NULL) held),
       count(a.id) FILTER (WHERE a.status = 'present'),
       count(a.id) FILTER (WHERE a.status = 'absent'),
       count(a.id) FILTER (WHERE a.status = 'late'),
       count(a.id) FILTER (WHERE a.status = 'excused')
FROM course_enrollment e
JOIN student s ON s.id = e.student_id
JOIN course c ON c.id = e.course_id
LEFT JOIN session_attendance a ON a.enrollment_id = e.id AND a.deleted_at IS NULL
WHERE e.student_id = :student AND e.school_id = :school AND e.deleted_at IS NULL
GROUP BY e.id, s.id, c.id
ORDER BY public.rollbook_natural_key(c.name), c.name
""")


@needs(Permission.VIEW)
def course_attendance_summary(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID
) -> list[AttendanceSummaryRow]:
    """The student's attendance per course: sessions held since enrollment, the marks
    by status and (on the row) the rate."""
    rows = session.execute(_SUMMARY_SQL, {"student": student_id, "school": ctx.school_id})
    return [AttendanceSummaryRow(*row) for row in rows]
