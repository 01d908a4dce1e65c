"""Enrollment rules: idempotent, reactivating, case-insensitive courses, progress rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.db.models import AuditLog, Course, CourseEnrollment, CourseProgress
from app.domain.enums import EnrollmentSource
from app.domain.errors import NotFound, ValidationError
from app.domain.rows import EnrollmentOutcome
from app.services.courses import find_or_create_course, get_course_by_name
from app.services.enrollments import (
    list_student_enrollments,
    set_course_enrollment,
    unenroll,
)
from app.services.students import StudentInput, StudentQuery, create_student, list_students


@pytest.fixture
def student(session, ctx):
    return create_student(session, ctx, StudentInput("S1", "Anna", "Kowalska"))


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_enrolling_creates_course_enrollment_and_progress(session, ctx, student):
    result = set_course_enrollment(session, ctx, student.id, "Mathematics 101")
    assert result.outcome is EnrollmentOutcome.CREATED and result.course_created
    assert result.enrollment.active and result.enrollment.course_name == "Mathematics 101"
    assert result.enrollment.progress_percent == 0
    assert (count(session, Course), count(session, CourseEnrollment)) == (1, 1)
    assert count(session, CourseProgress) == 1


def test_enrolling_twice_is_idempotent_and_course_names_ignore_case(session, ctx, student):
    set_course_enrollment(session, ctx, student.id, "Mathematics 101")
    again = set_course_enrollment(session, ctx, student.id, "  MATHEMATICS   101 ")
    assert again.outcome is EnrollmentOutcome.UNCHANGED and not again.course_created
    assert (count(session, Course), count(session, CourseEnrollment)) == (1, 1)
    assert count(session, CourseProgress) == 1


def test_unenroll_keeps_the_row_and_reenroll_reactivates_it(session, ctx, student):
    first = set_course_enrollment(session, ctx, student.id, "Biology")
    ended = unenroll(session, ctx, student.id, "biology")
    assert ended.outcome is EnrollmentOutcome.DEACTIVATED
    assert not ended.enrollment.active and ended.enrollment.ended_on is not None
    assert count(session, CourseEnrollment) == 1
    back = set_course_enrollment(
        session, ctx, student.id, "BIOLOGY", source=EnrollmentSource.IMPORT
    )
    assert back.outcome is EnrollmentOutcome.REACTIVATED
    assert back.enrollment.id == first.enrollment.id
    assert back.enrollment.active and back.enrollment.ended_on is None
    assert count(session, CourseEnrollment) == 1
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.entity == "course_enrollment").order_by(AuditLog.id)
    ).all()
    assert actions == ["enroll", "unenroll", "reactivate"]


def test_reactivation_recreates_a_missing_progress_row(session, ctx, student):
    set_course_enrollment(session, ctx, student.id, "Art")
    unenroll(session, ctx, student.id, "Art")
    session.execute(CourseProgress.__table__.delete())
    set_course_enrollment(session, ctx, student.id, "Art")
    assert count(session, CourseProgress) == 1


def test_unknown_course_and_not_enrolled_are_clear_errors(session, ctx, student):
    with pytest.raises(NotFound, match="no course named 'Chemistry'"):
        unenroll(session, ctx, student.id, "Chemistry")
    find_or_create_course(session, ctx, "Chemistry")
    with pytest.raises(NotFound, match="Anna Kowalska is not enrolled in Chemistry"):
        unenroll(session, ctx, student.id, "chemistry")
    with pytest.raises(ValidationError, match="course name is required"):
        set_course_enrollment(session, ctx, student.id, "   ")
    assert get_course_by_name(session, ctx, "CHEMISTRY").name == "Chemistry"


def test_active_course_count_and_course_filter(session, ctx, student):
    other = create_student(session, ctx, StudentInput("S2", "Ben", "Nowak"))
    set_course_enrollment(session, ctx, student.id, "Art")
    set_course_enrollment(session, ctx, student.id, "Biology")
    set_course_enrollment(session, ctx, other.id, "Art")
    unenroll(session, ctx, other.id, "Art")
    rows = list_students(session, ctx, StudentQuery(sort="active_courses", descending=True)).rows
    assert [(r.student_no, r.active_course_count) for r in rows] == [("S1", 2), ("S2", 0)]
    art = get_course_by_name(session, ctx, "art")
    in_art = list_students(session, ctx, StudentQuery(course_id=art.id)).rows
    assert [r.student_no for r in in_art] == ["S1"]
    listed = list_student_enrollments(session, ctx, other.id)
    assert [(e.course_name, e.active) for e in listed] == [("Art", False)]
