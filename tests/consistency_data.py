"""A small school with exactly one inconsistency of every kind, built with SQL the way
old data, other tools or interrupted syncs leave it (shared by the service and UI tests)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from course_setup import enroll_named
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.services.students import StudentInput, create_student

TODAY = date.today()


def _sql(session: Session, statement: str, **values) -> None:
    session.execute(text(statement), values)


def build_school(session: Session, ctx: ServiceContext) -> dict[str, uuid.UUID]:
    """Students S1..S8 enrolled in Art (consistent), then one finding of each kind."""
    ids: dict[str, uuid.UUID] = {}
    names = ["Zoë Müller", "Łukasz Nowak", "Chloé Dubois", "Seán O'Neill", "Ana Peña",
             "Björn Öberg", "Aoife Kelly", "Mei Wang"]  # fmt: skip
    for n, name in enumerate(names, start=1):
        first, last = name.split(" ", 1)
        student = create_student(session, ctx, StudentInput(f"S{n}", first, last))
        ids[f"S{n}"] = student.id
        ids[f"art_{n}"] = enroll_named(session, ctx, student.id, "Art").enrollment.id
    ids["art"] = session.execute(text("SELECT id FROM course WHERE name = 'Art'")).scalar_one()
    ids["chem"] = uuid.uuid4()
    school = ctx.school_id
    _sql(session, "INSERT INTO course (id, school_id, name) VALUES (:id, :s, 'Chemistry')",
         id=ids["chem"], s=school)  # fmt: skip
    # A consistent session everyone attended.
    ids["session"] = uuid.uuid4()
    _sql(session, """INSERT INTO class_session (id, school_id, course_id, session_date,
                     start_time, end_time) VALUES (:id, :s, :c, :d, '09:00', '10:00')""",
         id=ids["session"], s=school, c=ids["art"], d=TODAY)  # fmt: skip
    for n in range(1, 9):
        _sql(session, """INSERT INTO session_attendance (id, school_id, session_id,
                         enrollment_id, status) VALUES (gen_random_uuid(), :s, :cs, :e, 'present')""",
             s=school, cs=ids["session"], e=ids[f"art_{n}"])  # fmt: skip

    # 1 progress-only: progress in Chemistry, no enrollment at all.
    _sql(session, """INSERT INTO course_progress (id, school_id, student_id, course_id, percent)
                     VALUES (gen_random_uuid(), :s, :st, :c, 35)""",
         s=school, st=ids["S1"], c=ids["chem"])  # fmt: skip
    # 2 enrollment-only: S2's Art progress row is gone.
    _sql(session, "DELETE FROM course_progress WHERE student_id = :st", st=ids["S2"])
    # 3 approved-no-enrollment: S3 was approved for Chemistry, never enrolled.
    ids["approved"] = uuid.uuid4()
    _sql(session, """INSERT INTO enrollment_request (id, school_id, student_id, course_id, status,
                     decided_at, decided_by) VALUES (:id, :s, :st, :c, 'approved', now(), 'ines')""",
         id=ids["approved"], s=school, st=ids["S3"], c=ids["chem"])  # fmt: skip
    # 4 pending-but-enrolled: S4 asks for Art, already in it.
    ids["pending"] = uuid.uuid4()
    _sql(session, """INSERT INTO enrollment_request (id, school_id, student_id, course_id)
                     VALUES (:id, :s, :st, :c)""",
         id=ids["pending"], s=school, st=ids["S4"], c=ids["art"])  # fmt: skip
    # 5 attendance-not-enrolled: S5 marked present a week before enrolling.
    early = uuid.uuid4()
    _sql(session, """INSERT INTO class_session (id, school_id, course_id, session_date,
                     start_time, end_time) VALUES (:id, :s, :c, :d, '09:00', '10:00')""",
         id=early, s=school, c=ids["art"], d=TODAY - timedelta(days=7))  # fmt: skip
    ids["early_attendance"] = uuid.uuid4()
    _sql(session, """INSERT INTO session_attendance (id, school_id, session_id, enrollment_id,
                     status) VALUES (:id, :s, :cs, :e, 'present')""",
         id=ids["early_attendance"], s=school, cs=early, e=ids["art_5"])  # fmt: skip
    # Events: a two-day fair (certificates need both days) and a team quiz (teams of 2-3).
    ids["fair"], ids["quiz"] = uuid.uuid4(), uuid.uuid4()
    _sql(session, """INSERT INTO event (id, school_id, name, starts_on, ends_on,
                     certificate_min_days, status) VALUES (:id, :s, 'Science Fair', :a, :b, 2,
                     'completed')""", id=ids["fair"], s=school, a=TODAY - timedelta(days=10),
         b=TODAY - timedelta(days=9))  # fmt: skip
    _sql(session, """INSERT INTO event (id, school_id, name, starts_on, ends_on, team_size_min,
                     team_size_max, allow_teams, status) VALUES (:id, :s, 'Team Quiz', :a, :a, 2,
                     3, true, 'open')""", id=ids["quiz"], s=school, a=TODAY + timedelta(days=5))  # fmt: skip
    for n, status in ((6, "cancelled"), (7, "registered"), (8, "registered")):
        ids[f"reg_{n}"] = uuid.uuid4()
        _sql(session, """INSERT INTO event_registration (id, school_id, event_id, student_id,
                         registration_no, status) VALUES (:id, :s, :e, :st, :no, :status)""",
             id=ids[f"reg_{n}"], s=school, e=ids["fair"], st=ids[f"S{n}"], no=f"R-{n}",
             status=status)  # fmt: skip
    for n, days in ((6, 1), (7, 1), (8, 2)):
        for d in range(days):
            _sql(session, """INSERT INTO event_attendance (id, school_id, registration_id,
                             attended_on) VALUES (gen_random_uuid(), :s, :r, :d)""",
                 s=school, r=ids[f"reg_{n}"], d=TODAY - timedelta(days=10 - d))  # fmt: skip
    # 6 event-attendance-cancelled: S6 attended, registration cancelled (no certificate).
    # 7 certificate-ineligible: S7 came one day of two and got a certificate; S8 earned it.
    for n in (7, 8):
        ids[f"cert_{n}"] = uuid.uuid4()
        _sql(session, """INSERT INTO certificate (id, school_id, registration_id, kind,
                         certificate_no) VALUES (:id, :s, :r, 'participation', :no)""",
             id=ids[f"cert_{n}"], s=school, r=ids[f"reg_{n}"], no=f"C-{n}")  # fmt: skip
    # 8 team-size: a quiz team of one (minimum two); a full team of two is fine.
    for team, members in (("Lone Wolves", [1]), ("Quantum Otters", [2, 3])):
        team_id = uuid.uuid4()
        ids[team] = team_id
        _sql(session, "INSERT INTO event_team (id, school_id, event_id, name) VALUES (:id, :s, :e, :n)",
             id=team_id, s=school, e=ids["quiz"], n=team)  # fmt: skip
        for n in members:
            ids[f"quiz_{n}"] = uuid.uuid4()
            _sql(session, """INSERT INTO event_registration (id, school_id, event_id, student_id,
                             team_id, registration_no) VALUES (:id, :s, :e, :st, :t, :no)""",
                 id=ids[f"quiz_{n}"], s=school, e=ids["quiz"], st=ids[f"S{n}"], t=team_id,
                 no=f"Q-{n}")  # fmt: skip
    return ids
