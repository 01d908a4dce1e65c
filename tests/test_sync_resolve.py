"""Deciding sync conflicts on a desktop, all real databases (a server and two desktops):
the choice becomes a change that syncs like any other, and the server ends as chosen."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text
from sync_setup import SCHOOL, Side

from app.cli import main
from app.domain.enums import SessionFrequency
from app.domain.errors import NotFound, ValidationError
from app.domain.recurrence import Recurrence
from app.services.attendance import Mark, save_marks
from app.services.class_sessions import SessionPlan, schedule_sessions
from app.services.courses import create_course
from app.services.enrollments import enroll
from app.services.students import StudentInput, create_student, delete_student, update_student
from app.sync.resolve import resolve_conflict


def _student(side: Side, number: str, first: str = "Ann", last: str = "Lee", **kw):
    with side.sessions.begin() as s:
        return create_student(s, side.ctx(), StudentInput(number, first, last, **kw))


def _update(side: Side, student_id, **changes) -> None:
    with side.sessions.begin() as s:
        update_student(s, side.ctx(), student_id, changes)


def _open(side: Side) -> list:
    return side.rows("SELECT id, kind, entity, entity_id, column_name FROM sync_conflict "
                     "WHERE resolved_at IS NULL ORDER BY created_at, kind")  # fmt: skip


def _resolve(side: Side, conflict_id, take: str, value=None, **kw):
    with side.sessions.begin() as s:
        return resolve_conflict(s, side.ctx(), conflict_id, take, value, **kw)


def _names(side: Side, student_id) -> tuple:
    return side.rows("SELECT first_name, class_name, deleted_at IS NOT NULL FROM student "
                     "WHERE id = :i", i=student_id)[0]  # fmt: skip


@pytest.fixture
def column_conflict(sync_school):
    """B changed first_name to Annie while A (already on the server) made it Anna."""
    server, a, b = sync_school
    student = _student(a, "S1")
    assert a.sync().ok and b.sync().ok
    _update(a, student.id, first_name="Anna")
    _update(b, student.id, first_name="Annie")
    assert a.sync().status == "synced"
    assert b.sync().status == "conflicts"
    (conflict,) = _open(b)
    return server, a, b, student, conflict[0]


@pytest.mark.parametrize(("take", "value", "expected"), [
    ("local", None, "Annie"), ("server", None, "Anna"), ("value", "Ann-Marie", "Ann-Marie")])  # fmt: skip
def test_a_column_conflict_ends_on_the_server_as_decided(column_conflict, take, value, expected):
    server, a, b, student, conflict_id = column_conflict
    outcome = _resolve(b, conflict_id, take, value)
    assert outcome.resolved == 1 and outcome.changes
    assert _names(b, student.id)[0] == expected  # shown here at once
    report = b.sync()
    assert report.status == "synced" and report.open_conflicts == 0, report.message
    assert _names(server, student.id)[0] == expected
    assert a.sync().status == "synced"
    assert _names(a, student.id)[0] == expected


def test_a_dry_run_shows_the_decision_and_changes_nothing(column_conflict):
    server, _a, b, student, conflict_id = column_conflict
    outcome = _resolve(b, conflict_id, "local", dry_run=True)
    assert outcome.dry_run and outcome.changes == [
        "student S1 Anna Lee: first_name 'Anna' → 'Annie'"]  # fmt: skip
    assert len(_open(b)) == 1
    assert _names(b, student.id)[0] == "Anna"
    assert b.sync().status == "conflicts"
    assert _names(server, student.id)[0] == "Anna"


def test_a_choice_the_conflict_does_not_offer_or_a_wrong_id_is_refused(column_conflict):
    _server, _a, b, _student, conflict_id = column_conflict
    with pytest.raises(ValidationError, match="take must be one of local, server, value"):
        _resolve(b, conflict_id, "merge")
    with pytest.raises(NotFound, match="no sync conflict"):
        _resolve(b, "ffffffff", "server")
    _resolve(b, str(conflict_id)[:8], "server")  # the short id `sync conflicts` shows
    with pytest.raises(ValidationError, match="already decided"):
        _resolve(b, conflict_id, "local")


@pytest.mark.parametrize("take", ["local", "server"])
def test_an_edit_of_a_row_the_server_deleted_is_restored_or_stays_deleted(sync_school, take):
    server, a, b = sync_school
    student = _student(a, "S1")
    assert a.sync().ok and b.sync().ok
    with a.sessions.begin() as s:
        delete_student(s, a.ctx(), student.id)
    _update(b, student.id, class_name="7B")
    assert a.sync().status == "synced"
    assert b.sync().status == "conflicts"
    ((conflict_id, kind, *_),) = _open(b)
    assert kind == "edit_delete"
    with pytest.raises(ValidationError, match="an edit-delete conflict is decided with server "
                       "or local, not value"):  # fmt: skip
        _resolve(b, conflict_id, "value", "7C")
    _resolve(b, conflict_id, take)
    assert b.sync().status == "synced"
    restored = take == "local"
    assert _names(server, student.id) == (("Ann", "7B", False) if restored
                                          else ("Ann", None, True))  # fmt: skip


@pytest.mark.parametrize("take", ["local", "server"])
def test_a_delete_of_a_row_the_server_changed_happens_or_not_as_decided(sync_school, take):
    server, a, b = sync_school
    student = _student(a, "S1")
    assert a.sync().ok and b.sync().ok
    _update(a, student.id, class_name="9Z")
    with b.sessions.begin() as s:
        delete_student(s, b.ctx(), student.id)
    assert a.sync().status == "synced"
    assert b.sync().status == "conflicts"
    ((conflict_id, kind, *_),) = _open(b)
    assert kind == "delete_edit"
    _resolve(b, conflict_id, take)
    assert b.sync().status == "synced"
    assert _names(server, student.id) == ("Ann", "9Z", take == "local")


@pytest.fixture
def duplicate(sync_school):
    """S100 made on A (synced first) and on B, where it is enrolled in Biology (as A's is)
    and Chemistry, with an attendance mark for Biology's lesson."""
    server, a, b = sync_school
    with server.sessions.begin() as s:
        ctx = server.ctx()
        for name in ("Biology", "Chemistry"):
            create_course(s, ctx, name)
        day = Recurrence(SessionFrequency.ONE_TIME, first=date(2026, 12, 7))
        schedule_sessions(s, ctx, SessionPlan("Biology", day, "10:00", "11:00", location="Lab 1"))
    assert a.sync().ok and b.sync().ok
    courses = dict(b.rows("SELECT name, id FROM course"))
    with a.sessions.begin() as s:
        first = create_student(s, a.ctx(), StudentInput("S100", "Ann", "Lee"))
        enroll(s, a.ctx(), first.id, courses["Biology"])
    with b.sessions.begin() as s:
        ctx = b.ctx()
        second = create_student(s, ctx, StudentInput("S100", "Anne", "Leigh"))
        for name in ("Biology", "Chemistry"):
            enroll(s, ctx, second.id, courses[name])
    with b.sessions.begin() as s:
        lesson = s.execute(text("SELECT id FROM class_session")).scalar_one()
        enrollment = s.execute(text("SELECT id FROM course_enrollment WHERE student_id = :s "
                                     "AND course_id = :c"),
                               {"s": second.id, "c": courses["Biology"]}).scalar_one()  # fmt: skip
        save_marks(s, b.ctx(), lesson, [Mark(enrollment, "late")])
    assert a.sync().status == "synced"
    assert b.sync().status == "conflicts"
    (dup,) = [c for c in _open(b) if c[1] == "duplicate_key" and c[3] == second.id]
    return server, a, b, first, second, courses, dup[0]


def test_a_duplicate_student_merges_into_the_existing_one_with_everything_it_had(duplicate):
    server, a, b, first, second, courses, conflict_id = duplicate
    preview = _resolve(b, conflict_id, "server", dry_run=True)
    assert preview.changes[0] == "student S100 Anne Leigh merged into student S100 Ann Lee"
    assert any("already has one" in line for line in preview.kept_existing)  # Biology
    assert (
        b.scalar("SELECT count(*) FROM student WHERE id = :i", i=second.id) == 1
    )  # previewed only

    outcome = _resolve(b, conflict_id, "server")
    assert outcome.changes == preview.changes and outcome.resolved >= 2
    assert _open(b) == []  # the refused enrollments and the pull's duplicate close with it
    assert b.scalar("SELECT count(*) FROM student WHERE id = :i", i=second.id) == 0
    report = b.sync()
    assert report.status == "synced" and report.open_conflicts == 0, report.message
    for side in (server, b):
        enrolled = side.rows("SELECT c.name FROM course_enrollment e JOIN course c "
                             "ON c.id = e.course_id WHERE e.student_id = :s ORDER BY c.name",
                             s=first.id)  # fmt: skip
        assert enrolled == [("Biology",), ("Chemistry",)]
        # The mark made on B for the duplicate moved to the existing student's enrollment.
        assert side.rows("SELECT a.status FROM session_attendance a JOIN course_enrollment e "
                         "ON e.id = a.enrollment_id WHERE e.student_id = :s",
                         s=first.id) == [("late",)]  # fmt: skip
        assert side.scalar("SELECT count(*) FROM student WHERE student_no = 'S100'") == 1
    assert a.sync().status == "synced"
    assert a.scalar("SELECT count(*) FROM course_enrollment WHERE student_id = :s",
                    s=first.id) == 2  # fmt: skip


def test_a_duplicate_student_given_a_new_number_reaches_the_server_with_its_enrollments(
    duplicate,
):
    server, _a, b, first, second, _courses, conflict_id = duplicate
    outcome = _resolve(b, conflict_id, "value", "S101")
    assert outcome.changes[0] == "student S100 Anne Leigh: student_no 'S100' → 'S101', sent again"
    report = b.sync()
    assert report.status == "synced" and report.open_conflicts == 0, report.message
    assert server.rows("SELECT student_no FROM student WHERE id IN (:x, :y) ORDER BY student_no",
                       x=first.id, y=second.id) == [("S100",), ("S101",)]  # fmt: skip
    assert server.scalar("SELECT count(*) FROM course_enrollment WHERE student_id = :s",
                         s=second.id) == 2  # fmt: skip


def test_a_new_number_already_taken_is_refused_and_changes_nothing(duplicate):
    _server, _a, b, _first, second, _courses, conflict_id = duplicate
    _student(b, "S200")
    with pytest.raises(ValidationError, match="already exists|duplicate key"):
        _resolve(b, conflict_id, "value", "S200")
    assert b.scalar("SELECT student_no FROM student WHERE id = :i", i=second.id) == "S100"
    assert any(c[0] == conflict_id for c in _open(b))


def _cli(capsys, b: Side, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--database-url", b.url, "--school", SCHOOL, "sync", "resolve", *args])
    except SystemExit as exc:  # argparse refusing the arguments
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_sync_resolve_on_the_command_line(column_conflict, capsys):
    server, _a, b, student, conflict_id = column_conflict
    code, out, err = _cli(capsys, b, str(conflict_id)[:8], "--take", "merge")
    assert code == 2 and "--take local, --take server or --take value=NEW" in err
    code, out, err = _cli(capsys, b, "00000000", "--take", "local")
    assert code == 2 and "There is no sync conflict 00000000" in err and "Traceback" not in err
    code, out, _err = _cli(capsys, b, str(conflict_id)[:8], "--take", "value=Ann-Marie",
                           "--dry-run")  # fmt: skip
    assert code == 0 and "Would decide" in out and "Nothing changed" in out
    code, out, _err = _cli(capsys, b, str(conflict_id), "--take", "value=Ann-Marie", "--json")
    assert code == 0
    decided = json.loads(out)
    assert decided["take"] == "value" and decided["resolved"] == 1
    assert b.sync().status == "synced"
    assert _names(server, student.id)[0] == "Ann-Marie"


def test_a_course_and_a_student_made_on_two_desktops_merge_in_turn_and_nothing_is_left(
    sync_school, tmp_path
):
    """As two offices importing the same roster offline find it: the course and the
    student both twice. Merging the course first, then the student, sends only what
    the server lacks — not the enrollment the course's merge moved and the student's
    merge then folded into the existing one."""
    from app.imports.service import prepare, run_import

    server, a, b = sync_school
    rosters = [(a, "student_no,first_name,last_name,course1\nS100,Ann,Lee,Biology\n"),
               (b, "student_no,first_name,last_name,course1\nS100,Anne,Leigh,Biology\n"
                   "S101,Bo,Chan,Biology\n")]  # fmt: skip
    for side, roster in rosters:
        path = tmp_path / f"roster-{side.name}.csv"
        path.write_text(roster, encoding="utf-8")
        with side.sessions.begin() as s:
            run_import(s, side.ctx(), prepare(path), commit=True)
    assert a.sync().status == "synced"
    assert b.sync().status == "conflicts"
    course = next(c for c in _open(b) if c[1] == "duplicate_key" and c[2] == "course")
    _resolve(b, course[0], "server")
    student = next(c for c in _open(b) if c[1] == "duplicate_key" and c[2] == "student")
    _resolve(b, student[0], "server")
    assert _open(b) == []
    report = b.sync()
    assert report.status == "synced" and report.open_conflicts == 0, report.message
    assert a.sync().status == "synced"
    for side in (server, a, b):
        assert side.rows("SELECT name FROM course") == [("Biology",)]
        assert side.rows("SELECT s.student_no FROM course_enrollment e JOIN student s "
                         "ON s.id = e.student_id ORDER BY 1") == [("S100",), ("S101",)]  # fmt: skip
        assert side.scalar("SELECT count(*) FROM course_progress") == 2
