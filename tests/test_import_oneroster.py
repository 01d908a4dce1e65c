"""OneRoster 1.1 bulk files: students, classes as courses, enrollments, tobedeleted."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.db.models import Course, CourseEnrollment, Student
from app.imports.oneroster import import_oneroster, read_oneroster
from app.imports.reading import UnreadableFile

FILES = {
    "manifest.csv": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n",
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                "org1,active,,Rollbook High,school,RH,\n",
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
                            "t1,active,,Fall 2026,term,2026-09-01,2026-12-20,,2027\n",
    "courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\n"
                   "c1,active,,t1,Biology,BIO,07,org1,,\n",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
                   "k1,active,,Biology 7,07,c1,BIO-7A,scheduled,Lab,org1,t1,,,\n"
                   "k2,active,,Art,07,c1,ART-7,scheduled,,org1,t1,,,\n",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
                 "u1,active,,true,org1,student,zoe,,Zoë,Müller,,000301,zoe@example.org,,,,07,\n"
                 "u2,active,,true,org1,student,ben,,Ben,Nowak,,000302,ben@example.org,,,,07,\n"
                 "u3,tobedeleted,,true,org1,student,old,,Old,Leaver,,000303,old@example.org,,,,07,\n"
                 "t9,active,,true,org1,teacher,teach,,Tea,Cher,,T1,t@example.org,,,,,\n"
                 "u4,active,,true,org1,student,bad,,Bad,Mail,,000304,not-an-email,,,,07,\n",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\n"
                       "e1,active,,k1,org1,u1,student,,,\n"
                       "e2,active,,k2,org1,u1,student,,,\n"
                       "e3,active,,k1,org1,u2,student,,,\n"
                       "e4,active,,k1,org1,t9,teacher,,,\n",
}  # fmt: skip


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "oneroster"
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_folder_import_creates_students_courses_and_enrollments(db, tmp_path):
    path = folder(tmp_path, FILES)
    with db.sessions.begin() as s:
        dry = import_oneroster(s, db.context(), read_oneroster(path), commit=False)
        s.rollback()
    assert dry.roster.created == 3 and dry.roster.enrollments_created == 3
    with db.sessions.begin() as s:
        assert s.scalar(select(Student).limit(1)) is None
    with db.sessions.begin() as s:
        done = import_oneroster(s, db.context(), read_oneroster(path), commit=True)
    assert (done.students_in_file, done.classes_in_file) == (4, 2)
    assert [(r.line, r.column) for r in done.roster.rejected] == [(6, "users.csv: email")]
    with db.sessions.begin() as s:
        people = {p.student_no: (p.status, p.sourced_id) for p in s.scalars(select(Student))}
        courses = set(s.scalars(select(Course.name)))
        enrolled = s.scalars(select(CourseEnrollment)).all()
    assert people == {"000301": ("active", "u1"), "000302": ("active", "u2"),
                      "000303": ("inactive", "u3")}  # fmt: skip
    assert courses == {"Biology 7", "Art"}
    assert len(enrolled) == 3 and all(e.active for e in enrolled)


def test_tobedeleted_enrollment_ends_it_and_omissions_change_nothing(db, tmp_path):
    path = folder(tmp_path, FILES)
    with db.sessions.begin() as s:
        import_oneroster(s, db.context(), read_oneroster(path), commit=True)
    delta = dict(FILES)
    delta["users.csv"] = "\n".join(FILES["users.csv"].splitlines()[:2]) + "\n"  # only Zoë
    delta["enrollments.csv"] = (
        FILES["enrollments.csv"].splitlines()[0] + "\ne2,tobedeleted,,k2,org1,u1,student,,,\n"
    )
    zipped = tmp_path / "delta.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for name, text in delta.items():
            archive.writestr(name, text)
    with db.sessions.begin() as s:
        result = import_oneroster(s, db.context(), read_oneroster(zipped), commit=True)
    assert result.enrollments_ended == 1
    with db.sessions.begin() as s:
        active = s.scalars(select(CourseEnrollment).where(CourseEnrollment.active)).all()
        assert len(active) == 2  # Ben's enrollment stays although the delta omits him
        assert s.scalar(select(Student.status).where(Student.student_no == "000302")) == "active"


def test_missing_files_or_columns_are_clear_errors(db, tmp_path):
    incomplete = {k: v for k, v in FILES.items() if k != "enrollments.csv"}
    with pytest.raises(UnreadableFile, match="no enrollments.csv"):
        read_oneroster(folder(tmp_path, incomplete))
    broken = dict(FILES, **{"users.csv": "sourcedId,role\nu1,student\n"})
    with pytest.raises(UnreadableFile, match="givenName"):
        read_oneroster(folder(tmp_path, broken))


def test_cli_oneroster_json_and_exit_codes(db, tmp_path, capsys):
    path = folder(tmp_path, FILES)
    code = main(["--database-url", db.url, "--school", "TEST", "import", "oneroster", str(path),
                 "--commit", "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # one user row was rejected
    assert report["created"] == 3 and report["enrollments_ended"] == 0
    assert report["rejected"][0]["column"] == "users.csv: email"
    code = main(["--database-url", db.url, "--school", "TEST", "import", "oneroster",
                 str(tmp_path / "nothing.zip")])  # fmt: skip
    assert code == 2


# --- OneRoster 1.2 (bulk and delta), 1.0, no manifest, 1.3, tobedeleted classes -------

DATA = Path(__file__).parent / "data"


def oneroster_cli(capsys, db, path: Path, *args: str) -> tuple[int, dict | str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", "import", "oneroster",
                 str(path), *args])  # fmt: skip
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in args else out), err


def copy_of(tmp_path: Path, name: str, *, drop: tuple[str, ...] = (), **replace: str) -> Path:
    target = tmp_path / name
    target.mkdir()
    for source in (DATA / name).iterdir():
        if source.name not in drop:
            (target / source.name).write_bytes(source.read_bytes())
    for file, text in replace.items():
        (target / f"{file}.csv").write_text(text, encoding="utf-8")
    return target


def test_oneroster_1_2_bulk_takes_roles_from_roles_csv(db, capsys):
    code, report, err = oneroster_cli(capsys, db, DATA / "oneroster_1_2_bulk", "--commit",
                                      "--json")  # fmt: skip
    assert code == 1 and err == ""  # the teacher enrolled as a student is rejected
    assert report["format"] == "OneRoster 1.2" and report["warnings"] == []
    assert (report["created"], report["enrollments_created"]) == (3, 5)
    assert report["rejected"] == [{
        "line": 8, "column": "enrollments.csv: student",
        "message": "usr-tea is a teacher in roles.csv, not a student; not enrolled."}]  # fmt: skip
    with db.sessions.begin() as s:
        people = {p.student_no: (p.first_name, p.sourced_id) for p in s.scalars(select(Student))}
        courses = set(s.scalars(select(Course.name)))
    assert people == {"000401": ("Zoë", "usr-zoe"), "000402": ("Ben", "usr-ben"),
                      "000403": ("愛子", "usr-aiko")}  # fmt: skip
    assert courses == {"Biology 7", "Art 7", "Chemistry 7"}


def test_oneroster_1_2_delta_ends_a_tobedeleted_class_and_finds_known_students(db, capsys):
    oneroster_cli(capsys, db, DATA / "oneroster_1_2_bulk", "--commit", "--json")
    code, report, err = oneroster_cli(capsys, db, DATA / "oneroster_1_2_delta", "--commit",
                                      "--json")  # fmt: skip
    assert code == 1
    assert report["format"] == "OneRoster 1.2 (delta)"
    assert report["warnings"] == [
        "1 user in users.csv has no role in roles.csv and was not read as a student (usr-tea)."
    ]
    assert "rollbook: warning: 1 user in users.csv has no role" in err
    # Lena is new; Ben's family name changed (his role is not repeated in the delta: he is
    # enrolled as a student); Zoë is not in the delta's users.csv but Rollbook has her.
    assert (report["created"], report["updated"]) == (1, 1)
    assert (report["enrollments_created"], report["courses_created"]) == (3, 1)
    # Ben's Chemistry by its tobedeleted row, Aiko's because the class is tobedeleted.
    assert report["enrollments_ended"] == 2
    assert [(r["line"], r["message"]) for r in report["rejected"]] == [
        (6, "The class cls-che (Chemistry 7) is marked tobedeleted in classes.csv; Rollbook "
            "does not create it or enroll anyone in it."),
        (8, "The student usr-ghost is not in users.csv, and no Rollbook student has that "
            "sourced id; not enrolled."),
    ]  # fmt: skip
    with db.sessions.begin() as s:
        rows = s.execute(select(Student.student_no, Course.name, CourseEnrollment.active)
                         .join(CourseEnrollment, CourseEnrollment.student_id == Student.id)
                         .join(Course, Course.id == CourseEnrollment.course_id)).all()  # fmt: skip
        ben = s.scalar(select(Student.last_name).where(Student.student_no == "000402"))
    active = {(n, c) for n, c, a in rows if a}
    assert ("000402", "Chemistry 7") not in active and ("000403", "Chemistry 7") not in active
    assert {("000401", "Physics 7"), ("000402", "Physics 7"), ("000405", "Physics 7"),
            ("000401", "Biology 7"), ("000402", "Biology 7")} <= active  # fmt: skip
    assert ("000405", "Chemistry 7") not in {(n, c) for n, c, _a in rows}
    assert ben == "Nowak-Lis"


def test_oneroster_1_0_needs_no_manifest_and_keeps_same_titled_classes_apart(db, capsys):
    code, out, err = oneroster_cli(capsys, db, DATA / "oneroster_1_0")
    assert code == 1 and err == ""  # 1.0 had no manifest.csv: no warning
    assert "OneRoster 1.0: 2 students and 2 classes in the file" in out
    assert "Dry run" in out and "2 students created" in out
    assert "line 5" in out and "usr-3 is a teacher in users.csv, not a student" in out
    with db.sessions.begin() as s:
        assert s.scalar(select(Student).limit(1)) is None
    with db.sessions.begin() as s:
        result = import_oneroster(s, db.context(), read_oneroster(DATA / "oneroster_1_0"),
                                  commit=True)  # fmt: skip
    assert result.roster.courses_created == 2
    with db.sessions.begin() as s:
        assert set(s.scalars(select(Course.name))) == {"Algebra I (ALG1-01)",
                                                      "Algebra I (ALG1-02)"}  # fmt: skip


def test_folder_without_manifest_imports_with_a_warning(db, tmp_path, capsys):
    path = copy_of(tmp_path, "oneroster_1_2_bulk", drop=("manifest.csv",))
    file = read_oneroster(path)
    assert file.format == "OneRoster 1.2"
    assert file.warnings == [
        "oneroster_1_2_bulk has no manifest.csv, which OneRoster 1.2 requires; it was read "
        "as OneRoster 1.2 from its columns. Check that the export is complete."
    ]
    code, report, err = oneroster_cli(capsys, db, path, "--json")
    assert code == 1 and report["created"] == 3 and report["warnings"] == file.warnings
    assert err.startswith("rollbook: warning: oneroster_1_2_bulk has no manifest.csv")
    no_manifest_11 = folder(tmp_path, {k: v for k, v in FILES.items() if k != "manifest.csv"})
    assert read_oneroster(no_manifest_11).format == "OneRoster 1.1"


def test_a_version_rollbook_cannot_read_is_named(db, tmp_path, capsys):
    manifest = (DATA / "oneroster_1_2_bulk" / "manifest.csv").read_text(encoding="utf-8")
    path = copy_of(tmp_path, "oneroster_1_2_bulk", manifest=manifest.replace(
        "oneroster.version,1.2", "oneroster.version,1.3"),
        users="sourcedId,name\nx,y\n")  # fmt: skip
    with pytest.raises(UnreadableFile) as caught:
        read_oneroster(path)
    assert str(caught.value).startswith(
        "OneRoster 1.3 is not supported; Rollbook reads 1.0, 1.1 and 1.2"
    )
    code, _out, err = oneroster_cli(capsys, db, path)
    assert code == 2 and "OneRoster 1.3 is not supported" in err and "column" not in err
    with pytest.raises(UnreadableFile, match="not a OneRoster export"):
        read_oneroster(folder(tmp_path, {"notes.csv": "a,b\n1,2\n"}))


def test_tobedeleted_class_is_not_created_and_teacher_is_not_enrolled(db, tmp_path):
    files = dict(FILES)
    files["classes.csv"] = FILES["classes.csv"] + "k3,tobedeleted,,Chemistry,07,c1,CHE-7,scheduled,,org1,t1,,,\n"  # fmt: skip
    files["enrollments.csv"] = (FILES["enrollments.csv"] + "e5,active,,k3,org1,u2,student,,,\n"
                                "e6,active,,k2,org1,t9,student,,,\n")  # fmt: skip
    file = read_oneroster(folder(tmp_path, files))
    assert (file.classes, file.classes_tobedeleted) == (2, 1)
    with db.sessions.begin() as s:
        done = import_oneroster(s, db.context(), file, commit=True)
    messages = {(r.line, r.message) for r in done.roster.rejected}
    assert (6, "The class k3 (Chemistry) is marked tobedeleted in classes.csv; Rollbook does "
               "not create it or enroll anyone in it.") in messages  # fmt: skip
    assert (7, "t9 is a teacher in users.csv, not a student; not enrolled.") in messages
    with db.sessions.begin() as s:
        assert "Chemistry" not in set(s.scalars(select(Course.name)))
        assert s.scalar(select(Student).where(Student.student_no == "T1")) is None
