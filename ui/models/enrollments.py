"""Enrollments table: student, course, active (check box), enrolled on, progress %."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.rows import EnrollmentListRow, Page
from app.services import enrollments as enrollment_service
from app.services.enrollments import EnrollmentQuery
from ui.models.paged import Column, Editor, ListSource, PagedTableModel


def enrollment_columns() -> list[Column[EnrollmentListRow]]:
    return [
        Column("Student", lambda r: f"{r.student_name} ({r.student_no})", "student", width=260),
        Column("Course", lambda r: r.course_name, "course", width=220),
        Column("Active", lambda r: r.active, "active", Editor.CHECK, "active",
               tooltip="Untick to unenroll (the enrollment is kept), tick to re-enroll", width=70),
        Column("Enrolled on", lambda r: r.enrolled_on, "enrolled_on", width=110),
        Column("Ended on", lambda r: r.ended_on, None, width=110),
        Column("Progress %", lambda r: r.progress_percent, "progress", align_right=True, width=90),
    ]  # fmt: skip


class EnrollmentTableModel(PagedTableModel[EnrollmentListRow, EnrollmentQuery]):
    entities = frozenset({"course_enrollment", "student", "course"})
    source = ListSource(enrollment_service.count_enrollments, enrollment_service.stream_enrollments)

    def __init__(self, parent=None) -> None:
        super().__init__(enrollment_columns(), EnrollmentQuery(), parent)

    def fetch_page(self, session: Session, ctx: ServiceContext, query: EnrollmentQuery,
                   offset: int, limit: int) -> Page[EnrollmentListRow]:  # fmt: skip
        return enrollment_service.list_enrollments(session, ctx, query, offset, limit)

    def count(self, session: Session, ctx: ServiceContext, query: EnrollmentQuery) -> int:
        return enrollment_service.count_enrollments(session, ctx, query)

    def save_edit(self, session: Session, ctx: ServiceContext, row: EnrollmentListRow,
                  column: Column[EnrollmentListRow], value: Any) -> None:  # fmt: skip
        if value:
            enrollment_service.enroll(session, ctx, row.student_id, row.course_id)
        else:
            enrollment_service.unenroll(session, ctx, row.student_id, row.course_name)
