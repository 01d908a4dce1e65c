"""Roster import rules, each with a small file written by the test."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import (
    AuditLog,
    Course,
    CourseEnrollment,
    CourseProgress,
    ImportRejectedRow,
    MaintenanceRun,
    Student,
)
from app.imports.mapping import Field, auto_map
from app.imports.reading import UnreadableFile, detect_format, read_table
from app.imports.service import prepare, run_import, write_rejected_csv
from app.imports.validation import DateFormat, ImportOptions
from app.runs.rejections import stored_rejections
from app.services.enrollments import unenroll

PLAIN = (
    "name,email,class_name,course,status,team_number\n"
    "Anna Kowalska,anna.k@example.org,7A,Mathematics 101,active,3\n"
    "José Ñúñez,jose@example.org,7B,Biology,active,\n"
    "José Ñúñez,jose@example.org,7B,Mathematics 101,active,\n"
)


def write(tmp_path: Path, text: str, name: str = "roster.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def do_import(db, path: Path, *, commit: bool = True, **options):
    prepared = prepare(path, options=ImportOptions(**options))
    with db.sessions.begin() as session:
        outcome = run_import(session, db.context(), prepared, commit=commit)
        if not commit:
            session.rollback()
    return outcome


def count(db, model, *where) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_plain_roster_creates_students_courses_enrollments_and_progress(db, tmp_path):
    outcome = do_import(db, write(tmp_path, PLAIN))
    assert (outcome.created, outcome.updated, outcome.enrollments_created) == (2, 0, 3)
    assert outcome.courses_created == 2 and outcome.rejected == []
    assert count(db, Student) == 2 and count(db, Course) == 2
    assert count(db, CourseEnrollment, CourseEnrollment.source == "import") == 3
    assert count(db, CourseProgress) == 3
    with db.sessions.begin() as s:
        jose = s.scalar(select(Student).where(Student.email == "jose@example.org"))
        assert (jose.first_name, jose.last_name, jose.class_name) == ("José", "Ñúñez", "7B")
        assert jose.student_no.startswith("S")  # numbered, the file had none
        run = s.scalar(select(MaintenanceRun))
        assert run.kind == "import" and run.status == "succeeded" and not run.dry_run
        assert run.summary["created"] == 2
        audited = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.run_id == run.id)
        )
        assert audited == 2 + 2 + 3 + 3  # students, courses, enrollments, progress records


def test_reimporting_the_same_file_changes_nothing(db, tmp_path):
    path = write(tmp_path, PLAIN)
    do_import(db, path)
    again = do_import(db, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (again.enrollments_created, again.enrollments_reactivated, again.courses_created) == (
        0,
        0,
        0,
    )
    assert count(db, CourseEnrollment) == 3


def test_a_changed_name_updates_exactly_that_student(db, tmp_path):
    do_import(db, write(tmp_path, PLAIN))
    changed = PLAIN.replace("Anna Kowalska", "Anna Nowak")
    outcome = do_import(db, write(tmp_path, changed, "changed.csv"))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 1)
    with db.sessions.begin() as s:
        anna = s.scalar(select(Student).where(Student.email == "anna.k@example.org"))
        assert anna.last_name == "Nowak" and anna.row_version == 2
        entry = s.scalar(
            select(AuditLog).where(AuditLog.entity_id == anna.id, AuditLog.action == "update")
        )
        assert entry.changes == {
            "before": {"last_name": "Kowalska"},
            "after": {"last_name": "Nowak"},
        }


def test_dry_run_changes_nothing(db, tmp_path):
    outcome = do_import(db, write(tmp_path, PLAIN), commit=False)
    assert outcome.created == 2 and not outcome.applied
    assert outcome.plan is not None and {i.kind for i in outcome.plan.items} >= {
        "create",
        "create_enrollment",
    }
    assert count(db, Student) == 0 and count(db, MaintenanceRun) == 0


def test_reactivates_an_ended_enrollment(db, tmp_path):
    do_import(db, write(tmp_path, PLAIN))
    with db.sessions.begin() as s:
        anna = s.scalar(select(Student).where(Student.email == "anna.k@example.org"))
        unenroll(s, db.context(), anna.id, "mathematics 101")
    outcome = do_import(db, write(tmp_path, PLAIN))
    assert outcome.enrollments_reactivated == 1 and outcome.enrollments_created == 0
    assert count(db, CourseEnrollment, CourseEnrollment.active.is_(False)) == 0


RICH = (
    "Enrollment No;First Name;Last Name;E-mail;Grade;Birth Date;Course Name;Status;Notes\n"
    "000123;Zoë;Müller;zoe@example.org;7;2013-02-01;Art;active;likes clay\n"
    "000124;Ben;Nowak;;K;2019-09-30;Art;;\n"
)


def test_rich_file_keeps_leading_zeros_and_maps_aliases(db, tmp_path):
    path = write(tmp_path, RICH)
    table = read_table(path)
    assert table.format.delimiter == ";"
    mapping = auto_map(table.header)
    assert mapping.fields[:8] == (
        Field.STUDENT_NO,
        Field.FIRST_NAME,
        Field.LAST_NAME,
        Field.EMAIL,
        Field.GRADE,
        Field.BIRTH_DATE,
        Field.COURSE,
        Field.STATUS,
    )
    assert mapping.unknown_columns == ["Notes"]
    outcome = do_import(db, path)
    assert outcome.created == 2 and outcome.rejected == []
    with db.sessions.begin() as s:
        numbers = set(s.scalars(select(Student.student_no)))
        ben = s.scalar(select(Student).where(Student.student_no == "000124"))
    assert numbers == {"000123", "000124"}
    assert ben.grade_level == 0 and ben.email is None and ben.status == "active"


def test_excel_scientific_notation_is_flagged(db, tmp_path):
    path = write(tmp_path, "student_no,name\n2.2E+11,Anna Kowalska\n000125,Ben Nowak\n")
    outcome = do_import(db, path)
    assert outcome.created == 1
    assert len(outcome.rejected) == 1
    rejection = outcome.rejected[0]
    assert (rejection.line, rejection.column) == (2, "student_no")
    assert "scientific notation" in rejection.message


@pytest.mark.parametrize(
    ("encoding", "name", "expected", "warns"),
    [("utf-8", "Zoë Müller", "utf-8", False),
     ("utf-8-sig", "Zoë Müller", "utf-8-sig", False),
     ("windows-1252", "Zoë “Zo” Müller", "windows-1252", True),
     # Latin-1 and Windows-1252 read accents alike: either reading gives the right name.
     ("latin-1", "Zoë Müller", "windows-1252", True),
     # A byte Windows-1252 leaves undefined is only readable as Latin-1.
     ("latin-1", "Zoë Mül\x81ler", "latin-1", True)],
)  # fmt: skip
def test_encodings(db, tmp_path, encoding, name, expected, warns):
    path = write(tmp_path, f"student_no,name\nS1,{name}\n", encoding=encoding)
    fmt = detect_format(path)
    assert fmt.encoding == expected
    assert bool(fmt.warnings) == warns
    do_import(db, path)
    with db.sessions.begin() as s:
        assert s.scalar(select(Student.last_name)) == name.split(" ", 1)[1]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_quotes_blank_lines_and_trailing_columns(db, tmp_path, delimiter):
    d = delimiter
    text = (
        f"student_no{d}name{d}class_name{d}notes{d}{d}\r\n"
        f'S1{d}"Kowalska, Anna"{d}7A{d}{d}{d}\r\n'
        "\r\n"
        f'S2{d}"O""Brien, Seán"{d}7B{d}"moved from\nanother school"{d}{d}\r\n'
        f"  S3 {d}  Ben Nowak  {d} 7C {d}{d}{d}\r\n"
    )
    path = write(tmp_path, text)
    table = read_table(path)
    assert table.format.delimiter == delimiter
    assert [line for line, _ in table.rows] == [2, 4, 6]
    outcome = do_import(db, path)
    assert outcome.created == 3 and outcome.rejected == []
    with db.sessions.begin() as s:
        people = {r.student_no: (r.first_name, r.last_name, r.class_name)
                  for r in s.scalars(select(Student))}  # fmt: skip
    assert people == {"S1": ("Anna", "Kowalska", "7A"), "S2": ("Seán", "O\"Brien", "7B"),
                      "S3": ("Ben", "Nowak", "7C")}  # fmt: skip


def test_dates_order_is_inferred_from_the_file_and_ambiguity_is_reported(db, tmp_path):
    ambiguous = write(tmp_path, "student_no,name,birth_date\nS1,A B,03/04/2012\n", "a.csv")
    outcome = do_import(db, ambiguous, commit=False)
    messages = {r.line: r.message for r in outcome.rejected}
    assert "ambiguous" in messages[2] and "3 April" in messages[2]
    assert "--date-format DMY or --date-format MDY" in messages[2]
    strict = do_import(db, ambiguous, commit=False, date_format=DateFormat.ISO)
    assert "ambiguous" in strict.rejected[0].message
    # 23/04/2012 settles the order for the whole file: day first.
    path = write(tmp_path, "student_no,name,birth_date\nS1,A B,03/04/2012\nS2,C D,23/04/2012\n")
    fixed = do_import(db, path)
    assert fixed.created == 2 and fixed.rejected == []
    with db.sessions.begin() as s:
        assert (
            str(s.scalar(select(Student.birth_date).where(Student.student_no == "S1")))
            == "2012-04-03"
        )


def test_duplicates_in_the_file_merge_or_conflict(db, tmp_path):
    text = (
        "student_no,name,email,course\n"
        "S1,Anna Kowalska,anna@example.org,Art\n"
        "S1,Anna Kowalska,anna@example.org,Art\n"  # identical: merged
        "S2,Ben Nowak,ben@example.org,Art\n"
        "S2,Benjamin Nowak,ben@example.org,Art\n"  # conflicting: both rejected
    )
    outcome = do_import(db, write(tmp_path, text))
    assert outcome.merged_duplicates == 1 and outcome.created == 1
    rejected = {r.line: r.message for r in outcome.rejected}
    assert set(rejected) == {4, 5}
    assert "line(s) 5" in rejected[4] and "line(s) 4" in rejected[5]
    assert "first name differs" in rejected[4]


def test_student_number_belonging_to_another_email_is_rejected(db, tmp_path):
    do_import(db, write(tmp_path, "student_no,name,email\nS1,Anna Kowalska,anna@example.org\n"))
    outcome = do_import(db, write(tmp_path, "student_no,name,email\nS1,Anna Kowalska,other@example.org\n"
                                  "S2,Ben Nowak,ANNA@example.org\n", "second.csv"))  # fmt: skip
    messages = {r.line: (r.column, r.message) for r in outcome.rejected}
    assert messages[2][0] == "student_no" and "belongs to anna@example.org" in messages[2][1]
    assert messages[3][0] == "email" and "already belongs to Anna Kowalska (S1)" in messages[3][1]
    assert outcome.created == 0 and outcome.updated == 0


def test_all_or_nothing_imports_nothing_when_a_row_is_rejected(db, tmp_path):
    text = PLAIN + "Bad Row,not-an-email,7A,Art,active,\n"
    outcome = do_import(db, write(tmp_path, text), all_or_nothing=True)
    assert not outcome.applied and len(outcome.rejected) == 1
    assert count(db, Student) == 0
    with db.sessions.begin() as s:
        run = s.scalar(select(MaintenanceRun))
        assert run.status == "failed"
        assert s.scalar(select(func.count()).select_from(ImportRejectedRow)) == 1


def test_rejected_rows_are_stored_and_exported_ready_to_fix(db, tmp_path):
    text = PLAIN + "Zoë Müller,zoe@example.org,7C,Art,pending,\n"
    outcome = do_import(db, write(tmp_path, text))
    with db.sessions.begin() as s:
        header, stored = stored_rejections(s, db.context(), outcome.run_id)
    assert [r.line for r in stored] == [5]
    out = tmp_path / "rejected.csv"
    write_rejected_csv(out, header, stored)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == "Zoë Müller" and rows[0]["status"] == "pending"
    assert "not a student status" in rows[0]["error"]
    fixed = out.read_text(encoding="utf-8-sig").replace("pending", "active")
    out.write_text(fixed, encoding="utf-8-sig")
    again = do_import(db, out)
    assert again.created == 1 and again.rejected == []


def test_unreadable_files_are_clear_errors(tmp_path):
    with pytest.raises(UnreadableFile, match="empty"):
        prepare(write(tmp_path, "\n\n", "empty.csv"))
    with pytest.raises(UnreadableFile, match="no usable columns"):
        prepare(write(tmp_path, "colour,size\nred,4\n", "odd.csv"))
    xlsx = tmp_path / "roster.xlsx"
    xlsx.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(UnreadableFile, match="binary"):
        prepare(xlsx)


def test_students_who_are_not_active_are_listed_not_enrolled(db, tmp_path):
    """A withdrawn student in the file is not enrolled in either of two new courses, and
    no course is created for nobody; each pair is listed with the reason."""
    path = write(tmp_path, "student_no,first_name,last_name,course,status\n"
                           "S1,Anna,Kowalska,Art,active\n"
                           "S2,Ben,Nowak,Pottery,withdrawn\n"
                           "S2,Ben,Nowak,Weaving,withdrawn\n")  # fmt: skip
    preview = do_import(db, path, commit=False)
    assert (preview.enrollments_created, preview.enrollments_skipped) == (1, 2)
    assert preview.courses_created == 1
    done = do_import(db, path)
    assert sorted(done.skipped) == ["S2 → Pottery: the student is withdrawn",
                                    "S2 → Weaving: the student is withdrawn"]  # fmt: skip
    assert (done.enrollments_created, done.enrollments_skipped, done.courses_created) == (1, 2, 1)
    assert count(db, Course) == 1 and count(db, CourseEnrollment) == 1
