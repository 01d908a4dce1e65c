"""The waiting list of an event: who moves up when places free.

First come, first served: students on their own, in registration-number order (the
numbers are handed out in the order people register), active ones only. A team never
waits (it registers whole or not at all), and on an event that takes teams only the
waiting list holds students waiting for a team, whom a freed place does not help.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.enums import EventStatus


@dataclass(frozen=True)
class Promotion:
    """A student who moved up from the waiting list into a freed place."""

    registration_no: str
    student_no: str
    student_name: str


# As many as the event has places free now. An event without a limit has as many as
# :unlimited says: one when a place freed, every one waiting (NULL: no LIMIT) when the
# limit was lifted.
# The numbers' digits grow past 99,999: shorter numbers come first.
_PROMOTE_SQL = text("""
WITH free AS (
    SELECT CASE WHEN e.capacity IS NULL THEN CAST(:unlimited AS bigint) ELSE greatest(e.capacity - (
               SELECT count(*) FROM event_registration r WHERE r.event_id = e.id
               AND r.status = 'registered' AND r.deleted_at IS NULL), 0) END AS places
    FROM event e WHERE e.id = :event
), next_in_line AS (
    SELECT r.id FROM event_registration r JOIN student s ON s.id = r.student_id
    WHERE r.event_id = :event AND r.status = 'waitlisted' AND r.team_id IS NULL
      AND r.deleted_at IS NULL AND s.status = 'active' AND s.deleted_at IS NULL
    ORDER BY length(r.registration_no), r.registration_no
    LIMIT (SELECT places FROM free)
    FOR UPDATE OF r
), promoted AS (
    UPDATE event_registration r SET status = 'registered' FROM next_in_line n
    WHERE r.id = n.id RETURNING r.registration_no, r.student_id
)
SELECT p.registration_no, s.student_no, btrim(s.first_name || ' ' || s.last_name)
FROM promoted p JOIN student s ON s.id = p.student_id
ORDER BY length(p.registration_no), p.registration_no
""")

_POSITION_SQL = text("""
SELECT count(*) FROM event_registration
WHERE event_id = :event AND status = 'waitlisted' AND team_id IS NULL AND deleted_at IS NULL
  AND (length(registration_no), registration_no) <= (length(:no), CAST(:no AS text))
""")


def promote_waitlisted(
    session: Session, event_id: uuid.UUID, *, status: str, allow_individual: bool,
    fill_all: bool = False,
) -> list[Promotion]:  # fmt: skip
    """Move the next students on the event's waiting list into its free places, in one
    statement; the caller holds the event's lock. On an event without a limit one moves
    up (a place freed), or with ``fill_all`` (the limit was lifted) everyone waiting.
    Nobody moves up once the event is completed or cancelled, nor on an event that
    takes teams only."""
    if not allow_individual or status not in (EventStatus.OPEN.value, EventStatus.CLOSED.value):
        return []
    rows = session.execute(_PROMOTE_SQL, {"event": event_id, "unlimited": None if fill_all else 1})
    return [Promotion(*row) for row in rows]


def waitlist_position(session: Session, event_id: uuid.UUID, registration_no: str) -> int:
    """Where the registration stands on the waiting list: 1 moves up next."""
    return session.scalar(_POSITION_SQL, {"event": event_id, "no": registration_no}) or 0
