"""Class sessions: the Sessions list with attendance counts, edits to a session, and
scheduling one-time sessions and recurring series."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any, Literal

from sqlalchemy import Select, func, insert, select, true
from sqlalchemy.orm import Session

from app.db.models import ClassSession, Course, CourseEnrollment, SessionAttendance, natural_order
from app.domain.context import ServiceContext
from app.domain.enums import SessionFrequency, SessionMode, SessionStatus, UserRole
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.recurrence import Recurrence
from app.domain.rows import AttendanceSummaryRow, Page, SessionListRow
from app.services.courses import get_course_by_name
from app.services.paging import STREAM_BATCH, count_rows, fetch_page, order_by, stream_batches
from app.services.permissions import require_role

SessionSort = Literal["course", "date", "duration", "mode", "location", "status"]
EDITABLE = ("session_date", "start_time", "end_time", "session_mode", "location", "status")


@dataclass(frozen=True)
class SessionQuery:
    course_id: uuid.UUID | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: SessionSort = "date"
    descending: bool = False


def _attendance_counts():
    counts = [
        func.count().filter(SessionAttendance.status == status).label(status)
        for status in ("present", "absent", "late", "excused")
    ]
    return (
        select(*counts)
        .where(
            SessionAttendance.session_id == ClassSession.id,
            SessionAttendance.deleted_at.is_(None),
        )
        .lateral("attendance")
    )


def _session_list_select(
    ctx: ServiceContext, query: SessionQuery, *, with_counts: bool = True
) -> Select:
    if not with_counts:
        stmt = (
            select(ClassSession.id)
            .join(Course, Course.id == ClassSession.course_id)
            .where(ClassSession.school_id == ctx.school_id, ClassSession.deleted_at.is_(None))
        )
        return _session_filters(stmt, query)
    counts = _attendance_counts()
    stmt = (
        select(
            ClassSession.id,
            ClassSession.course_id,
            Course.name,
            ClassSession.session_date,
            ClassSession.start_time,
            ClassSession.end_time,
            ClassSession.duration_minutes,
            ClassSession.session_mode,
            ClassSession.location,
            ClassSession.status,
            counts.c.present,
            counts.c.absent,
            counts.c.late,
            counts.c.excused,
            ClassSession.row_version,
        )  # fmt: skip
        .select_from(ClassSession)
        .join(Course, Course.id == ClassSession.course_id)
        .join(counts, true())
        .where(ClassSession.school_id == ctx.school_id, ClassSession.deleted_at.is_(None))
    )
    return _session_filters(stmt, query)


def _session_filters(stmt: Select, query: SessionQuery) -> Select:
    if query.course_id is not None:
        stmt = stmt.where(ClassSession.course_id == query.course_id)
    if query.status:
        stmt = stmt.where(ClassSession.status == query.status)
    if query.date_from:
        stmt = stmt.where(ClassSession.session_date >= query.date_from)
    if query.date_to:
        stmt = stmt.where(ClassSession.session_date <= query.date_to)
    return stmt


def _sorted_sessions(ctx: ServiceContext, query: SessionQuery) -> Select:
    when = [ClassSession.session_date, ClassSession.start_time]
    return order_by(
        _session_list_select(ctx, query), query.sort, query.descending,
        {
            "course": [natural_order(Course.name), *when],
            "date": when,
            "duration": [ClassSession.duration_minutes, *when],
            "mode": [ClassSession.session_mode, *when],
            "location": [ClassSession.location, *when],
            "status": [ClassSession.status, *when],
        },
        ClassSession.id,
    )  # fmt: skip


def list_sessions(
    session: Session, ctx: ServiceContext, query: SessionQuery, offset: int = 0, limit: int = 200
) -> Page[SessionListRow]:
    stmt = _sorted_sessions(ctx, query)
    return fetch_page(session, stmt, offset, limit, lambda r: SessionListRow(*r))


def stream_sessions(
    session: Session, ctx: ServiceContext, query: SessionQuery, batch_size: int = STREAM_BATCH
) -> Iterator[list[SessionListRow]]:
    """Every session of the list, in list order, in batches (File > Export)."""
    stmt = _sorted_sessions(ctx, query)
    return stream_batches(session, stmt, lambda rows: [SessionListRow(*r) for r in rows],
                          batch_size)  # fmt: skip


def count_sessions(session: Session, ctx: ServiceContext, query: SessionQuery) -> int:
    # Same filters, without the attendance counts a row count does not need.
    return count_rows(session, _session_list_select(ctx, query, with_counts=False))


def _snapshot(row: ClassSession) -> dict[str, Any]:
    return {name: getattr(row, name) for name in EDITABLE}


def _parse_time(value: Any, field: str) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"{value!r} is not a time; use HH:MM, e.g. 09:30.") from None


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    if values["session_mode"] not in {m.value for m in SessionMode}:
        allowed = ", ".join(m.value for m in SessionMode)
        raise ValidationError("session_mode", f"Choose a mode: {allowed}.")
    if values["status"] not in {s.value for s in SessionStatus}:
        allowed = ", ".join(s.value for s in SessionStatus)
        raise ValidationError("status", f"Choose a status: {allowed}.")
    values["start_time"] = _parse_time(values["start_time"], "start_time")
    values["end_time"] = _parse_time(values["end_time"], "end_time")
    if values["end_time"] <= values["start_time"]:
        raise ValidationError(
            "end_time",
            f"The session must end after it starts ({values['start_time']:%H:%M}); "
            "change the end time.",
        )
    if not isinstance(values["session_date"], date):
        try:
            values["session_date"] = date.fromisoformat(str(values["session_date"]))
        except ValueError:
            raise ValidationError("session_date", "Use a date like 2026-09-01.") from None
    values["location"] = (str(values["location"]).strip() or None) if values["location"] else None
    return values


# A session is scheduled, then in progress, then completed; or it is cancelled before it
# is over. Nothing comes back from completed or cancelled: a new session is scheduled.
STATUS_FLOW = {
    SessionStatus.SCHEDULED.value: {SessionStatus.IN_PROGRESS.value,
                                    SessionStatus.CANCELLED.value},
    SessionStatus.IN_PROGRESS.value: {SessionStatus.COMPLETED.value,
                                      SessionStatus.CANCELLED.value},
    SessionStatus.COMPLETED.value: set(),
    SessionStatus.CANCELLED.value: set(),
}  # fmt: skip


def _check_status_change(before: str, after: str) -> None:
    if after == before or after in STATUS_FLOW[before]:
        return
    allowed = sorted(STATUS_FLOW[before])
    then = (f"it can become {' or '.join(allowed)}" if allowed
            else "it cannot change any more; schedule a new session instead")  # fmt: skip
    raise ValidationError("status", f"A {before} session cannot become {after}: {then}.")


def update_session(
    session: Session,
    ctx: ServiceContext,
    session_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> None:
    """Change a session's date, times, mode, location or status."""
    require_role(ctx, UserRole.ADMIN, UserRole.REGISTRAR, UserRole.STAFF, doing="edit sessions")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(sorted(unknown)[0], f"{sorted(unknown)[0]!r} cannot be edited.")
    row = session.get(ClassSession, session_id, with_for_update=True)
    if row is None or row.school_id != ctx.school_id or row.deleted_at is not None:
        raise NotFound("That session no longer exists; refresh and try again.")
    if expected_version is not None and row.row_version != expected_version:
        raise Conflict("Someone else changed this session meanwhile; refresh and try again.")
    before = _snapshot(row)
    after = _normalise({**before, **changes})
    if after == before:
        return
    _check_status_change(before["status"], after["status"])
    for name, value in after.items():
        setattr(row, name, value)
    session.flush()


def student_attendance_summary(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID
) -> list[AttendanceSummaryRow]:
    """Per course: how many sessions were marked for the student, and how."""
    counts = [
        func.count().filter(SessionAttendance.status == status)
        for status in ("present", "absent", "late", "excused")
    ]
    rows = session.execute(
        select(Course.name, func.count(), *counts)
        .select_from(SessionAttendance)
        .join(CourseEnrollment, CourseEnrollment.id == SessionAttendance.enrollment_id)
        .join(Course, Course.id == CourseEnrollment.course_id)
        .where(
            SessionAttendance.school_id == ctx.school_id,
            CourseEnrollment.student_id == student_id,
            SessionAttendance.deleted_at.is_(None),
        )
        .group_by(Course.name)
        .order_by(natural_order(Course.name))
    )
    return [AttendanceSummaryRow(*row) for row in rows]


# ---------------------------------------------------------------- scheduling
@dataclass(frozen=True)
class SessionPlan:
    """A one-time session or a recurring series of one course, as a person asks for it."""

    course_name: str
    recurrence: Recurrence
    start_time: time | str
    end_time: time | str
    session_mode: str = SessionMode.IN_PERSON.value
    location: str | None = None


@dataclass(frozen=True)
class ScheduledSessions:
    course_name: str
    series_id: uuid.UUID | None  # None for a one-time session
    session_ids: list[uuid.UUID]
    dates: list[date]


def schedule_sessions(
    session: Session, ctx: ServiceContext, plan: SessionPlan
) -> ScheduledSessions:
    """Create the sessions of ``plan`` in one statement: a recurring series becomes one
    row per date, all with the same series_id and the series' pattern. Refused, with
    the reason, for an unknown course, a series that ends before it starts, an end
    before the start, or an in-person or hybrid session without a location."""
    require_role(ctx, UserRole.ADMIN, UserRole.REGISTRAR, UserRole.STAFF,
                 doing="schedule sessions")  # fmt: skip
    course = get_course_by_name(session, ctx, plan.course_name)
    dates = plan.recurrence.dates()
    values = _normalise({
        "session_date": dates[0], "start_time": plan.start_time, "end_time": plan.end_time,
        "session_mode": plan.session_mode, "location": plan.location,
        "status": SessionStatus.SCHEDULED.value,
    })  # fmt: skip
    if values["session_mode"] != SessionMode.ONLINE.value and not values["location"]:
        raise ValidationError(
            "location", f"An {values['session_mode']} session needs a location (a room)."
        )
    recurring = plan.recurrence.frequency is not SessionFrequency.ONE_TIME
    series_id = uuid.uuid4() if recurring else None
    # A one-time session has no pattern: SQL NULL, left out (None would be JSON null).
    series = {"recurring_pattern": plan.recurrence.pattern()} if recurring else {}
    rows = [
        {**values, **series, "id": uuid.uuid4(), "school_id": ctx.school_id,
         "course_id": course.id, "session_date": day, "is_recurring": recurring,
         "session_frequency": plan.recurrence.frequency.value, "series_id": series_id}
        for day in dates
    ]  # fmt: skip
    # One INSERT for every row (SQLAlchemy sends them as a multi-row VALUES list): a term
    # of lessons in one statement, one audit capture, never a loop of flushes.
    session.execute(insert(ClassSession), rows)
    return ScheduledSessions(course.name, series_id, [r["id"] for r in rows], dates)
