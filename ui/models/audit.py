"""Audit log table: when, who, what was done to which row, and the changes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.rows import Page
from app.services import audit as audit_service
from app.services.audit import AuditQuery, AuditRow
from ui.models.paged import Column, ListSource, PagedTableModel


def audit_columns() -> list[Column[AuditRow]]:
    return [
        Column("When", lambda r: f"{r.at.astimezone():%Y-%m-%d %H:%M:%S}", "at", width=150),
        Column("Who", lambda r: r.actor, "actor", width=120),
        Column("Did", lambda r: r.action + (" (synced)" if r.origin == "sync" else ""), None,
               width=90),
        Column("Row", lambda r: r.row, "entity", width=260),
        Column("Changes", lambda r: r.summary, None, width=520),
    ]  # fmt: skip


class AuditTableModel(PagedTableModel[AuditRow, AuditQuery]):
    # Any change anywhere adds to the log: refresh after every write of school data.
    entities = frozenset({
        "school", "student", "course", "course_enrollment", "course_progress",
        "enrollment_request", "class_session", "session_attendance", "event", "event_team",
        "event_registration", "event_attendance", "event_feedback", "certificate",
        "legacy_group", "legacy_group_member", "number_sequence", "app_user",
    })  # fmt: skip
    source = ListSource(audit_service.count_audit, audit_service.stream_audit)

    def __init__(self, parent=None) -> None:
        super().__init__(audit_columns(), AuditQuery(), parent)

    def fetch_page(self, session: Session, ctx: ServiceContext, query: AuditQuery,
                   offset: int, limit: int) -> Page[AuditRow]:  # fmt: skip
        return audit_service.list_audit(session, ctx, query, offset, limit)

    def count(self, session: Session, ctx: ServiceContext, query: AuditQuery) -> int:
        return audit_service.count_audit(session, ctx, query)
