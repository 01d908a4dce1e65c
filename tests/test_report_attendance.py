"""The attendance reports as a head teacher opens them in Excel: the course registers
(a summary with a chart, a sheet per course group, the sessions) and one student's or
one class's attendance across their courses."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from app.domain.enums import SessionFrequency
from app.domain.errors import Cancelled, NotFound, UnknownCourse, ValidationError
from app.domain.recurrence import Recurrence
from app.jobs import Job, silent_job
from app.reports.catalog import (
    EmptyReport,
    ReportFilters,
    ReportKind,
    preview_report,
    write_report,
)
from app.services.attendance import Mark, course_attendance_summary, save_marks
from app.services.class_sessions import SessionPlan, cancel_sessions, schedule_sessions
from app.services.courses import create_course
from app.services.students import StudentInput, create_student

FORMULA_NAME = '=HYPERLINK("http://x","y")'
HEADER_ROW = 7  # title, school, filters, legend, made; a blank row; the header
COURSE = ReportKind.COURSE_ATTENDANCE
STUDENT = ReportKind.STUDENT_ATTENDANCE


@pytest.fixture
def school(session, ctx) -> dict:
    """Biology taught to 7A and to 7B separately, Chemistry to the whole course; marks of
    every status, a lesson not marked yet, a cancelled lesson, a student who joined late,
    a name with accents and a name that looks like a formula."""
    courses = {name: create_course(session, ctx, name) for name in ("Biology", "Chemistry")}
    people = [("S1", "Ada", "Marsh", "7A"), ("S2", "Zoë", "Ñúñez", "7A"),
              ("S3", "Eve", FORMULA_NAME, "7A"), ("S4", "Ben", "Cole", "7A"),
              ("S5", "Carl", "Diaz", "7B"), ("S6", "Dora", "Ek", "7B")]  # fmt: skip
    students = {no: create_student(session, ctx, StudentInput(no, first, last, class_name=cls))
                for no, first, last, cls in people}  # fmt: skip
    enrolled = {("Biology", no): "{[2026-09-01,)}" for no in students}
    enrolled[("Biology", "S4")] = "{[2026-09-10,)}"  # joined after the first lesson
    enrolled |= {("Chemistry", no): "{[2026-09-01,)}" for no in ("S1", "S2", "S5")}
    enrollments = {
        key: session.execute(text(
            "INSERT INTO course_enrollment (id, school_id, course_id, student_id, enrolled_on, "
            "periods) VALUES (gen_random_uuid(), :school, :course, :student, lower(CAST(:p AS "
            "datemultirange)), CAST(:p AS datemultirange)) RETURNING id"),
            {"school": ctx.school_id, "course": courses[key[0]].id,
             "student": students[key[1]].id, "p": periods}).scalar_one()
        for key, periods in enrolled.items()
    }  # fmt: skip

    def lesson(course: str, day: date, start: str, end: str, class_name: str | None) -> object:
        plan = SessionPlan(course, Recurrence(SessionFrequency.ONE_TIME, first=day), start, end,
                           location="Lab 2", class_name=class_name)  # fmt: skip
        return schedule_sessions(session, ctx, plan).session_ids[0]

    lessons = {
        "bio7a_1": lesson("Biology", date(2026, 9, 7), "09:00", "09:50", "7A"),
        "bio7a_2": lesson("Biology", date(2026, 9, 14), "09:00", "09:50", "7A"),
        "bio7a_3": lesson("Biology", date(2026, 9, 21), "09:00", "09:50", "7A"),  # not yet
        "bio7a_x": lesson("Biology", date(2026, 9, 28), "09:00", "09:50", "7A"),  # cancelled
        "bio7b_1": lesson("Biology", date(2026, 9, 8), "10:00", "10:50", "7B"),
        "chem_1": lesson("Chemistry", date(2026, 9, 9), "11:00", "11:45", None),
        "chem_2": lesson("Chemistry", date(2026, 9, 16), "11:00", "11:45", None),
    }
    session.execute(
        text("UPDATE class_session SET status = 'completed', topics = CAST(:t AS jsonb) "
             "WHERE id = ANY(:ids)"),
        {"ids": [lessons[k] for k in ("bio7a_1", "bio7a_2", "bio7b_1", "chem_1", "chem_2")],
         "t": '["Cells", "Microscopes"]'},
    )  # fmt: skip
    cancel_sessions(session, ctx, lessons["bio7a_x"], reason="School trip")

    def marks(key: str, course: str, *given: tuple) -> None:
        save_marks(session, ctx, lessons[key], [
            Mark(enrollments[(course, no)], status, note, late) for no, status, note, late in given
        ])  # fmt: skip

    marks("bio7a_1", "Biology", ("S1", "present", None, None), ("S2", "absent", None, None),
          ("S3", "late", None, 5))  # fmt: skip
    marks("bio7a_2", "Biology", ("S1", "present", None, None), ("S2", "excused", "Doctor", None),
          ("S4", "absent", None, None))  # S3 not marked  # fmt: skip
    marks("bio7b_1", "Biology", ("S5", "present", None, None), ("S6", "absent", None, None))
    marks("chem_1", "Chemistry", ("S1", "late", None, 10), ("S2", "present", None, None),
          ("S5", "present", None, None))  # fmt: skip
    marks("chem_2", "Chemistry", ("S1", "absent", None, None), ("S2", "present", None, None),
          ("S5", "excused", "Ill", None))  # fmt: skip
    return {"students": students, "lessons": lessons}


def _write(session, ctx, tmp_path: Path, kind=COURSE, name="report.xlsx", job=None, **filters):
    path = tmp_path / name
    saved = write_report(session, ctx, job or silent_job(), kind, ReportFilters(**filters), path)
    return saved, load_workbook(path)


def _rows(ws, first: int = HEADER_ROW + 1) -> list[list]:
    return [list(row) for row in ws.iter_rows(min_row=first, values_only=True)]


# ---------------------------------------------------------------- course attendance
def test_the_workbook_has_a_summary_a_sheet_per_course_group_and_the_sessions(
    session, ctx, school, tmp_path
):
    saved, book = _write(session, ctx, tmp_path)
    expected = ["Summary", "Biology (7A)", "Biology (7B)", "Chemistry", "Sessions"]
    assert book.sheetnames == expected and list(saved.sheets) == expected
    assert saved.summary == "2 courses · 3 registers · 6 lessons · 6 students"
    for ws in book.worksheets:
        title = [ws.cell(row, 1).value for row in range(1, HEADER_ROW - 1)]
        assert title[0] == f"Course attendance — {ws.title}"
        assert title[1] == "Test School"
        assert title[2] == "All courses · All dates · Under 80% highlighted"
        assert title[3].startswith("P present · A absent · L late · E excused · blank: not marked")
        assert title[4].startswith(f"Made {datetime.now():%-d %b %Y}") and "by tester" in title[4]
        assert ws.cell(1, 1).font.b and ws.cell(HEADER_ROW, 1).font.b
        assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        last_column = ws.cell(HEADER_ROW, ws.max_column).column_letter
        assert ws.auto_filter.ref == f"A{HEADER_ROW}:{last_column}{ws.max_row}"
    assert book["Summary"].freeze_panes == f"A{HEADER_ROW + 1}"
    assert book["Biology (7A)"].freeze_panes == f"D{HEADER_ROW + 1}"
    assert book["Biology (7A)"].print_title_cols == "$A:$C"


def test_the_summary_counts_each_register_and_charts_the_rates(session, ctx, school, tmp_path):
    _, book = _write(session, ctx, tmp_path)
    ws = book["Summary"]
    assert [c.value for c in ws[HEADER_ROW]] == [
        "Course", "Class", "Sessions held", "Students", "Present", "Absent", "Late", "Excused",
        "Average rate", "Students under 80%"]  # fmt: skip
    rows = _rows(ws)
    assert [row[:8] + [row[9]] for row in rows] == [
        ["Biology", "7A", 2, 4, 2, 2, 1, 1, 2],
        ["Biology", "7B", 1, 2, 1, 1, 0, 0, 1],
        ["Chemistry", "Whole course", 2, 3, 3, 1, 1, 1, 1],
    ]  # fmt: skip
    assert [row[8] for row in rows] == [0.5, 0.5, pytest.approx((0.5 + 1 + 1) / 3)]
    assert ws.cell(HEADER_ROW + 1, 9).number_format == "0%"
    # The marks on the summary are the database's, lesson for lesson.
    in_db = session.execute(text(
        "SELECT a.status, count(*) FROM session_attendance a JOIN class_session cs "
        "ON cs.id = a.session_id WHERE cs.status <> 'cancelled' GROUP BY a.status")).all()  # fmt: skip
    assert dict(in_db) == {"present": sum(r[4] for r in rows), "absent": sum(r[5] for r in rows),
                           "late": sum(r[6] for r in rows), "excused": sum(r[7] for r in rows)}  # fmt: skip
    [chart] = ws._charts
    assert chart.y_axis.scaling.min == 0 and chart.y_axis.scaling.max == 1
    assert chart.title is not None
    rules = [(cells.sqref, rule) for cells in ws.conditional_formatting for rule in cells.rules]
    assert [(str(ref), rule.formula) for ref, rule in rules] == [
        ("I8:I10", ["AND(ISNUMBER(I8),I8<0.8)"])]  # fmt: skip


def test_a_register_sheet_has_a_column_per_lesson_and_the_marks(session, ctx, school, tmp_path):
    _, book = _write(session, ctx, tmp_path)
    ws = book["Biology (7A)"]
    header = [c.value for c in ws[HEADER_ROW]]
    # Three lessons (the cancelled one has no register), headed by their date and time.
    assert header[:3] == ["Student no", "Name", "Class"]
    assert header[3:6] == [datetime(2026, 9, 7, 9), datetime(2026, 9, 14, 9),
                           datetime(2026, 9, 21, 9)]  # fmt: skip
    assert header[6:] == ["Present", "Absent", "Late", "Excused", "Not marked", "Rate"]
    lesson_header = ws.cell(HEADER_ROW, 4)
    assert lesson_header.number_format == 'ddd d mmm yyyy hh:mm"–09:50"'
    assert lesson_header.alignment.text_rotation == 90
    assert ws.column_dimensions["D"].width == pytest.approx(4.5)
    assert ws.row_dimensions[HEADER_ROW].height > 100
    rows = _rows(ws)
    assert rows == [
        ["S3", f"{FORMULA_NAME}, Eve", "7A", "L", None, None, 0, 0, 1, 0, 1, 1],
        ["S4", "Cole, Ben", "7A", "–", "A", None, 0, 1, 0, 0, 0, 0],
        ["S1", "Marsh, Ada", "7A", "P", "P", None, 2, 0, 0, 0, 0, 1],
        ["S2", "Ñúñez, Zoë", "7A", "A", "E", None, 0, 1, 0, 1, 0, 0],
    ]  # fmt: skip
    # The name that looks like a formula is text, shown as typed.
    name = ws.cell(HEADER_ROW + 1, 2)
    assert name.data_type == "s" and name.value == f"{FORMULA_NAME}, Eve"
    assert ws.cell(HEADER_ROW + 1, 12).number_format == "0%"
    rules = {str(cells.sqref): [(rule.formula, rule.dxf.fill.fgColor.rgb) for rule in cells.rules]
             for cells in ws.conditional_formatting}  # fmt: skip
    assert rules == {
        "D8:F11": [(['"P"'], "00C6EFCE"), (['"A"'], "00FFC7CE"), (['"L"'], "00FFEB9C"),
                   (['"E"'], "00DDEBF7")],
        "L8:L11": [(["AND(ISNUMBER(L8),L8<0.8)"], "00FFC7CE")],
    }  # fmt: skip


def test_the_sessions_sheet_lists_every_lesson_with_its_details(session, ctx, school, tmp_path):
    _, book = _write(session, ctx, tmp_path)
    ws = book["Sessions"]
    rows = _rows(ws)
    assert [(r[0], r[1], r[2].date(), r[10], r[11]) for r in rows] == [
        ("Biology", "7A", date(2026, 9, 7), "Completed", None),
        ("Biology", "7A", date(2026, 9, 14), "Completed", None),
        ("Biology", "7A", date(2026, 9, 21), "Scheduled", None),
        ("Biology", "7A", date(2026, 9, 28), "Cancelled", "School trip"),
        ("Biology", "7B", date(2026, 9, 8), "Completed", None),
        ("Chemistry", "Whole course", date(2026, 9, 9), "Completed", None),
        ("Chemistry", "Whole course", date(2026, 9, 16), "Completed", None),
    ]  # fmt: skip
    first = list(ws[HEADER_ROW + 1])
    assert first[2].is_date and first[2].number_format == "d mmm yyyy"
    assert first[3].is_date and first[3].number_format == "hh:mm"
    assert [c.value for c in first[5:10]] == [50, "In-person", "Lab 2", "Cells; Microscopes", None]


def test_filters_by_class_course_and_dates(session, ctx, school, tmp_path):
    saved, book = _write(session, ctx, tmp_path, classes=("7a",), date_to=date(2026, 9, 10))
    assert book.sheetnames == ["Summary", "Biology (7A)", "Chemistry", "Sessions"]
    filters_line = book["Summary"].cell(3, 1).value
    assert filters_line == "All courses · Class: 7A · Up to 10 Sep 2026 · Under 80% highlighted"
    # Chemistry meets as a whole course: only the students of 7A are on its sheet.
    assert [r[0] for r in _rows(book["Chemistry"])] == ["S1", "S2"]
    # One lesson up to 10 Sep; Ben, who joined on the 10th, was on no register of it.
    assert [r[:6] for r in _rows(book["Biology (7A)"])] == [
        ["S3", f"{FORMULA_NAME}, Eve", "7A", "L", 0, 0],
        ["S1", "Marsh, Ada", "7A", "P", 1, 0],
        ["S2", "Ñúñez, Zoë", "7A", "A", 0, 1],
    ]  # fmt: skip
    _, book = _write(session, ctx, tmp_path, courses=("CHEMISTRY",), threshold=0.9)
    assert book.sheetnames == ["Summary", "Chemistry", "Sessions"]
    filters_line = book["Summary"].cell(3, 1).value
    assert filters_line == "Course: Chemistry · All dates · Under 90% highlighted"


def test_the_preview_is_the_summary(session, ctx, school, tmp_path):
    shown = preview_report(session, ctx, COURSE, ReportFilters(), limit=2)
    _, book = _write(session, ctx, tmp_path)
    assert shown.columns == tuple(c.value for c in book["Summary"][HEADER_ROW])
    assert [list(r) for r in shown.rows] == _rows(book["Summary"])[:2]
    assert shown.total_rows == 3
    assert shown.summary == "2 courses · 3 registers · 6 lessons · 6 students"


def test_an_empty_selection_is_said_and_writes_no_file(session, ctx, school, tmp_path):
    filters = {"courses": ("biology",), "date_from": date(2026, 10, 1),
               "date_to": date(2026, 11, 30)}  # fmt: skip
    with pytest.raises(EmptyReport) as raised:
        _write(session, ctx, tmp_path, **filters)
    assert str(raised.value) == ("No lessons of Biology between 1 Oct 2026 and 30 Nov 2026: "
                                 "nothing to export.")  # fmt: skip
    with pytest.raises(EmptyReport):
        preview_report(session, ctx, COURSE, ReportFilters(**filters))
    assert list(tmp_path.iterdir()) == []


def test_cancel_leaves_no_file_and_the_earlier_one_untouched(session, ctx, school, tmp_path):
    (tmp_path / "report.xlsx").write_bytes(b"last week's report")
    job = Job(lambda report: job.cancel(), min_interval_s=0)
    with pytest.raises(Cancelled):
        _write(session, ctx, tmp_path, job=job)
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]
    assert (tmp_path / "report.xlsx").read_bytes() == b"last week's report"


def test_progress_names_the_register_and_counts_students(session, ctx, school, tmp_path):
    seen = []
    _write(session, ctx, tmp_path, job=Job(seen.append, min_interval_s=0))
    texts = [report.text for report in seen]
    assert "Course 1 of 3: Biology (7A), 4 of 4 students" in texts
    assert "Course 3 of 3: Chemistry, 3 of 3 students" in texts
    assert seen[-1].done == seen[-1].total and seen[-1].text == "Saving the workbook"


def test_an_unknown_course_is_refused_with_the_closest_names(session, ctx, school, tmp_path):
    with pytest.raises(UnknownCourse) as raised:
        _write(session, ctx, tmp_path, courses=("Biolgy",))
    assert raised.value.suggestions == ["Biology"]
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- student attendance
def test_one_students_attendance_agrees_with_the_student_panel(session, ctx, school, tmp_path):
    saved, book = _write(session, ctx, tmp_path, STUDENT, student_no="S1")
    assert book.sheetnames == ["By course", "Sessions"]
    ws = book["By course"]
    assert ws.cell(3, 1).value == "Student: Ada Marsh (S1) · All dates · Under 80% highlighted"
    rows = _rows(ws)
    assert rows == [
        ["S1", "Marsh, Ada", "7A", "Biology", "7A", 2, 2, 0, 0, 0, 0, 1],
        ["S1", "Marsh, Ada", "7A", "Chemistry", "Whole course", 2, 0, 1, 1, 0, 0, 0.5],
    ]  # fmt: skip
    panel = course_attendance_summary(session, ctx, school["students"]["S1"].id)
    assert [(r[3], r[5], r[6], r[7], r[8], r[9], r[11]) for r in rows] == [
        (p.course_name, p.sessions_held, p.present, p.absent, p.late, p.excused, p.rate)
        for p in panel
    ]  # fmt: skip
    assert ws.cell(HEADER_ROW + 1, 12).number_format == "0%"
    assert [str(c.sqref) for c in ws.conditional_formatting] == ["L8:L9"]
    sessions = _rows(book["Sessions"])
    assert [(r[0], r[2].date(), r[5], r[6], r[7]) for r in sessions] == [
        ("S1", date(2026, 9, 7), "Biology (7A)", "Present", None),
        ("S1", date(2026, 9, 9), "Chemistry", "Late", 10),
        ("S1", date(2026, 9, 14), "Biology (7A)", "Present", None),
        ("S1", date(2026, 9, 16), "Chemistry", "Absent", None),
    ]  # fmt: skip
    assert book["Sessions"].cell(HEADER_ROW + 1, 3).is_date
    assert saved.summary == "1 student · 2 courses · 4 lessons on their registers"


def test_every_students_rows_add_up_to_the_panels_figures(session, ctx, school):
    for number, student in school["students"].items():
        shown = preview_report(session, ctx, STUDENT, ReportFilters(student_no=number))
        panel = course_attendance_summary(session, ctx, student.id)
        assert [(r[3], r[5], r[6], r[7], r[8], r[9], r[10], r[11]) for r in shown.rows] == [
            (p.course_name, p.sessions_held, p.present, p.absent, p.late, p.excused,
             p.not_marked, p.rate) for p in panel
        ], number  # fmt: skip


def test_a_class_across_its_courses(session, ctx, school, tmp_path):
    _, book = _write(session, ctx, tmp_path, STUDENT, classes=("7A",),
                     date_from=date(2026, 9, 8))  # fmt: skip
    rows = _rows(book["By course"])
    assert [(r[0], r[3], r[5], r[10], r[11]) for r in rows] == [
        ("S3", "Biology", 1, 1, None),  # marked late on 7 Sep, before the range
        ("S4", "Biology", 1, 0, 0),
        ("S1", "Biology", 1, 0, 1),
        ("S1", "Chemistry", 2, 0, 0.5),
        ("S2", "Biology", 1, 0, None),
        ("S2", "Chemistry", 2, 0, 1),
    ]  # fmt: skip
    sessions = _rows(book["Sessions"])
    assert ["S3", f"{FORMULA_NAME}, Eve"] == sessions[0][:2]
    assert sessions[0][6] == "Not marked"
    for student in ("S1", "S2", "S3", "S4"):
        panel = {p.course_name: p for p in course_attendance_summary(
            session, ctx, school["students"][student].id)}  # fmt: skip
        for row in rows:
            if row[0] == student and row[3] == "Chemistry":
                assert row[5] == panel["Chemistry"].sessions_held


def test_student_or_class_but_not_both_and_unknown_numbers(session, ctx, school, tmp_path):
    with pytest.raises(ValidationError, match="not both"):
        _write(session, ctx, tmp_path, STUDENT, student_no="S1", classes=("7A",))
    with pytest.raises(ValidationError, match="not neither"):
        _write(session, ctx, tmp_path, STUDENT)
    with pytest.raises(NotFound, match="'S99'"):
        _write(session, ctx, tmp_path, STUDENT, student_no="S99")
    with pytest.raises(EmptyReport, match="No lessons held for Ada Marsh .S1. from 1 Jan 2027"):
        _write(session, ctx, tmp_path, STUDENT, student_no="S1", date_from=date(2027, 1, 1))
    assert list(tmp_path.iterdir()) == []
    shown = preview_report(session, ctx, STUDENT, ReportFilters(classes=("7b",)))
    assert [r[:6] for r in shown.rows] == [("S5", "Diaz, Carl", "7B", "Biology", "7B", 1),
                                           ("S5", "Diaz, Carl", "7B", "Chemistry",
                                            "Whole course", 2),
                                           ("S6", "Ek, Dora", "7B", "Biology", "7B", 1)]  # fmt: skip
    assert shown.total_rows == 3
