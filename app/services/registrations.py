"""Registering students for events, on their own or in teams; the waiting list; and
cancelling a registration.

Rules the desk keeps:
- Places are people: a team of three takes three. Whatever counts or changes the
  places locks the event row first (``lock_event``), so two desks cannot overbook.
- A student is registered for an event once (``uq_event_registration_once``): a
  cancelled registration keeps its row, and registering again reuses it with a new
  registration number (the old one stays in the audit log) at the back of the queue.
- Registration numbers come from ``app.services.numbering`` for the event's start year,
  taken only once every check has passed; a team's members get consecutive numbers.
- The waiting list is for students on their own, in registration-number order. A team
  registers whole or not at all: it never waits (half a team waiting for places makes
  no team). When a registered student's place frees, the next students on the waiting
  list move up as far as places allow; on an event that takes teams only, the waiting
  list holds students waiting for a team, and a freed place moves no one up.
- Cancelling keeps the row (status cancelled; who and when are in the audit log the
  database writes). A registration with check-ins or live certificates is cancelled
  only when the caller says so (``revoke_certificates``): its certificates are revoked
  and its check-ins set aside in the same transaction, as the consistency repair would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import EventStatus, RegistrationStatus, StudentStatus, UserRole
from app.domain.errors import (
    Conflict,
    EventFull,
    RegistrationHasRecords,
    ValidationError,
)
from app.domain.wording import counted, plural
from app.services.courses import closest_course_names
from app.services.event_setup import EventDetails, lock_event, when_text
from app.services.numbering import PREFIXES, NumberKind, take_numbers
from app.services.permissions import Permission, needs, require
from app.services.typed_numbers import number_candidates
from app.services.waitlist import Promotion, promote_waitlisted, waitlist_position

DESK_ROLES = (UserRole.ADMIN, UserRole.REGISTRAR, UserRole.STAFF)
REVOKE_REASON = "Registration cancelled"


@dataclass(frozen=True)
class RegistrationResult:
    registration_id: uuid.UUID
    registration_no: str
    event_id: uuid.UUID
    event_name: str
    student_id: uuid.UUID
    student_no: str
    student_name: str
    team_name: str | None
    status: str  # registered or waitlisted
    waitlist_position: int | None = None  # 1 = next to move up

    @property
    def who(self) -> str:
        return f"{self.student_name} ({self.student_no})"

    @property
    def summary(self) -> str:
        if self.status == RegistrationStatus.WAITLISTED.value:
            return (f"Put {self.who} on the waiting list for {self.event_name} (number "
                    f"{self.waitlist_position} in line): {self.registration_no}.")  # fmt: skip
        team = f" in team {self.team_name}" if self.team_name else ""
        return f"Registered {self.who} for {self.event_name}{team}: {self.registration_no}."


@dataclass(frozen=True)
class TeamResult:
    team_id: uuid.UUID
    team_name: str
    event_id: uuid.UUID
    event_name: str
    members: tuple[RegistrationResult, ...]  # the members this call registered
    created: bool  # a new team, or members added to an existing one

    @property
    def summary(self) -> str:
        numbers = ", ".join(f"{m.who} {m.registration_no}" for m in self.members)
        if self.created:
            return f"Registered team {self.team_name} for {self.event_name}: {numbers}."
        return f"Added to team {self.team_name} of {self.event_name}: {numbers}."


@dataclass(frozen=True)
class CancelResult:
    registration_no: str
    event_name: str
    student_no: str
    student_name: str
    team_name: str | None
    previous_status: str
    cancelled_at: datetime
    cancelled_by: str
    revoked_certificates: tuple[str, ...]
    check_ins_set_aside: int
    promoted: tuple[Promotion, ...]
    team_warning: str | None = None  # the team is now below the event's smallest size

    @property
    def summary(self) -> str:
        lines = [f"Cancelled {self.registration_no} ({self.student_name}, {self.student_no}) "
                 f"for {self.event_name}."]  # fmt: skip
        if self.revoked_certificates:
            lines.append(f"Revoked {plural(len(self.revoked_certificates), 'certificate')} "
                         f"{_listed(self.revoked_certificates)}.")  # fmt: skip
        if self.check_ins_set_aside:
            lines.append(f"Set {counted(self.check_ins_set_aside, 'check-in')} aside.")
        for p in self.promoted:
            lines.append(f"{p.student_name} ({p.student_no}) moved up from the waiting list "
                         f"({p.registration_no}).")  # fmt: skip
        if self.team_warning:
            lines.append(self.team_warning)
        return " ".join(lines)


def _listed(items: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


# ---------------------------------------------------------------- checks
# The students asked for (by number, in the order given) with what decides whether they
# may register: who they are, their status, and their registration for the event if
# they have one (how, and when it got its number: from the audit log the database
# writes, the row's creation as a fallback); with the places taken. Read after the event
# is locked, in a statement of its own, so the count includes every committed place.
_STUDENTS_SQL = text("""
SELECT m.no, s.id AS student_id, btrim(s.first_name || ' ' || s.last_name) AS name,
       s.status AS student_status, r.id AS registration_id, r.registration_no,
       r.status AS registration_status, r.deleted_at IS NULL AS live, r.team_id,
       t.name AS team_name,
       coalesce(numbered.at, r.created_at) AS registered_at,
       (SELECT count(*) FROM event_registration x WHERE x.event_id = :event
          AND x.status = 'registered' AND x.deleted_at IS NULL) AS taken,
       now() AS now
FROM unnest(CAST(:nos AS text[])) WITH ORDINALITY AS m(no, ord)
LEFT JOIN student s ON s.school_id = :school AND s.student_no = m.no AND s.deleted_at IS NULL
LEFT JOIN event_registration r ON r.event_id = :event AND r.student_id = s.id
LEFT JOIN event_team t ON t.id = r.team_id
LEFT JOIN LATERAL (
    SELECT max(a.at) AS at FROM audit_log a
    WHERE a.entity_id = r.id
      AND (a.action = 'insert' OR a.changes -> 'after' -> 'registration_no' IS NOT NULL)
) numbered ON true
ORDER BY m.ord
""")


def _students(
    session: Session, ctx: ServiceContext, event: EventDetails, numbers: Sequence[str]
) -> list[Row]:
    return list(session.execute(
        _STUDENTS_SQL, {"school": ctx.school_id, "event": event.id, "nos": list(numbers)}
    ))  # fmt: skip


def _who(row: Row) -> str:
    return f"{row.name} ({row.no})"


def _holds_place(row: Row) -> bool:
    return row.registration_id is not None and row.live and row.registration_status in (
        RegistrationStatus.REGISTERED.value, RegistrationStatus.WAITLISTED.value)  # fmt: skip


def _student_refusal(row: Row, event: EventDetails) -> str | None:
    """Why this student cannot register for the event, in one line; None when they can."""
    if row.student_id is None:
        return f"No student has the number {row.no!r}."
    if _holds_place(row):
        when = when_text(row.registered_at)
        if row.registration_status == RegistrationStatus.WAITLISTED.value:
            return (f"{_who(row)} is already on the waiting list for {event.name} "
                    f"({row.registration_no}, since {when}).")  # fmt: skip
        how = f"in team {row.team_name}" if row.team_name else "individually"
        return (f"{_who(row)} is already registered for {event.name} {how} "
                f"({row.registration_no}, registered on {when}).")  # fmt: skip
    if row.student_status != StudentStatus.ACTIVE.value:
        return (f"{_who(row)} is {row.student_status}: only active students can register "
                "for events.")  # fmt: skip
    return None


def _check_open(event: EventDetails, now: datetime) -> None:
    """Registration is taken while the event is open and inside its window."""
    name = event.name
    refusals = {
        EventStatus.DRAFT.value: f"{name} is still a draft: open it for registration first.",
        EventStatus.CLOSED.value: f"Registration for {name} is closed.",
        EventStatus.COMPLETED.value: f"{name} is over (completed); it takes no registrations.",
        EventStatus.CANCELLED.value: f"{name} was cancelled; it takes no registrations.",
    }
    if event.status in refusals:
        raise ValidationError("event", refusals[event.status])
    opens, closes = event.registration_opens_at, event.registration_closes_at
    if opens is not None and now < opens:
        raise ValidationError(
            "event", f"Registration for {event.name} opens on {when_text(opens)}; it is not "
            "open yet."
        )  # fmt: skip
    if closes is not None and now >= closes:
        raise ValidationError(
            "event", f"Registration for {event.name} closed on {when_text(closes)}."
        )


def _places_left(event: EventDetails, taken: int) -> int | None:
    return None if event.capacity is None else max(event.capacity - taken, 0)


# ---------------------------------------------------------------- writing registrations
# Every registration of one action in one statement. A student whose earlier
# registration for the event was cancelled (or tombstoned) keeps the row: it is
# registered again, with the new number. The WHERE keeps a live registration as it is
# (the checks refused it already; the returned count proves it).
_REGISTER_SQL = text("""
INSERT INTO event_registration (id, school_id, event_id, student_id, team_id,
                                registration_no, status)
SELECT gen_random_uuid(), :school, :event, m.student_id, :team, m.no, :status
FROM unnest(CAST(:students AS uuid[]), CAST(:numbers AS text[])) AS m(student_id, no)
ON CONFLICT ON CONSTRAINT uq_event_registration_once DO UPDATE
   SET team_id = EXCLUDED.team_id, registration_no = EXCLUDED.registration_no,
       status = EXCLUDED.status, deleted_at = NULL
   WHERE event_registration.status = 'cancelled' OR event_registration.deleted_at IS NOT NULL
RETURNING id, student_id, registration_no
""")


def _write(
    session: Session, ctx: ServiceContext, event: EventDetails, rows: Sequence[Row],
    team: tuple[uuid.UUID, str] | None, status: str,
) -> list[RegistrationResult]:  # fmt: skip
    numbers = take_numbers(session, ctx, NumberKind.REGISTRATION, event.starts_on.year,
                           len(rows)).all()  # fmt: skip
    written = {
        student_id: (registration_id, number)
        for registration_id, student_id, number in session.execute(_REGISTER_SQL, {
            "school": ctx.school_id, "event": event.id, "team": team[0] if team else None,
            "status": status, "students": [r.student_id for r in rows], "numbers": numbers,
        })
    }  # fmt: skip
    if len(written) != len(rows):
        raise Conflict("Someone else registered one of these students meanwhile; try again.")
    return [
        RegistrationResult(
            registration_id=written[r.student_id][0], registration_no=written[r.student_id][1],
            event_id=event.id, event_name=event.name, student_id=r.student_id,
            student_no=r.no, student_name=r.name, team_name=team[1] if team else None,
            status=status,
        )
        for r in rows
    ]  # fmt: skip


# ---------------------------------------------------------------- one student
@needs(Permission.REGISTER_FOR_EVENTS)
def register_student(
    session: Session,
    ctx: ServiceContext,
    event_id: uuid.UUID,
    student_no: str,
    *,
    waitlist_if_full: bool = False,
) -> RegistrationResult:
    """Register one student for the event on their own. Refused, with the reason in one
    line: an unknown student number; a student already registered (how, when and under
    which number) or not active; an event that is not open, or outside its registration
    window; an event that takes teams only; an event that is full (``EventFull``: with
    ``waitlist_if_full`` the student goes on the waiting list instead)."""
    event = lock_event(session, ctx, event_id)
    (row,) = _students(session, ctx, event, [student_no.strip()])
    refusal = _student_refusal(row, event)
    if refusal:
        raise ValidationError("student_no", refusal)
    _check_open(event, row.now)
    if not event.allow_individual:
        raise ValidationError(
            "team", f"{event.name} takes teams only: register {_who(row)} as a member of a team."
        )
    left = _places_left(event, row.taken)
    status = RegistrationStatus.REGISTERED.value
    if left == 0:
        if not waitlist_if_full:
            raise EventFull(
                f"{event.name} is full: {row.taken} of {event.capacity} places; register on "
                "the waiting list?", taken=row.taken, capacity=event.capacity or 0,
            )  # fmt: skip
        status = RegistrationStatus.WAITLISTED.value
    (result,) = _write(session, ctx, event, [row], None, status)
    if status == RegistrationStatus.WAITLISTED.value:
        position = waitlist_position(session, event.id, result.registration_no)
        result = replace(result, waitlist_position=position)
    return result


# ---------------------------------------------------------------- teams
_TEAM_SQL = text("""
SELECT t.id, t.name,
       (SELECT count(*) FROM event_registration r WHERE r.team_id = t.id
          AND r.deleted_at IS NULL AND r.status <> 'cancelled') AS size
FROM event_team t
WHERE t.event_id = :event AND lower(t.name) = lower(:name) AND t.deleted_at IS NULL
""")


def _clean_team_name(name: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("team", "Give the team a name.")
    return cleaned


def _team(session: Session, event: EventDetails, name: str) -> Row | None:
    return session.execute(_TEAM_SQL, {"event": event.id, "name": name}).first()


@needs(Permission.VIEW)
def team_exists(session: Session, ctx: ServiceContext, event_id: uuid.UUID, team_name: str) -> bool:
    """Whether the event has a team of this name (any case): joining it, or forming it."""
    return (
        session.scalar(
            text(
                "SELECT count(*) FROM event_team t JOIN event e ON e.id = t.event_id "
                "WHERE t.event_id = :event AND e.school_id = :school "
                "AND lower(t.name) = lower(:name) AND t.deleted_at IS NULL"
            ),
            {"event": event_id, "school": ctx.school_id, "name": " ".join(team_name.split())},
        )  # fmt: skip
        > 0
    )


def _existing_team(session: Session, event: EventDetails, name: str) -> Row:
    team = _team(session, event, name)
    if team is None:
        names = list(session.scalars(
            text("SELECT name FROM event_team WHERE event_id = :event AND deleted_at IS NULL"),
            {"event": event.id},
        ))  # fmt: skip
        close = closest_course_names(names, name)
        hint = f" Did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
        raise ValidationError("team", f"{event.name} has no team named {name!r}.{hint}")
    return team


def _size_range(event: EventDetails) -> str:
    low, high = event.team_size_min, event.team_size_max
    return f"{low}" if low == high else f"{low} to {high}"


def _members(
    session: Session, ctx: ServiceContext, event: EventDetails, team_name: str,
    student_nos: Sequence[str],
) -> list[Row]:  # fmt: skip
    """The members asked for, each checked; every refused one named with the reason."""
    numbers = [no.strip() for no in student_nos]
    twice = next((no for i, no in enumerate(numbers) if no in numbers[:i]), None)
    if twice is not None:
        raise ValidationError("student_no", f"{twice!r} is listed twice; list each member once.")
    rows = _students(session, ctx, event, numbers)
    refusals = [reason for row in rows if (reason := _student_refusal(row, event))]
    if refusals:
        raise ValidationError("student_no", f"Team {team_name} is not registered: "
                              f"{' '.join(refusals)}")  # fmt: skip
    return rows


def _check_teams_taken(event: EventDetails, now: datetime) -> None:
    _check_open(event, now)
    if not event.allow_teams:
        raise ValidationError(
            "team", f"{event.name} does not take teams; register each student on their own."
        )


def _now(session: Session) -> datetime:
    return session.scalar(text("SELECT now()"))


@needs(Permission.REGISTER_FOR_EVENTS)
def create_team(
    session: Session,
    ctx: ServiceContext,
    event_id: uuid.UUID,
    team_name: str,
    member_student_nos: Sequence[str],
) -> TeamResult:
    """Register a team: the team and all its members in one transaction, the members with
    consecutive registration numbers in the order given. Refused, and nothing written,
    for an event that is not open or takes no teams, a team outside the event's sizes,
    a team name the event has already (in any case), any member who cannot register
    (each named, with the reason), or too few places left for the whole team."""
    name = _clean_team_name(team_name)
    event = lock_event(session, ctx, event_id)
    _check_teams_taken(event, _now(session))
    size = len(member_student_nos)
    if not event.team_size_min <= size <= event.team_size_max:
        fix = "add members" if size < event.team_size_min else "leave some out"
        raise ValidationError(
            "members", f"A team for {event.name} has {_size_range(event)} members; {name} "
            f"would have {size}: {fix}."
        )  # fmt: skip
    taken = _team(session, event, name)
    if taken is not None:
        raise ValidationError(
            "team", f"{event.name} already has a team named {taken.name!r}; choose another name."
        )
    rows = _members(session, ctx, event, name, member_student_nos)
    left = _places_left(event, rows[0].taken)
    if left is not None and left < size:
        raise ValidationError("capacity", _no_room(event, rows[0].taken, left, name, size))
    team_id = uuid.uuid4()
    session.execute(
        text("INSERT INTO event_team (id, school_id, event_id, name) "
             "VALUES (:id, :school, :event, :name)"),
        {"id": team_id, "school": ctx.school_id, "event": event.id, "name": name},
    )  # fmt: skip
    members = _write(session, ctx, event, rows, (team_id, name),
                     RegistrationStatus.REGISTERED.value)  # fmt: skip
    return TeamResult(team_id, name, event.id, event.name, tuple(members), created=True)


def _no_room(event: EventDetails, taken: int, left: int, team: str, needed: int) -> str:
    if left == 0:
        return (f"{event.name} is full: {taken} of {event.capacity} places; a team cannot "
                "wait on the waiting list.")  # fmt: skip
    return (f"{event.name} has {counted(left, 'place')} left of {event.capacity}; team "
            f"{team} needs {needed}.")  # fmt: skip


@needs(Permission.REGISTER_FOR_EVENTS)
def add_team_members(
    session: Session,
    ctx: ServiceContext,
    event_id: uuid.UUID,
    team_name: str,
    student_nos: Sequence[str],
) -> TeamResult:
    """Add students to a team of the event (found by name, any case), up to the event's
    largest team, while places are left for them; refused as ``create_team`` refuses."""
    name = _clean_team_name(team_name)
    event = lock_event(session, ctx, event_id)
    _check_teams_taken(event, _now(session))
    team = _existing_team(session, event, name)
    if not student_nos:
        raise ValidationError("student_no", "Name the students to add to the team.")
    if team.size + len(student_nos) > event.team_size_max:
        raise ValidationError(
            "members", f"Team {team.name} has {counted(team.size, 'member')}; {event.name} "
            f"allows at most {event.team_size_max} per team."
        )  # fmt: skip
    rows = _members(session, ctx, event, team.name, student_nos)
    left = _places_left(event, rows[0].taken)
    if left is not None and left < len(rows):
        if left == 0:
            raise ValidationError(
                "capacity", f"{event.name} is full: {rows[0].taken} of {event.capacity} "
                f"places; team {team.name} can grow when a place frees."
            )  # fmt: skip
        raise ValidationError("capacity", _no_room(event, rows[0].taken, left, team.name,
                                                   len(rows)))  # fmt: skip
    members = _write(session, ctx, event, rows, (team.id, team.name),
                     RegistrationStatus.REGISTERED.value)  # fmt: skip
    return TeamResult(team.id, team.name, event.id, event.name, tuple(members), created=False)


@needs(Permission.REGISTER_FOR_EVENTS)
def add_team_member(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID, team_name: str, student_no: str
) -> RegistrationResult:
    """Add one student to a team of the event; see ``add_team_members``."""
    return add_team_members(session, ctx, event_id, team_name, [student_no]).members[0]


@needs(Permission.REGISTER_FOR_EVENTS)
def remove_team_member(
    session: Session,
    ctx: ServiceContext,
    event_id: uuid.UUID,
    team_name: str,
    student_no: str,
    *,
    revoke_certificates: bool = False,
) -> CancelResult:
    """Take a student out of a team: their registration is cancelled (the row stays) and
    the place goes to the waiting list as with ``cancel_registration``. Refused when the
    team would fall below the event's smallest team."""
    name = _clean_team_name(team_name)
    event = lock_event(session, ctx, event_id)
    team = _existing_team(session, event, name)
    (row,) = _students(session, ctx, event, [student_no.strip()])
    if row.student_id is None:
        raise ValidationError("student_no", f"No student has the number {row.no!r}.")
    if not _holds_place(row) or row.team_id != team.id:
        raise ValidationError("student_no", f"{_who(row)} is not in team {team.name}.")
    if team.size - 1 < event.team_size_min:
        raise ValidationError(
            "members", f"Team {team.name} has {counted(team.size, 'member')}, the fewest "
            f"{event.name} allows: add a member before taking {_who(row)} out, or cancel "
            f"the registration {row.registration_no} if they no longer take part."
        )  # fmt: skip
    return _cancel(session, ctx, event, row.registration_id, revoke_certificates)


# ---------------------------------------------------------------- cancelling
_FIND_SQL = text("""
SELECT id, event_id FROM event_registration
WHERE school_id = :school AND registration_no = ANY(:numbers) AND deleted_at IS NULL
""")

# The registration, locked, with what cancelling it would undo: days checked in and
# live certificates.
_FACTS_SQL = text("""
SELECT r.registration_no, r.status, r.team_id, t.name AS team_name, s.student_no,
       btrim(s.first_name || ' ' || s.last_name) AS name,
       (SELECT count(*) FROM event_attendance a
        WHERE a.registration_id = r.id AND a.deleted_at IS NULL) AS days,
       (SELECT array_agg(c.certificate_no ORDER BY c.certificate_no) FROM certificate c
        WHERE c.registration_id = r.id AND c.revoked_at IS NULL AND c.deleted_at IS NULL)
           AS certificates
FROM event_registration r
JOIN student s ON s.id = r.student_id
LEFT JOIN event_team t ON t.id = r.team_id
WHERE r.id = :registration
FOR UPDATE OF r
""")

# One statement: the registration cancelled, its live certificates revoked, its
# check-ins set aside (the last two only when the caller confirmed).
_CANCEL_SQL = text("""
WITH cancelled AS (
    UPDATE event_registration SET status = 'cancelled' WHERE id = :registration RETURNING id
), revoked AS (
    UPDATE certificate SET revoked_at = now(), revoke_reason = :reason, revoked_by = :actor
    WHERE registration_id = :registration AND revoked_at IS NULL AND deleted_at IS NULL
      AND :revoke
    RETURNING certificate_no
), set_aside AS (
    UPDATE event_attendance SET deleted_at = now()
    WHERE registration_id = :registration AND deleted_at IS NULL AND :revoke
    RETURNING id
)
SELECT (SELECT array_agg(certificate_no ORDER BY certificate_no) FROM revoked),
       (SELECT count(*) FROM set_aside), now()
""")


def _records_text(days: int, certificates: Sequence[str]) -> tuple[str, str]:
    """ "has checked in on 2 days and holds certificate CERT-…", and what cancelling
    anyway does about them."""
    facts, undo = [], []
    if days:
        facts.append(f"has checked in on {counted(days, 'day')}")
    if certificates:
        facts.append(f"holds {plural(len(certificates), 'certificate')} {_listed(certificates)}")
        undo.append(f"revokes the {plural(len(certificates), 'certificate')}")
    if days:
        undo.append(f"sets the {plural(days, 'check-in')} aside")
    return " and ".join(facts), " and ".join(undo)


@needs(Permission.REGISTER_FOR_EVENTS)
def cancel_registration(
    session: Session,
    ctx: ServiceContext,
    registration_no: str,
    *,
    revoke_certificates: bool = False,
) -> CancelResult:
    """Cancel a registration by its number. The row stays, cancelled. A registered
    student's place goes to the next on the waiting list (named in the result). A
    registration with check-ins or live certificates is refused with those facts
    (``RegistrationHasRecords``) unless ``revoke_certificates``: then its certificates
    are revoked ("Registration cancelled") and its check-ins set aside, in the same
    transaction. A team left smaller than the event allows is named in the result."""
    numbers = number_candidates(registration_no, PREFIXES[NumberKind.REGISTRATION])
    found = session.execute(_FIND_SQL, {"school": ctx.school_id, "numbers": numbers}).first()
    if found is None:
        raise ValidationError("registration_no", f"No registration has the number {numbers[0]!r}.")
    event = lock_event(session, ctx, found.event_id)
    return _cancel(session, ctx, event, found.id, revoke_certificates)


def _cancel(
    session: Session, ctx: ServiceContext, event: EventDetails, registration_id: uuid.UUID,
    revoke: bool,
) -> CancelResult:  # fmt: skip
    """Cancel the registration of the (locked) event; see ``cancel_registration``."""
    reg = session.execute(_FACTS_SQL, {"registration": registration_id}).one()
    who = f"{reg.name} ({reg.student_no})"
    if reg.status == RegistrationStatus.CANCELLED.value:
        raise ValidationError(
            "registration_no", f"{reg.registration_no} of {who} for {event.name} is already "
            "cancelled."
        )  # fmt: skip
    certificates = list(reg.certificates or [])
    if certificates and revoke:
        require(ctx, Permission.REVOKE_CERTIFICATES)
    if (reg.days or certificates) and not revoke:
        facts, undo = _records_text(reg.days, certificates)
        raise RegistrationHasRecords(
            f"{reg.registration_no} cannot simply be cancelled: {who} {facts}. Cancelling it "
            f"anyway {undo}.", days=reg.days, certificates=certificates,
        )  # fmt: skip
    revoked, set_aside, cancelled_at = session.execute(_CANCEL_SQL, {
        "registration": registration_id, "reason": REVOKE_REASON, "revoke": revoke,
        "actor": ctx.actor,
    }).one()  # fmt: skip
    promoted: list[Promotion] = []
    if reg.status == RegistrationStatus.REGISTERED.value:  # a place freed
        promoted = promote_waitlisted(session, event.id, status=event.status,
                                      allow_individual=event.allow_individual)  # fmt: skip
    return CancelResult(
        registration_no=reg.registration_no, event_name=event.name, student_no=reg.student_no,
        student_name=reg.name, team_name=reg.team_name, previous_status=reg.status,
        cancelled_at=cancelled_at, cancelled_by=ctx.actor,
        revoked_certificates=tuple(revoked or ()), check_ins_set_aside=set_aside,
        promoted=tuple(promoted), team_warning=_team_warning(session, event, reg),
    )  # fmt: skip


def _team_warning(session: Session, event: EventDetails, reg: Row) -> str | None:
    if reg.team_id is None:
        return None
    left = session.scalar(
        text("SELECT count(*) FROM event_registration WHERE team_id = :team "
             "AND deleted_at IS NULL AND status <> 'cancelled'"), {"team": reg.team_id},
    )  # fmt: skip
    if left and left < event.team_size_min:
        return (f"Team {reg.team_name} now has {counted(left, 'member')}, fewer than the "
                f"{event.team_size_min} {event.name} needs: add a member to the team.")  # fmt: skip
    return None
