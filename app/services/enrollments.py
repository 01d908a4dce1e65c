"""Course enrollments: one row per (course, student), switched on and off, never duplicated.

Every active enrollment has its live course_progress row, written in the same
transaction; ending an enrollment sets its progress row aside (tombstone, percent kept)
and re-enrolling brings it back. The consistency check relies on both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import Select, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.models import Course, CourseEnrollment, CourseProgress, Student
from app.domain.context import ServiceContext
from app.domain.enums import EnrollmentSource
from app.domain.errors import NotFound
from app.domain.rows import (
    EnrollmentListRow,
    EnrollmentOutcome,
    EnrollmentResult,
    EnrollmentRow,
    Page,
)
from app.services import audit
from app.services.courses import find_or_create_course, get_course_by_name
from app.services.paging import count_rows, fetch_page, order_by
from app.services.permissions import REGISTRAR_ROLES, require_role
from app.services.student_search import student_search_predicate
from app.services.students import get_student


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
    )


def _snapshot(enrollment: CourseEnrollment) -> dict:
    return {
        "course_id": enrollment.course_id,
        "student_id": enrollment.student_id,
        "active": enrollment.active,
        "enrolled_on": enrollment.enrolled_on,
        "ended_on": enrollment.ended_on,
        "source": enrollment.source,
    }


def ensure_progress_row(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID, course_id: uuid.UUID
) -> bool:
    """Create the course_progress row if missing, or bring back the one set aside when the
    enrollment ended (its percent is kept). Returns True when a row was created or restored."""
    row = session.execute(
        insert(CourseProgress)
        .values(id=new_id(), school_id=ctx.school_id, student_id=student_id, course_id=course_id)
        .on_conflict_do_update(
            constraint="uq_course_progress_once",
            set_={"deleted_at": None},
            where=CourseProgress.deleted_at.is_not(None),
        )
        .returning(CourseProgress.id, CourseProgress.percent, literal_column("xmax = 0"))
    ).first()
    if row is None:
        return False
    progress_id, percent, created = row
    if created:
        audit.record(
            session, ctx, action="create", entity="course_progress", entity_id=progress_id,
            after={"student_id": student_id, "course_id": course_id, "percent": 0},
        )  # fmt: skip
    else:
        audit.record(
            session, ctx, action="restore", entity="course_progress", entity_id=progress_id,
            before={"set_aside": True}, after={"set_aside": False, "percent": percent},
        )  # fmt: skip
    return True


def set_aside_progress_row(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID, course_id: uuid.UUID
) -> bool:
    """An ended enrollment has no live progress row: set it aside (tombstone), keeping the
    percent for a later re-enrollment. Returns True when a row was set aside."""
    progress_id = session.execute(
        update(CourseProgress)
        .where(
            CourseProgress.student_id == student_id,
            CourseProgress.course_id == course_id,
            CourseProgress.deleted_at.is_(None),
        )
        .values(deleted_at=func.now())
        .returning(CourseProgress.id)
    ).scalar()
    if progress_id is not None:
        audit.record(
            session, ctx, action="set_aside", entity="course_progress", entity_id=progress_id,
            before={"set_aside": False}, after={"set_aside": True},
        )  # fmt: skip
    return progress_id is not None


def enroll(
    session: Session,
    ctx: ServiceContext,
    student_id: uuid.UUID,
    course_id: uuid.UUID,
    *,
    source: EnrollmentSource = EnrollmentSource.MANUAL,
) -> EnrollmentResult:
    """Enroll a student in a course: create, reactivate, or leave an active one alone."""
    require_role(ctx, *REGISTRAR_ROLES, doing="enroll students")
    get_student(session, ctx, student_id)  # NotFound for missing or tombstoned students
    enrollment = session.scalar(
        select(CourseEnrollment)
        .where(CourseEnrollment.course_id == course_id, CourseEnrollment.student_id == student_id)
        .with_for_update()
    )
    if enrollment is None:
        # ON CONFLICT on uq_course_enrollment_once: two desktops enrolling the same
        # student at once end up with one row, never two.
        session.execute(
            insert(CourseEnrollment)
            .values(
                id=new_id(),
                school_id=ctx.school_id,
                course_id=course_id,
                student_id=student_id,
                source=source.value,
            )  # fmt: skip
            .on_conflict_do_nothing(constraint="uq_course_enrollment_once")
        )
        enrollment = session.scalar(
            select(CourseEnrollment).where(
                CourseEnrollment.course_id == course_id, CourseEnrollment.student_id == student_id
            )
        )
        assert enrollment is not None
        outcome = EnrollmentOutcome.CREATED
        audit.record(
            session, ctx, action="enroll", entity="course_enrollment", entity_id=enrollment.id,
            after=_snapshot(enrollment),
        )  # fmt: skip
    elif enrollment.active and enrollment.deleted_at is None:
        outcome = EnrollmentOutcome.UNCHANGED
    else:
        before = _snapshot(enrollment)
        enrollment.active = True
        enrollment.deleted_at = None
        enrollment.ended_on = None
        enrollment.enrolled_on = date.today()
        session.flush()
        outcome = EnrollmentOutcome.REACTIVATED
        audit.record(
            session, ctx, action="reactivate", entity="course_enrollment",
            entity_id=enrollment.id, before=before, after=_snapshot(enrollment),
        )  # fmt: skip
    ensure_progress_row(session, ctx, student_id, course_id)
    session.refresh(enrollment)
    return EnrollmentResult(enrollment=_row(session, enrollment), outcome=outcome)


def set_course_enrollment(
    session: Session,
    ctx: ServiceContext,
    student_id: uuid.UUID,
    course_name: str,
    *,
    source: EnrollmentSource = EnrollmentSource.MANUAL,
) -> EnrollmentResult:
    """Enroll a student by course name: find or create the course (name compared without
    regard to case), then create or reactivate the enrollment. Never a duplicate."""
    course, course_created = find_or_create_course(session, ctx, course_name)
    result = enroll(session, ctx, student_id, course.id, source=source)
    return EnrollmentResult(
        enrollment=result.enrollment, outcome=result.outcome, course_created=course_created
    )


def unenroll(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID, course_name: str
) -> EnrollmentResult:
    """End an enrollment (active = false). The row and its history stay."""
    require_role(ctx, *REGISTRAR_ROLES, doing="unenroll students")
    student = get_student(session, ctx, student_id)
    course = get_course_by_name(session, ctx, course_name)
    enrollment = session.scalar(
        select(CourseEnrollment)
        .where(
            CourseEnrollment.course_id == course.id,
            CourseEnrollment.student_id == student_id,
            CourseEnrollment.deleted_at.is_(None),
        )
        .with_for_update()
    )
    if enrollment is None:
        raise NotFound(f"{student.full_name} is not enrolled in {course.name}.")
    if not enrollment.active:
        return EnrollmentResult(_row(session, enrollment), EnrollmentOutcome.UNCHANGED)
    before = _snapshot(enrollment)
    enrollment.active = False
    enrollment.ended_on = max(date.today(), enrollment.enrolled_on)
    session.flush()
    audit.record(
        session, ctx, action="unenroll", entity="course_enrollment", entity_id=enrollment.id,
        before=before, after=_snapshot(enrollment),
    )  # fmt: skip
    set_aside_progress_row(session, ctx, student_id, course.id)
    session.refresh(enrollment)
    return EnrollmentResult(_row(session, enrollment), EnrollmentOutcome.DEACTIVATED)


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


def list_enrollments(
    session: Session, ctx: ServiceContext, query: EnrollmentQuery, offset: int = 0,
    limit: int = 200,
) -> Page[EnrollmentListRow]:  # fmt: skip
    """One page of enrollments with student, course and progress, sorted in SQL."""
    name = Student.sort_name
    course = func.lower(Course.name)
    stmt = order_by(
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
    return fetch_page(session, stmt, offset, limit, lambda r: EnrollmentListRow(*r))


def count_enrollments(session: Session, ctx: ServiceContext, query: EnrollmentQuery) -> int:
    return count_rows(session, _enrollment_list_select(ctx, query))
