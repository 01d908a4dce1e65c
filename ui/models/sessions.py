"""Sessions table: course, date, times, duration, mode, location, status, attendance."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import SessionMode, SessionStatus
from app.domain.rows import Page, SessionListRow
from app.services import class_sessions as session_service
from app.services.class_sessions import SessionQuery
from ui.models.paged import Column, Editor, ListSource, PagedTableModel


def session_columns() -> list[Column[SessionListRow]]:
    return [
        Column("Course", lambda r: r.course_name, "course", width=200),
        Column("Class", lambda r: r.class_name, None, width=70,
               tooltip="The class the lesson is for; empty when the whole course meets"),
        Column("Date", lambda r: r.session_date, "date", Editor.DATE, "session_date", width=110),
        Column("Start–end", lambda r: f"{r.start_time:%H:%M}–{r.end_time:%H:%M}", None, width=100),
        Column("Minutes", lambda r: r.duration_minutes, "duration", align_right=True, width=70),
        Column("Mode", lambda r: r.session_mode, "mode", Editor.CHOICE, "session_mode",
               choices=tuple(m.value for m in SessionMode), width=90),
        Column("Location", lambda r: r.location, "location", Editor.TEXT, "location", width=150),
        Column("Status", lambda r: r.status, "status", Editor.CHOICE, "status",
               choices=tuple(s.value for s in SessionStatus), width=100),
        Column("Attendance", lambda r: r.attendance_summary, None,
               tooltip="Present · Absent · Late · Excused", width=190),
    ]  # fmt: skip


class SessionTableModel(PagedTableModel[SessionListRow, SessionQuery]):
    entities = frozenset({"class_session", "session_attendance", "course"})
    source = ListSource(session_service.count_sessions, session_service.stream_sessions)

    def __init__(self, parent=None) -> None:
        super().__init__(session_columns(), SessionQuery(), parent)

    def fetch_page(self, session: Session, ctx: ServiceContext, query: SessionQuery,
                   offset: int, limit: int) -> Page[SessionListRow]:  # fmt: skip
        return session_service.list_sessions(session, ctx, query, offset, limit)

    def count(self, session: Session, ctx: ServiceContext, query: SessionQuery) -> int:
        return session_service.count_sessions(session, ctx, query)

    def save_edit(self, session: Session, ctx: ServiceContext, row: SessionListRow,
                  column: Column[SessionListRow], value: Any) -> None:  # fmt: skip
        assert column.field is not None
        session_service.update_session(
            session, ctx, row.id, {column.field: value}, expected_version=row.row_version
        )
