"""Class sessions: the Sessions list with attendance counts, edits to a session, and
scheduling one-time sessions and recurring series."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, time
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import Row, Select, func, insert, literal, or_, select, true, tuple_, update
from sqlalchemy.orm import Session

from app.db.models import ClassSession, Course, SessionAttendance, Student, natural_order
from app.domain.context import ServiceContext
from app.domain.enums import (
    PriorityLevel,
    SessionFrequency,
    SessionMode,
    SessionStatus,
    TeacherAttendance,
)
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.recurrence import Recurrence
from app.domain.rows import Page, SessionListRow
from app.domain.wording import counted, group_name, plural
from app.services.courses import get_course_by_name
from app.services.paging import STREAM_BATCH, count_rows, fetch_page, order_by, stream_batches
from app.services.permissions import Permission, needs

SessionSort = Literal["course", "date", "duration", "mode", "location", "status"]


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
            ClassSession.class_name,
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


@needs(Permission.VIEW)
def list_sessions(
    session: Session, ctx: ServiceContext, query: SessionQuery, offset: int = 0, limit: int = 200
) -> Page[SessionListRow]:
    stmt = _sorted_sessions(ctx, query)
    return fetch_page(session, stmt, offset, limit, lambda r: SessionListRow(*r))


@needs(Permission.VIEW)
def stream_sessions(
    session: Session, ctx: ServiceContext, query: SessionQuery, batch_size: int = STREAM_BATCH
) -> Iterator[list[SessionListRow]]:
    """Every session of the list, in list order, in batches (File > Export)."""
    stmt = _sorted_sessions(ctx, query)
    return stream_batches(session, stmt, lambda rows: [SessionListRow(*r) for r in rows],
                          batch_size)  # fmt: skip


@needs(Permission.VIEW)
def count_sessions(session: Session, ctx: ServiceContext, query: SessionQuery) -> int:
    # Same filters, without the attendance counts a row count does not need.
    return count_rows(session, _session_list_select(ctx, query, with_counts=False))


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


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _check_status_change(before: str, after: str) -> None:
    if after == before or after in STATUS_FLOW[before]:
        return
    allowed = sorted(STATUS_FLOW[before])
    then = (f"it can become {' or '.join(allowed)}" if allowed
            else "it cannot change any more; schedule a new session instead")  # fmt: skip
    raise ValidationError(
        "status", f"{_article(before).capitalize()} {before} session cannot become {after}: {then}."
    )


@needs(Permission.SCHEDULE_SESSIONS)
def update_session(
    session: Session,
    ctx: ServiceContext,
    session_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> None:
    """Change one session's fields (the list's edits in place): ``update_sessions`` with
    the scope "this"."""
    update_sessions(session, ctx, session_id, changes, "this", expected_version=expected_version)


# ---------------------------------------------------------------- editing a session or a series
EditScope = Literal["this", "following", "series"]
EDIT_SCOPES: tuple[EditScope, ...] = ("this", "following", "series")
# Every field a person edits on a session (Edit session…, `rollbook sessions edit`).
SESSION_FIELDS = (
    "session_date", "start_time", "end_time", "session_mode", "location", "topics",
    "topics_covered", "priority_level", "is_featured", "teacher_attendance_status", "status",
    "alarm_enabled", "alarm_before_minutes", "notification_enabled",
)  # fmt: skip
FINISHED = frozenset({SessionStatus.COMPLETED.value, SessionStatus.CANCELLED.value})
MAX_ALARM_MINUTES = 24 * 60  # a reminder more than a day ahead is a typo, not a reminder
MAX_REASON_LENGTH = 500
GONE = "That session no longer exists; refresh the list and try again."


@dataclass(frozen=True)
class SessionDetails:
    """One session with everything the Edit session dialog shows, and its place in its
    series (``series_size`` 1 and ``series_position`` 1 for a one-time session)."""

    id: uuid.UUID
    course_id: uuid.UUID
    course_name: str
    session_date: date
    start_time: time
    end_time: time
    duration_minutes: int
    session_mode: str
    location: str | None
    topics: tuple[str, ...]
    topics_covered: tuple[str, ...]
    priority_level: str
    is_featured: bool
    teacher_attendance_status: str | None
    status: str
    alarm_enabled: bool
    alarm_before_minutes: int
    notification_enabled: bool
    session_frequency: str
    series_id: uuid.UUID | None
    row_version: int
    class_name: str | None = None  # the class the lesson is for; None: the whole course
    cancel_reason: str | None = None
    series_size: int = 1
    series_position: int = 1  # by date, from 1

    @property
    def group_name(self) -> str:
        return group_name(self.course_name, self.class_name)

    @property
    def in_series(self) -> bool:
        return self.series_id is not None and self.series_size > 1

    @property
    def following_count(self) -> int:
        """This session and the ones after it in its series."""
        return self.series_size - self.series_position + 1

    @property
    def next_statuses(self) -> tuple[str, ...]:
        """The statuses the session may move on to now, in the order of the flow."""
        return tuple(s.value for s in SessionStatus if s.value in STATUS_FLOW[self.status])


@dataclass(frozen=True)
class SessionsUpdated:
    """What an edit or a cancellation did: the sessions it changed (in date order) and
    the finished sessions of a series it left as they were."""

    session_ids: tuple[uuid.UUID, ...]
    left_completed: int = 0
    left_cancelled: int = 0
    verb: str = "changed"  # "cancelled" for cancel_sessions
    reason: str | None = None

    @property
    def changed(self) -> int:
        return len(self.session_ids)

    @property
    def summary(self) -> str:
        """ "3 sessions changed; 2 completed sessions left as they were." """
        if self.changed:
            text = f"{counted(self.changed, 'session')} {self.verb}"
        else:
            text = "No session needed " + ("cancelling" if self.verb == "cancelled" else "changing")
        left = [counted(n, f"{status} session") for n, status in
                ((self.left_completed, "completed"), (self.left_cancelled, "cancelled")) if n]  # fmt: skip
        if left:
            total = self.left_completed + self.left_cancelled
            text += f"; {' and '.join(left)} left as {plural(total, 'it')} {plural(total, 'was')}"
        return text + "."


_DETAIL_COLUMNS = (
    ClassSession.id, ClassSession.course_id, Course.name, ClassSession.session_date,
    ClassSession.start_time, ClassSession.end_time, ClassSession.duration_minutes,
    ClassSession.session_mode, ClassSession.location, ClassSession.topics,
    ClassSession.topics_covered, ClassSession.priority_level, ClassSession.is_featured,
    ClassSession.teacher_attendance_status, ClassSession.status, ClassSession.alarm_enabled,
    ClassSession.alarm_before_minutes, ClassSession.notification_enabled,
    ClassSession.session_frequency, ClassSession.series_id, ClassSession.row_version,
    ClassSession.class_name, ClassSession.cancel_reason,
)  # fmt: skip


def _live(ctx: ServiceContext):
    return (ClassSession.school_id == ctx.school_id, ClassSession.deleted_at.is_(None))


@needs(Permission.VIEW)
def get_session_details(
    session: Session, ctx: ServiceContext, session_id: uuid.UUID
) -> SessionDetails:
    """One session with every field a person edits, and where it stands in its series:
    how many sessions the series has and which of them, by date, this one is."""
    found = session.execute(
        select(*_DETAIL_COLUMNS).join(Course, Course.id == ClassSession.course_id)
        .where(ClassSession.id == session_id, *_live(ctx))
    ).one_or_none()  # fmt: skip
    if found is None:
        raise NotFound(GONE)
    values = found._asdict()
    values["course_name"] = values.pop("name")
    values["topics"] = tuple(values["topics"] or ())
    values["topics_covered"] = tuple(values["topics_covered"] or ())
    details = SessionDetails(**values)
    if details.series_id is None:
        return details
    when = tuple_(ClassSession.session_date, ClassSession.start_time, ClassSession.id)
    size, position = session.execute(
        select(func.count(), func.count().filter(
            when <= tuple_(literal(details.session_date), literal(details.start_time),
                           literal(details.id))))
        .where(ClassSession.series_id == details.series_id, *_live(ctx))
    ).one()  # fmt: skip
    return replace(details, series_size=size, series_position=position)


# -- checking one field's new value, before any row is read
def _date_value(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(field, f"{value!r} is not a date; use e.g. 2026-09-01.") from None


def _choice(kind: type[StrEnum], label: str, *, optional: bool = False):
    def check(value: Any, field: str) -> str | None:
        if optional and (value is None or str(value).strip() == ""):
            return None
        if value not in {k.value for k in kind}:
            allowed = ", ".join(k.value for k in kind)
            unset = " (or none)" if optional else ""
            raise ValidationError(
                field, f"{value!r} is not {_article(label)} {label}. Choose {_article(label)} "
                f"{label}: {allowed}{unset}."
            )  # fmt: skip
        return str(value)

    return check


def _location_value(value: Any, field: str) -> str | None:
    return (str(value).strip() or None) if value else None


def _topics_value(value: Any, field: str) -> list[str]:
    what = "topics covered" if field == "topics_covered" else "planned topics"
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValidationError(field, f"The {what} are a list of topics, one topic per entry.")
    topics = []
    for number, topic in enumerate(value, 1):
        if not isinstance(topic, str) or not topic.strip():
            raise ValidationError(
                field, f"Topic {number} of the {what} is blank; type the topic or remove it."
            )
        topics.append(topic.strip())
    return topics


def _flag_value(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, f"{field} is yes or no (true or false), not {value!r}.")
    return value


def _minutes_value(value: Any, field: str) -> int:
    try:
        minutes = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        minutes = None
    if minutes is None or str(value).strip() != str(minutes):
        raise ValidationError(field, f"{value!r} is not a number of minutes; type e.g. 15.")
    if not 0 <= minutes <= MAX_ALARM_MINUTES:
        raise ValidationError(
            field, f"A reminder comes 0 to {MAX_ALARM_MINUTES:,} minutes (a day) before the "
            f"session, not {minutes:,}; change the minutes."
        )  # fmt: skip
    return minutes


_FIELD_CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "session_date": _date_value,
    "start_time": _parse_time,
    "end_time": _parse_time,
    "session_mode": _choice(SessionMode, "mode"),
    "location": _location_value,
    "topics": _topics_value,
    "topics_covered": _topics_value,
    "priority_level": _choice(PriorityLevel, "priority"),
    "is_featured": _flag_value,
    "teacher_attendance_status": _choice(TeacherAttendance, "teacher attendance", optional=True),
    "status": _choice(SessionStatus, "status"),
    "alarm_enabled": _flag_value,
    "alarm_before_minutes": _minutes_value,
    "notification_enabled": _flag_value,
}


def _checked_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(SESSION_FIELDS))
    if unknown:
        raise ValidationError(
            unknown[0], f"{unknown[0]!r} cannot be edited; a session's fields are "
            f"{', '.join(SESSION_FIELDS)}."
        )  # fmt: skip
    return {name: _FIELD_CHECKS[name](value, name) for name, value in changes.items()}


# -- checking the sessions the edit reaches, as they would be after it
def _scope_rows(
    session: Session, ctx: ServiceContext, session_id: uuid.UUID, scope: EditScope,
    expected_version: int | None,
) -> tuple[Row, list[Row]]:  # fmt: skip
    """The session itself and every session of the scope, locked, in date order."""
    if scope not in EDIT_SCOPES:
        raise ValidationError("scope", f"{scope!r} is not a scope; use {', '.join(EDIT_SCOPES)}.")
    target = session.execute(
        select(ClassSession.series_id, ClassSession.session_date, ClassSession.row_version)
        .where(ClassSession.id == session_id, *_live(ctx)).with_for_update()
    ).one_or_none()  # fmt: skip
    if target is None:
        raise NotFound(GONE)
    if expected_version is not None and target.row_version != expected_version:
        raise Conflict("Someone else changed this session meanwhile; refresh and try again.")
    stmt = select(
        ClassSession.id, ClassSession.session_date, ClassSession.start_time,
        ClassSession.end_time, ClassSession.session_mode, ClassSession.location,
        ClassSession.status,
    ).where(*_live(ctx))  # fmt: skip
    if scope == "this" or target.series_id is None:  # a one-time session is its own series
        stmt = stmt.where(ClassSession.id == session_id)
    else:
        stmt = stmt.where(ClassSession.series_id == target.series_id)
        if scope == "following":
            stmt = stmt.where(ClassSession.session_date >= target.session_date)
    order = (ClassSession.session_date, ClassSession.start_time, ClassSession.id)
    return target, list(session.execute(stmt.order_by(*order).with_for_update()))


def _on(row: Row, rows: list[Row]) -> str:
    return "" if len(rows) == 1 else f" on {row.session_date:%a %d %b %Y}"


def _check_rows(rows: list[Row], values: dict[str, Any]) -> None:
    """The rules that hold between fields, for each session as the edit would leave it."""
    for row in rows:
        start = values.get("start_time", row.start_time)
        if values.get("end_time", row.end_time) <= start:
            raise ValidationError(
                "end_time", f"The session{_on(row, rows)} must end after it starts "
                f"({start:%H:%M}); change the end time."
            )  # fmt: skip
    # Only an edit of the mode or the room is held to the room rule: a status or topic
    # edit of an older session without a room must not be refused for what it did not do.
    if values.keys() & {"session_mode", "location"}:
        roomless = [r for r in rows
                    if values.get("session_mode", r.session_mode) != SessionMode.ONLINE.value
                    and not values.get("location", r.location)]  # fmt: skip
        if roomless:
            mode = values.get("session_mode", roomless[0].session_mode)
            which = ("" if len(rows) == 1 else
                     f": {counted(len(roomless), 'session')} of these, the first"
                     f"{_on(roomless[0], rows)}, would have none")  # fmt: skip
            raise ValidationError(
                "location", f"{_article(mode).capitalize()} {mode} session needs a location "
                f"(a room){which}. Type the room, or choose online."
            )  # fmt: skip
    if "status" in values:
        by_status: dict[str, list[Row]] = {}
        for row in rows:
            by_status.setdefault(row.status, []).append(row)
        for before, group in by_status.items():
            try:
                _check_status_change(before, values["status"])
            except ValidationError as refusal:
                if len(rows) == 1:
                    raise
                raise ValidationError(
                    "status", f"Nothing was changed: {counted(len(group), 'session')} of these "
                    f"(the first{_on(group[0], rows)}) {plural(len(group), 'is')} {before}. "
                    f"{refusal}"
                ) from None  # fmt: skip


@needs(Permission.SCHEDULE_SESSIONS)
def update_sessions(
    session: Session,
    ctx: ServiceContext,
    session_id: uuid.UUID,
    changes: Mapping[str, Any],
    scope: EditScope = "this",
    *,
    expected_version: int | None = None,
    cancel_reason: str | None = None,
) -> SessionsUpdated:
    """Change fields of a session (``scope`` "this"), of it and the later sessions of its
    series ("following": the same series, on its date or after) or of its whole series
    ("series"), in one UPDATE.

    ``changes`` maps fields of ``SESSION_FIELDS`` to their new values. A new date is for
    one session only: with "following" or "series" it is refused (moving a whole series
    is scheduling it anew). Completed and cancelled sessions other than this one are left
    as they were by a "following" or "series" edit and counted in the result; this one
    is edited whatever its status, as the list edits it. A status change follows
    STATUS_FLOW for every session it reaches; an end before the start, an in-person or
    hybrid session without a room, blank topics or an unknown value are refused, with the
    reason, and nothing is changed."""
    values = _checked_changes(changes)
    if values.get("status") == SessionStatus.CANCELLED.value:
        values["cancel_reason"] = cancel_reason  # why, kept with the cancelled sessions
    target, rows = _scope_rows(session, ctx, session_id, scope, expected_version)
    if "session_date" in values and scope != "this" and target.series_id is not None:
        if values["session_date"] != target.session_date:
            raise ValidationError(
                "session_date", "A new date is for one session only: apply it to this "
                "session alone (the others keep their dates), or keep the date to change "
                "the following sessions or the whole series."
            )  # fmt: skip
        del values["session_date"]  # the same date: nothing to set on the others
    # The session itself is edited whatever its status, as with "this".
    left = [r for r in rows if r.status in FINISHED and r.id != session_id]
    left_ids = {r.id for r in left}
    rows = [r for r in rows if r.id not in left_ids]
    _check_rows(rows, values)
    changed: set[uuid.UUID] = set()
    if values and rows:
        # Only the rows that really differ: the others keep their row_version and leave
        # no audit entry, so "3 sessions changed" counts what changed.
        differs = or_(*(getattr(ClassSession, name).is_distinct_from(value)
                        for name, value in values.items()))  # fmt: skip
        changed = set(session.scalars(
            update(ClassSession).where(ClassSession.id.in_([r.id for r in rows]), differs)
            .values(**values).returning(ClassSession.id)
            .execution_options(synchronize_session="fetch")
        ))  # fmt: skip
    return SessionsUpdated(
        session_ids=tuple(r.id for r in rows if r.id in changed),
        left_completed=sum(r.status == SessionStatus.COMPLETED.value for r in left),
        left_cancelled=sum(r.status == SessionStatus.CANCELLED.value for r in left),
    )


@needs(Permission.SCHEDULE_SESSIONS)
def cancel_sessions(
    session: Session,
    ctx: ServiceContext,
    session_id: uuid.UUID,
    scope: EditScope = "this",
    reason: str | None = None,
    *,
    expected_version: int | None = None,
) -> SessionsUpdated:
    """Cancel a session, or it and the following sessions of its series, or the whole
    series: their status becomes cancelled. Nothing is deleted: the sessions stay in the
    list with their registers. Completed and already cancelled sessions of the series are
    left as they were (and counted); a completed session itself cannot be cancelled."""
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            "reason",
            f"Keep the reason under {MAX_REASON_LENGTH} characters; it has {len(reason):,}.",
        )
    done = update_sessions(session, ctx, session_id, {"status": SessionStatus.CANCELLED.value},
                           scope, expected_version=expected_version,
                           cancel_reason=reason)  # fmt: skip
    return replace(done, verb="cancelled", reason=reason)


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
    class_name: str | None = None  # the class the lessons are for; None: the whole course


@dataclass(frozen=True)
class ScheduledSessions:
    course_name: str
    series_id: uuid.UUID | None  # None for a one-time session
    session_ids: list[uuid.UUID]
    dates: list[date]


def _class_exists(session: Session, ctx: ServiceContext, class_name: str) -> bool:
    return (
        session.scalar(
            select(func.count()).where(
                select(Student.id)
                .where(
                    Student.school_id == ctx.school_id,
                    natural_order(Student.class_name) == natural_order(class_name),
                    Student.class_name == class_name,
                    Student.deleted_at.is_(None),
                )
                .exists()
            )
        )
        == 1
    )


@needs(Permission.SCHEDULE_SESSIONS)
def schedule_sessions(
    session: Session, ctx: ServiceContext, plan: SessionPlan
) -> ScheduledSessions:
    """Create the sessions of ``plan`` in one statement: a recurring series becomes one
    row per date, all with the same series_id and the series' pattern. Refused, with
    the reason, for an unknown course, a series that ends before it starts, an end
    before the start, or an in-person or hybrid session without a location."""
    course = get_course_by_name(session, ctx, plan.course_name)
    dates = plan.recurrence.dates()
    values = _normalise({
        "session_date": dates[0], "start_time": plan.start_time, "end_time": plan.end_time,
        "session_mode": plan.session_mode, "location": plan.location,
        "status": SessionStatus.SCHEDULED.value,
    })  # fmt: skip
    values["class_name"] = (plan.class_name or "").strip() or None
    if values["class_name"] and not _class_exists(session, ctx, values["class_name"]):
        raise ValidationError(
            "class_name",
            f"No student is in class {values['class_name']!r}; check the class "
            "name, or leave it empty for lessons of the whole course.",
        )
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
