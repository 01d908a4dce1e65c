"""A session's register: who is on it by the enrollment's periods, one mark per student
per session, saving as one upsert, and why someone expected is not on it."""

from __future__ import annotations

import json
from datetime import date

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


def _lesson(session, ctx, day, class_name=None, status=None):
    from app.domain.enums import SessionFrequency
    from app.domain.recurrence import Recurrence
    from app.services.class_sessions import SessionPlan, schedule_sessions

    plan = SessionPlan("Biology", Recurrence(SessionFrequency.ONE_TIME, first=day), "10:00",
                       "10:45", location="Lab 2", class_name=class_name)  # fmt: skip
    lesson = schedule_sessions(session, ctx, plan).session_ids[0]
    if status:
        session.execute(text("UPDATE class_session SET status = :s WHERE id = :id"),
                        {"s": status, "id": lesson})  # fmt: skip
    return lesson


def _enroll_7b_student(session, ctx) -> None:
    from app.services.students import StudentInput, create_student

    fay = create_student(session, ctx, StudentInput("S6", "Fay", "Marsh", class_name="7B"))
    session.execute(text(
        "INSERT INTO course_enrollment (id, school_id, course_id, student_id, enrolled_on, periods) "
        "SELECT gen_random_uuid(), :school, id, :student, '2026-09-01', '{[2026-09-01,)}' "
        "FROM course WHERE name = 'Biology'"), {"school": ctx.school_id, "student": fay.id})  # fmt: skip


def test_a_lesson_for_a_class_lists_that_class_only_and_says_why_not(session, ctx, school):
    _enroll_7b_student(session, ctx)
    whole_course = _lesson(session, ctx, date(2026, 9, 22))
    for_7a = _lesson(session, ctx, date(2026, 9, 23), class_name="7A")
    assert _numbers(session_register(session, ctx, whole_course)) == ["S1", "S3", "S6"]
    register = session_register(session, ctx, for_7a)
    assert (_numbers(register), register.group_name) == (["S1", "S3"], "Biology (7A)")
    assert why_not_on_register(session, ctx, for_7a, "S6") == (
        "Fay Marsh (S6) is in class 7B; this lesson of Biology is for class 7A."
    )
    fay = session.scalar(text("SELECT e.id FROM course_enrollment e JOIN student s ON "
                              "s.id = e.student_id WHERE s.student_no = 'S6'"))  # fmt: skip
    with pytest.raises(ValidationError, match="not on this session's register"):
        save_marks(session, ctx, for_7a, [Mark(fay, "present")])
    with pytest.raises(ValidationError, match="No student is in class '7Q'"):
        _lesson(session, ctx, date(2026, 9, 24), class_name="7Q")


def test_minutes_late_and_the_schools_rule_for_excused_absences(session, ctx, school):
    from app.services.attendance import set_excused_needs_reason

    september, ids = school["september"], school["enrollments"]
    with pytest.raises(ValidationError, match="Minutes late go with the mark late only"):
        save_marks(session, ctx, september, [Mark(ids["S1"], "present", minutes_late=5)])
    with pytest.raises(ValidationError, match="between 1 and 600"):
        save_marks(session, ctx, september, [Mark(ids["S1"], "late", minutes_late=1000)])
    with pytest.raises(ValidationError, match="excused absence needs a reason.*: Cleo Marsh"):
        save_marks(session, ctx, september, [Mark(ids["S1"], "late", minutes_late=7),
                                             Mark(ids["S3"], "excused", "  ")])  # fmt: skip
    assert session.scalar(select(func.count()).select_from(SessionAttendance)) == 0
    save_marks(session, ctx, september, [Mark(ids["S1"], "late", minutes_late=7),
                                         Mark(ids["S3"], "excused", "Dentist")])  # fmt: skip
    set_excused_needs_reason(session, ctx, False)
    save_marks(session, ctx, september, [Mark(ids["S3"], "excused")])
    set_excused_needs_reason(session, ctx, True)
    # Saved again as it was (the register saves every mark on it): kept, not refused.
    save_marks(session, ctx, september, [Mark(ids["S1"], "late", minutes_late=7),
                                         Mark(ids["S3"], "excused")])  # fmt: skip
    rows = session_register(session, ctx, september).rows
    assert [(r.student_no, r.status, r.minutes_late, r.note) for r in rows] == [
        ("S1", "late", 7, None), ("S3", "excused", None, None)]  # fmt: skip


def test_the_students_attendance_per_course_counts_sessions_held_since_enrollment(
    session, ctx, school
):
    from app.services.attendance import course_attendance_summary

    ids = school["enrollments"]
    held = [_lesson(session, ctx, date(2026, 12, d), status="completed") for d in (1, 2, 3, 4)]
    _lesson(session, ctx, date(2026, 12, 5), status="cancelled")
    _lesson(session, ctx, date(2026, 12, 8))  # still to come
    for lesson, status in zip(held, ("present", "late", "absent", "excused"), strict=False):
        save_marks(session, ctx, lesson, [Mark(ids["S2"], status, "Ill" if status == "excused"
                                               else None)])  # fmt: skip
    student = session.scalar(text("SELECT id FROM student WHERE student_no = 'S2'"))
    (biology,) = course_attendance_summary(session, ctx, student)
    # Ben joined on 1 December: four lessons held since, one of each mark; the rate
    # leaves the excused one out: present or late in two of three.
    assert (
        biology.course_name,
        biology.sessions_held,
        biology.present,
        biology.late,
        biology.absent,
        biology.excused,
        biology.not_marked,
    ) == ("Biology", 4, 1, 1, 1, 1, 0)
    assert biology.rate == pytest.approx(2 / 3)
    s1 = session.scalar(text("SELECT id FROM student WHERE student_no = 'S1'"))
    (all_term,) = course_attendance_summary(session, ctx, s1)
    assert (all_term.sessions_held, all_term.not_marked, all_term.rate) == (4, 4, None)


def test_minutes_late_and_the_excused_rule_from_the_command_line(db, capsys):
    with db.sessions.begin() as s:
        lessons = build_school(s, db.context())
    september = str(lessons["september"])
    code, out, err = _cli(db, capsys, "attendance", "mark", september, "S3", "late",
                          "--minutes-late", "12")  # fmt: skip
    assert code == 0, err
    code, out, err = _cli(db, capsys, "attendance", "show", september)
    assert "late     12 min" in out
    code, out, err = _cli(db, capsys, "attendance", "mark", september, "S1", "excused")
    assert code == 2 and "excused absence needs a reason" in err and "Traceback" not in err
    code, out, err = _cli(db, capsys, "attendance", "rules", "--excused-needs-reason", "no",
                          "--json")  # fmt: skip
    assert code == 0 and json.loads(out) == {"excused_needs_reason": False}
    code, out, err = _cli(db, capsys, "attendance", "mark", september, "S1", "excused")
    assert code == 0, err
