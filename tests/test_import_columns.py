"""Columns and values of other systems' exports: id columns, columns not imported,
course1/course2, --map, a field named twice, inferred dates, statuses, invisible
characters and over-long values — each as a registrar sees it from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.db.models import Course, CourseEnrollment, MaintenanceRun, Student
from app.imports.mapping import Field, auto_map, layout_key, parse_map_option
from app.imports.reading import UnreadableFile


def cli(capsys, db, path: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", "import", "students",
                 str(path), *args])  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys, db, path: Path, *args: str) -> tuple[int, dict]:
    code, out, _ = cli(capsys, db, path, "--json", *args)
    return code, json.loads(out)


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def students(db) -> dict[str, tuple]:
    with db.sessions.begin() as s:
        return {st.student_no: (st.first_name, st.last_name, st.email, st.sourced_id,
                                st.state_id, st.status, st.birth_date and st.birth_date.isoformat())
                for st in s.scalars(select(Student))}  # fmt: skip


# --- 1. id columns of common systems -------------------------------------------------

ID_FILES = [
    # Canvas SIS users.csv: user_id is the SIS id; login_id only a login name.
    ("user_id,login_id,first_name,last_name,full_name,sortable_name,short_name,email,status\n"
     'U1,anna,Anna,Kowalska,Anna Kowalska,"Kowalska, Anna",Anna,anna@example.org,active\n',
     ("U1", None, None), ["login_id", "sortable_name", "short_name"]),
    # Microsoft SDS v1 Student.csv: SIS ID with a Student Number and a State ID.
    ("SIS ID,School SIS ID,Username,First Name,Last Name,Secondary Email,Student Number,Grade,"
     "State ID,Status\n"
     "sis-88,sch1,anna.k,Anna,Kowalska,anna@example.org,000881,7,ST-1,Active\n",
     ("000881", "sis-88", "ST-1"), ["School SIS ID", "Username"]),
    # Moodle upload users: idnumber.
    ("username,firstname,lastname,email,idnumber\nanna.k,Anna,Kowalska,anna@example.org,M-77\n",
     ("M-77", None, None), ["username"]),
    # PowerSchool: Student_Number and the state's number.
    ("Student_Number,First_Name,Last_Name,Home_Room,Grade_Level,State_StudentNumber\n"
     "12345,Anna,Kowalska,7A,7,9988776655\n", ("12345", None, "9988776655"), []),
    # Infinite Campus.
    ("studentNumber,firstName,lastName,grade\n4455,Anna,Kowalska,7\n", ("4455", None, None), []),
    # Ed-Fi: only the StudentUniqueId, so it is the number ...
    ("StudentUniqueId,FirstName,LastSurname\n604822,Anna,Kowalska\n", ("604822", None, None), []),
    # ... and beside a student number it is kept as the state id.
    ("StudentUniqueId,studentNumber,FirstName,LastSurname\n604822,0042,Anna,Kowalska\n",
     ("0042", None, "604822"), []),
    # A OneRoster-shaped single file: identifier is the number, sourcedId is kept.
    ("sourcedId,identifier,givenName,familyName,email\n"
     "f1b2-77,S-0101,Anna,Kowalska,anna@example.org\n", ("S-0101", "f1b2-77", None), []),
    # Clever / ClassLink.
    ("sis_id,first_name,last_name\nCL-9,Anna,Kowalska\n", ("CL-9", None, None), []),
    ("Student_id,Student_number,State_id,First_name,Last_name\nclv-1,778,ST-778,Anna,Kowalska\n",
     ("778", "clv-1", "ST-778"), []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "ids", "ignored"), ID_FILES)
def test_id_columns_of_other_systems(db, tmp_path, capsys, text, ids, ignored):
    code, report = cli_json(capsys, db, write(tmp_path, text), "--commit")
    assert code == 0 and report["created"] == 1 and report["rejected"] == []
    assert report["ignored_columns"] == ignored
    number, sourced, state = ids
    row = students(db)[number]
    assert (row[0], row[1], row[3], row[4]) == ("Anna", "Kowalska", sourced, state)
    # A second import of the same export matches the student by that number.
    code, again = cli_json(capsys, db, write(tmp_path, text), "--commit")
    assert (again["created"], again["unchanged"]) == (0, 1)


def test_a_new_state_id_updates_the_student(db, tmp_path, capsys):
    cli_json(capsys, db, write(tmp_path, "student_no,name\nS1,Anna Kowalska\n"), "--commit")
    code, report = cli_json(capsys, db, write(tmp_path, "student_no,name,state_id\n"
                                                        "S1,Anna Kowalska,ST-1\n"), "--commit")  # fmt: skip
    assert report["updated"] == 1 and students(db)["S1"][4] == "ST-1"


# --- 2./3. columns not imported, Moodle course1/course2 --------------------------------

MOODLE = (
    "username,firstname,lastname,email,idnumber,course1,role1,group1,enrolperiod1,course2\n"
    "anna.k,Anna,Kowalska,anna@example.org,1001,math102,student,G1,,art101\n"
    "ben.n,Ben,Nowak,ben@example.org,1002,math102,student,,,\n"
)


def test_moodle_course_columns_enroll_and_the_rest_is_listed(db, tmp_path, capsys):
    path = write(tmp_path, MOODLE)
    code, out, _ = cli(capsys, db, path)
    assert code == 0
    assert "3 enrollments created" in out and "2 new courses" in out
    assert ('Columns not imported: username, role1, group1, enrolperiod1 (map one with --map '
            '"COLUMN=FIELD").') in out  # fmt: skip
    code, report = cli_json(capsys, db, path, "--commit")
    assert (report["enrollments_created"], report["courses_created"]) == (3, 2)
    assert report["ignored_columns"] == ["username", "role1", "group1", "enrolperiod1"]
    with db.sessions.begin() as s:
        assert set(s.scalars(select(Course.name))) == {"math102", "art101"}
        assert s.scalar(select(func.count()).select_from(CourseEnrollment)) == 3
        run = s.scalar(select(MaintenanceRun).where(MaintenanceRun.dry_run.is_(False)))
        assert run.params["ignored_columns"] == report["ignored_columns"]


def test_course_columns_spelled_in_other_ways(db, tmp_path, capsys):
    text = "student_no,name,course_1,Course 2\nS1,Anna Kowalska,Art,Biology\nS2,Ben Nowak,,Art\n"
    code, report = cli_json(capsys, db, write(tmp_path, text))
    assert (report["enrollments_created"], report["ignored_columns"]) == (3, [])


def test_a_row_with_a_bad_value_is_rejected_once_whatever_its_courses(db, tmp_path, capsys):
    text = "student_no,name,email,course1,course2\nS1,Anna Kowalska,nope,Art,Biology\n"
    code, report = cli_json(capsys, db, write(tmp_path, text))
    assert code == 1 and [r["line"] for r in report["rejected"]] == [2]


# --- 4. --map ---------------------------------------------------------------------------


def test_map_option_reads_columns_as_chosen(db, tmp_path, capsys):
    text = "Pupil Ref,Pupil,Tutor,Notes\nP-1,Anna Kowalska,7A,likes clay\n"
    path = write(tmp_path, text)
    code, _, err = cli(capsys, db, path)
    assert code == 2 and "no usable columns" in err
    code, report = cli_json(capsys, db, path, "--commit", "--map", "pupil ref=student_no",
                            "--map", "PUPIL=full_name", "--map", "Tutor=Class Name",
                            "--map", "Notes=ignore")  # fmt: skip
    assert code == 0 and report["created"] == 1 and report["ignored_columns"] == ["Notes"]
    assert students(db)["P-1"][:2] == ("Anna", "Kowalska")


def test_map_option_mistakes_are_exit_2_naming_the_choices(db, tmp_path, capsys):
    path = write(tmp_path, "student_no,name\nS1,Anna Kowalska\n")
    code, _, err = cli(capsys, db, path, "--map", "Homeroom=class_name")
    assert code == 2 and 'the file has no column "Homeroom"' in err and "student_no, name" in err
    code, _, err = cli(capsys, db, path, "--map", "name=nickname")
    assert code == 2 and '"nickname" is not a field' in err and "state_id or ignore" in err
    code, _, err = cli(capsys, db, path, "--map", "name")
    assert code == 2 and "COLUMN=FIELD" in err and "Traceback" not in err
    assert students(db) == {}


def test_parse_map_option_and_layout_key():
    header = ["Student ID", "E-mail", "Pupil"]
    assert parse_map_option(header, ["student id=sourced_id", "pupil=Full Name"]) == {
        "Student ID": "sourced_id", "Pupil": "full_name"}  # fmt: skip
    with pytest.raises(UnreadableFile):
        parse_map_option(header, ["Nope=email"])
    mapping = auto_map(header, parse_map_option(header, ["Student ID=sourced_id"]))
    assert mapping.fields == (Field.SOURCED_ID, Field.EMAIL, None)
    assert layout_key(["Student ID", "E-mail"]) == layout_key(["student_id", "e mail"])
    assert layout_key(["a", "b"]) != layout_key(["b", "a"])


# --- 5. a field named twice ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("student_no,email,name,class,E-mail", 'columns 2 ("email") and 5 ("E-mail") both mean E-mail'),
     ("student_no,Name,Name", 'columns 2 ("Name") and 3 ("Name") both mean Full name')],
)  # fmt: skip
def test_a_field_named_twice_is_refused_naming_both_columns(db, tmp_path, capsys, header, expected):
    width = header.count(",") + 1
    path = write(
        tmp_path, header + "\n" + ",".join(["S1", *["x@example.org"] * (width - 1)]) + "\n"
    )
    code, _, err = cli(capsys, db, path)
    assert code == 2 and expected in err and "--map" in err and "Traceback" not in err


def test_a_field_named_twice_can_be_resolved_with_map(db, tmp_path, capsys):
    text = "student_no,email,name,E-mail\nS1,a@example.org,Anna Kowalska,b@example.org\n"
    code, report = cli_json(capsys, db, write(tmp_path, text), "--map", "E-mail=ignore")
    assert code == 0 and report["created"] == 1 and report["ignored_columns"] == ["E-mail"]


# --- 6. dates -----------------------------------------------------------------------------


def test_month_first_dates_are_inferred_from_the_file(db, tmp_path, capsys):
    text = "student_no,name,dob\nS1,A B,12/19/1997\nS2,C D,03/04/2012\nS3,E F,2011-05-06\n"
    code, report = cli_json(capsys, db, write(tmp_path, text), "--commit")
    assert code == 0 and report["created"] == 3
    got = {no: row[6] for no, row in students(db).items()}
    assert got == {"S1": "1997-12-19", "S2": "2012-03-04", "S3": "2011-05-06"}


def test_only_ambiguous_dates_ask_for_the_option(db, tmp_path, capsys):
    text = "student_no,name,birth_date\nS1,A B,03/04/2012\nS2,C D,2012-01-02\n"
    code, report = cli_json(capsys, db, write(tmp_path, text))
    assert code == 1 and report["created"] == 1
    [rejected] = report["rejected"]
    assert rejected["line"] == 2 and "ambiguous" in rejected["message"]
    assert "--date-format DMY or --date-format MDY" in rejected["message"]
    code, report = cli_json(capsys, db, write(tmp_path, text), "--date-format", "MDY", "--commit")
    assert code == 0 and students(db)["S1"][6] == "2012-03-04"


def test_dates_that_contradict_the_file_are_rejected_naming_the_order(db, tmp_path, capsys):
    text = ("student_no,name,birth_date\nS1,A B,23/04/2011\nS2,C D,25/12/2010\n"
            "S3,E F,12/19/2011\n")  # fmt: skip
    code, report = cli_json(capsys, db, write(tmp_path, text))
    assert code == 1 and report["created"] == 2
    [rejected] = report["rejected"]
    assert rejected["line"] == 4 and "read day first (DMY)" in rejected["message"]
    assert "--date-format MDY" in rejected["message"]


# --- 7. statuses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [("Enrolled", "active"), ("TRUE", "active"), ("1", "active"), ("yes", "active"),
     ("suspended", "inactive"), ("FALSE", "inactive"), ("0", "inactive"), ("No", "inactive"),
     ("deleted", "withdrawn"), ("Graduated", "withdrawn"), ("transferred", "withdrawn"),
     ("Transferred Out", "withdrawn")],
)  # fmt: skip
def test_statuses_of_other_systems(db, tmp_path, capsys, value, status):
    text = f"student_no,name,status\nS1,Anna Kowalska,{value}\n"
    code, report = cli_json(capsys, db, write(tmp_path, text), "--commit")
    assert code == 0 and students(db)["S1"][5] == status


def test_an_unknown_status_is_rejected(db, tmp_path, capsys):
    text = "student_no,name,status\nS1,Anna Kowalska,on the moon\n"
    code, report = cli_json(capsys, db, write(tmp_path, text))
    assert code == 1 and "'on the moon' is not a student status" in report["rejected"][0]["message"]


# --- 8. invisible characters ------------------------------------------------------------------


def test_invisible_characters_are_removed_from_ids_and_trimmed_from_names(db, tmp_path, capsys):
    text = (
        "student_no,first_name,last_name,email,sourced_id\n"
        "S\u200b1,\u200fAnna\u200e,Kowalska\u00ad,\ufeffanna@exam\u200dple.org,src\u2060-1\n"
        "\u202eS2\u202c,\u200b\u200d,\u2066\u2069,ben@example.org,\n"
    )
    code, report = cli_json(capsys, db, write(tmp_path, text), "--commit")
    assert code == 1 and report["created"] == 1
    assert students(db) == {
        "S1": ("Anna", "Kowalska", "anna@example.org", "src-1", None, "active", None)
    }
    [rejected] = report["rejected"]
    assert (rejected["line"], rejected["column"]) == (3, "last_name")
    assert "name is missing" in rejected["message"]


# --- 9. length limits -------------------------------------------------------------------------


def test_over_long_values_are_rejected_rows_naming_the_limit(db, tmp_path, capsys):
    long = "x" * 3000
    text = (
        "student_no,name,email,course\n"
        f"S1,{long} Kowalska,a@example.org,Art\n"
        f"{long},Ben Nowak,b@example.org,Art\n"
        f"S3,Cleo Park,{long}@example.org,Art\n"
        f"S4,Dan Ruiz,d@example.org,{long}\n"
        "S5,Eve Stone,e@example.org,Art\n"
    )
    code, report = cli_json(capsys, db, write(tmp_path, text), "--commit")
    assert code == 1 and report["created"] == 1 and report["enrollments_created"] == 1
    found = {r["line"]: (r["column"], r["message"]) for r in report["rejected"]}
    assert found[2] == ("name", "The first name is 3,000 characters long; the most Rollbook "
                        "keeps is 100. Shorten it and try again.")  # fmt: skip
    assert found[3][0] == "student_no" and "most Rollbook keeps is 64" in found[3][1]
    assert found[4][0] == "email" and "most Rollbook keeps is 254" in found[4][1]
    assert found[5][0] == "course" and "course name" in found[5][1] and "200" in found[5][1]
    assert set(students(db)) == {"S5"}
