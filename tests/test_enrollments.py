"""Enrollment rules: idempotent, reactivating, case-insensitive courses, progress rows;
enrolling never creates a course."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from app.db.models import AuditLog, Course, CourseEnrollment, CourseProgress
from app.domain.enums import EnrollmentSource
from app.domain.errors import Conflict, NotFound, UnknownCourse, ValidationError
from app.domain.rows import EnrollmentOutcome
from app.services.courses import (
    create_course,
    find_or_create_course,
    get_course_by_name,
    list_courses,
)
from app.services.enrollments import (
    list_student_enrollments,
    set_course_enrollment,
    unenroll,
)
from app.services.students import (
    StudentInput,
    StudentQuery,
    create_student,
    list_students,
    update_student,
)

SCHOOL_COURSES = ("Mathematics 101", "Biology", "Art", "Underwater Basket Weaving")


@pytest.fixture(autouse=True)
def school_courses(session, ctx):
    for name in SCHOOL_COURSES:
        create_course(session, ctx, name)


@pytest.fixture
def student(session, ctx):
    return create_student(session, ctx, StudentInput("S1", "Anna", "Kowalska"))


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_enrolling_creates_course_enrollment_and_progress(session, ctx, student):
    result = set_course_enrollment(session, ctx, student.id, "Mathematics 101")
    assert result.outcome is EnrollmentOutcome.CREATED
    assert result.enrollment.active and result.enrollment.course_name == "Mathematics 101"
    assert result.enrollment.progress_percent == 0
    assert (count(session, Course), count(session, CourseEnrollment)) == (4, 1)
    assert count(session, CourseProgress) == 1


def test_enrolling_twice_is_idempotent_and_course_names_ignore_case(session, ctx, student):
    set_course_enrollment(session, ctx, student.id, "Mathematics 101")
    again = set_course_enrollment(session, ctx, student.id, "  MATHEMATICS   101 ")
    assert again.outcome is EnrollmentOutcome.UNCHANGED
    assert (count(session, Course), count(session, CourseEnrollment)) == (4, 1)
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
    assert back.enrollment.source == "manual"  # how it first came to be; never overwritten
    assert count(session, CourseEnrollment) == 1
    entries = session.execute(
        select(AuditLog.action, AuditLog.changes, AuditLog.actor)
        .where(AuditLog.entity == "course_enrollment").order_by(AuditLog.id)
    ).all()  # fmt: skip
    assert [action for action, _changes, _actor in entries] == ["insert", "update", "update"]
    assert entries[1].changes["before"]["active"] is True
    assert entries[1].changes["after"]["active"] is False
    assert entries[2].changes["after"]["active"] is True
    assert {actor for _action, _changes, actor in entries} == {"tester"}


def test_reenrolling_keeps_the_earlier_period(session, ctx, student):
    """Enrolled 3 Aug, ended 15 Oct, enrolled again today: "Enrolled on" stays 3 Aug and
    both periods are kept, so a register of September still lists the student."""
    set_course_enrollment(session, ctx, student.id, "Biology")
    unenroll(session, ctx, student.id, "Biology")
    today = date.today()
    started, ended = today - timedelta(days=120), today - timedelta(days=47)
    session.execute(  # as if enrolled 120 days ago and ended 47 days ago
        text("UPDATE course_enrollment SET enrolled_on = :start, ended_on = :end, "
             "periods = datemultirange(daterange(:start, :end))"),
        {"start": started, "end": ended},
    )  # fmt: skip
    back = set_course_enrollment(session, ctx, student.id, "Biology")
    assert back.enrollment.enrolled_on == started
    assert back.enrollment.periods == ((started, ended), (today, None))
    last_day = ended - timedelta(days=1)
    assert (
        back.enrollment.period_text.startswith(f"enrolled {started.day} {started:%b}")
        and f"{last_day.day} {last_day:%b}" in back.enrollment.period_text
    )
    assert back.enrollment.period_text.endswith(f"again since {today.day} {today:%b}")
    in_between = started + timedelta(days=30)
    assert session.scalar(
        text("SELECT periods @> CAST(:d AS date) FROM course_enrollment"), {"d": in_between}
    )  # fmt: skip


def test_a_student_who_is_not_active_is_not_enrolled(session, ctx, student):
    update_student(session, ctx, student.id, {"status": "withdrawn"})
    with pytest.raises(Conflict, match="Anna Kowalska is withdrawn, so Rollbook does not enroll"):
        set_course_enrollment(session, ctx, student.id, "Art")
    assert count(session, CourseEnrollment) == 0 and count(session, CourseProgress) == 0


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


def test_a_misspelled_course_is_refused_with_the_closest_names(session, ctx, student):
    with pytest.raises(UnknownCourse) as refused:
        set_course_enrollment(session, ctx, student.id, "Underwater Basketry")
    assert refused.value.suggestions == ["Underwater Basket Weaving"]
    assert "Did you mean 'Underwater Basket Weaving'?" in str(refused.value)
    assert count(session, Course) == len(SCHOOL_COURSES)  # no course was made of the typo
    assert count(session, CourseEnrollment) == 0
    with pytest.raises(UnknownCourse) as part:
        set_course_enrollment(session, ctx, student.id, "biol")
    assert part.value.suggestions == ["Biology"]


def test_creating_a_course_is_its_own_action_and_never_a_duplicate(session, ctx, student):
    created = create_course(session, ctx, "  Underwater   Basketry ")
    assert created.name == "Underwater Basketry"
    with pytest.raises(Conflict, match="already a course named 'Underwater Basketry'"):
        create_course(session, ctx, "underwater basketry")
    assert set_course_enrollment(session, ctx, student.id, "underwater basketry").outcome is (
        EnrollmentOutcome.CREATED
    )


def test_courses_are_listed_in_the_order_people_read_them(session, ctx):
    for name in ("Grade 10 Maths", "Grade 9 Maths", "grade 11 maths", "Grade 1 Maths"):
        create_course(session, ctx, name)
    names = [c.name for c in list_courses(session, ctx)]
    assert names == ["Art", "Biology", "Grade 1 Maths", "Grade 9 Maths", "Grade 10 Maths",
                     "grade 11 maths", "Mathematics 101", "Underwater Basket Weaving"]  # fmt: skip
