"""Demo data looks like a school at every size: classes, lesson registers, events, teams
and certificates stay in the ranges a real school has, whether the demo school has 500
students or 5,000. (A register used to grow with the school: 816 marks for one lesson
at 5,000 students.)

Each size is created once and every range is checked on it, and all the ranges that
are off are reported together: a 5,000-student demo takes seconds to create.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.demo_data import create_demo_data
from app.services.schools import ensure_school

# What a school office would call believable; the generator aims well inside these.
CLASS_SIZE = (15, 35)
REGISTER_MARKS = (10, 35)
REGISTRATIONS_PER_EVENT = (10, 500)


def _rows(session: Session, school: uuid.UUID, query: str) -> list:
    return session.execute(text(query), {"school": school}).all()


def classes_off_size(session: Session, school: uuid.UUID) -> list:
    """Classes too small or too big, or mixing grades."""
    classes = _rows(
        session,
        school,
        """
        SELECT class_name, count(*) AS size, count(DISTINCT grade_level) AS grades
        FROM student WHERE school_id = :school AND deleted_at IS NULL
        GROUP BY class_name
        """,
    )
    low, high = CLASS_SIZE
    off = [c for c in classes if not low <= c.size <= high or c.grades != 1]
    return off if classes else ["no classes"]


def registers_off_size(session: Session, school: uuid.UUID) -> list:
    """Completed lessons with a register of the wrong size; other lessons with marks."""
    sessions = _rows(
        session,
        school,
        """
        SELECT c.code, cs.session_date, cs.start_time, cs.status, count(a.id) AS marks
        FROM class_session cs
        JOIN course c ON c.id = cs.course_id
        LEFT JOIN session_attendance a ON a.session_id = cs.id AND a.deleted_at IS NULL
        WHERE cs.school_id = :school AND cs.deleted_at IS NULL
        GROUP BY cs.id, c.code
        """,
    )
    low, high = REGISTER_MARKS
    off = [
        s for s in sessions
        if (s.status == "completed" and not low <= s.marks <= high)
        or (s.status != "completed" and s.marks)
    ]  # fmt: skip
    return off if any(s.status == "completed" for s in sessions) else ["no past lessons"]


def events_off_size(session: Session, school: uuid.UUID) -> list:
    """Events with too few or too many registrations, or more registered than places."""
    events = _rows(
        session,
        school,
        """
        SELECT ev.name, ev.capacity, count(r.id) AS registrations,
               count(r.id) FILTER (WHERE r.status = 'registered') AS registered
        FROM event ev
        LEFT JOIN event_registration r ON r.event_id = ev.id AND r.deleted_at IS NULL
        WHERE ev.school_id = :school AND ev.deleted_at IS NULL
        GROUP BY ev.id
        """,
    )
    low, high = REGISTRATIONS_PER_EVENT
    off = [
        e for e in events
        if not low <= e.registrations <= high or e.registered > e.capacity
    ]  # fmt: skip
    return off if events else ["no events"]


def teams_off_size(session: Session, school: uuid.UUID) -> list:
    """Teams outside their event's size limits, or in an event without teams."""
    teams = _rows(
        session,
        school,
        """
        SELECT t.name, ev.name AS event, ev.allow_teams, ev.team_size_min, ev.team_size_max,
               count(r.id) FILTER (WHERE r.status <> 'cancelled') AS members
        FROM event_team t
        JOIN event ev ON ev.id = t.event_id
        LEFT JOIN event_registration r ON r.team_id = t.id AND r.deleted_at IS NULL
        WHERE t.school_id = :school AND t.deleted_at IS NULL
        GROUP BY t.id, ev.id
        """,
    )
    off = [
        t for t in teams
        if not (t.allow_teams and t.team_size_min <= t.members <= t.team_size_max)
    ]  # fmt: skip
    return off if teams else ["no teams"]


def certificates_beyond_eligible(session: Session, school: uuid.UUID) -> list:
    """Per event and kind: live certificates for registrations that did not earn one, or
    more of them than the event has eligible attendees."""
    per_kind = _rows(
        session,
        school,
        """
        WITH attended AS (
          SELECT r.id, r.event_id,
                 r.status = 'registered' AND r.deleted_at IS NULL
                   AND (SELECT count(*) FROM event_attendance ea
                        WHERE ea.registration_id = r.id AND ea.deleted_at IS NULL)
                       >= ev.certificate_min_days AS eligible
          FROM event_registration r JOIN event ev ON ev.id = r.event_id
          WHERE r.school_id = :school),
        eligible AS (
          SELECT event_id, count(*) FILTER (WHERE eligible) AS attendees
          FROM attended GROUP BY event_id)
        SELECT ev.name, c.kind, el.attendees, count(*) AS live,
               count(*) FILTER (WHERE a.eligible) AS to_eligible
        FROM certificate c
        JOIN attended a ON a.id = c.registration_id
        JOIN eligible el ON el.event_id = a.event_id
        JOIN event ev ON ev.id = a.event_id
        WHERE c.school_id = :school AND c.deleted_at IS NULL AND c.revoked_at IS NULL
        GROUP BY ev.id, c.kind, el.attendees
        """,
    )
    off = [k for k in per_kind if k.live != k.to_eligible or k.live > k.attendees]
    issued = any(k.kind == "participation" for k in per_kind)
    return off if issued else ["no certificates"]


CHECKS = (
    classes_off_size,
    registers_off_size,
    events_off_size,
    teams_off_size,
    certificates_beyond_eligible,
)


@pytest.mark.parametrize("students", [500, 5_000], ids=lambda n: f"{n}-students")
def test_the_demo_school_keeps_realistic_sizes(db, session, students):
    with db.engine.begin() as conn:
        create_demo_data(conn.connection.driver_connection, db.school.id, students=students)
    problems = {check.__name__: check(session, db.school.id) for check in CHECKS}
    assert {name: found[:5] for name, found in problems.items() if found} == {}


# Everything that comes from the seed, keyed by what stays put between two runs (student
# and registration numbers, course codes, dates), never by primary keys or clock times.
FINGERPRINT = (
    """SELECT student_no, first_name, last_name, email, class_name, grade_level, birth_date,
              status FROM student WHERE school_id = :school ORDER BY student_no""",
    """SELECT s.student_no, c.code, e.active, e.enrolled_on, e.ended_on
       FROM course_enrollment e JOIN student s ON s.id = e.student_id
       JOIN course c ON c.id = e.course_id WHERE e.school_id = :school ORDER BY 1, 2""",
    """SELECT c.code, cs.session_date, cs.start_time, cs.location, cs.status, s.student_no,
              a.status
       FROM class_session cs JOIN course c ON c.id = cs.course_id
       LEFT JOIN session_attendance a ON a.session_id = cs.id
       LEFT JOIN course_enrollment e ON e.id = a.enrollment_id
       LEFT JOIN student s ON s.id = e.student_id
       WHERE cs.school_id = :school ORDER BY 1, 2, 3, 4, 5, 6, 7""",
    """SELECT ev.name, ev.capacity, r.registration_no, s.student_no, r.status, t.name,
              (SELECT count(*) FROM event_attendance ea WHERE ea.registration_id = r.id)
       FROM event_registration r JOIN event ev ON ev.id = r.event_id
       JOIN student s ON s.id = r.student_id LEFT JOIN event_team t ON t.id = r.team_id
       WHERE r.school_id = :school ORDER BY r.registration_no""",
    """SELECT c.certificate_no, c.kind, r.registration_no, c.revoked_at IS NULL
       FROM certificate c JOIN event_registration r ON r.id = c.registration_id
       WHERE c.school_id = :school ORDER BY c.certificate_no""",
)


def test_the_same_seed_gives_the_same_school(db):
    with db.sessions.begin() as session:
        twin = ensure_school(session, "TWIN", "Twin School").id
    for school in (db.school.id, twin):
        with db.engine.begin() as conn:
            create_demo_data(conn.connection.driver_connection, school, students=500, seed=11)
    with db.sessions.begin() as session:
        for query in FINGERPRINT:
            first, second = (_rows(session, school, query) for school in (db.school.id, twin))
            assert first and first == second, query
