"""Event days: checking students in at the door, the day's list of who is in and who is
missing, and the participants' feedback.

A check-in takes what the desk scans or types — a student number or a registration
number — and is one statement: it finds the student, their registrations, and writes
the day's attendance only when the student is registered (not waitlisted, not
cancelled) for this event and the day is one of the event's days. Everything a refusal
needs to say comes back from the same round trip, so a scanner queue never waits on a
second query. Checking in twice the same day changes nothing and says when the first
check-in was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import EventStatus, RegistrationStatus, UserRole
from app.domain.errors import NotFound, ValidationError
from app.services.numbering import PREFIXES, NumberKind
from app.services.permissions import Permission, needs
from app.services.typed_numbers import number_candidates

EVENT_STAFF = (UserRole.ADMIN, UserRole.REGISTRAR, UserRole.STAFF)
REG = PREFIXES[NumberKind.REGISTRATION]
RATINGS = range(1, 6)
EVENT_GONE = "That event no longer exists; refresh and try again."


def _day(value: date) -> str:
    return f"{value:%a %d %b %Y}"


def _clock(value: datetime) -> str:
    # Stored with its time zone; shown in the desk's own time.
    return f"{value.astimezone():%H:%M}"


def event_days_text(starts_on: date, ends_on: date) -> str:
    """ "on Sat 10 Oct 2026" or "from Sat 10 Oct 2026 to Sun 11 Oct 2026"."""
    if starts_on == ends_on:
        return f"on {_day(starts_on)} only"
    return f"from {_day(starts_on)} to {_day(ends_on)}"


def _check_event_day(name: str, starts_on: date, ends_on: date, day: date) -> None:
    if not starts_on <= day <= ends_on:
        raise ValidationError(
            "date", f"{name} does not take place on {_day(day)}; it runs "
            f"{event_days_text(starts_on, ends_on)}."
        )  # fmt: skip


# ---------------------------------------------------------------- check-in


@dataclass(frozen=True)
class CheckInResult:
    event_id: uuid.UUID
    event_name: str
    day: date
    registration_no: str
    student_no: str
    name: str
    checked_in_at: datetime
    already: bool  # checked in before today's scan: nothing was written

    @property
    def message(self) -> str:
        who = f"{self.name} ({self.student_no})"
        if self.already:
            return f"{who} already checked in at {_clock(self.checked_in_at)}."
        return f"Checked in {who} at {_clock(self.checked_in_at)}."


# The student is found by student number or by any registration number of theirs (the
# ticket of another event still says who they are); their registration for this event
# decides. The insert runs only for a registered student on an event day; "earlier" is
# the day's check-in as it was before this statement. A check-in set aside by the
# consistency repair (its registration had been cancelled) is taken up again.
_CHECK_IN_SQL = text("""
WITH ev AS MATERIALIZED (
    SELECT id, name, starts_on, ends_on, status FROM event
    WHERE id = :event AND school_id = :school AND deleted_at IS NULL
), person AS MATERIALIZED (
    SELECT s.id, s.student_no, btrim(s.first_name || ' ' || s.last_name) AS name
    FROM student s
    WHERE s.school_id = :school AND s.student_no = :typed AND s.deleted_at IS NULL
    UNION
    SELECT s.id, s.student_no, btrim(s.first_name || ' ' || s.last_name)
    FROM event_registration r JOIN student s ON s.id = r.student_id AND s.deleted_at IS NULL
    WHERE r.school_id = :school AND r.registration_no = ANY(CAST(:numbers AS text[]))
      AND r.deleted_at IS NULL
), regs AS MATERIALIZED (
    SELECT r.id, r.event_id, r.registration_no, r.status, e.name AS event_name, e.starts_on
    FROM person p
    JOIN event_registration r ON r.student_id = p.id AND r.deleted_at IS NULL
    JOIN event e ON e.id = r.event_id AND e.deleted_at IS NULL
    WHERE (SELECT count(*) FROM person) = 1
), mine AS MATERIALIZED (
    SELECT id, registration_no, status FROM regs WHERE event_id = :event
), earlier AS (
    SELECT a.checked_in_at FROM event_attendance a JOIN mine ON a.registration_id = mine.id
    WHERE a.attended_on = :day AND a.deleted_at IS NULL
), written AS (
    INSERT INTO event_attendance (id, school_id, registration_id, attended_on, checked_in_at)
    SELECT gen_random_uuid(), :school, mine.id, :day, now()
    FROM mine CROSS JOIN ev
    WHERE mine.status = 'registered' AND ev.status <> 'cancelled'
      AND CAST(:day AS date) BETWEEN ev.starts_on AND ev.ends_on
    ON CONFLICT (registration_id, attended_on) DO UPDATE
       SET checked_in_at = EXCLUDED.checked_in_at, deleted_at = NULL
       WHERE event_attendance.deleted_at IS NOT NULL
    RETURNING checked_in_at
)
SELECT ev.name, ev.starts_on, ev.ends_on, ev.status,
       (SELECT jsonb_agg(jsonb_build_array(student_no, name) ORDER BY student_no) FROM person),
       (SELECT jsonb_agg(jsonb_build_array(registration_no, status, event_name)
                         ORDER BY starts_on DESC, event_name)
        FROM regs WHERE event_id <> :event AND status <> 'cancelled'),
       (SELECT registration_no FROM mine), (SELECT status FROM mine),
       (SELECT checked_in_at FROM written), (SELECT checked_in_at FROM earlier)
FROM ev
""")

_CHECKED_IN_AT = text("""
SELECT a.checked_in_at FROM event_attendance a JOIN event_registration r ON r.id = a.registration_id
WHERE r.event_id = :event AND r.registration_no = :registration AND a.attended_on = :day
  AND a.deleted_at IS NULL
""")


@needs(Permission.CHECK_IN)
def check_in(
    session: Session, ctx: ServiceContext, event_id: uuid.UUID, number: str,
    day: date | None = None,
) -> CheckInResult:  # fmt: skip
    """Check in the student ``number`` (student or registration number, as scanned) at
    the event on ``day`` (today by default). A second check-in the same day is a
    harmless no-op; anyone not registered for the event, or a day that is not one of
    its days, is refused in one line saying why."""
    typed = number.strip()
    if not typed:
        raise ValidationError("number", "Scan or type a student number or a registration number.")
    day = day or date.today()
    row = session.execute(
        _CHECK_IN_SQL,
        {"event": event_id, "school": ctx.school_id, "typed": typed, "day": day,
         "numbers": number_candidates(typed, REG)},
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(EVENT_GONE)
    name, starts_on, ends_on, status, people, others, registration_no, reg_status, written, earlier = row  # fmt: skip
    if status == EventStatus.CANCELLED.value:
        raise ValidationError("event", f"{name} was cancelled; there is no check-in.")
    _check_event_day(name, starts_on, ends_on, day)
    who = _who(typed, people)
    if registration_no is None:
        raise ValidationError("number", _not_registered(who, name, others or []))
    if reg_status == RegistrationStatus.CANCELLED.value:
        raise ValidationError(
            "number", f"{who}'s registration for {name} ({registration_no}) was cancelled; "
            "only registered students check in."
        )  # fmt: skip
    if reg_status == RegistrationStatus.WAITLISTED.value:
        raise ValidationError(
            "number", f"{who} is on the waiting list for {name} ({registration_no}), not "
            "registered; only registered students check in."
        )  # fmt: skip
    if written is None and earlier is None:
        # Another desk checked the same student in at this very moment: theirs stands.
        earlier = session.execute(
            _CHECKED_IN_AT, {"event": event_id, "registration": registration_no, "day": day}
        ).scalar_one()  # fmt: skip
    student_no, student_name = people[0]
    return CheckInResult(event_id, name, day, registration_no, student_no, student_name,
                         written or earlier, already=written is None)  # fmt: skip


def _who(typed: str, people: list[list[str]] | None) -> str:
    if not people:
        raise NotFound(
            f"No student or registration has the number {typed!r}; check the number and "
            "scan again."
        )  # fmt: skip
    if len(people) > 1:
        names = " and ".join(f"{name} ({no})" for no, name in people)
        raise ValidationError(
            "number", f"The number {typed!r} fits {names}; type the registration number in full."
        )  # fmt: skip
    student_no, name = people[0]
    return f"{name} ({student_no})"


def _not_registered(who: str, event_name: str, others: list[list[str]]) -> str:
    if not others:
        return f"{who} is not registered for {event_name}."
    elsewhere = ", ".join(
        f"{event} ({no}{', waiting list' if status == 'waitlisted' else ''})"
        for no, status, event in others
    )  # fmt: skip
    return f"{who} is not registered for {event_name}; they are registered for {elsewhere}."


# ---------------------------------------------------------------- the day's list


@dataclass(frozen=True)
class DayListRow:
    registration_no: str
    student_no: str
    name: str
    team: str | None
    status: str
    checked_in_at: datetime | None  # None: not in (yet)


@dataclass(frozen=True)
class DayList:
    event_id: uuid.UUID
    event_name: str
    day: date
    present: list[DayListRow]  # in the order they came in
    missing: list[DayListRow]  # registered, not checked in; in name order


# Registered students, and anyone checked in that day whatever their registration says
# now (a cancelled one who came stays on the list: the consistency check deals with
# them). One round trip; an event without registrations still returns its row.
_DAY_LIST_SQL = text("""
SELECT ev.name, ev.starts_on, ev.ends_on,
       x.registration_no, x.student_no, x.name, x.team, x.status, x.checked_in_at
FROM event ev
LEFT JOIN LATERAL (
    SELECT r.registration_no, s.student_no, btrim(s.first_name || ' ' || s.last_name) AS name,
           s.sort_name, t.name AS team, r.status, a.checked_in_at
    FROM event_registration r
    JOIN student s ON s.id = r.student_id AND s.deleted_at IS NULL
    LEFT JOIN event_team t ON t.id = r.team_id
    LEFT JOIN event_attendance a
           ON a.registration_id = r.id AND a.attended_on = :day AND a.deleted_at IS NULL
    WHERE r.event_id = ev.id AND r.deleted_at IS NULL
      AND (r.status = 'registered' OR a.id IS NOT NULL)
) x ON true
WHERE ev.id = :event AND ev.school_id = :school AND ev.deleted_at IS NULL
ORDER BY x.checked_in_at NULLS LAST, x.sort_name, x.registration_no
""")


@needs(Permission.VIEW)
def day_list(session: Session, ctx: ServiceContext, event_id: uuid.UUID, day: date) -> DayList:
    """Who is in on ``day`` (with the time they checked in) and who is missing."""
    rows = session.execute(
        _DAY_LIST_SQL, {"event": event_id, "school": ctx.school_id, "day": day}
    ).all()  # fmt: skip
    if not rows:
        raise NotFound(EVENT_GONE)
    name, starts_on, ends_on = rows[0][:3]
    _check_event_day(name, starts_on, ends_on, day)
    listed = [DayListRow(*row[3:]) for row in rows if row.registration_no is not None]
    return DayList(event_id, name, day,
                   present=[r for r in listed if r.checked_in_at is not None],
                   missing=[r for r in listed if r.checked_in_at is None])  # fmt: skip


# ---------------------------------------------------------------- feedback


@dataclass(frozen=True)
class FeedbackRow:
    registration_no: str
    student_no: str
    name: str
    event_name: str
    rating: int
    comments: str | None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class FeedbackSaved:
    feedback: FeedbackRow
    replaced: bool  # the registration had given feedback before; this one replaces it


# One per registration (event_feedback.registration_id is unique): saving again
# replaces the rating and comments. Only a registered participant's is written.
_FEEDBACK_SQL = text("""
WITH r AS MATERIALIZED (
    SELECT r.id, r.registration_no, r.status, s.student_no,
           btrim(s.first_name || ' ' || s.last_name) AS name, ev.name AS event_name
    FROM event_registration r
    JOIN student s ON s.id = r.student_id
    JOIN event ev ON ev.id = r.event_id AND ev.deleted_at IS NULL
    WHERE r.school_id = :school AND r.registration_no = ANY(CAST(:numbers AS text[]))
      AND r.deleted_at IS NULL
    ORDER BY r.registration_no = :folded DESC
    LIMIT 1
), earlier AS (
    SELECT f.updated_at FROM event_feedback f JOIN r ON f.registration_id = r.id
    WHERE f.deleted_at IS NULL
), written AS (
    INSERT INTO event_feedback (id, school_id, registration_id, rating, comments)
    SELECT gen_random_uuid(), :school, r.id, :rating, :comments FROM r
    WHERE r.status = 'registered'
    ON CONFLICT (registration_id) DO UPDATE
       SET rating = EXCLUDED.rating, comments = EXCLUDED.comments, deleted_at = NULL
       WHERE (event_feedback.rating, event_feedback.comments, event_feedback.deleted_at)
             IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.comments, NULL)
    RETURNING updated_at
)
SELECT r.registration_no, r.student_no, r.name, r.event_name, r.status,
       EXISTS (SELECT FROM earlier),
       coalesce((SELECT updated_at FROM written), (SELECT updated_at FROM earlier))
FROM r
""")


@needs(Permission.CHECK_IN)
def set_feedback(
    session: Session, ctx: ServiceContext, registration_no: str, rating: int,
    comments: str | None = None,
) -> FeedbackSaved:  # fmt: skip
    """Record a participant's feedback: a rating from 1 to 5 and optional comments. One
    per registration; giving it again replaces the earlier one."""
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise ValidationError(
            "rating", f"A rating is a whole number from 1 to 5; {rating!r} is not one."
        )  # fmt: skip
    typed = registration_no.strip()
    if not typed:
        raise ValidationError("registration", "Type the registration number the feedback is for.")
    numbers = number_candidates(typed, REG)
    comments = (comments or "").strip() or None
    row = session.execute(
        _FEEDBACK_SQL,
        {"school": ctx.school_id, "numbers": numbers, "folded": numbers[0], "rating": rating,
         "comments": comments},
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(f"No registration has the number {typed!r}; check the number and try again.")
    number, student_no, name, event_name, status, replaced, updated_at = row
    if status != RegistrationStatus.REGISTERED.value:
        state = "was cancelled" if status == RegistrationStatus.CANCELLED.value else (
            "is on the waiting list")  # fmt: skip
        raise ValidationError(
            "registration", f"Registration {number} ({name}, {event_name}) {state}; feedback "
            "comes from registered participants."
        )  # fmt: skip
    saved = FeedbackRow(number, student_no, name, event_name, rating, comments, updated_at)
    return FeedbackSaved(saved, replaced=replaced)


_FEEDBACK_LIST_SQL = text("""
SELECT ev.name, x.registration_no, x.student_no, x.name, x.rating, x.comments, x.updated_at
FROM event ev
LEFT JOIN LATERAL (
    SELECT r.registration_no, s.student_no, btrim(s.first_name || ' ' || s.last_name) AS name,
           f.rating, f.comments, f.updated_at
    FROM event_registration r
    JOIN event_feedback f ON f.registration_id = r.id AND f.deleted_at IS NULL
    JOIN student s ON s.id = r.student_id
    WHERE r.event_id = ev.id AND r.deleted_at IS NULL
) x ON true
WHERE ev.id = :event AND ev.school_id = :school AND ev.deleted_at IS NULL
ORDER BY x.registration_no
""")


@needs(Permission.VIEW)
def list_feedback(session: Session, ctx: ServiceContext, event_id: uuid.UUID) -> list[FeedbackRow]:
    """The event's feedback, one per registration that gave it, by registration number."""
    rows = session.execute(_FEEDBACK_LIST_SQL, {"event": event_id, "school": ctx.school_id}).all()
    if not rows:
        raise NotFound(EVENT_GONE)
    return [
        FeedbackRow(no, student_no, name, event_name, rating, comments, updated_at)
        for event_name, no, student_no, name, rating, comments, updated_at in rows
        if no is not None
    ]
