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
