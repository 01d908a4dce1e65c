"""Enrollment requests table: requested, student, course, status, decided, note."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.rows import Page, RequestListRow
from app.services import requests as request_service
from app.services.requests import RequestQuery
from ui.models.paged import Column, ListSource, PagedTableModel


def _decided(row: RequestListRow) -> str:
    if row.decided_at is None:
        return ""
    return f"{row.decided_at:%Y-%m-%d}" + (f" by {row.decided_by}" if row.decided_by else "")


def request_columns() -> list[Column[RequestListRow]]:
    return [
        Column("Requested", lambda r: f"{r.requested_at:%Y-%m-%d %H:%M}", "requested_at", width=130),
        Column("Student", lambda r: f"{r.student_name} ({r.student_no})", "student", width=250),
        Column("Course", lambda r: r.course_name, "course", width=200),
        Column("Status", lambda r: r.status.capitalize(), "status", width=90),
        Column("Decided", _decided, "decided_at", width=170),
        Column("Note", lambda r: r.note, None, width=220),
        Column("Reason for decision", lambda r: r.decision_note, None, width=220),
    ]  # fmt: skip


class RequestTableModel(PagedTableModel[RequestListRow, RequestQuery]):
    entities = frozenset({"enrollment_request", "student", "course"})
    source = ListSource(request_service.count_requests, request_service.stream_requests)

    def __init__(self, parent=None) -> None:
        super().__init__(request_columns(), RequestQuery(), parent)

    def fetch_page(self, session: Session, ctx: ServiceContext, query: RequestQuery,
                   offset: int, limit: int) -> Page[RequestListRow]:  # fmt: skip
        return request_service.list_requests(session, ctx, query, offset, limit)

    def count(self, session: Session, ctx: ServiceContext, query: RequestQuery) -> int:
        return request_service.count_requests(session, ctx, query)
