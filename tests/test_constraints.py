"""The database itself refuses bad data, whatever code (or sync peer) writes it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


@pytest.fixture
def ids(db):
    """A small valid graph of rows every bad insert below can point at."""
    i = {name: uuid.uuid4() for name in (
        "student", "student2", "course", "enrollment", "session", "event", "team",
        "registration", "run",
    )}  # fmt: skip
    i["school"] = db.school.id
    with db.engine.begin() as c:
        c.execute(text(
            "INSERT INTO student (id, school_id, student_no, first_name, last_name, email) VALUES "
            "(:student, :school, 'S1', 'Anna', 'Kowalska', 'Anna@Example.org'),"
            "(:student2, :school, 'S2', 'Ben', 'Nowak', NULL)"), i)  # fmt: skip
        c.execute(
            text("INSERT INTO course (id, school_id, name) VALUES (:course, :school, 'Art')"), i
        )
        c.execute(text(
            "INSERT INTO course_enrollment (id, school_id, course_id, student_id) "
            "VALUES (:enrollment, :school, :course, :student)"), i)  # fmt: skip
        c.execute(text(
            "INSERT INTO class_session (id, school_id, course_id, session_date, start_time, end_time) "
            "VALUES (:session, :school, :course, '2026-09-01', '09:00', '10:30')"), i)  # fmt: skip
        c.execute(text(
            "INSERT INTO event (id, school_id, name, starts_on, ends_on, allow_teams, team_size_max) "
            "VALUES (:event, :school, 'Fair', '2026-10-01', '2026-10-02', true, 4)"), i)  # fmt: skip
        c.execute(text(
            "INSERT INTO event_team (id, school_id, event_id, name) VALUES (:team, :school, :event, 'Owls')"), i)  # fmt: skip
        c.execute(text(
            "INSERT INTO event_registration (id, school_id, event_id, student_id, registration_no) "
            "VALUES (:registration, :school, :event, :student, 'R-1')"), i)  # fmt: skip
        c.execute(text(
            "INSERT INTO maintenance_run (id, school_id, kind, dry_run, actor) "
            "VALUES (:run, :school, 'audit', true, 't')"), i)  # fmt: skip
    return i


BAD_WRITES = {
    "student number unique per school": "INSERT INTO student (id, school_id, student_no, first_name) VALUES (gen_random_uuid(), :school, 'S1', 'X')",
    "e-mail unique ignoring case": "INSERT INTO student (id, school_id, student_no, first_name, email) VALUES (gen_random_uuid(), :school, 'S9', 'X', 'anna@example.ORG')",
    "student status": "UPDATE student SET status = 'graduated' WHERE id = :student",
    "student grade range": "UPDATE student SET grade_level = 14 WHERE id = :student",
    "student needs a name": "UPDATE student SET first_name = '', last_name = ' ' WHERE id = :student",
    "student number not blank": "UPDATE student SET student_no = ' ' WHERE id = :student",
    "student e-mail shape": "UPDATE student SET email = 'nobody' WHERE id = :student",
    "student belongs to a school": "INSERT INTO student (id, school_id, student_no, first_name) VALUES (gen_random_uuid(), gen_random_uuid(), 'S7', 'X')",
    "course name unique ignoring case": "INSERT INTO course (id, school_id, name) VALUES (gen_random_uuid(), :school, 'ART')",
    "course name not blank": "INSERT INTO course (id, school_id, name) VALUES (gen_random_uuid(), :school, '  ')",
    "one enrollment per course and student": "INSERT INTO course_enrollment (id, school_id, course_id, student_id) VALUES (gen_random_uuid(), :school, :course, :student)",
    "enrollment source": "UPDATE course_enrollment SET source = 'magic' WHERE id = :enrollment",
    "enrollment ends after it starts": "UPDATE course_enrollment SET ended_on = enrolled_on - 1 WHERE id = :enrollment",
    "progress percent 0..100": "INSERT INTO course_progress (id, school_id, student_id, course_id, percent) VALUES (gen_random_uuid(), :school, :student, :course, 101)",
    "progress percent not negative": "INSERT INTO course_progress (id, school_id, student_id, course_id, percent) VALUES (gen_random_uuid(), :school, :student, :course, -1)",
    "one pending request per student and course": "INSERT INTO enrollment_request (id, school_id, student_id, course_id) VALUES (gen_random_uuid(), :school, :student, :course), (gen_random_uuid(), :school, :student, :course)",
    "request status": "INSERT INTO enrollment_request (id, school_id, student_id, course_id, status, decided_at) VALUES (gen_random_uuid(), :school, :student, :course, 'maybe', now())",
    "decided requests have a decision time": "INSERT INTO enrollment_request (id, school_id, student_id, course_id, status) VALUES (gen_random_uuid(), :school, :student, :course, 'approved')",
    "session ends after it starts": "UPDATE class_session SET end_time = '08:00' WHERE id = :session",
    "session mode": "UPDATE class_session SET session_mode = 'telepathy' WHERE id = :session",
    "session status": "UPDATE class_session SET status = 'postponed' WHERE id = :session",
    "session priority": "UPDATE class_session SET priority_level = 'critical' WHERE id = :session",
    "session frequency": "UPDATE class_session SET session_frequency = 'daily' WHERE id = :session",
    "teacher attendance": "UPDATE class_session SET teacher_attendance_status = 'excused' WHERE id = :session",
    "topics are an array": "UPDATE class_session SET topics = '{\"a\": 1}' WHERE id = :session",
    "alarm not negative": "UPDATE class_session SET alarm_before_minutes = -5 WHERE id = :session",
    "attendance status": "INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status) VALUES (gen_random_uuid(), :school, :session, :enrollment, 'present,late')",
    "one attendance per session and enrollment": "INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status) VALUES (gen_random_uuid(), :school, :session, :enrollment, 'present'), (gen_random_uuid(), :school, :session, :enrollment, 'late')",
    "event ends after it starts": "UPDATE event SET ends_on = '2026-09-30' WHERE id = :event",
    "event team sizes": "UPDATE event SET team_size_min = 5 WHERE id = :event",
    "event capacity positive": "UPDATE event SET capacity = 0 WHERE id = :event",
    "event status": "UPDATE event SET status = 'postponed' WHERE id = :event",
    "event registration window order": "UPDATE event SET registration_opens_at = now(), registration_closes_at = now() - interval '1 day' WHERE id = :event",
    "team name unique per event ignoring case": "INSERT INTO event_team (id, school_id, event_id, name) VALUES (gen_random_uuid(), :school, :event, 'OWLS')",
    "one registration per event and student": "INSERT INTO event_registration (id, school_id, event_id, student_id, registration_no) VALUES (gen_random_uuid(), :school, :event, :student, 'R-2')",
    "registration number unique": "INSERT INTO event_registration (id, school_id, event_id, student_id, registration_no) VALUES (gen_random_uuid(), :school, :event, :student2, 'R-1')",
    "registration status": "UPDATE event_registration SET status = 'maybe' WHERE id = :registration",
    "one attendance per registration and day": "INSERT INTO event_attendance (id, school_id, registration_id, attended_on) VALUES (gen_random_uuid(), :school, :registration, '2026-10-01'), (gen_random_uuid(), :school, :registration, '2026-10-01')",
    "feedback rating 1..5": "INSERT INTO event_feedback (id, school_id, registration_id, rating) VALUES (gen_random_uuid(), :school, :registration, 6)",
    "feedback rating at least 1": "INSERT INTO event_feedback (id, school_id, registration_id, rating) VALUES (gen_random_uuid(), :school, :registration, 0)",
    "one feedback per registration": "INSERT INTO event_feedback (id, school_id, registration_id, rating) VALUES (gen_random_uuid(), :school, :registration, 4), (gen_random_uuid(), :school, :registration, 5)",
    "certificate kind": "INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no) VALUES (gen_random_uuid(), :school, :registration, 'gold', 'C-1')",
    "one live certificate per kind": "INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no) VALUES (gen_random_uuid(), :school, :registration, 'merit', 'C-1'), (gen_random_uuid(), :school, :registration, 'merit', 'C-2')",
    "certificate number unique": "INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no) VALUES (gen_random_uuid(), :school, :registration, 'merit', 'C-1'), (gen_random_uuid(), :school, :registration, 'winner', 'C-1')",
    "revocation needs a reason": "INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no, revoked_at) VALUES (gen_random_uuid(), :school, :registration, 'merit', 'C-1', now())",
    "run kind": "UPDATE maintenance_run SET kind = 'cleanup' WHERE id = :run",
    "run status": "UPDATE maintenance_run SET status = 'paused' WHERE id = :run",
    "user role": "INSERT INTO app_user (id, school_id, username, display_name, role) VALUES (gen_random_uuid(), :school, 'x', 'X', 'superuser')",
    "sequence starts at 1": "INSERT INTO number_sequence (id, school_id, name, next_value) VALUES (gen_random_uuid(), :school, 'certificate', 0)",
    "audit log cannot be edited": "INSERT INTO audit_log (school_id, actor, action, entity) VALUES (:school, 't', 'a', 'e'); UPDATE audit_log SET actor = 'someone else'",
    "audit log cannot be deleted from": "INSERT INTO audit_log (school_id, actor, action, entity) VALUES (:school, 't', 'a', 'e'); DELETE FROM audit_log",
}


@pytest.mark.parametrize("statement", list(BAD_WRITES.values()), ids=list(BAD_WRITES))
def test_bad_write_is_refused(db, ids, statement):
    with pytest.raises(DBAPIError) as info, db.engine.begin() as conn:
        for part in statement.split("; "):
            conn.execute(text(part), ids)
    # Refused by a constraint (class 23) or the audit trigger (42501) -- not by a typo.
    sqlstate = info.value.orig.sqlstate
    assert sqlstate.startswith("23") or sqlstate == "42501", info.value


def test_row_version_and_updated_at_are_bumped_only_by_real_changes(db, ids):
    with db.engine.begin() as c:
        before = c.execute(
            text("SELECT row_version, updated_at FROM student WHERE id = :student"), ids
        ).one()
    with db.engine.begin() as c:
        c.execute(text("UPDATE student SET class_name = '7A' WHERE id = :student"), ids)
    with db.engine.begin() as c:
        after = c.execute(
            text("SELECT row_version, updated_at FROM student WHERE id = :student"), ids
        ).one()
        c.execute(text("UPDATE student SET class_name = '7A' WHERE id = :student"), ids)
        same = c.execute(text("SELECT row_version FROM student WHERE id = :student"), ids).scalar()
    assert after.row_version == before.row_version + 1
    assert after.updated_at > before.updated_at
    assert same == after.row_version


def test_session_duration_is_derived(db, ids):
    with db.engine.begin() as c:
        minutes = c.execute(
            text("SELECT duration_minutes FROM class_session WHERE id = :session"), ids
        ).scalar()
    assert minutes == 90


def test_good_rows_are_accepted(db, ids):
    """The counterpart of the refusals: valid values at the edges go in."""
    with db.engine.begin() as c:
        c.execute(
            text("UPDATE student SET grade_level = -1, status = 'withdrawn' WHERE id = :student"),
            ids,
        )
        c.execute(text(
            "INSERT INTO course_progress (id, school_id, student_id, course_id, percent) "
            "VALUES (gen_random_uuid(), :school, :student, :course, 100)"), ids)  # fmt: skip
        c.execute(text(
            "INSERT INTO event_feedback (id, school_id, registration_id, rating) "
            "VALUES (gen_random_uuid(), :school, :registration, 5)"), ids)  # fmt: skip
        c.execute(text(
            "INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no, revoked_at, revoke_reason) "
            "VALUES (gen_random_uuid(), :school, :registration, 'merit', 'C-1', now(), 'error'),"
            "       (gen_random_uuid(), :school, :registration, 'merit', 'C-2', NULL, NULL)"), ids)  # fmt: skip
