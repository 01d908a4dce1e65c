"""Reading the audit log on a real database: each change field by field, filtered by
time, person, kind of row, student and run, and only for those who may read it."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from app.domain.enums import UserRole
from app.domain.errors import PermissionDenied
from app.services.audit import AuditQuery, audit_actors, count_audit, list_audit
from app.services.courses import create_course
from app.services.enrollments import enroll, unenroll
from app.services.students import StudentInput, create_student, update_student


def _entries(db, **filters):
    with db.sessions.begin() as s:
        return list_audit(s, db.context(), AuditQuery(**filters)).rows


@pytest.fixture
def history(db):
    """Ann is added, renamed by a registrar, enrolled and unenrolled; Ben only added."""
    registrar = db.context(UserRole.REGISTRAR, actor="rita")
    with db.sessions(info={"actor": "alice"}) as s, s.begin():
        ann = create_student(s, db.context(actor="alice"), StudentInput("S1", "Ann", "Lee"))
        ben = create_student(s, db.context(actor="alice"), StudentInput("S2", "Ben", "Ode"))
        course = create_course(s, db.context(actor="alice"), "Biology")
    with db.sessions(info={"actor": "rita"}) as s, s.begin():
        update_student(s, registrar, ann.id, {"first_name": "Anna", "class_name": "7B"})
        enroll(s, registrar, ann.id, course.id)
    with db.sessions(info={"actor": "rita"}) as s, s.begin():
        unenroll(s, registrar, ann.id, course.name)
    return ann, ben, course


def test_each_change_shows_who_when_and_every_field_before_and_after(db, history):
    ann, _ben, _course = history
    latest = _entries(db)
    assert latest[0].at >= latest[-1].at  # the latest first
    renamed = next(e for e in latest if e.action == "changed" and e.entity == "student")
    assert renamed.actor == "rita" and renamed.row == "student S1 Anna Lee"
    assert {(f.field, f.before, f.after) for f in renamed.fields} == {
        ("first_name", "Ann", "Anna"), ("class_name", None, "7B")}  # fmt: skip
    assert "first name: Ann → Anna" in renamed.summary
    assert "class name: (empty) → 7B" in renamed.summary
    added = next(e for e in latest if e.action == "added" and e.entity_id == ann.id)
    assert added.actor == "alice" and "student no: S1" in added.summary


def test_filters_narrow_the_log(db, history):
    ann, ben, course = history
    assert {e.actor for e in _entries(db, actor="rita")} == {"rita"}
    assert {e.entity for e in _entries(db, entity="course")} == {"course"}
    annes = _entries(db, student_id=ann.id)
    assert {e.entity for e in annes} >= {"student", "course_enrollment", "course_progress"}
    assert all(e.entity_id != ben.id and e.entity_id != course.id for e in annes)
    assert _entries(db, date_from=date.today() + timedelta(days=1)) == []
    assert _entries(db, date_to=date.today() - timedelta(days=1)) == []
    assert len(_entries(db, date_from=date.today(), date_to=date.today())) == len(_entries(db))
    with db.sessions.begin() as s:
        assert count_audit(s, db.context(), AuditQuery(actor="alice")) == 3
        assert audit_actors(s, db.context()) == ["alice", "rita", "tester"]


def test_staff_may_not_read_the_audit_log(db, history):
    with db.sessions.begin() as s, pytest.raises(PermissionDenied, match="read the audit log"):
        list_audit(s, db.context(UserRole.STAFF, actor="sam"), AuditQuery())


def test_the_command_line_lists_and_saves_the_log(db, history, capsys, tmp_path):
    from openpyxl import load_workbook

    from app.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(["--database-url", db.url, "--school", "TEST", "audit", "log", *argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = run("--student", "S1", "--by", "rita")
    assert code == 0, err
    assert "changed  student S1 Anna Lee  — class name: (empty) → 7B; first name: Ann → Anna" in out
    assert "changed  course enrollment: S1 Anna Lee in Biology  — active: yes → no" in out
    assert "Ben" not in out
    code, out, err = run("--json", "--entity", "course")
    assert code == 0 and [e["row"] for e in json.loads(out)] == ["course Biology"]
    code, out, err = run("--student", "S404")
    assert code == 2 and "no student has that number" in err
    code, out, err = run("--from", "yesterday")
    assert code == 2 and err.count("\n") == 1
    saved = tmp_path / "log.xlsx"
    code, out, err = run("--out", str(saved), "--by", "alice")
    assert code == 0 and "Saved 3 changes" in out, err
    sheet = load_workbook(saved).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(values) if row[:2] == ["When", "Who"])
    assert [row[1] for row in values[header + 1 :] if row[1]] == ["alice"] * 3
