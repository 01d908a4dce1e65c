"""The list queries behind the Enrollments, Sessions and Events pages."""

from __future__ import annotations

import pytest

from app.demo_data import create_demo_data
from app.domain.errors import ValidationError
from app.services.class_sessions import (
    SessionQuery,
    count_sessions,
    list_sessions,
    update_session,
)
from app.services.enrollments import EnrollmentQuery, count_enrollments, list_enrollments
from app.services.events import (
    RegistrationQuery,
    count_registrations,
    list_events,
    list_registrations,
)


@pytest.fixture
def school(db):
    with db.engine.begin() as conn:
        create_demo_data(conn.connection.driver_connection, db.school.id, students=200, seed=5)
    return db


def test_enrollment_list_pages_sorts_and_filters(school, session, ctx):
    total = count_enrollments(session, ctx, EnrollmentQuery())
    first = list_enrollments(session, ctx, EnrollmentQuery(sort="course"), 0, 50)
    rest = list_enrollments(session, ctx, EnrollmentQuery(sort="course"), 50, 10_000)
    assert len(first.rows) == 50 and first.has_more
    assert len(first.rows) + len(rest.rows) == total and not rest.has_more
    names = [r.course_name.lower() for r in first.rows + rest.rows]
    assert names == sorted(names)
    course_id = first.rows[0].course_id
    active = list_enrollments(
        session, ctx, EnrollmentQuery(course_id=course_id, active=True), 0, 1000
    )
    assert active.rows and all(r.course_id == course_id and r.active for r in active.rows)
    assert all(r.progress_percent is not None for r in active.rows)
    student = first.rows[0]
    mine = list_enrollments(session, ctx, EnrollmentQuery(search=student.student_no), 0, 100)
    assert {r.student_id for r in mine.rows} == {student.student_id}


def test_session_list_counts_attendance_and_edits(school, session, ctx):
    total = count_sessions(session, ctx, SessionQuery())
    page = list_sessions(session, ctx, SessionQuery(status="completed"), 0, total)
    assert page.rows and all(r.status == "completed" for r in page.rows)
    marked = [r for r in page.rows if r.present + r.absent + r.late + r.excused]
    assert marked
    row = marked[0]
    assert row.attendance_summary.startswith(f"P {row.present} · A {row.absent}")
    assert row.duration_minutes > 0
    update_session(session, ctx, row.id, {"location": "Hall B", "session_mode": "hybrid"})
    again = list_sessions(session, ctx, SessionQuery(sort="location", descending=True), 0, total)
    changed = next(r for r in again.rows if r.id == row.id)
    assert (changed.location, changed.session_mode) == ("Hall B", "hybrid")
    with pytest.raises(ValidationError, match="must end after it starts"):
        update_session(session, ctx, row.id, {"end_time": row.start_time})
    with pytest.raises(ValidationError, match="Choose a status"):
        update_session(session, ctx, row.id, {"status": "postponed"})


def test_registration_list_sorts_and_filters_by_status(school, session, ctx):
    events = list_events(session, ctx)
    assert events
    total = count_registrations(session, ctx, RegistrationQuery())
    rows = list_registrations(
        session, ctx, RegistrationQuery(sort="days", descending=True), 0, total
    ).rows
    assert len(rows) == total
    assert rows[0].days_attended >= rows[-1].days_attended
    with_certificates = [r for r in rows if r.certificate_nos]
    assert with_certificates
    numbers = with_certificates[0].certificate_nos.split(", ")
    assert numbers == sorted(numbers)
    registered = list_registrations(
        session, ctx, RegistrationQuery(status="registered"), 0, total
    ).rows
    assert registered and {r.status for r in registered} == {"registered"}
    assert len(registered) < total  # the filter left the others out
