"""The Sessions page's week view: one week's class sessions, by day and time, with how
many marks each register has."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import ClassSession, Course, SessionAttendance
from app.domain.context import ServiceContext
from app.domain.wording import group_name
from app.services.permissions import Permission, needs


@dataclass(frozen=True)
class WeekSession:
    id: uuid.UUID
    course_id: uuid.UUID
    course_name: str
    session_date: date
    start_time: time
    end_time: time
    status: str
    session_mode: str
    location: str | None
    # Students with a mark. How many are on the register is the register's own rule
    # (app.services.attendance), not repeated here: a copy would drift from it.
    marked: int
    class_name: str | None = None  # the class the lesson is for; None: the whole course

    @property
    def group_name(self) -> str:
        return group_name(self.course_name, self.class_name)


# A week grid stays readable, and quick, up to a few hundred blocks; a big school's whole
# week (tens of thousands of lessons) is narrowed by course first.
WEEK_LIMIT = 400


def week_start(day: date) -> date:
    """The Monday of the week ``day`` falls in."""
    return day - timedelta(days=day.weekday())


def _marked_count():
    return (
        select(func.count())
        .where(
            SessionAttendance.session_id == ClassSession.id,
            SessionAttendance.deleted_at.is_(None),
        )
        .scalar_subquery()
    )


@needs(Permission.VIEW)
def sessions_in_week(
    session: Session,
    ctx: ServiceContext,
    monday: date,
    course_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = WEEK_LIMIT,
) -> list[WeekSession]:
    """The sessions of the week that ``monday`` starts (any day of it will do), in day
    and time order, cancelled ones included; only one course's or one status's when
    ``course_id`` or ``status`` is given, as the Sessions page's filters ask. At most
    ``limit`` + 1 sessions: one more than ``limit`` says the week has more."""
    first = week_start(monday)
    stmt = (
        select(
            ClassSession.id,
            ClassSession.course_id,
            Course.name,
            ClassSession.session_date,
            ClassSession.start_time,
            ClassSession.end_time,
            ClassSession.status,
            ClassSession.session_mode,
            ClassSession.location,
            _marked_count(),
            ClassSession.class_name,
        )
        .join(Course, Course.id == ClassSession.course_id)
        # (school_id, session_date): the range scan of ix_class_session_date.
        .where(
            ClassSession.school_id == ctx.school_id,
            ClassSession.session_date >= first,
            ClassSession.session_date < first + timedelta(days=7),
            ClassSession.deleted_at.is_(None),
        )
        .order_by(
            ClassSession.session_date,
            ClassSession.start_time,
            ClassSession.end_time,
            Course.name,
            ClassSession.id,
        )  # fmt: skip
    )
    if course_id is not None:
        stmt = stmt.where(ClassSession.course_id == course_id)
    if status:
        stmt = stmt.where(ClassSession.status == status)
    return [WeekSession(*row) for row in session.execute(stmt.limit(limit + 1))]
