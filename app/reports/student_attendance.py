"""Student attendance: one student, or one or more classes, across all their courses —
what a parents' evening needs on paper.

Two sheets: **By course**, a row per student and course group (the course, and the
class its lessons are taught to: a student who moved from 7B to 7A keeps a row for the
7B lessons they were marked in) with the lessons held, the marks by status and the
rate; **Sessions**, a row per student and lesson held, with the mark in words, the
minutes late and the note.

The lessons held are the student panel's (``course_attendance_summary``): the completed
lessons of the course in the student's enrollment periods, for the whole course or the
student's class, together with every lesson they were marked in; the rate is
(present + late) / (present + late + absent). Added up over a course's rows, the
figures are the panel's, for the same student and dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.errors import NotFound, ValidationError
from app.domain.wording import counted, group_name
from app.jobs import Job
from app.reports.catalog import (
    EmptyReport,
    ReportFilters,
    ReportKind,
    ReportPreview,
    ReportSaved,
    title_block,
)
from app.reports.course_attendance import (
    WHOLE_COURSE,
    class_names,
    percent_text,
    range_words,
    rate_of,
    under_threshold,
)
from app.reports.workbook import CellKind, Column, report_workbook
from app.services.permissions import Permission, needs

BATCH = 2000  # session rows per fetch: progress and Cancel come between batches
RATE_NOTE = ("Rate = (present + late) / (present + late + absent); excused absences and "
             "lessons not marked count neither way")  # fmt: skip
STATUS_WORDS = {"present": "Present", "absent": "Absent", "late": "Late", "excused": "Excused",
                None: "Not marked"}  # fmt: skip

BY_COURSE_COLUMNS = (
    Column("Student no"), Column("Name"), Column("Class"), Column("Course"),
    Column("Class taught"), Column("Sessions held", CellKind.NUMBER),
    Column("Present", CellKind.NUMBER), Column("Absent", CellKind.NUMBER),
    Column("Late", CellKind.NUMBER), Column("Excused", CellKind.NUMBER),
    Column("Not marked", CellKind.NUMBER), Column("Rate", CellKind.PERCENT),
)  # fmt: skip
SESSION_COLUMNS = (
    Column("Student no"), Column("Name"), Column("Date", CellKind.DATE),
    Column("Start", CellKind.TIME), Column("End", CellKind.TIME), Column("Course"),
    Column("Status", CellKind.CODE), Column("Minutes late", CellKind.NUMBER), Column("Note"),
)  # fmt: skip


@dataclass(frozen=True)
class Who:
    """The students the report is about: one by number, or the classes."""

    student_no: str | None
    student_name: str | None
    classes: tuple[str, ...]
    date_from: date | None
    date_to: date | None
    threshold: float

    @property
    def params(self) -> dict[str, Any]:
        return {"student_no": self.student_no,
                "classes": [c.lower() for c in self.classes] or None,
                "date_from": self.date_from, "date_to": self.date_to}  # fmt: skip

    def label(self) -> str:
        if self.student_no is not None:
            return f"{self.student_name} ({self.student_no})"
        word = "class" if len(self.classes) == 1 else "classes"
        return f"{word} {' and '.join(self.classes)}"

    def filters_text(self) -> tuple[str, ...]:
        if self.student_no is not None:
            parts = [f"Student: {self.label()}"]
        else:
            parts = [f"Class{'es' if len(self.classes) > 1 else ''}: {', '.join(self.classes)}"]
        range_text = ReportFilters(date_from=self.date_from, date_to=self.date_to).range_text()
        parts += [range_text or "All dates", f"Under {percent_text(self.threshold)} highlighted"]
        return tuple(parts)


def _who(session: Session, ctx: ServiceContext, filters: ReportFilters) -> Who:
    number = (filters.student_no or "").strip() or None
    classes = class_names(session, ctx, filters.classes)
    if (number is None) == (not classes):
        raise ValidationError(
            "student", "Choose one student (by number) or one or more classes, not "
            + ("both." if number else "neither."),
        )  # fmt: skip
    name = None
    if number is not None:
        name = session.scalar(
            text("SELECT btrim(first_name || ' ' || last_name) FROM student "
                 "WHERE school_id = :school AND student_no = :no AND deleted_at IS NULL"),
            {"school": ctx.school_id, "no": number},
        )  # fmt: skip
        if name is None:
            raise NotFound(f"No student has the number {number!r}; check the number, or pick "
                           "the student from the list.")  # fmt: skip
    return Who(number, name, classes, filters.date_from, filters.date_to, filters.threshold)


# The students, their enrollments, and per enrollment the lessons held: the student
# panel's three ways (app.services.attendance._SUMMARY_SQL) — completed lessons of the
# course in the enrollment's periods for the whole course, those for the student's
# class, and every lesson they were marked in — within the dates.
_HELD = """
WITH st AS MATERIALIZED (
    SELECT id, student_no, first_name, last_name, class_name, sort_name FROM student
    WHERE school_id = :school AND deleted_at IS NULL
      AND (student_no = :student_no OR lower(class_name) = ANY(CAST(:classes AS text[])))
), e AS MATERIALIZED (
    SELECT e.id, e.course_id, e.periods, st.id AS student_id, st.class_name
    FROM st JOIN course_enrollment e ON e.student_id = st.id AND e.deleted_at IS NULL
), held AS (
    SELECT e.id AS enrollment_id, cs.id AS session_id
    FROM e JOIN class_session cs ON cs.course_id = e.course_id AND cs.class_name IS NULL
    WHERE cs.deleted_at IS NULL AND cs.status = 'completed' AND e.periods @> cs.session_date
      AND {dates}
    UNION
    SELECT e.id, cs.id
    FROM e JOIN class_session cs ON cs.course_id = e.course_id AND cs.class_name = e.class_name
    WHERE cs.deleted_at IS NULL AND cs.status = 'completed' AND e.periods @> cs.session_date
      AND {dates}
    UNION
    SELECT a.enrollment_id, a.session_id
    FROM e JOIN session_attendance a ON a.enrollment_id = e.id AND a.deleted_at IS NULL
    JOIN class_session cs ON cs.id = a.session_id
    WHERE {dates}
)
"""
_DATES = ("(CAST(:date_from AS date) IS NULL OR cs.session_date >= CAST(:date_from AS date)) "
          "AND (CAST(:date_to AS date) IS NULL OR cs.session_date <= CAST(:date_to AS date))")  # fmt: skip
_JOINS = """
FROM held h
JOIN e ON e.id = h.enrollment_id
JOIN st ON st.id = e.student_id
JOIN course c ON c.id = e.course_id
JOIN class_session cs ON cs.id = h.session_id
LEFT JOIN session_attendance a
       ON a.session_id = h.session_id AND a.enrollment_id = h.enrollment_id AND a.deleted_at IS NULL
"""
_NAME = "concat_ws(', ', nullif(btrim(st.last_name), ''), nullif(btrim(st.first_name), ''))"

_BY_COURSE_SQL = text(_HELD.format(dates=_DATES) + f"""
SELECT st.student_no, {_NAME}, st.class_name, c.name, cs.class_name, count(*),
       count(a.id) FILTER (WHERE a.status = 'present'),
       count(a.id) FILTER (WHERE a.status = 'absent'),
       count(a.id) FILTER (WHERE a.status = 'late'),
       count(a.id) FILTER (WHERE a.status = 'excused')
{_JOINS}
GROUP BY st.id, st.student_no, st.last_name, st.first_name, st.class_name, st.sort_name,
         c.id, c.name, cs.class_name
ORDER BY st.sort_name, st.id, public.rollbook_natural_key(c.name), c.name, c.id,
         cs.class_name IS NOT NULL, public.rollbook_natural_key(cs.class_name), cs.class_name
""")  # fmt: skip

_SESSIONS_SQL = text(_HELD.format(dates=_DATES) + f"""
SELECT st.student_no, {_NAME}, cs.session_date, cs.start_time, cs.end_time, c.name,
       cs.class_name, a.status, a.minutes_late, a.note
{_JOINS}
ORDER BY st.sort_name, st.id, cs.session_date, cs.start_time,
         public.rollbook_natural_key(c.name), c.name, cs.id
""")  # fmt: skip


def _by_course(session: Session, ctx: ServiceContext, who: Who) -> list[tuple[Any, ...]]:
    """The By course rows; EmptyReport when no lesson was held for them."""
    rows = []
    for number, name, class_name, course, taught, held, p, a, late, e in session.execute(
        _BY_COURSE_SQL, {"school": ctx.school_id, **who.params}
    ):
        not_marked = max(held - p - a - late - e, 0)
        rows.append((number, name, class_name, course, taught or WHOLE_COURSE, held,
                     p, a, late, e, not_marked, rate_of(p, a, late)))  # fmt: skip
    if not rows:
        raise EmptyReport(f"No lessons held for {who.label()}"
                          f"{range_words(who.date_from, who.date_to)}: nothing to export.")  # fmt: skip
    return rows


def _summary(rows: Sequence[tuple[Any, ...]]) -> str:
    students = len({row[0] for row in rows})
    courses = len({row[3] for row in rows})
    held = sum(row[5] for row in rows)
    return " · ".join((counted(students, "student"), counted(courses, "course"),
                       f"{counted(held, 'lesson')} on their registers"))  # fmt: skip


@needs(Permission.VIEW)
def preview(session: Session, ctx: ServiceContext, filters: ReportFilters,
            limit: int) -> ReportPreview:  # fmt: skip
    """The By course rows."""
    rows = _by_course(session, ctx, _who(session, ctx, filters))
    return ReportPreview(
        kind=ReportKind.STUDENT_ATTENDANCE, columns=tuple(c.title for c in BY_COURSE_COLUMNS),
        rows=tuple(rows[:limit]), total_rows=len(rows), summary=_summary(rows),
    )  # fmt: skip


@needs(Permission.EXPORT_REPORTS)
def write(session: Session, ctx: ServiceContext, job: Job, filters: ReportFilters,
          path: Path) -> ReportSaved:  # fmt: skip
    """Write the student attendance workbook to ``path``: By course, then Sessions."""
    who = _who(session, ctx, filters)
    rows = _by_course(session, ctx, who)
    total = sum(row[5] for row in rows)
    title = title_block(session, ctx, ReportKind.STUDENT_ATTENDANCE, who.filters_text(),
                        (RATE_NOTE,))  # fmt: skip
    with report_workbook(path, title) as book:
        by_course = book.sheet("By course", BY_COURSE_COLUMNS, sheet_title="By course",
                               freeze_columns=2)  # fmt: skip
        for row in rows:
            by_course.append(row)
        under_threshold(by_course, len(BY_COURSE_COLUMNS), who.threshold)
        sessions = book.sheet("Sessions", SESSION_COLUMNS, sheet_title="Sessions",
                              freeze_columns=2)  # fmt: skip
        result = session.execute(_SESSIONS_SQL, {"school": ctx.school_id, **who.params},
                                 execution_options={"stream_results": True,
                                                    "yield_per": BATCH})  # fmt: skip
        written = 0
        try:
            for batch in result.partitions():
                for number, name, day, start, end, course, taught, status, late, note in batch:
                    sessions.append([number, name, day, start, end, group_name(course, taught),
                                     STATUS_WORDS[status], late, note])  # fmt: skip
                written += len(batch)
                job.progress(written, total, f"{written:,} of {total:,} lessons")
                job.check_cancel()
        finally:
            result.close()
        names = tuple(sheet.ws.title for sheet in book.sheets)
    return ReportSaved(path=path, sheets=names, rows=len(rows) + written, summary=_summary(rows))
