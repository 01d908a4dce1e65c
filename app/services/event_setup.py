"""Setting events up: create and edit an event, move it through its statuses, find it
by name or id, and the events list with its figures (registrations, attendance per
day, certificates, feedback) in one query.

An event is a draft while it is prepared, open while it takes registrations, closed
when registration ends, completed once it has been held; or cancelled. The database
CHECKs every rule of a single event (dates, window, capacity, team sizes); they are
checked here first so a person reads the rule in words, not a constraint name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from app.db.models import Event
from app.domain.context import ServiceContext
from app.domain.enums import CertificateKind, EventStatus
from app.domain.errors import Conflict, NotFound, UnknownEvent, ValidationError
from app.domain.wording import counted, plural
from app.services.courses import closest_course_names
from app.services.permissions import Permission, needs
from app.services.waitlist import Promotion, promote_waitlisted

GONE = "That event no longer exists; refresh the list and try again."


@dataclass(frozen=True)
class EventInput:
    """An event as a person fills it in (New event…, `rollbook events create`)."""

    name: str
    starts_on: date
    ends_on: date
    venue: str | None = None
    capacity: int | None = None  # places (people); None: no limit
    registration_opens_at: datetime | None = None  # None: as soon as the event is open
    registration_closes_at: datetime | None = None  # None: until the event is closed
    allow_individual: bool = True
    allow_teams: bool = False
    team_size_min: int = 1
    team_size_max: int = 1
    certificate_min_days: int = 1  # days attended for a participation certificate


@dataclass(frozen=True)
class EventDetails:
    id: uuid.UUID
    name: str
    venue: str | None
    starts_on: date
    ends_on: date
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    capacity: int | None
    team_size_min: int
    team_size_max: int
    allow_individual: bool
    allow_teams: bool
    certificate_min_days: int
    status: str
    row_version: int

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    @property
    def next_statuses(self) -> tuple[str, ...]:
        """The statuses the event may move on to now, in the order of the flow."""
        return tuple(s.value for s in EventStatus if s.value in STATUS_FLOW[self.status])


_DETAIL_COLUMNS = tuple(getattr(Event, f.name) for f in fields(EventDetails))


def when_text(moment: datetime) -> str:
    """ "01 Mar 2026 at 09:00", in this computer's time zone."""
    return f"{moment.astimezone():%d %b %Y at %H:%M}"


def day_text(day: date) -> str:
    return f"{day:%d %b %Y}"


# ---------------------------------------------------------------- finding an event
@needs(Permission.VIEW)
def get_event(session: Session, ctx: ServiceContext, event_id: uuid.UUID) -> EventDetails:
    found = session.execute(
        select(*_DETAIL_COLUMNS).where(
            Event.id == event_id, Event.school_id == ctx.school_id, Event.deleted_at.is_(None)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(GONE)
    return EventDetails(*found)


@needs(Permission.VIEW)
def find_event(session: Session, ctx: ServiceContext, name_or_id: str) -> EventDetails:
    """The event with this id, or with this name (any case). A name no event has raises
    UnknownEvent with the closest names; a name several events share (one each year)
    is refused with their dates and ids, so the right one is picked."""
    typed = " ".join((name_or_id or "").split())
    if not typed:
        raise ValidationError("event", "Name the event (or give its id).")
    try:
        return get_event(session, ctx, uuid.UUID(typed))
    except ValueError:
        pass
    live = (Event.school_id == ctx.school_id, Event.deleted_at.is_(None))
    matches = session.execute(
        select(*_DETAIL_COLUMNS).where(*live, func.lower(Event.name) == typed.lower())
        .order_by(Event.starts_on, Event.id)
    ).all()  # fmt: skip
    if len(matches) == 1:
        return EventDetails(*matches[0])
    if matches:
        which = "; ".join(f"{day_text(m.starts_on)} ({m.status}): {m.id}" for m in matches)
        raise ValidationError(
            "event", f"{len(matches)} events are named {matches[0].name!r}; use the id of "
            f"the one you mean: {which}."
        )  # fmt: skip
    names = list(session.scalars(select(Event.name).where(*live).distinct()))
    raise UnknownEvent(typed, closest_course_names(names, typed))


# ---------------------------------------------------------------- creating and editing
def _clean(data: EventInput) -> dict:
    """The event's columns from ``data``, each rule the database CHECKs checked first
    and said in words."""
    name = " ".join((data.name or "").split())
    if not name:
        raise ValidationError("name", "Give the event a name.")
    if not isinstance(data.starts_on, date) or not isinstance(data.ends_on, date):
        raise ValidationError("starts_on", "Give the event's first and last day as dates.")
    if data.ends_on < data.starts_on:
        raise ValidationError(
            "ends_on", f"The event cannot end ({day_text(data.ends_on)}) before its first day "
            f"({day_text(data.starts_on)}); change the end date."
        )  # fmt: skip
    opens, closes = data.registration_opens_at, data.registration_closes_at
    for moment, field in ((opens, "registration_opens_at"), (closes, "registration_closes_at")):
        if moment is not None and moment.tzinfo is None:
            # A time without a zone would be read in the server's zone, not the desk's.
            raise ValidationError(field, "Give registration times with their time zone.")
    if opens is not None and closes is not None and closes <= opens:
        raise ValidationError(
            "registration_closes_at", f"Registration must close after it opens "
            f"({when_text(opens)}); change the closing time."
        )  # fmt: skip
    if data.capacity is not None and data.capacity < 1:
        raise ValidationError(
            "capacity", f"The capacity is the number of places, at least 1 (not "
            f"{data.capacity}); leave it empty for no limit."
        )  # fmt: skip
    if not (data.allow_individual or data.allow_teams):
        raise ValidationError(
            "allow_individual", "The event must take students on their own, teams, or both."
        )
    low, high = (data.team_size_min, data.team_size_max) if data.allow_teams else (1, 1)
    if data.allow_teams and low < 1:
        raise ValidationError("team_size_min", "A team has at least 1 member.")
    if data.allow_teams and high < max(low, 2):
        raise ValidationError(
            "team_size_max", f"The largest team ({high}) must be at least 2 and at least the "
            f"smallest team ({low}); change the team size, e.g. 2 to 4."
        )  # fmt: skip
    days = (data.ends_on - data.starts_on).days + 1
    if not 0 <= data.certificate_min_days <= days:
        raise ValidationError(
            "certificate_min_days", f"A certificate needs 0 to {counted(days, 'day')} attended "
            f"(the event lasts {counted(days, 'day')}), not {data.certificate_min_days}."
        )  # fmt: skip
    return {
        "name": name, "venue": " ".join((data.venue or "").split()) or None,
        "starts_on": data.starts_on, "ends_on": data.ends_on,
        "registration_opens_at": opens, "registration_closes_at": closes,
        "capacity": data.capacity, "allow_individual": data.allow_individual,
        "allow_teams": data.allow_teams, "team_size_min": low, "team_size_max": high,
        "certificate_min_days": data.certificate_min_days,
    }  # fmt: skip


@needs(Permission.MANAGE_EVENTS)
def create_event(session: Session, ctx: ServiceContext, data: EventInput) -> EventDetails:
    """Create an event as a draft: it takes registrations once it is opened."""
    values = _clean(data)
    row = session.execute(
        insert(Event).values(id=uuid.uuid4(), school_id=ctx.school_id, **values)
        .returning(*_DETAIL_COLUMNS)
    ).one()  # fmt: skip
    return EventDetails(*row)


# What the event's registrations are now, for an edit that would leave them outside its
# rules: places taken, students registered on their own, and each team's size.
_IN_USE_SQL = text("""
WITH teams AS (
    SELECT t.name, count(*) AS size
    FROM event_team t JOIN event_registration m ON m.team_id = t.id
    WHERE t.event_id = :event AND t.deleted_at IS NULL
      AND m.deleted_at IS NULL AND m.status <> 'cancelled'
    GROUP BY t.id
)
SELECT count(*) FILTER (WHERE r.status = 'registered'),
       count(*) FILTER (WHERE r.team_id IS NULL AND r.status <> 'cancelled'),
       (SELECT array_agg(name ORDER BY size, lower(name)) FROM teams),
       (SELECT array_agg(size ORDER BY size, lower(name)) FROM teams)
FROM event_registration r
WHERE r.event_id = :event AND r.deleted_at IS NULL
""")


@dataclass(frozen=True)
class EventUpdated:
    event: EventDetails
    promoted: tuple[Promotion, ...]  # moved up from the waiting list into new places


def _check_registrations_fit(session: Session, event: EventDetails, values: dict) -> None:
    registered, individual, names, counts = session.execute(_IN_USE_SQL, {"event": event.id}).one()
    # Smallest team first, largest last.
    sizes = list(zip(names or [], map(int, counts or []), strict=True))
    name, capacity = event.name, values["capacity"]
    if capacity is not None and capacity < registered:
        raise ValidationError(
            "capacity", f"{name} has {counted(registered, 'student')} registered; a capacity "
            f"of {capacity} would leave some without a place. Keep it at {registered} or "
            "more, or cancel registrations first."
        )  # fmt: skip
    if individual and not values["allow_individual"]:
        raise ValidationError(
            "allow_individual", f"{counted(individual, 'student')} {plural(individual, 'is')} "
            f"registered for {name} on their own; cancel "
            f"{plural(individual, 'that registration', 'those registrations')} before taking "
            "teams only."
        )  # fmt: skip
    if sizes and not values["allow_teams"]:
        raise ValidationError(
            "allow_teams", f"{name} has {counted(len(sizes), 'team')} registered; cancel "
            f"{plural(len(sizes), 'its', 'their')} members' registrations before it stops "
            "taking teams."
        )  # fmt: skip
    if sizes and values["allow_teams"]:
        small, big = sizes[0], sizes[-1]
        if small[1] < values["team_size_min"]:
            raise ValidationError(
                "team_size_min", f"Team {small[0]} has {counted(small[1], 'member')}; a "
                f"smallest team of {values['team_size_min']} would make it too small."
            )  # fmt: skip
        if big[1] > values["team_size_max"]:
            raise ValidationError(
                "team_size_max", f"Team {big[0]} has {counted(big[1], 'member')}; a largest "
                f"team of {values['team_size_max']} would make it too big."
            )  # fmt: skip


@needs(Permission.MANAGE_EVENTS)
def update_event(
    session: Session,
    ctx: ServiceContext,
    event_id: uuid.UUID,
    data: EventInput,
    *,
    expected_version: int | None = None,
) -> EventUpdated:
    """Change an event's details (everything ``EventInput`` holds). Refused, with the
    reason, for a completed or cancelled event, for a rule the event's registrations
    would no longer meet (capacity below the places taken, teams outside the new sizes,
    teams only while students are registered on their own), and for each rule
    ``create_event`` checks. New places (a capacity raised or lifted) go to those on the
    waiting list, named in the result."""
    values = _clean(data)
    event = lock_event(session, ctx, event_id, expected_version)
    if event.status in FINISHED:
        raise ValidationError(
            "status", f"{event.name} is {event.status}; its details can no longer be changed."
        )
    _check_registrations_fit(session, event, values)
    row = session.execute(
        update(Event).where(Event.id == event.id).values(**values).returning(*_DETAIL_COLUMNS)
        .execution_options(synchronize_session=False)
    ).one()  # fmt: skip
    changed = EventDetails(*row)
    promoted: list[Promotion] = []
    if event.capacity is not None and (changed.capacity or event.capacity + 1) > event.capacity:
        # New places go to those waiting first, not to whoever registers next.
        promoted = promote_waitlisted(session, changed.id, status=changed.status,
                                      allow_individual=changed.allow_individual,
                                      fill_all=True)  # fmt: skip
    return EventUpdated(changed, tuple(promoted))


@needs(Permission.VIEW)
def lock_event(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID,
    expected_version: int | None = None,
) -> EventDetails:  # fmt: skip
    """The event, locked until the transaction ends (SELECT … FOR UPDATE). Whatever
    counts or changes the event's places takes this lock first, so two desks registering
    at once take turns and never overbook; read the counts after it, in a statement of
    their own, so they include what the other desk committed while this one waited."""
    found = session.execute(
        select(*_DETAIL_COLUMNS).where(
            Event.id == event_id, Event.school_id == ctx.school_id, Event.deleted_at.is_(None)
        ).with_for_update()
    ).one_or_none()  # fmt: skip
    if found is None:
        raise NotFound(GONE)
    event = EventDetails(*found)
    if expected_version is not None and event.row_version != expected_version:
        raise Conflict("Someone else changed this event meanwhile; refresh and try again.")
    return event


# ---------------------------------------------------------------- status
# Draft while it is prepared, open while it takes registrations, closed when
# registration ends, completed once held; cancelled at any point before that. Nothing
# comes back from completed or cancelled: a new event is created.
STATUS_FLOW = {
    EventStatus.DRAFT.value: {EventStatus.OPEN.value, EventStatus.CANCELLED.value},
    EventStatus.OPEN.value: {EventStatus.CLOSED.value, EventStatus.CANCELLED.value},
    EventStatus.CLOSED.value: {EventStatus.COMPLETED.value, EventStatus.CANCELLED.value},
    EventStatus.COMPLETED.value: set(),
    EventStatus.CANCELLED.value: set(),
}
FINISHED = frozenset({EventStatus.COMPLETED.value, EventStatus.CANCELLED.value})


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


@needs(Permission.MANAGE_EVENTS)
def set_event_status(
    session: Session,
    ctx: ServiceContext,
    event_id: uuid.UUID,
    status: str,
    *,
    expected_version: int | None = None,
) -> EventDetails:
    """Move the event on: draft → open → closed → completed, or cancelled before it is
    completed. Any other change is refused with the steps the event can take."""
    if status not in STATUS_FLOW:
        raise ValidationError(
            "status", f"{status!r} is not an event status; use {', '.join(STATUS_FLOW)}."
        )
    event = lock_event(session, ctx, event_id, expected_version)
    if status == event.status:
        return event
    if status not in STATUS_FLOW[event.status]:
        allowed = [s for s in STATUS_FLOW if s in STATUS_FLOW[event.status]]
        then = (f"it can become {' or '.join(allowed)}" if allowed
                else "it cannot change any more; create a new event instead")  # fmt: skip
        raise ValidationError(
            "status", f"{event.name} is {_article(event.status)} {event.status} event and "
            f"cannot become {status}: {then}."
        )  # fmt: skip
    row = session.execute(
        update(Event).where(Event.id == event.id).values(status=status)
        .returning(*_DETAIL_COLUMNS).execution_options(synchronize_session=False)
    ).one()  # fmt: skip
    return EventDetails(*row)


# ---------------------------------------------------------------- the events list
@dataclass(frozen=True)
class EventSummary:
    """One event of the list with its figures. Places are counted in people: a team of
    three takes three."""

    id: uuid.UUID
    name: str
    venue: str | None
    starts_on: date
    ends_on: date
    status: str
    capacity: int | None
    registered_individually: int
    registered_in_teams: int
    teams: int  # teams with at least one member not cancelled
    waitlisted: int
    cancelled: int
    attendance_by_day: tuple[tuple[date, int], ...]  # check-ins per event day, by day
    certificates_by_kind: tuple[tuple[str, int], ...]  # live (not revoked), every kind
    average_rating: float | None  # None: no feedback yet
    ratings: int

    @property
    def registered(self) -> int:
        return self.registered_individually + self.registered_in_teams

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.registered, 0)


# Each figure is aggregated per event over the whole school in one pass (registrations,
# check-ins per day, certificates, feedback), then joined to the events: one round trip,
# however many events, rather than a query per event.
_ANALYTICS_SQL = text("""
WITH reg AS (
    SELECT r.event_id,
           count(*) FILTER (WHERE r.status = 'registered' AND r.team_id IS NULL) AS alone,
           count(*) FILTER (WHERE r.status = 'registered' AND r.team_id IS NOT NULL) AS in_teams,
           count(DISTINCT r.team_id) FILTER (WHERE r.status <> 'cancelled') AS teams,
           count(*) FILTER (WHERE r.status = 'waitlisted') AS waitlisted,
           count(*) FILTER (WHERE r.status = 'cancelled') AS cancelled
    FROM event_registration r
    WHERE r.school_id = :school AND r.deleted_at IS NULL
    GROUP BY r.event_id
), per_day AS (
    SELECT r.event_id, a.attended_on, count(*) AS present
    FROM event_attendance a JOIN event_registration r ON r.id = a.registration_id
    WHERE a.school_id = :school AND a.deleted_at IS NULL AND r.deleted_at IS NULL
      AND r.status <> 'cancelled'
    GROUP BY r.event_id, a.attended_on
), days AS (
    SELECT event_id, array_agg(attended_on ORDER BY attended_on) AS days,
           array_agg(present ORDER BY attended_on) AS present
    FROM per_day GROUP BY event_id
), per_kind AS (
    SELECT r.event_id, c.kind, count(*) AS n
    FROM certificate c JOIN event_registration r ON r.id = c.registration_id
    WHERE c.school_id = :school AND c.revoked_at IS NULL AND c.deleted_at IS NULL
      AND r.deleted_at IS NULL
    GROUP BY r.event_id, c.kind
), certs AS (
    SELECT event_id, array_agg(kind) AS kinds, array_agg(n) AS counts
    FROM per_kind GROUP BY event_id
), feedback AS (
    SELECT r.event_id, avg(f.rating)::float AS rating, count(*) AS ratings
    FROM event_feedback f JOIN event_registration r ON r.id = f.registration_id
    WHERE f.school_id = :school AND f.deleted_at IS NULL AND r.deleted_at IS NULL
    GROUP BY r.event_id
)
SELECT e.id, e.name, e.venue, e.starts_on, e.ends_on, e.status, e.capacity,
       coalesce(reg.alone, 0), coalesce(reg.in_teams, 0), coalesce(reg.teams, 0),
       coalesce(reg.waitlisted, 0), coalesce(reg.cancelled, 0),
       days.days, days.present, certs.kinds, certs.counts,
       feedback.rating, coalesce(feedback.ratings, 0)
FROM event e
LEFT JOIN reg ON reg.event_id = e.id
LEFT JOIN days ON days.event_id = e.id
LEFT JOIN certs ON certs.event_id = e.id
LEFT JOIN feedback ON feedback.event_id = e.id
WHERE e.school_id = :school AND e.deleted_at IS NULL
ORDER BY e.starts_on DESC, lower(e.name), e.id
""")


@needs(Permission.VIEW)
def event_analytics(session: Session, ctx: ServiceContext) -> list[EventSummary]:
    """Every event, newest first, with its registrations (on their own, in teams,
    waiting, cancelled), check-ins per event day, live certificates by kind and the
    average feedback rating: one query."""
    summaries = []
    for row in session.execute(_ANALYTICS_SQL, {"school": ctx.school_id}):
        (*head, days, present, kinds, kind_counts, rating, ratings) = row
        by_kind = dict(zip(kinds or [], map(int, kind_counts or []), strict=True))
        summaries.append(EventSummary(
            *head,
            attendance_by_day=tuple(zip(days or [], map(int, present or []), strict=True)),
            certificates_by_kind=tuple((k.value, by_kind.get(k.value, 0))
                                       for k in CertificateKind),
            average_rating=rating, ratings=ratings,
        ))  # fmt: skip
    return summaries
