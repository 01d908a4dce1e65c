"""Microsoft School Data Sync v1 folders and zips: students, sections as courses,
enrollments, through the service and `rollbook import sds`."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.db.models import Course, CourseEnrollment, Student
from app.imports.oneroster import is_oneroster_folder
from app.imports.reading import UnreadableFile
from app.imports.sds import import_sds, is_sds_folder, read_sds

SDS = Path(__file__).parent / "data" / "sds_v1"


def sds_cli(capsys, db, path: Path, *args: str) -> tuple[int, dict | str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", "import", "sds", str(path),
                 *args])  # fmt: skip
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in args else out), err


def zipped(tmp_path: Path) -> Path:
    path = tmp_path / "sds export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for source in SDS.iterdir():  # in a folder inside the zip, file names lower case
            archive.write(source, f"export/{source.name.lower()}")
    return path


def test_folder_import_students_sections_and_enrollments(db):
    file = read_sds(SDS)
    assert (file.format, file.students, file.classes, file.warnings) == (
        "School Data Sync v1",
        6,
        3,
        [],
    )
    with db.sessions.begin() as s:
        result = import_sds(s, db.context(), file, commit=True)
    roster = result.roster
    assert (roster.created, roster.enrollments_created, roster.courses_created) == (5, 5, 3)
    assert [(r.line, r.column, r.message) for r in roster.rejected] == [
        (7, "Student.csv: First Name",
         "The student's name is missing (First Name and Last Name are empty)."),
        (7, "StudentEnrollment.csv: SIS ID",
         "14001 is a teacher in Teacher.csv, not a student; not enrolled."),
        (8, "StudentEnrollment.csv: Section SIS ID",
         "The section 11009 is not in Section.csv; not enrolled."),
    ]  # fmt: skip
    with db.sessions.begin() as s:
        people = {p.student_no: (p.sourced_id, p.email, p.grade_level, p.birth_date, p.status)
                  for p in s.scalars(select(Student))}  # fmt: skip
        courses = set(s.scalars(select(Course.name)))
        enrolled = s.scalars(select(CourseEnrollment)).all()
    # Student Number when given (13007 has 13012), else the SIS ID; the SIS ID is kept.
    assert people["13012"][0] == "13007" and people["13020"][0] == "13020"
    # Username is the e-mail when it is an address; BMcMillan is not.
    assert people["13001"][1] == "OKlein@contoso.edu" and people["13002"][1] is None
    # 12/19/2008 settles the file's slash dates as month first.
    assert people["13001"][2:4] == (9, date(2011, 4, 2))
    assert people["13020"][4] == "inactive"
    # Two sections named alike keep apart by their section numbers.
    assert courses == {"Math - Algebra 1 (M101)", "Math - Algebra 1 (M102)",
                       "English - Language 1"}  # fmt: skip
    assert len(enrolled) == 5


def test_cli_reads_a_zip_and_reports_like_oneroster(db, tmp_path, capsys):
    path = zipped(tmp_path)
    code, report, err = sds_cli(capsys, db, path, "--json")
    assert code == 1 and err == ""  # rows were rejected
    assert report["format"] == "School Data Sync v1" and report["warnings"] == []
    assert (report["created"], report["enrollments_created"], len(report["rejected"])) == (5, 5, 3)
    assert report["committed"] is False
    with db.sessions.begin() as s:
        assert s.scalar(select(Student).limit(1)) is None  # a dry run
    code, out, _err = sds_cli(capsys, db, path, "--commit")
    assert code == 1
    assert "School Data Sync v1: 6 students and 3 sections in the file." in out
    assert "Imported" in out and "5 students created" in out
    code, report, _err = sds_cli(capsys, db, path, "--commit", "--json")
    assert (report["created"], report["unchanged"], report["enrollments_created"]) == (0, 5, 0)


def test_ambiguous_birth_dates_are_left_out_with_a_warning(tmp_path):
    folder = tmp_path / "sds"
    folder.mkdir()
    (folder / "Student.csv").write_text(
        "SIS ID,School SIS ID,First Name,Last Name,Username,Birthdate\n"
        "1,10001,Ann,Lee,ann@example.org,4/2/2011\n2,10002,Bo,Kim,bo,2011-05-06\n",
        encoding="utf-8")  # fmt: skip
    file = read_sds(folder)
    assert [r.birth_date for r in file.records] == [None, date(2011, 5, 6)]
    assert file.warnings == [
        "Birthdate values in Student.csv such as 4/2/2011 could be day first or month first "
        "and none settles it; those birth dates were left out (write them as YYYY-MM-DD).",
        "Student.csv holds students of 2 schools (10001, 10002); all are imported into this "
        "school.",
    ]  # fmt: skip


def test_detection_and_unusable_folders(db, tmp_path, capsys):
    assert is_sds_folder(SDS) and is_sds_folder(zipped(tmp_path))
    assert not is_oneroster_folder(SDS)
    assert not is_sds_folder(tmp_path / "missing") and not is_sds_folder(Path(__file__))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnreadableFile, match="has no Student.csv"):
        read_sds(empty)
    code, _out, err = sds_cli(capsys, db, empty)
    assert code == 2 and "has no Student.csv" in err and "Traceback" not in err
    (empty / "Student.csv").write_text("SIS ID,Username\n1,a\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="lacks the column"):
        read_sds(empty)
