"""Session reminders and change announcements, read by the desktop while it runs.

- ``due_reminders``: the sessions whose alarm goes off in a stretch of time, so the
  desktop can remind the person ``alarm_before_minutes`` before a session starts.
- ``session_changes_since``: what changed in sessions since the last look, read from
  the audit log the database writes (its change capture, migrations 0004–0005), one
  readable line per change, for the window's notification area.

Both only read; times are the school's wall-clock times (a session's date and start
are stored without a time zone, as the timetable says them).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import DateTime, Interval, func, literal_column, select
from sqlalchemy.orm import Session

from app.db.models import AuditLog, ClassSession, Course
from app.domain.context import ServiceContext
from app.domain.enums import SessionMode, SessionStatus
from app.domain.errors import ValidationError
from app.domain.wording import counted
from app.services.permissions import Permission, needs

# An alarm set further ahead than this goes off this far ahead: it keeps the date range
# a poll reads (through the (school_id, session_date) index) to a week of sessions.
LONGEST_LEAD = timedelta(days=7)
_LONGEST_LEAD_MINUTES = int(LONGEST_LEAD.total_seconds() // 60)


@dataclass(frozen=True)
class Reminder:
    session_id: uuid.UUID
    course_name: str
    session_date: date
    start_time: time
    end_time: time
    location: str | None
    minutes_before: int
    remind_at: datetime  # wall-clock time, no time zone, like the session's own times

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.session_date, self.start_time)

    @property
    def title(self) -> str:
        return f"{self.course_name} at {self.start_time:%H:%M}"

    @property
    def summary(self) -> str:
        """ "Biology 7A starts at 09:00 on Tue 8 Dec (until 09:45, Lab 2)": the line kept in
        the window, where it may be read later than it went off."""
        where = f", {self.location}" if self.location else ""
        return (f"{self.course_name} starts at {self.start_time:%H:%M} on "
                f"{day_text(self.session_date)} (until {self.end_time:%H:%M}{where})")  # fmt: skip

    def text(self, now: datetime) -> str:
        """ "Tue 8 Dec, 09:00–09:45, Lab 2: starts in 15 minutes" as seen at ``now``."""
        minutes = round((self.starts_at - wall_clock(now)).total_seconds() / 60)
        if minutes > 0:
            when = f"starts in {counted(minutes, 'minute')}"
        elif minutes == 0:
            when = "starts now"
        else:
            when = f"started {counted(-minutes, 'minute')} ago"
        where = f", {self.location}" if self.location else ""
        return (f"{day_text(self.session_date)}, "
                f"{self.start_time:%H:%M}–{self.end_time:%H:%M}{where}: {when}")  # fmt: skip


@dataclass(frozen=True)
class SessionChange:
    audit_id: int
    session_id: uuid.UUID
    course_name: str
    session_date: date  # the session's date before the change
    at: datetime  # when the change was made
    actor: str
    text: str  # "Biology 7A on Tue 8 Dec moved to 10:00–10:45 (was 09:00–09:45)"


def wall_clock(moment: datetime) -> datetime:
    """``moment`` as this computer's wall-clock time without a zone (a naive datetime
    is taken to be one already)."""
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def day_text(day: date) -> str:
    """ "Tue 8 Dec": how a session's day is named in reminders and announcements."""
    return f"{day:%a} {day.day} {day:%b}"


def _group_name():
    """ "Biology (7A)" for a lesson of one class, "Biology" for the whole course (text
    joined with NULL is NULL)."""
    return func.coalesce(Course.name + " (" + ClassSession.class_name + ")",
                         Course.name).label("name")  # fmt: skip


@needs(Permission.VIEW)
def due_reminders(
    session: Session, ctx: ServiceContext, after: datetime, until: datetime
) -> list[Reminder]:
    """The reminders that go off in (``after``, ``until``]: sessions of the school with
    their alarm on, neither cancelled nor deleted, whose start less their
    ``alarm_before_minutes`` (at most ``LONGEST_LEAD``) falls in that stretch, in the
    order they go off. A session that has already ended by ``until`` is left out: after
    the computer slept through its reminder, it is no use any more."""
    after, until = wall_clock(after), wall_clock(until)
    if until < after:
        raise ValidationError("until", "The end of the reminder window is before its start.")
    starts = ClassSession.session_date.op("+", return_type=DateTime)(ClassSession.start_time)
    ends = ClassSession.session_date.op("+", return_type=DateTime)(ClassSession.end_time)
    lead = func.least(ClassSession.alarm_before_minutes, _LONGEST_LEAD_MINUTES)
    remind_at = starts.op("-", return_type=DateTime)(
        literal_column("interval '1 minute'", Interval).op("*", return_type=Interval)(lead)
    )
    rows = session.execute(
        select(ClassSession.id, _group_name(), ClassSession.session_date,
               ClassSession.start_time, ClassSession.end_time, ClassSession.location,
               ClassSession.alarm_before_minutes, remind_at)
        .join(Course, Course.id == ClassSession.course_id)
        .where(
            ClassSession.school_id == ctx.school_id,
            # A reminder goes off before its session starts, at most LONGEST_LEAD before.
            ClassSession.session_date >= after.date(),
            ClassSession.session_date <= (until + LONGEST_LEAD).date(),
            ClassSession.deleted_at.is_(None),
            ClassSession.alarm_enabled,
            ClassSession.status != SessionStatus.CANCELLED.value,
            remind_at > after,
            remind_at <= until,
            ends > until,
        )
        .order_by(remind_at, Course.name, ClassSession.id)
    )  # fmt: skip
    return [Reminder(*row) for row in rows]


# What an announcement tells about; other columns (topics, the register's teacher
# status, featured …) change as a matter of routine and are not announced.
_ANNOUNCED = ("session_date", "start_time", "end_time", "location", "session_mode", "status")
_STATE = (*_ANNOUNCED, "notification_enabled")
_STATUS_WORDS = {
    SessionStatus.CANCELLED.value: "cancelled",
    SessionStatus.SCHEDULED.value: "scheduled again",
    SessionStatus.IN_PROGRESS.value: "marked in progress",
    SessionStatus.COMPLETED.value: "marked completed",
}
_MODE_WORDS = {
    SessionMode.ONLINE.value: "now online",
    SessionMode.IN_PERSON.value: "now in person",
    SessionMode.HYBRID.value: "now hybrid",
}


@needs(Permission.VIEW)
def session_changes_since(
    session: Session, ctx: ServiceContext, after_audit_id: int | None
) -> tuple[list[SessionChange], int]:
    """Changes to the school's sessions captured after audit entry ``after_audit_id``,
    one readable line each, oldest first, for sessions with ``notification_enabled``;
    and the newest audit entry id, to pass next time.

    With ``after_audit_id`` None only the newest id is returned: a desktop that starts
    does not replay the history. Who made a change does not matter: a change made on
    this desktop is announced like any other. New sessions are not announced (nobody
    was told about them before), nor is a change of a session that was hard-deleted
    with plain SQL (Rollbook itself only ever tombstones one)."""
    if after_audit_id is not None and after_audit_id < 0:
        raise ValidationError("after_audit_id", "An audit entry id is never negative.")
    # Read before the entries: one committed in between is read below all the same, and
    # the cursor returned is the larger of this and the ids read, so it is not read twice.
    newest = session.scalar(select(func.max(AuditLog.id))) or 0
    if after_audit_id is None:
        return [], newest
    # The id cursor walks the primary key: a poll reads only what was written since the
    # last one. Its known gap: a transaction still running while a poll reads (most
    # are one person's edit of a few milliseconds; a long run editing sessions is not)
    # commits its entries below the cursor, and they are not announced. The audit log
    # keeps them: an announcement is a courtesy, not the record. Closing the gap means
    # reading by transaction with snapshots, as the offline sync does (DESIGN 8).
    rows = session.execute(
        select(AuditLog.id, AuditLog.at, AuditLog.actor, AuditLog.action, AuditLog.entity_id,
               AuditLog.changes, _group_name(),
               *(getattr(ClassSession, name) for name in _STATE))
        .join(ClassSession, ClassSession.id == AuditLog.entity_id)
        .join(Course, Course.id == ClassSession.course_id)
        .where(
            AuditLog.id > after_audit_id,
            AuditLog.entity == ClassSession.__tablename__,
            AuditLog.school_id == ctx.school_id,
            AuditLog.action.in_(("update", "tombstone")),
        )
        .order_by(AuditLog.id)
    ).all()  # fmt: skip
    changes = sorted(_announced(rows), key=lambda change: change.audit_id)
    return changes, max([newest, *(row.id for row in rows)])


def _announced(rows: Iterable[Any]) -> Iterable[SessionChange]:
    """The changes worth a line. Each session's state before and after each entry is
    worked back from its current row through its later entries, so "on Tue 8 Dec" is
    the date the session had then, even if a later change moved it again."""
    by_session: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        by_session[row.entity_id].append(row)
    for entries in by_session.values():
        state = {name: getattr(entries[-1], name) for name in _STATE}
        for entry in reversed(entries):
            after = state
            state = {**after, **_decoded(entry.changes.get("before") or {})}
            if not after["notification_enabled"]:
                continue
            text = _describe(entry.name, entry.action, state, after)
            if text is not None:
                yield SessionChange(entry.id, entry.entity_id, entry.name,
                                    state["session_date"], entry.at, entry.actor, text)  # fmt: skip


def _decoded(values: Mapping[str, Any]) -> dict[str, Any]:
    """The audit entry's JSON values of the columns followed here, as Python values."""
    decoded: dict[str, Any] = {}
    for name, value in values.items():
        if name not in _STATE:
            continue
        if value is not None and name == "session_date":
            value = date.fromisoformat(value)
        elif value is not None and name in ("start_time", "end_time"):
            value = time.fromisoformat(value)
        decoded[name] = value
    return decoded


def _describe(
    course: str, action: str, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    """ "Biology 7A on Tue 8 Dec moved to 10:00–10:45 (was 09:00–09:45), room changed
    to Lab 2"; None when nothing announced changed."""
    subject = f"{course} on {day_text(before['session_date'])}"
    if action == "tombstone":
        return f"{subject} was removed from the timetable"
    parts = [part for part in (_moved(before, after),) if part]
    if after["status"] != before["status"]:
        parts.append(_STATUS_WORDS.get(after["status"], f"now {after['status']}"))
    if after["location"] != before["location"]:
        parts.append(f"room changed to {after['location']}" if after["location"]
                     else "no longer has a room")  # fmt: skip
    if after["session_mode"] != before["session_mode"]:
        parts.append(_MODE_WORDS.get(after["session_mode"], f"now {after['session_mode']}"))
    return f"{subject} {', '.join(parts)}" if parts else None


def _moved(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    day_moved = after["session_date"] != before["session_date"]
    start_moved = after["start_time"] != before["start_time"]
    end_moved = after["end_time"] != before["end_time"]
    if not (day_moved or start_moved or end_moved):
        return None
    if day_moved or (start_moved and end_moved):

        def when(state: dict[str, Any]) -> str:
            times = f"{state['start_time']:%H:%M}–{state['end_time']:%H:%M}"
            return f"{day_text(state['session_date'])}, {times}" if day_moved else times

        return f"moved to {when(after)} (was {when(before)})"
    if start_moved:
        return f"now starts at {after['start_time']:%H:%M} (was {before['start_time']:%H:%M})"
    return f"now ends at {after['end_time']:%H:%M} (was {before['end_time']:%H:%M})"
