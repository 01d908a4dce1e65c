"""Course enrollments: one row per (course, student), switched on and off, never duplicated.

Enrolling and ending go through the one enrollment writer (app.services.
enrollment_writer), shared with the imports, the backfill, request approval and the
repair: every active enrollment has its live course_progress row; ending an enrollment
sets its progress row aside (tombstone, percent kept) and re-enrolling brings it back,
with the earlier period kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.db.models import Course, CourseEnrollment, CourseProgress, Student, natural_order
from app.domain.context import ServiceContext
from app.domain.enums import EnrollmentSource
from app.domain.errors import Conflict, NotFound
from app.domain.periods import periods_from_range
from app.domain.rows import (
    EnrollmentListRow,
    EnrollmentOutcome,
    EnrollmentResult,
    EnrollmentRow,
    Page,
)
from app.services.courses import get_course_by_name
from app.services.enrollment_writer import end_enrollments, write_enrollments
from app.services.paging import STREAM_BATCH, count_rows, fetch_page, order_by, stream_batches
from app.services.permissions import Permission, needs
from app.services.student_search import student_search_predicate
from app.services.students import get_student

ONE_PAIR = "SELECT %(student)s::uuid AS student_id, %(course)s::uuid AS course_id, NULL::text AS student_status"


def _row(session: Session, enrollment: CourseEnrollment) -> EnrollmentRow:
    course_name, percent = session.execute(
        select(Course.name, CourseProgress.percent)
        .select_from(Course)
        .outerjoin(
            CourseProgress,
            (CourseProgress.course_id == Course.id)
            & (CourseProgress.student_id == enrollment.student_id)
            & CourseProgress.deleted_at.is_(None),
        )
        .where(Course.id == enrollment.course_id)
    ).one()
    return EnrollmentRow(
        id=enrollment.id,
        student_id=enrollment.student_id,
        course_id=enrollment.course_id,
        course_name=course_name,
        active=enrollment.active,
        enrolled_on=enrollment.enrolled_on,
        ended_on=enrollment.ended_on,
        source=enrollment.source,
        progress_percent=percent,
        periods=periods_from_range(enrollment.periods),
    )


def _raw(session: Session):
    return session.connection().connection.driver_connection


def _enrollment(session: Session, student_id: uuid.UUID, course_id: uuid.UUID):
    return session.scalar(
        select(CourseEnrollment)
        .where(CourseEnrollment.course_id == course_id, CourseEnrollment.student_id == student_id)
        .execution_options(populate_existing=True)
    )


@needs(Permission.MANAGE_ENROLLMENTS)
def enroll(
    session: Session,
    ctx: ServiceContext,
    student_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    source: EnrollmentSource = EnrollmentSource.MANUAL,
) -> EnrollmentResult:
    """Enroll a student in a course: create, reactivate, or leave an active one alone.

    Refused (Conflict) for a student who is not active: enrolling them would have to
    be undone by hand."""
    student = get_student(session, ctx, student_id)  # NotFound for missing or removed
    session.flush()
    written = write_enrollments(
        _raw(session), ctx, ONE_PAIR, {"student": student_id, "course": course_id},
        source=source.value,
    )  # fmt: skip
    if written.skipped:
        raise Conflict(
            f"{student.full_name} is {student.status}, so Rollbook does not enroll them. "
            "Set the student active first (Edit student…), then enroll again."
            if student.status != "active" else
            f"{student.full_name} cannot be enrolled: {written.skipped[0].reason}."
        )  # fmt: skip
    enrollment = _enrollment(session, student_id, course_id)
    assert enrollment is not None
    counts = written.counts
    outcome = (EnrollmentOutcome.CREATED if counts.created else EnrollmentOutcome.REACTIVATED
               if counts.reactivated else EnrollmentOutcome.UNCHANGED)  # fmt: skip
    return EnrollmentResult(enrollment=_row(session, enrollment), outcome=outcome)


@needs(Permission.MANAGE_ENROLLMENTS)
def set_course_enrollment(
    session: Session,
    ctx: ServiceContext,
    student_id: uuid.UUID,
    course_name: str,
    *,
    source: EnrollmentSource = EnrollmentSource.MANUAL,
) -> EnrollmentResult:
    """Enroll a student in the course of this name (compared without regard to case):
    create or reactivate the enrollment, never a duplicate. A name that matches no
    course raises UnknownCourse with the closest names; it never creates a course."""
    course = get_course_by_name(session, ctx, course_name)
    return enroll(session, ctx, student_id, course.id, source=source)


@needs(Permission.MANAGE_ENROLLMENTS)
def unenroll(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID, course_name: str
) -> EnrollmentResult:
    """End an enrollment (active = false). The row, its periods and history stay."""
    student = get_student(session, ctx, student_id)
    course = get_course_by_name(session, ctx, course_name)
    enrollment = _enrollment(session, student_id, course.id)
    if enrollment is None or enrollment.deleted_at is not None:
        raise NotFound(f"{student.full_name} is not enrolled in {course.name}.")
    if not enrollment.active:
        return EnrollmentResult(_row(session, enrollment), EnrollmentOutcome.UNCHANGED)
    session.flush()
    end_enrollments(_raw(session), ONE_PAIR, {"student": student_id, "course": course.id})
    enrollment = _enrollment(session, student_id, course.id)
    assert enrollment is not None
    return EnrollmentResult(_row(session, enrollment), EnrollmentOutcome.DEACTIVATED)


@needs(Permission.VIEW)
def list_student_enrollments(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID, *, active_only: bool = False
) -> list[EnrollmentRow]:
    stmt = select(CourseEnrollment).where(
        CourseEnrollment.school_id == ctx.school_id,
        CourseEnrollment.student_id == student_id,
        CourseEnrollment.deleted_at.is_(None),
    )
    if active_only:
        stmt = stmt.where(CourseEnrollment.active)
    rows = [_row(session, e) for e in session.scalars(stmt)]
    return sorted(rows, key=lambda r: (not r.active, r.course_name.lower()))


@needs(Permission.VIEW)
def count_active_enrollments(session: Session, ctx: ServiceContext) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                CourseEnrollment.school_id == ctx.school_id,
                CourseEnrollment.active,
                CourseEnrollment.deleted_at.is_(None),
            )
        )
        or 0
    )


# ---------------------------------------------------------------- the Enrollments list

EnrollmentSort = Literal["student", "course", "active", "enrolled_on", "progress"]


@dataclass(frozen=True)
class EnrollmentQuery:
    course_id: uuid.UUID | None = None
    student_id: uuid.UUID | None = None
    active: bool | None = None
    search: str = ""  # word prefixes of the student's name / number / e-mail
    sort: EnrollmentSort = "student"
    descending: bool = False


def _enrollment_list_select(ctx: ServiceContext, query: EnrollmentQuery) -> Select:
    stmt = (
        select(
            CourseEnrollment.id,
            CourseEnrollment.student_id,
            Student.student_no,
            func.btrim(Student.first_name + " " + Student.last_name).label("student_name"),
            CourseEnrollment.course_id,
            Course.name.label("course_name"),
            CourseEnrollment.active,
            CourseEnrollment.enrolled_on,
            CourseEnrollment.ended_on,
            CourseProgress.percent,
            CourseEnrollment.row_version,
        )  # fmt: skip
        .select_from(CourseEnrollment)
        .join(Student, Student.id == CourseEnrollment.student_id)
        .join(Course, Course.id == CourseEnrollment.course_id)
        .outerjoin(
            CourseProgress,
            (CourseProgress.student_id == CourseEnrollment.student_id)
            & (CourseProgress.course_id == CourseEnrollment.course_id)
            & CourseProgress.deleted_at.is_(None),
        )
        .where(
            CourseEnrollment.school_id == ctx.school_id,
            CourseEnrollment.deleted_at.is_(None),
            Student.deleted_at.is_(None),
            Course.deleted_at.is_(None),
        )
    )
    if query.course_id is not None:
        stmt = stmt.where(CourseEnrollment.course_id == query.course_id)
    if query.student_id is not None:
        stmt = stmt.where(CourseEnrollment.student_id == query.student_id)
    if query.active is not None:
        stmt = stmt.where(CourseEnrollment.active.is_(query.active))
    if query.search.strip():
        stmt = stmt.where(student_search_predicate(query.search))
    return stmt


def _sorted_enrollments(ctx: ServiceContext, query: EnrollmentQuery) -> Select:
    name = Student.sort_name
    course = natural_order(Course.name)
    return order_by(
        _enrollment_list_select(ctx, query), query.sort, query.descending,
        {
            "student": [name, course],
            "course": [course, name],
            "active": [CourseEnrollment.active, course, name],
            "enrolled_on": [CourseEnrollment.enrolled_on, name],
            "progress": [CourseProgress.percent, name],
        },
        CourseEnrollment.id,
    )  # fmt: skip


@needs(Permission.VIEW)
def list_enrollments(
    session: Session, ctx: ServiceContext, query: EnrollmentQuery, offset: int = 0,
    limit: int = 200,
) -> Page[EnrollmentListRow]:  # fmt: skip
    """One page of enrollments with student, course and progress, sorted in SQL."""
    stmt = _sorted_enrollments(ctx, query)
    return fetch_page(session, stmt, offset, limit, lambda r: EnrollmentListRow(*r))


@needs(Permission.VIEW)
def stream_enrollments(
    session: Session, ctx: ServiceContext, query: EnrollmentQuery, batch_size: int = STREAM_BATCH
) -> Iterator[list[EnrollmentListRow]]:
    """Every enrollment of the list, in list order, in batches (File > Export)."""
    stmt = _sorted_enrollments(ctx, query)
    return stream_batches(session, stmt, lambda rows: [EnrollmentListRow(*r) for r in rows],
                          batch_size)  # fmt: skip


@needs(Permission.VIEW)
def count_enrollments(session: Session, ctx: ServiceContext, query: EnrollmentQuery) -> int:
    return count_rows(session, _enrollment_list_select(ctx, query))
