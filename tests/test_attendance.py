"""A session's register: who is on it by the enrollment's periods, one mark per student
per session, saving as one upsert, and why someone expected is not on it."""

from __future__ import annotations

import json

import pytest
from attendance_setup import build_school
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.db.models import AuditLog, SessionAttendance
from app.domain.errors import ValidationError
from app.services.attendance import Mark, save_marks, session_register, why_not_on_register
from app.services.class_sessions import update_session


@pytest.fixture
def school(session, ctx):
    return build_school(session, ctx)


def _numbers(register) -> list[str]:
    return [row.student_no for row in register.rows]


def test_the_register_follows_the_enrollments_periods(session, ctx, school):
    assert _numbers(session_register(session, ctx, school["september"])) == ["S1", "S3"]
    assert _numbers(session_register(session, ctx, school["november"])) == ["S1"]


@pytest.mark.parametrize(
    ("lesson", "number", "answer"),
    [
        ("september", "S2", "Ben Marsh (S2) is enrolled in Biology only from 01 Dec 2026, "
                            "after 15 Sep 2026."),
        ("november", "S3", "Cleo Marsh (S3) was not enrolled in Biology on 10 Nov 2026: the "
                           "enrollment ended on 30 Oct 2026 and began again on 01 Dec 2026."),
        ("november", "S4", "Dan Marsh (S4) is inactive: only active students are on registers."),
        ("november", "S5", "Eve Marsh (S5) is not enrolled in Biology."),
        ("november", "S9", "No student has the number 'S9'."),
        ("november", "S1", None),
    ],
)  # fmt: skip
def test_why_a_student_is_not_on_the_register_in_one_line(session, ctx, school, lesson, number,
                                                          answer):  # fmt: skip
    assert why_not_on_register(session, ctx, school[lesson], number) == answer


def test_one_mark_per_student_re_marking_changes_it_and_each_mark_is_audited(session, ctx, school):
    september, ids = school["september"], school["enrollments"]
    assert save_marks(session, ctx, september, [Mark(ids["S1"], "present"),
                                                Mark(ids["S3"], "late", " 5 min ")]) == 2  # fmt: skip
    assert save_marks(session, ctx, september, [Mark(ids["S1"], "absent"),
                                                Mark(ids["S3"], "late", "5 min")]) == 1  # fmt: skip
    register = session_register(session, ctx, september)
    assert [(r.student_no, r.status, r.note) for r in register.rows] == [
        ("S1", "absent", None), ("S3", "late", "5 min")]  # fmt: skip
    assert session.scalar(select(func.count()).select_from(SessionAttendance)) == 2
    entries = session.scalars(select(AuditLog.action).where(
        AuditLog.entity == "session_attendance").order_by(AuditLog.id)).all()  # fmt: skip
    assert entries == ["insert", "insert", "update"]
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text(
            "INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status) "
            "VALUES (gen_random_uuid(), :school, :session, :enrollment, 'present')"),
            {"school": ctx.school_id, "session": september, "enrollment": ids["S1"]})  # fmt: skip


def test_marks_for_students_off_the_register_or_a_cancelled_session_are_refused(
    session, ctx, school
):
    november, ids = school["november"], school["enrollments"]
    with pytest.raises(ValidationError, match="not on this session's register"):
        save_marks(session, ctx, november, [Mark(ids["S1"], "present"), Mark(ids["S2"], "present")])
    with pytest.raises(ValidationError, match="'here' is not a mark"):
        save_marks(session, ctx, november, [Mark(ids["S1"], "here")])
    update_session(session, ctx, november, {"status": "cancelled"})
    with pytest.raises(ValidationError, match="cancelled"):
        save_marks(session, ctx, november, [Mark(ids["S1"], "present")])
    assert session.scalar(select(func.count()).select_from(SessionAttendance)) == 0


def _cli(db, capsys, *args: str) -> tuple[int, str, str]:
    from app.cli import main

    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_attendance_from_the_command_line(db, capsys):
    with db.sessions.begin() as s:
        ctx = db.context()
        lessons = build_school(s, ctx)  # committed: the command line sees it
    september = str(lessons["september"])
    code, out, err = _cli(db, capsys, "attendance", "mark", september, "S3", "late",
                          "--note", "10 min")  # fmt: skip
    assert (code, out.strip()) == (0, "Marked Cleo Marsh late (1 mark changed)."), err
    code, out, err = _cli(db, capsys, "attendance", "mark-all", september, "present", "--json")
    assert code == 0 and json.loads(out) == {"session_id": september, "marked": 2, "changed": 2}
    code, out, err = _cli(db, capsys, "attendance", "show", september, "--json")
    assert [(r["student_no"], r["status"], r["note"]) for r in json.loads(out)["rows"]] == [
        ("S1", "present", None), ("S3", "present", "10 min")]  # fmt: skip
    code, out, err = _cli(db, capsys, "attendance", "mark", september, "S2", "present")
    assert code == 2 and err.strip() == (
        "rollbook: Ben Marsh (S2) is enrolled in Biology only from 01 Dec 2026, after "
        "15 Sep 2026.")  # fmt: skip
    code, out, err = _cli(db, capsys, "attendance", "show", "not-an-id")
    assert code == 2 and "is not a session id" in err and "Traceback" not in err
