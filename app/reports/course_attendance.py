"""Course attendance: a register per course group, as the school keeps it on paper.

A *course group* is a course together with the class its lessons are taught to: the
lessons of Biology for 7A and those for 7B are two registers, so two sheets ("Biology
(7A)", "Biology (7B)") and two rows of the summary; lessons of a course without a class
are the whole course's register ("Biology"). Who is on a group's sheet follows the
register's rules (app.services.attendance): a student whose enrollment covers one of
the group's lesson dates, who is active and (for a class's lessons) in that class, or
who was marked in one of its lessons.

The workbook, in this order:

- **Summary**: one row per course group (lessons held, students, marks by status, the
  average of the students' rates, how many are under the threshold), a bar chart of the
  rates and the rates under the threshold in light red;
- **one sheet per course group**: its students by name, one column per lesson (not
  cancelled) headed by the lesson's date and time, ``P``/``A``/``L``/``E`` in the cells
  (blank: not marked; ``–``: not on that lesson's register, e.g. not enrolled yet), then
  the student's totals and rate;
- **Sessions**: every lesson of the selection, cancelled ones included, with its
  details.

The rate is the student panel's (``AttendanceSummaryRow.rate``): (present + late) /
(present + late + absent); an excused absence and a lesson not marked count neither
way. "Not marked" counts the held (completed) lessons on the student's register that
have no mark, as the panel does; a lesson "held" on the summary is completed or has a
mark.

Reading is set-based: per course group one statement returns one row per student with
the marks already pivoted in SQL (a string of one-letter codes in lesson order), read
through a server-side cursor in batches, so a report of a million cells fetches one row
per student, not a million.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
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
from app.reports.workbook import CellKind, Column, ReportSheet, report_workbook
from app.services.courses import get_course_by_name
from app.services.permissions import Permission, needs

BATCH = 500  # students per fetch: progress and Cancel come between batches
WHOLE_COURSE = "Whole course"  # the Class of lessons taught to the whole course

# The one-letter codes the statement pivots, as the cells show them.
CELL_VALUES: dict[str, str | None] = {
    "P": "P", "A": "A", "L": "L", "E": "E",
    " ": None,  # on the register of a lesson held, not marked
    ".": None,  # on the register of a lesson not held yet
    "-": "–",  # not on that lesson's register (not enrolled then, or not in the class)
}  # fmt: skip
LEGEND = (
    "P present · A absent · L late · E excused · blank: not marked · – not on that "
    "lesson's register; rate = (present + late) / (present + late + absent)"
)

# Pastel fills dark text stays readable on, one per mark; a conditional format on the
# whole grid colours the cells, so the million cells of a big report carry no style
# of their own (a style per cell would cost time and file size on every cell).
STATUS_FILLS = {"P": "C6EFCE", "A": "FFC7CE", "L": "FFEB9C", "E": "DDEBF7"}
UNDER_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
UNDER_FONT = Font(color="9C0006")

SESSION_WIDTH = 4.5  # a lesson's column: one letter
SESSION_HEADER_HEIGHT = 195  # points: "Mon 15 Sep 2026 09:00–09:45" upright, in bold
SESSIONS_PER_PAGE = 40  # lesson columns a printed page holds beside the names

SUMMARY_COLUMNS = (
    "Course", "Class", "Sessions held", "Students", "Present", "Absent", "Late", "Excused",
    "Average rate",
)  # fmt: skip


# ---------------------------------------------------------------- the selection
@dataclass(frozen=True)
class Selection:
    """The filters, checked: the courses by their stored names, the classes folded."""

    course_ids: tuple[uuid.UUID, ...]
    course_names: tuple[str, ...]
    classes: tuple[str, ...]
    date_from: date | None
    date_to: date | None
    threshold: float

    @property
    def class_keys(self) -> list[str] | None:
        return [c.lower() for c in self.classes] or None

    def describe(self) -> str:
        """The selection in words, for "No lessons of …: nothing to export."."""
        words = "No lessons"
        if self.course_names:
            words += " of " + " or ".join(self.course_names)
        if self.classes:
            label = "class" if len(self.classes) == 1 else "classes"
            words += f" for {label} " + " or ".join(self.classes)
        words += range_words(self.date_from, self.date_to)
        return words


def range_words(date_from: date | None, date_to: date | None) -> str:
    """ " between 1 Sep 2026 and 30 Nov 2026", " from …", " up to …" or nothing."""
    if date_from and date_to:
        return f" between {date_from:%-d %b %Y} and {date_to:%-d %b %Y}"
    if date_from:
        return f" from {date_from:%-d %b %Y}"
    if date_to:
        return f" up to {date_to:%-d %b %Y}"
    return ""


def percent_text(rate: float) -> str:
    return f"{rate * 100:g}%"


@needs(Permission.VIEW)
def class_names(session: Session, ctx: ServiceContext, typed: Iterable[str]) -> tuple[str, ...]:
    """The classes as the school spells them ("7a" → "7A"); one nobody is in, as typed."""
    wanted = list(dict.fromkeys(c.strip() for c in typed if c.strip()))
    if not wanted:
        return ()
    stored = dict(session.execute(
        text("SELECT DISTINCT ON (lower(class_name)) lower(class_name), class_name FROM student "
             "WHERE school_id = :school AND deleted_at IS NULL "
             "AND lower(class_name) = ANY(:wanted) ORDER BY lower(class_name), class_name"),
        {"school": ctx.school_id, "wanted": [c.lower() for c in wanted]},
    ).all())  # fmt: skip
    return tuple(dict.fromkeys(stored.get(c.lower(), c) for c in wanted))


@needs(Permission.VIEW)
def select_courses(session: Session, ctx: ServiceContext, filters: ReportFilters) -> Selection:
    """The filters with each course name looked up (any case); a name that matches no
    course raises UnknownCourse with the closest names."""
    courses = [get_course_by_name(session, ctx, name) for name in filters.courses]
    unique = list({course.id: course for course in courses}.values())
    classes = class_names(session, ctx, filters.classes)
    return Selection(
        course_ids=tuple(c.id for c in unique), course_names=tuple(c.name for c in unique),
        classes=classes, date_from=filters.date_from, date_to=filters.date_to,
        threshold=filters.threshold,
    )  # fmt: skip


# ---------------------------------------------------------------- lessons and groups
@dataclass(frozen=True)
class Lesson:
    id: uuid.UUID
    course_id: uuid.UUID
    course_name: str
    class_name: str | None
    session_date: date
    start_time: time
    end_time: time
    duration_minutes: int
    session_mode: str
    location: str | None
    topics: list[Any]
    topics_covered: list[Any]
    status: str
    cancel_reason: str | None
    held: bool  # completed, or somebody was marked in it


@dataclass
class Group:
    """A course group: a course's lessons for one class (or the whole course)."""

    number: int
    course_name: str
    class_name: str | None
    lessons: list[Lesson] = field(default_factory=list)  # not cancelled, in date order

    @property
    def name(self) -> str:
        return group_name(self.course_name, self.class_name)

    @property
    def held(self) -> int:
        return sum(lesson.held for lesson in self.lessons)


# Every lesson of the selection, cancelled ones included (the Sessions sheet lists
# them), by course, class (the whole course first) and time.
_LESSONS_SQL = text("""
SELECT cs.id, cs.course_id, c.name, cs.class_name, cs.session_date, cs.start_time, cs.end_time,
       cs.duration_minutes, cs.session_mode, cs.location, cs.topics, cs.topics_covered,
       cs.status, cs.cancel_reason,
       cs.status = 'completed' OR EXISTS (SELECT FROM session_attendance a
                                         WHERE a.session_id = cs.id AND a.deleted_at IS NULL)
FROM class_session cs
JOIN course c ON c.id = cs.course_id AND c.deleted_at IS NULL
WHERE cs.school_id = :school AND cs.deleted_at IS NULL
  AND (CAST(:courses AS uuid[]) IS NULL OR cs.course_id = ANY(CAST(:courses AS uuid[])))
  AND (CAST(:classes AS text[]) IS NULL OR cs.class_name IS NULL
       OR lower(cs.class_name) = ANY(CAST(:classes AS text[])))
  AND (CAST(:date_from AS date) IS NULL OR cs.session_date >= CAST(:date_from AS date))
  AND (CAST(:date_to AS date) IS NULL OR cs.session_date <= CAST(:date_to AS date))
ORDER BY public.rollbook_natural_key(c.name), c.name, c.id, cs.class_name IS NOT NULL,
         public.rollbook_natural_key(cs.class_name), cs.class_name,
         cs.session_date, cs.start_time, cs.id
""")


@needs(Permission.VIEW)
def read_lessons(session: Session, ctx: ServiceContext, selection: Selection) -> list[Lesson]:
    rows = session.execute(_LESSONS_SQL, {
        "school": ctx.school_id, "courses": list(selection.course_ids) or None,
        "classes": selection.class_keys, "date_from": selection.date_from,
        "date_to": selection.date_to,
    })  # fmt: skip
    return [Lesson(*row) for row in rows]


def course_groups(lessons: Iterable[Lesson]) -> list[Group]:
    """The registers the lessons make, in the lessons' order; cancelled lessons have no
    register and make none."""
    groups: dict[tuple[uuid.UUID, str | None], Group] = {}
    for lesson in lessons:
        if lesson.status == "cancelled":
            continue
        key = (lesson.course_id, lesson.class_name)
        if key not in groups:
            groups[key] = Group(len(groups) + 1, lesson.course_name, lesson.class_name)
        groups[key].lessons.append(lesson)
    return list(groups.values())


# ---------------------------------------------------------------- the students' rows
# Who is on the groups' registers. ``s``: the lessons, numbered by group and ordered as
# the columns; ``g``: per group its course, class and the days it met; ``marks``: the
# marks in those lessons; ``who``: per group the enrollments on at least one of its
# registers (the register's ways in, over the range: enrolled on one of the days, active
# and in the class; or marked). ``eligible``: active and in the class, so on the
# register of every lesson on a day the enrollment's periods cover.
#
# The marks are read once per statement and matched by hashing, never looked up per
# cell: a register of 2,000 students and 100 lessons is 200,000 cells, and an index
# probe per cell costs seconds where a hash join costs a fraction of one.
_WHO = """
WITH s AS MATERIALIZED (
    SELECT x.grp, x.ord, cs.id, cs.course_id, cs.class_name, cs.session_date AS day,
           cs.status = 'completed' AS completed
    FROM unnest(CAST(:sessions AS uuid[]), CAST(:groups AS integer[]))
         WITH ORDINALITY AS x(id, grp, ord)
    JOIN class_session cs ON cs.id = x.id
), g AS MATERIALIZED (
    SELECT grp, course_id, class_name, range_agg(daterange(day, day, '[]')) AS days
    FROM s GROUP BY grp, course_id, class_name
), marks AS MATERIALIZED (
    SELECT s.grp, a.session_id, a.enrollment_id, a.status
    FROM s JOIN session_attendance a ON a.session_id = s.id AND a.deleted_at IS NULL
), who AS MATERIALIZED (
    SELECT g.grp, e.id AS enrollment_id, e.periods, st.id AS student_id,
           st.status = 'active' AND (g.class_name IS NULL OR st.class_name = g.class_name)
               AS eligible
    FROM g
    JOIN course_enrollment e ON e.course_id = g.course_id AND e.deleted_at IS NULL
    JOIN student st ON st.id = e.student_id AND st.deleted_at IS NULL
    LEFT JOIN (SELECT DISTINCT grp, enrollment_id FROM marks) marked
           ON marked.grp = g.grp AND marked.enrollment_id = e.id
    WHERE (g.class_name IS NOT NULL OR CAST(:classes AS text[]) IS NULL
           OR lower(st.class_name) = ANY(CAST(:classes AS text[])))
      AND ((st.status = 'active' AND (g.class_name IS NULL OR st.class_name = g.class_name)
            AND e.periods && g.days)
           OR marked.enrollment_id IS NOT NULL)
)
"""

_COUNT_SQL = text(_WHO + "SELECT grp, count(*) FROM who GROUP BY grp")

# One row per student and group: the cells as one letter per lesson in column order —
# "P", "A", "L", "E"; " " on the register of a lesson held (completed) and not marked;
# "." on the register of a lesson not held yet and not marked; "-" not on that lesson's
# register — and how many students the group has (every row is counted before the first
# is sent, so that costs nothing). The totals are counted from the letters. The cells
# are narrowed to their letter before they are sorted into lesson order (OFFSET 0
# keeps the planner from widening them again): a big register's sort stays in memory.
_ROWS = """
SELECT c.grp, st.id, st.student_no,
       concat_ws(', ', nullif(btrim(st.last_name), ''), nullif(btrim(st.first_name), '')),
       st.class_name, c.codes, count(*) OVER (PARTITION BY c.grp)
FROM (
    SELECT cell.grp, cell.enrollment_id, string_agg(cell.code, '' ORDER BY cell.ord) AS codes
    FROM (
        SELECT w.grp, w.enrollment_id, s.ord,
               CASE WHEN m.status IS NOT NULL THEN upper(left(m.status, 1))
                    WHEN NOT (w.eligible AND w.periods @> s.day) THEN '-'
                    WHEN s.completed THEN ' '
                    ELSE '.' END AS code
        FROM who w
        JOIN s ON s.grp = w.grp
        LEFT JOIN marks m ON m.session_id = s.id AND m.enrollment_id = w.enrollment_id
        OFFSET 0
    ) cell
    GROUP BY cell.grp, cell.enrollment_id
) c
JOIN who w ON w.grp = c.grp AND w.enrollment_id = c.enrollment_id
JOIN student st ON st.id = w.student_id
ORDER BY c.grp, st.sort_name, st.id
"""
_ROWS_SQL = text(_WHO + _ROWS)


def _lesson_params(groups: Sequence[Group], selection: Selection) -> dict[str, Any]:
    lessons = [(lesson.id, group.number) for group in groups for lesson in group.lessons]
    return {"sessions": [i for i, _ in lessons], "groups": [n for _, n in lessons],
            "classes": selection.class_keys}  # fmt: skip


def count_students(session: Session, groups: Sequence[Group],
                   selection: Selection) -> dict[int, int]:  # fmt: skip
    """Each group's number of students, by group number (one statement for all)."""
    return dict(session.execute(_COUNT_SQL, _lesson_params(groups, selection)).all())


def stream_rows(session: Session, groups: Sequence[Group], selection: Selection,
                batch: int = BATCH) -> Iterator[Sequence[Any]]:  # fmt: skip
    """The students' rows of ``groups`` in batches, through one server-side cursor."""
    result = session.execute(_ROWS_SQL, _lesson_params(groups, selection),
                             execution_options={"stream_results": True, "yield_per": batch})  # fmt: skip
    try:
        yield from result.partitions()
    finally:
        result.close()


def rate_of(present: int, absent: int, late: int) -> float | None:
    """(present + late) / (present + late + absent); None when nothing counts."""
    counted_marks = present + absent + late
    return (present + late) / counted_marks if counted_marks else None


@dataclass
class GroupTotals:
    """A group's summary row, added up from its students' rows."""

    group: Group
    students: int = 0
    present: int = 0
    absent: int = 0
    late: int = 0
    excused: int = 0
    rates: list[float] = field(default_factory=list)

    def add(self, codes: str) -> list[Any]:
        """Count a student's cells (the letters of _ROWS_SQL); their totals and rate."""
        present, absent, late = codes.count("P"), codes.count("A"), codes.count("L")
        excused = codes.count("E")
        self.students += 1
        self.present, self.absent = self.present + present, self.absent + absent
        self.late, self.excused = self.late + late, self.excused + excused
        rate = rate_of(present, absent, late)
        if rate is not None:
            self.rates.append(rate)
        return [present, absent, late, excused, codes.count(" "), rate]

    def row(self, threshold: float) -> tuple[Any, ...]:
        average = sum(self.rates) / len(self.rates) if self.rates else None
        under = sum(rate < threshold for rate in self.rates)
        return (self.group.course_name, self.group.class_name or WHOLE_COURSE, self.group.held,
                self.students, self.present, self.absent, self.late, self.excused, average,
                under)  # fmt: skip


def summary_columns(threshold: float) -> tuple[str, ...]:
    return (*SUMMARY_COLUMNS, f"Students under {percent_text(threshold)}")


def summary_line(groups: Sequence[Group], students: int) -> str:
    courses = len({group.course_name for group in groups})
    lessons = sum(len(group.lessons) for group in groups)
    return " · ".join((counted(courses, "course"), counted(len(groups), "register"),
                       counted(lessons, "lesson"), counted(students, "student")))  # fmt: skip


def _groups(session: Session, ctx: ServiceContext, selection: Selection
            ) -> tuple[list[Lesson], list[Group]]:  # fmt: skip
    """The lessons and the course groups; EmptyReport when no lesson is selected. With
    classes chosen, a whole-course register none of their students is on is left out."""
    lessons = read_lessons(session, ctx, selection)
    groups = course_groups(lessons)
    if groups and selection.classes:
        counts = count_students(session, groups, selection)
        left_out = {(g.lessons[0].course_id, None) for g in groups
                    if g.class_name is None and not counts.get(g.number)}  # fmt: skip
        groups = [g for g in groups if (g.lessons[0].course_id, g.class_name) not in left_out]
        lessons = [x for x in lessons if (x.course_id, x.class_name) not in left_out]
    if not groups:
        raise EmptyReport(f"{selection.describe()}: nothing to export.")
    return lessons, groups


# ---------------------------------------------------------------- preview
@needs(Permission.VIEW)
def preview(session: Session, ctx: ServiceContext, filters: ReportFilters,
            limit: int) -> ReportPreview:  # fmt: skip
    """The Summary sheet's rows: one per course group."""
    selection = select_courses(session, ctx, filters)
    _, groups = _groups(session, ctx, selection)
    totals = {group.number: GroupTotals(group) for group in groups}
    students: set[uuid.UUID] = set()
    for batch in stream_rows(session, groups, selection, batch=5000):
        for grp, student_id, _no, _name, _class, codes, _of in batch:
            totals[grp].add(codes)
            students.add(student_id)
    rows = tuple(totals[g.number].row(selection.threshold) for g in groups)
    return ReportPreview(
        kind=ReportKind.COURSE_ATTENDANCE, columns=summary_columns(selection.threshold),
        rows=rows[:limit], total_rows=len(rows), summary=summary_line(groups, len(students)),
    )  # fmt: skip


# ---------------------------------------------------------------- the workbook
def _filters_text(selection: Selection) -> tuple[str, ...]:
    names = selection.course_names
    parts = [f"Course{'s' if len(names) > 1 else ''}: {', '.join(names)}" if names
             else "All courses"]  # fmt: skip
    if selection.classes:
        label = "Class" if len(selection.classes) == 1 else "Classes"
        parts.append(f"{label}: {', '.join(selection.classes)}")
    filters = ReportFilters(date_from=selection.date_from, date_to=selection.date_to)
    parts.append(filters.range_text() or "All dates")
    parts.append(f"Under {percent_text(selection.threshold)} highlighted")
    return tuple(parts)


def under_threshold(sheet: ReportSheet, column: int, threshold: float) -> None:
    """Rates under ``threshold`` in light red, once the rows are written; a blank rate
    (nothing to count) is not under anything."""

    def add() -> None:
        cells = sheet.column_range(column)
        first = cells.split(":")[0]
        rule = FormulaRule(formula=[f"AND(ISNUMBER({first}),{first}<{threshold!r})"],
                           fill=UNDER_FILL, font=UNDER_FONT)  # fmt: skip
        sheet.ws.conditional_formatting.add(cells, rule)

    sheet.when_closed(add)


def _summary_chart(sheet: ReportSheet, rate_column: int) -> None:
    def add() -> None:
        if sheet.rows_written == 0:
            return
        ws, first, last = sheet.ws, sheet.first_data_row, sheet.last_row
        chart = BarChart()
        chart.type, chart.style = "col", 10
        chart.title = "Average attendance rate per register"
        chart.y_axis.title = "Average rate"
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
        chart.y_axis.numFmt, chart.y_axis.majorUnit = "0%", 0.2
        # openpyxl 3.1 marks the axes deleted unless told: Excel would draw none.
        chart.x_axis.delete = chart.y_axis.delete = False
        chart.legend = None
        chart.add_data(Reference(ws, min_col=rate_column, min_row=first - 1, max_row=last),
                       titles_from_data=True)  # fmt: skip
        # Course and class as a two-level axis: "Biology" over "7A" and "7B".
        chart.set_categories(Reference(ws, min_col=1, max_col=2, min_row=first, max_row=last))
        chart.width = min(40.0, max(18.0, 1.6 * sheet.rows_written))
        chart.height = 9.0
        # Below the table, so it prints on the page after the rows at a readable size.
        ws.add_chart(chart, f"A{last + 3}")

    sheet.when_closed(add)


def _grid_columns(group: Group) -> list[Column]:
    columns = [Column("Student no"), Column("Name"), Column("Class")]
    for lesson in group.lessons:
        columns.append(Column(
            f"{lesson.session_date:%-d %b %Y} {lesson.start_time:%H:%M}", CellKind.CODE,
            width=SESSION_WIDTH,
            header_value=datetime.combine(lesson.session_date, lesson.start_time),
            header_format=f'ddd d mmm yyyy hh:mm"–{lesson.end_time:%H:%M}"',
        ))  # fmt: skip
    columns += [Column(title, CellKind.NUMBER)
                for title in ("Present", "Absent", "Late", "Excused", "Not marked")]  # fmt: skip
    columns.append(Column("Rate", CellKind.PERCENT))
    return columns


def _status_fills(sheet: ReportSheet, lessons: int) -> None:
    """Four rules on the grid colour the marks (zero cost per cell, see STATUS_FILLS)."""

    def add() -> None:
        if not lessons:
            return
        first, last = get_column_letter(4), get_column_letter(3 + lessons)
        cells = f"{first}{sheet.first_data_row}:{last}{max(sheet.last_row, sheet.first_data_row)}"
        for code, colour in STATUS_FILLS.items():
            fill = PatternFill("solid", start_color=colour, end_color=colour)
            rule = CellIsRule(operator="equal", formula=[f'"{code}"'], fill=fill)
            sheet.ws.conditional_formatting.add(cells, rule)

    sheet.when_closed(add)


def _print_grid(sheet: ReportSheet, lessons: int) -> None:
    """Printed, the names repeat on every page and a page holds SESSIONS_PER_PAGE lessons:
    a term of lessons squeezed onto one page's width would be unreadable."""

    def setup() -> None:
        sheet.ws.print_title_cols = "A:C"
        sheet.ws.page_setup.fitToWidth = max(1, -(-lessons // SESSIONS_PER_PAGE))
        # A page's students, then the same students' later lessons: a register is read
        # along its rows.
        sheet.ws.page_setup.pageOrder = "overThenDown"

    sheet.when_closed(setup)


PROGRESS_STEPS = 1000  # per course group: the bar moves by groups and within each


def _write_group(book, job: Job, session: Session, selection: Selection, group: Group,
                 position: tuple[int, int]) -> tuple[GroupTotals, set[uuid.UUID]]:  # fmt: skip
    """The group's sheet, streamed batch by batch; its totals for the summary."""
    lessons = len(group.lessons)
    sheet = book.sheet(group.name, _grid_columns(group), sheet_title=group.name,
                       freeze_columns=3, header_height=SESSION_HEADER_HEIGHT,
                       header_rotation=90)  # fmt: skip
    _status_fills(sheet, lessons)
    under_threshold(sheet, 3 + lessons + 6, selection.threshold)
    _print_grid(sheet, lessons)
    totals, students, written = GroupTotals(group), set(), 0
    values = CELL_VALUES.__getitem__
    label = f"Course {position[0]} of {position[1]}: {group.name}"
    before, total = (position[0] - 1) * PROGRESS_STEPS, position[1] * PROGRESS_STEPS
    job.progress(before, total, label)
    for batch in stream_rows(session, [group], selection):
        of = batch[0][-1]  # the group's students
        for _grp, student, number, name, class_name, codes, _of in batch:
            sheet.append([number, name, class_name, *map(values, codes), *totals.add(codes)])
            students.add(student)
        written += len(batch)
        job.progress(before + PROGRESS_STEPS * written // of, total,
                     f"{label}, {written:,} of {of:,} students")  # fmt: skip
        job.check_cancel()
    return totals, students


SESSION_COLUMNS = (
    Column("Course"), Column("Class"), Column("Date", CellKind.DATE),
    Column("Start", CellKind.TIME), Column("End", CellKind.TIME),
    Column("Duration (min)", CellKind.NUMBER), Column("Mode", CellKind.CODE),
    Column("Location"), Column("Topics planned"), Column("Topics covered"),
    Column("Status", CellKind.CODE), Column("Cancel reason"),
)  # fmt: skip


def _topics(values: list[Any] | None) -> str | None:
    return "; ".join(str(v) for v in values) if values else None


def _write_sessions(book, lessons: Sequence[Lesson]) -> int:
    sheet = book.sheet("Sessions", SESSION_COLUMNS, sheet_title="Sessions")
    for lesson in lessons:
        sheet.append([
            lesson.course_name, lesson.class_name or WHOLE_COURSE, lesson.session_date,
            lesson.start_time, lesson.end_time, lesson.duration_minutes,
            lesson.session_mode.capitalize(), lesson.location, _topics(lesson.topics),
            _topics(lesson.topics_covered), lesson.status.capitalize(), lesson.cancel_reason,
        ])  # fmt: skip
    return len(lessons)


@needs(Permission.EXPORT_REPORTS)
def write(session: Session, ctx: ServiceContext, job: Job, filters: ReportFilters,
          path: Path) -> ReportSaved:  # fmt: skip
    """Write the course attendance workbook to ``path``: Summary, a sheet per course
    group, Sessions. Saved whole or not at all; Cancel through ``job``."""
    selection = select_courses(session, ctx, filters)
    lessons, groups = _groups(session, ctx, selection)
    title = title_block(session, ctx, ReportKind.COURSE_ATTENDANCE, _filters_text(selection),
                        (LEGEND,))  # fmt: skip
    all_students: set[uuid.UUID] = set()
    with report_workbook(path, title) as book:
        columns = summary_columns(selection.threshold)
        summary = book.sheet(
            "Summary", [Column(columns[0]), Column(columns[1]),
                        *(Column(t, CellKind.NUMBER) for t in columns[2:8]),
                        Column(columns[8], CellKind.PERCENT), Column(columns[9], CellKind.NUMBER)],
            sheet_title="Summary",
        )  # fmt: skip
        rows, written = [], 0
        for number, group in enumerate(groups, start=1):
            totals, students = _write_group(book, job, session, selection, group,
                                            (number, len(groups)))  # fmt: skip
            written += totals.students
            all_students |= students
            rows.append(totals.row(selection.threshold))
        for row in rows:
            summary.append(row)
        under_threshold(summary, 9, selection.threshold)
        _summary_chart(summary, 9)
        written += _write_sessions(book, lessons) + len(rows)
        job.progress(len(groups) * PROGRESS_STEPS, len(groups) * PROGRESS_STEPS,
                     "Saving the workbook")  # fmt: skip
        names = tuple(sheet.ws.title for sheet in book.sheets)
    return ReportSaved(path=path, sheets=names, rows=written,
                       summary=summary_line(groups, len(all_students)))  # fmt: skip
