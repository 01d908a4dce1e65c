"""Event registrations table: event, number, student, team, status, days, certificates."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RegistrationStatus
from app.domain.errors import ValidationError
from app.domain.rows import Page, RegistrationListRow
from app.services import events as event_service
from app.services import registrations
from app.services.events import RegistrationQuery
from ui.models.paged import Column, Editor, ListSource, PagedTableModel


def registration_columns() -> list[Column[RegistrationListRow]]:
    return [
        Column("Event", lambda r: r.event_name, "event", width=200),
        Column("Registration no", lambda r: r.registration_no, "registration_no", width=120),
        Column("Student", lambda r: f"{r.student_name} ({r.student_no})", "student", width=240),
        Column("Team", lambda r: r.team_name, "team", width=150),
        Column("Status", lambda r: r.status, "status", Editor.CHOICE, "status",
               choices=(RegistrationStatus.CANCELLED.value,), width=100,
               tooltip="Choose cancelled to cancel; the first on the waiting list moves up"),
        Column("Days attended", lambda r: r.days_attended, "days", align_right=True, width=100),
        Column("Certificate no", lambda r: r.certificate_nos, None, width=130),
    ]  # fmt: skip


class RegistrationTableModel(PagedTableModel[RegistrationListRow, RegistrationQuery]):
    entities = frozenset({"event_registration", "event_attendance", "certificate", "student"})
    source = ListSource(event_service.count_registrations, event_service.stream_registrations)

    def __init__(self, parent=None) -> None:
        super().__init__(registration_columns(), RegistrationQuery(), parent)

    def fetch_page(self, session: Session, ctx: ServiceContext, query: RegistrationQuery,
                   offset: int, limit: int) -> Page[RegistrationListRow]:  # fmt: skip
        return event_service.list_registrations(session, ctx, query, offset, limit)

    def count(self, session: Session, ctx: ServiceContext, query: RegistrationQuery) -> int:
        return event_service.count_registrations(session, ctx, query)

    def save_edit(self, session: Session, ctx: ServiceContext, row: RegistrationListRow,
                  column: Column[RegistrationListRow], value: Any) -> None:  # fmt: skip
        # The one way a registration's status changes: cancelling frees the place for
        # the waiting list (app.services.registrations); nobody is moved up or put on
        # the waiting list by hand, which could overbook the event.
        if value == row.status:
            return
        if value != RegistrationStatus.CANCELLED.value:
            raise ValidationError(
                "status", "A registration moves up from the waiting list by itself when a "
                "place frees; a cancelled student registers again as a new registration."
            )  # fmt: skip
        registrations.cancel_registration(session, ctx, row.registration_no)
