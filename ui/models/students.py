"""Students table: number, name, e-mail, class, grade, status, active course count."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import StudentStatus
from app.domain.rows import Page, StudentRow
from app.services import students as student_service
from app.services.students import StudentQuery
from ui.models.paged import Column, Editor, ListSource, PagedTableModel

GRADE_NAMES = {-1: "PK", 0: "K"}


def grade_text(grade: int | None) -> str | None:
    return None if grade is None else GRADE_NAMES.get(grade, str(grade))


# The columns whose values run long: on a narrow screen they give up width (their
# values end in "…") so the others stay whole, on a wide one they get what is spare.
LONG_TEXT_COLUMNS = ("Name", "E-mail")


def student_columns() -> list[Column[StudentRow]]:
    # Widths are for the moment before the first rows arrive; the page then sizes the
    # columns to their values.
    return [
        Column("Student no", lambda r: r.student_no, "student_no", Editor.TEXT, "student_no", width=85),
        Column("Name", lambda r: r.full_name, "name", tooltip="Edit names with Edit student… (Enter)", width=160),
        Column("E-mail", lambda r: r.email, "email", Editor.TEXT, "email", width=240),
        Column("Class", lambda r: r.class_name, "class_name", Editor.TEXT, "class_name", width=50),
        Column("Grade", lambda r: grade_text(r.grade_level), "grade_level", Editor.TEXT, "grade_level", width=50),
        Column("Status", lambda r: r.status, "status", Editor.CHOICE, "status",
               choices=tuple(s.value for s in StudentStatus), width=75),
        Column("Courses", lambda r: r.active_course_count, "active_courses",
               align_right=True, tooltip="Active course enrollments", width=65),
    ]  # fmt: skip


class StudentTableModel(PagedTableModel[StudentRow, StudentQuery]):
    entities = frozenset({"student", "course_enrollment"})
    source = ListSource(student_service.count_students, student_service.stream_students)

    def __init__(self, parent=None) -> None:
        super().__init__(student_columns(), StudentQuery(limit=self.PAGE_SIZE), parent)

    def fetch_page(self, session: Session, ctx: ServiceContext, query: StudentQuery,
                   offset: int, limit: int) -> Page[StudentRow]:  # fmt: skip
        page = student_service.list_students(
            session, ctx, StudentQuery(**{**query.__dict__, "offset": offset, "limit": limit})
        )
        return Page(page.rows, page.offset, page.limit, page.has_more)

    def count(self, session: Session, ctx: ServiceContext, query: StudentQuery) -> int:
        return student_service.count_students(session, ctx, query)

    def save_edit(self, session: Session, ctx: ServiceContext, row: StudentRow,
                  column: Column[StudentRow], value: Any) -> None:  # fmt: skip
        assert column.field is not None
        student_service.update_student(
            session, ctx, row.id, {column.field: value}, expected_version=row.row_version
        )
