"""Events: the registrations list (event, team, days attended, certificates) and edits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from app.db.models import (
    Certificate,
    Event,
    EventAttendance,
    EventRegistration,
    EventTeam,
    Student,
)
from app.domain.context import ServiceContext
from app.domain.rows import EventRow, Page, RegistrationListRow
from app.services.paging import STREAM_BATCH, count_rows, fetch_page, order_by, stream_batches
from app.services.permissions import Permission, needs
from app.services.student_search import student_search_predicate

RegistrationSort = Literal["event", "registration_no", "student", "team", "status", "days"]


@dataclass(frozen=True)
class RegistrationQuery:
    event_id: uuid.UUID | None = None
    status: str | None = None
    student_id: uuid.UUID | None = None
    search: str = ""
    sort: RegistrationSort = "event"
    descending: bool = False


@needs(Permission.VIEW)
def list_events(session: Session, ctx: ServiceContext) -> list[EventRow]:
    rows = session.execute(
        select(Event.id, Event.name, Event.starts_on, Event.ends_on, Event.status)
        .where(Event.school_id == ctx.school_id, Event.deleted_at.is_(None))
        .order_by(Event.starts_on.desc(), Event.name)
    )
    return [EventRow(*r) for r in rows]


def _days_attended():
    return (
        select(func.count())
        .where(
            EventAttendance.registration_id == EventRegistration.id,
            EventAttendance.deleted_at.is_(None),
        )
        .correlate(EventRegistration)
        .scalar_subquery()
    )


def _certificate_numbers():
    return (
        select(
            func.string_agg(
                Certificate.certificate_no,
                aggregate_order_by(literal(", "), Certificate.certificate_no),
            )
        )
        .where(
            Certificate.registration_id == EventRegistration.id,
            Certificate.revoked_at.is_(None),
            Certificate.deleted_at.is_(None),
        )
        .correlate(EventRegistration)
        .scalar_subquery()
    )


def _registration_list_select(
    ctx: ServiceContext, query: RegistrationQuery, *, for_count: bool = False
) -> Select:
    if for_count:
        columns = [EventRegistration.id]
    else:
        columns = [
            EventRegistration.id,
            EventRegistration.event_id,
            Event.name,
            EventRegistration.registration_no,
            EventRegistration.student_id,
            Student.student_no,
            func.btrim(Student.first_name + " " + Student.last_name),
            EventTeam.name,
            EventRegistration.status,
            _days_attended().label("days_attended"),
            _certificate_numbers(),
            EventRegistration.row_version,
        ]
    stmt = (
        select(*columns)
        .select_from(EventRegistration)
        .join(Event, Event.id == EventRegistration.event_id)
        .join(Student, Student.id == EventRegistration.student_id)
        .outerjoin(EventTeam, EventTeam.id == EventRegistration.team_id)
        .where(
            EventRegistration.school_id == ctx.school_id,
            EventRegistration.deleted_at.is_(None),
            Event.deleted_at.is_(None),
            Student.deleted_at.is_(None),
        )
    )
    if query.event_id is not None:
        stmt = stmt.where(EventRegistration.event_id == query.event_id)
    if query.student_id is not None:
        stmt = stmt.where(EventRegistration.student_id == query.student_id)
    if query.status:
        stmt = stmt.where(EventRegistration.status == query.status)
    if query.search.strip():
        stmt = stmt.where(student_search_predicate(query.search))
    return stmt


def _sorted_registrations(ctx: ServiceContext, query: RegistrationQuery) -> Select:
    name = Student.sort_name
    return order_by(
        _registration_list_select(ctx, query), query.sort, query.descending,
        {
            "event": [Event.starts_on, func.lower(Event.name), EventRegistration.registration_no],
            "registration_no": [EventRegistration.registration_no],
            "student": [name],
            "team": [func.lower(EventTeam.name), name],
            "status": [EventRegistration.status, EventRegistration.registration_no],
            "days": [_days_attended(), EventRegistration.registration_no],
        },
        EventRegistration.id,
    )  # fmt: skip


@needs(Permission.VIEW)
def list_registrations(
    session: Session, ctx: ServiceContext, query: RegistrationQuery, offset: int = 0,
    limit: int = 200,
) -> Page[RegistrationListRow]:  # fmt: skip
    stmt = _sorted_registrations(ctx, query)
    return fetch_page(session, stmt, offset, limit, lambda r: RegistrationListRow(*r))


@needs(Permission.VIEW)
def stream_registrations(
    session: Session, ctx: ServiceContext, query: RegistrationQuery,
    batch_size: int = STREAM_BATCH,
) -> Iterator[list[RegistrationListRow]]:  # fmt: skip
    """Every registration of the list, in list order, in batches (File > Export)."""
    stmt = _sorted_registrations(ctx, query)
    return stream_batches(session, stmt, lambda rows: [RegistrationListRow(*r) for r in rows],
                          batch_size)  # fmt: skip


@needs(Permission.VIEW)
def count_registrations(session: Session, ctx: ServiceContext, query: RegistrationQuery) -> int:
    return count_rows(session, _registration_list_select(ctx, query, for_count=True))
