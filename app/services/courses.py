"""Courses: looked up by name without regard to case. Enrolling never creates one: a
name that matches no course is refused with the closest names, and creating a course is
its own, explicit action (``create_course``); the bulk paths (imports, backfill) create
the courses their files name, shown in their preview first."""

from __future__ import annotations

import difflib
import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.models import Course, natural_order
from app.domain.context import ServiceContext
from app.domain.errors import Conflict, NotFound, UnknownCourse, ValidationError
from app.domain.rows import CourseRow
from app.domain.text_limits import COURSE_TEXT_LIMITS, cut_search_text, too_long_message
from app.services.permissions import Permission, needs


def _row(course: Course) -> CourseRow:
    return CourseRow(
        id=course.id, code=course.code, name=course.name, term=course.term, active=course.active
    )


def clean_course_name(name: str | None) -> str:
    """The name with its spaces tidied; ValidationError when it is empty or longer than
    the course name's limit (COURSE_TEXT_LIMITS, a CHECK in the schema too)."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("course", "The course name is required.")
    if len(cleaned) > COURSE_TEXT_LIMITS["name"]:
        raise ValidationError(
            "course", too_long_message("name", COURSE_TEXT_LIMITS["name"], len(cleaned))
        )
    return cleaned


def _by_name(session: Session, ctx: ServiceContext, name: str) -> Course | None:
    return session.scalar(
        select(Course).where(
            Course.school_id == ctx.school_id,
            func.lower(Course.name) == name.lower(),
            Course.deleted_at.is_(None),
        )
    )


SUGGESTED = 3  # closest course names offered for a name that matches none


def closest_course_names(names: list[str], typed: str) -> list[str]:
    """The names a person most likely meant by ``typed``: those that contain it, then
    the nearest spellings ("Underwater Basketry" → "Underwater Basket Weaving")."""
    wanted = " ".join(cut_search_text(typed).split()).lower()
    if not wanted:
        return []
    by_lower = {name.lower(): name for name in names}
    containing = [name for low, name in by_lower.items() if wanted in low]
    close = difflib.get_close_matches(wanted, list(by_lower), n=SUGGESTED, cutoff=0.6)
    ranked = sorted(containing, key=len) + [by_lower[low] for low in close]
    return list(dict.fromkeys(ranked))[:SUGGESTED]


@needs(Permission.VIEW)
def get_course_by_name(session: Session, ctx: ServiceContext, name: str) -> CourseRow:
    """The course with this name (any case). A name that matches none raises
    UnknownCourse with the closest names, so a typo is never taken as a new course."""
    cleaned = clean_course_name(name)
    course = _by_name(session, ctx, cleaned)
    if course is None:
        names = [row.name for row in list_courses(session, ctx)]
        raise UnknownCourse(cleaned, closest_course_names(names, cleaned))
    return _row(course)


@needs(Permission.MANAGE_COURSES)
def create_course(session: Session, ctx: ServiceContext, name: str) -> CourseRow:
    """Create a course: the explicit action behind "New course…". A course of that
    name (any case) that exists already is refused, not reused."""
    course, created = find_or_create_course(session, ctx, name)
    if not created:
        raise Conflict(f"There is already a course named {course.name!r}.")
    return course


@needs(Permission.VIEW)
def get_course(session: Session, ctx: ServiceContext, course_id: uuid.UUID) -> CourseRow:
    course = session.get(Course, course_id)
    if course is None or course.school_id != ctx.school_id or course.deleted_at is not None:
        raise NotFound("That course no longer exists; refresh and try again.")
    return _row(course)


@needs(Permission.MANAGE_COURSES)
def find_or_create_course(
    session: Session, ctx: ServiceContext, name: str
) -> tuple[CourseRow, bool]:
    """The course with this name (any case), created if missing. Returns (course, created).
    Behind ``create_course``; enrolling by name uses ``get_course_by_name``, which never
    creates one."""
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


@needs(Permission.VIEW)
def list_courses(
    session: Session, ctx: ServiceContext, *, active_only: bool = False
) -> list[CourseRow]:
    stmt = select(Course).where(Course.school_id == ctx.school_id, Course.deleted_at.is_(None))
    if active_only:
        stmt = stmt.where(Course.active)
    return [
        _row(c) for c in session.scalars(stmt.order_by(natural_order(Course.name), Course.name))
    ]


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
