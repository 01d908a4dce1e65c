"""Courses: looked up by name without regard to case, created on first use."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.models import Course
from app.domain.context import ServiceContext
from app.domain.errors import NotFound, ValidationError
from app.domain.rows import CourseRow
from app.services.permissions import REGISTRAR_ROLES, require_role


def _row(course: Course) -> CourseRow:
    return CourseRow(
        id=course.id, code=course.code, name=course.name, term=course.term, active=course.active
    )


def clean_course_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("course", "The course name is required.")
    return cleaned


def _by_name(session: Session, ctx: ServiceContext, name: str) -> Course | None:
    return session.scalar(
        select(Course).where(
            Course.school_id == ctx.school_id,
            func.lower(Course.name) == name.lower(),
            Course.deleted_at.is_(None),
        )
    )


def get_course_by_name(session: Session, ctx: ServiceContext, name: str) -> CourseRow:
    """The course with this name (any case); NotFound names what was asked for."""
    cleaned = clean_course_name(name)
    course = _by_name(session, ctx, cleaned)
    if course is None:
        raise NotFound(
            f"There is no course named {cleaned!r}. Check the spelling or create the course first."
        )
    return _row(course)


def get_course(session: Session, ctx: ServiceContext, course_id: uuid.UUID) -> CourseRow:
    course = session.get(Course, course_id)
    if course is None or course.school_id != ctx.school_id or course.deleted_at is not None:
        raise NotFound("That course no longer exists; refresh and try again.")
    return _row(course)


def find_or_create_course(
    session: Session, ctx: ServiceContext, name: str
) -> tuple[CourseRow, bool]:
    """The course with this name (any case), created if missing. Returns (course, created)."""
    require_role(ctx, *REGISTRAR_ROLES, doing="create courses")
    cleaned = clean_course_name(name)
    existing = _by_name(session, ctx, cleaned)
    if existing is not None:
        return _row(existing), False
    course_id = new_id()
    # ON CONFLICT: a concurrent desktop may create the same course at the same moment.
    inserted = session.execute(
        insert(Course)
        .values(id=course_id, school_id=ctx.school_id, name=cleaned)
        .on_conflict_do_nothing(
            index_elements=[Course.school_id, func.lower(Course.name)],
            index_where=Course.deleted_at.is_(None),
        )
        .returning(Course.id)
    ).scalar()
    course = _by_name(session, ctx, cleaned)
    assert course is not None
    if inserted is None:
        return _row(course), False
    return _row(course), True


def list_courses(
    session: Session, ctx: ServiceContext, *, active_only: bool = False
) -> list[CourseRow]:
    stmt = select(Course).where(Course.school_id == ctx.school_id, Course.deleted_at.is_(None))
    if active_only:
        stmt = stmt.where(Course.active)
    return [_row(c) for c in session.scalars(stmt.order_by(func.lower(Course.name)))]


def staged_courses_sql(staging: str, name_column: str, only: str = "true") -> str:
    """SQL for the bulk paths: create the courses a staging table names but Rollbook does
    not have yet (one per name, compared without case; only for the staged rows that
    meet the condition ``only``), then fill the staging table's ``course_id`` from them.
    Parameter: school."""
    return f"""
INSERT INTO course (id, school_id, name)
SELECT gen_random_uuid(), %(school)s, min({name_column})
FROM {staging} staged WHERE course_id IS NULL AND ({only}) GROUP BY lower({name_column})
ON CONFLICT (school_id, lower(name)) WHERE deleted_at IS NULL DO NOTHING;

UPDATE {staging} staged SET course_id = c.id
FROM course c
WHERE staged.course_id IS NULL AND c.school_id = %(school)s AND c.deleted_at IS NULL
  AND lower(c.name) = lower(staged.{name_column});
"""
