"""The universal lookup: one student's enrollments, attendance per course and event
registrations (team, days, feedback, certificates), in three statements; and
``rollbook lookup``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, text

from app.domain.errors import NotFound
from app.services.lookup import lookup_student

# Ada's history, in plain SQL: three courses (one running, one ended, one left and
# re-joined), marks in each, and two events: the Science Fair in a team, both days,
# with feedback and a certificate reissued (the first print revoked); Sports Day on
# her own, with a merit certificate the consistency repair flagged.
HISTORY_SQL = """
INSERT INTO student (id, school_id, student_no, first_name, last_name, email, class_name, status)
VALUES (:ada, :school, 'S100', 'Ada', 'Lovelace', 'ada@example.org', '7A', 'active'),
       (:ben, :school, 'S200', 'Ben', 'Marsh', NULL, '7A', 'active');
INSERT INTO course (id, school_id, name) VALUES
    (:biology, :school, 'Biology'), (:chemistry, :school, 'Chemistry'), (:art, :school, 'Art');
INSERT INTO course_enrollment (id, school_id, course_id, student_id, active, enrolled_on,
                               ended_on, periods, source) VALUES
    (:e_biology, :school, :biology, :ada, true, '2026-09-01', NULL, '{[2026-09-01,)}', 'import'),
    (:e_chemistry, :school, :chemistry, :ada, false, '2026-09-01', '2026-10-30',
     '{[2026-09-01,2026-10-31)}', 'manual'),
    (:e_art, :school, :art, :ada, true, '2026-09-01', NULL,
     '{[2026-09-01,2026-09-30),[2026-11-01,)}', 'request'),
    (gen_random_uuid(), :school, :biology, :ben, true, '2026-09-01', NULL, '{[2026-09-01,)}',
     'manual');
INSERT INTO course_progress (id, school_id, student_id, course_id, percent)
VALUES (gen_random_uuid(), :school, :ada, :biology, 40);
INSERT INTO class_session (id, school_id, course_id, class_name, session_date, start_time,
                           end_time, status)
SELECT ('00000000-0000-0000-0000-00000000000' || n)::uuid, :school, c, '7A', d, '09:00',
       '09:45', 'completed'
FROM (VALUES (1, CAST(:biology AS uuid), DATE '2026-09-07'), (2, :biology, '2026-09-14'),
             (3, :biology, '2026-09-21'), (4, :chemistry, '2026-09-08'),
             (5, :chemistry, '2026-09-15'), (6, :art, '2026-11-09')) AS l(n, c, d);
INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status, note)
SELECT gen_random_uuid(), :school, ('00000000-0000-0000-0000-00000000000' || n)::uuid, e,
       m, note
FROM (VALUES (1, CAST(:e_biology AS uuid), 'present', NULL), (2, :e_biology, 'late', NULL),
             (3, :e_biology, 'absent', NULL), (4, :e_chemistry, 'present', NULL),
             (5, :e_chemistry, 'excused', 'Dentist'), (6, :e_art, 'present', NULL)
     ) AS m(n, e, m, note);
INSERT INTO event (id, school_id, name, starts_on, ends_on, status, allow_teams, team_size_max)
VALUES (:fair, :school, 'Science Fair', '2026-05-14', '2026-05-15', 'completed', true, 3),
       (:sports, :school, 'Sports Day', '2026-06-01', '2026-06-01', 'completed', false, 1);
INSERT INTO event_team (id, school_id, event_id, name)
VALUES (:team, :school, :fair, 'Quantum Quokkas');
INSERT INTO event_registration (id, school_id, event_id, student_id, team_id, registration_no,
                                status) VALUES
    (:r_fair, :school, :fair, :ada, :team, 'R-000007', 'registered'),
    (:r_sports, :school, :sports, :ada, NULL, 'R-000012', 'registered'),
    (gen_random_uuid(), :school, :fair, :ben, :team, 'R-000008', 'registered');
INSERT INTO event_attendance (id, school_id, registration_id, attended_on) VALUES
    (gen_random_uuid(), :school, :r_fair, '2026-05-15'),
    (gen_random_uuid(), :school, :r_fair, '2026-05-14'),
    (gen_random_uuid(), :school, :r_sports, '2026-06-01');
INSERT INTO event_feedback (id, school_id, registration_id, rating, comments)
VALUES (gen_random_uuid(), :school, :r_fair, 4, 'Loved it!');
INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no, issued_at,
                         revoked_at, revoke_reason, revocation_flagged_at,
                         revocation_flag_reason) VALUES
    (gen_random_uuid(), :school, :r_fair, 'participation', 'C-000041',
     '2026-05-17 10:00+00', '2026-05-17 12:00+00', 'Name misspelled; reissued', NULL, NULL),
    (gen_random_uuid(), :school, :r_fair, 'participation', 'C-000042',
     '2026-05-18 10:00+00', NULL, NULL, NULL, NULL),
    (gen_random_uuid(), :school, :r_sports, 'merit', 'C-000050', '2026-06-03 10:00+00', NULL,
     NULL, '2026-06-20 09:00+00', 'Attended fewer days than the event asks');
"""


def build_history(session, ctx) -> dict[str, uuid.UUID]:
    ids = {name: uuid.uuid4() for name in (
        "ada", "ben", "biology", "chemistry", "art", "e_biology", "e_chemistry", "e_art",
        "fair", "sports", "team", "r_fair", "r_sports")}  # fmt: skip
    for statement in HISTORY_SQL.split(";\n"):
        if statement.strip():
            session.execute(text(statement), {**ids, "school": ctx.school_id})
    return ids


@pytest.fixture
def history(session, ctx) -> dict[str, uuid.UUID]:
    return build_history(session, ctx)


def test_the_lookup_shows_the_students_courses_attendance_and_events(session, ctx, history):
    found = lookup_student(session, ctx, " S100 ")
    assert (found.student.id, found.student.full_name, found.student.active_course_count) == (
        history["ada"], "Ada Lovelace", 2)  # fmt: skip
    assert [(e.course_name, e.active, e.enrolled_on, e.ended_on, e.source,
             e.progress_percent) for e in found.enrollments] == [
        ("Art", True, date(2026, 9, 1), None, "request", None),
        ("Biology", True, date(2026, 9, 1), None, "import", 40),
        ("Chemistry", False, date(2026, 9, 1), date(2026, 10, 30), "manual", None),
    ]  # fmt: skip
    assert found.enrollments[0].periods == (
        (date(2026, 9, 1), date(2026, 9, 30)), (date(2026, 11, 1), None))  # fmt: skip
    assert found.enrollments[0].period_text.startswith("enrolled 1 Sep")
    assert [(a.course_name, a.sessions_held, a.present, a.absent, a.late, a.excused, a.rate)
            for a in found.attendance] == [
        ("Art", 1, 1, 0, 0, 0, 1.0),
        ("Biology", 3, 1, 1, 1, 0, pytest.approx(2 / 3)),
        ("Chemistry", 2, 1, 0, 0, 1, 1.0),  # the excused one counts neither way
    ]  # fmt: skip

    sports, fair = found.registrations  # newest event first
    assert (fair.event_name, fair.starts_on, fair.ends_on, fair.registration_no, fair.status,
            fair.team_name, fair.days_attended, fair.feedback_rating, fair.feedback_comments) == (
        "Science Fair", date(2026, 5, 14), date(2026, 5, 15), "R-000007", "registered",
        "Quantum Quokkas", (date(2026, 5, 14), date(2026, 5, 15)), 4, "Loved it!")  # fmt: skip
    assert [(c.certificate_no, c.kind, c.status, c.revoke_reason) for c in fair.certificates] == [
        ("C-000041", "participation", "revoked", "Name misspelled; reissued"),
        ("C-000042", "participation", "live", None),
    ]  # fmt: skip
    revoked = fair.certificates[0]
    assert revoked.issued_at == datetime(2026, 5, 17, 10, tzinfo=UTC)
    assert revoked.revoked_at == datetime(2026, 5, 17, 12, tzinfo=UTC)
    assert (sports.event_name, sports.team_name, sports.days_attended, sports.feedback_rating) == (
        "Sports Day", None, (date(2026, 6, 1),), None)  # fmt: skip
    (flagged,) = sports.certificates
    assert (flagged.certificate_no, flagged.status, flagged.flag_reason) == (
        "C-000050", "flagged", "Attended fewer days than the event asks")  # fmt: skip


def test_the_lookup_finds_the_student_by_id_too_and_costs_three_statements(
    db, session, ctx, history
):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        by_id = lookup_student(session, ctx, history["ada"])
        by_typed_id = lookup_student(session, ctx, str(history["ada"]))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # One per section: the student with their enrollments, the attendance, the events
    # (whatever the number of courses, registrations or certificates).
    assert len(statements) == 6
    assert by_id == by_typed_id == lookup_student(session, ctx, "S100")


def test_a_student_without_history_has_empty_sections(session, ctx, history):
    session.execute(text(
        "INSERT INTO student (id, school_id, student_no, first_name, last_name) "
        "VALUES (gen_random_uuid(), :school, 'S300', 'Cleo', 'New')"),
        {"school": ctx.school_id})  # fmt: skip
    found = lookup_student(session, ctx, "S300")
    assert found.student.full_name == "Cleo New"
    assert (found.enrollments, found.attendance, found.registrations) == ([], [], [])


def test_an_unknown_or_removed_number_says_so_in_one_line(session, ctx, history):
    with pytest.raises(NotFound) as info:
        lookup_student(session, ctx, " S999 ")
    assert str(info.value) == (
        "No student has the number 'S999'; search by name on the Students page.")  # fmt: skip
    with pytest.raises(NotFound, match="no longer exists"):
        lookup_student(session, ctx, uuid.uuid4())
    session.execute(text("UPDATE student SET deleted_at = now() WHERE student_no = 'S200'"))
    with pytest.raises(NotFound, match="'S200'"):
        lookup_student(session, ctx, "S200")
    with pytest.raises(NotFound, match="'s100'"):  # numbers are exact
        lookup_student(session, ctx, "s100")


def _cli(db, capsys, *args: str) -> tuple[int, str, str]:
    from app.cli import main

    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_lookup_from_the_command_line(db, capsys):
    with db.sessions.begin() as s:
        ids = build_history(s, db.context())  # committed: the command line sees it
    code, out, err = _cli(db, capsys, "lookup", "S100")
    assert code == 0, err
    assert out.splitlines()[0] == "Ada Lovelace (S100) · 7A · active · ada@example.org"
    sections = [line for line in out.splitlines() if line and not line.startswith(" ")][1:]
    assert sections == ["Enrollments", "Attendance", "Events"]
    assert "Chemistry" in out and "ended" in out and "(source: manual)" in out
    assert "rate 67%" in out
    assert (
        "Science Fair (14 May 2026–15 May 2026): R-000007, registered, team Quantum Quokkas" in out
    )
    assert "days attended: 14 May 2026, 15 May 2026" in out
    assert 'feedback: 4/5 "Loved it!"' in out
    assert (
        "certificate C-000041 (participation, issued 17 May 2026), revoked: Name misspelled" in out
    )
    assert "certificate C-000050 (merit, issued 03 Jun 2026), flagged: Attended fewer" in out

    code, out, err = _cli(db, capsys, "lookup", str(ids["ada"]), "--json")
    assert code == 0, err
    found = json.loads(out)
    assert found["student"]["student_no"] == "S100"
    assert found["student"]["full_name"] == "Ada Lovelace"
    art = found["enrollments"][0]
    assert (art["course_name"], art["enrolled_on"], art["ended_on"], art["source"]) == (
        "Art", "2026-09-01", None, "request")  # fmt: skip
    assert art["periods"] == [["2026-09-01", "2026-09-30"], ["2026-11-01", None]]
    assert art["period_text"].startswith("enrolled 1 Sep")
    biology = found["attendance"][1]
    assert (biology["course_name"], biology["sessions_held"], round(biology["rate"], 4)) == (
        "Biology", 3, 0.6667)  # fmt: skip
    fair = found["registrations"][1]
    assert {key: fair[key] for key in ("event_name", "starts_on", "registration_no", "team_name",
                                       "days_attended", "feedback_rating")} == {
        "event_name": "Science Fair", "starts_on": "2026-05-14", "registration_no": "R-000007",
        "team_name": "Quantum Quokkas", "days_attended": ["2026-05-14", "2026-05-15"],
        "feedback_rating": 4}  # fmt: skip
    assert [(c["certificate_no"], c["status"], c["revoked_at"] and datetime.fromisoformat(
        c["revoked_at"])) for c in fair["certificates"]] == [
        ("C-000041", "revoked", datetime(2026, 5, 17, 12, tzinfo=UTC)),
        ("C-000042", "live", None)]  # fmt: skip

    code, out, err = _cli(db, capsys, "lookup", "S999")
    assert code == 2 and out == ""
    assert (
        err == "rollbook: No student has the number 'S999'; search by name on the Students page.\n"
    )
