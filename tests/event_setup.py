"""Events for check-in and certificate tests, written with plain SQL the way the
registration desk (or an older system) leaves them.

The Science Fair runs two days (Sat 10 – Sun 11 Oct 2026) and gives a participation
certificate for both; Quiz Night is one evening (Thu 5 Nov 2026), one day is enough.

| student | Science Fair                    | Quiz Night          |
|---------|---------------------------------|---------------------|
| S1 Ada  | REG-2026-00001 registered       |                     |
| S2 Ben  | REG-2026-00002 registered       |                     |
| S3 Cleo | REG-2026-00003 waitlisted       |                     |
| S4 Dan  | REG-2026-00004 cancelled        |                     |
| S5 Eve  | REG-2026-00005 registered       |                     |
| S6 Finn | REG-2026-00006 registered       |                     |
| S7 Gus  |                                 | REG-2026-00007 reg. |
| S8 Hana |                                 |                     |

With ``attended=True`` Ada, Eve and Finn came both fair days, Ben one, Dan both
(before he cancelled), and Eve already holds participation certificate CERT-2025-00012
(an earlier series: it cannot collide with the numbers the tests issue).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext

FAIR_DAYS = (date(2026, 10, 10), date(2026, 10, 11))
QUIZ_DAY = date(2026, 11, 5)
STUDENTS = {"S1": "Ada", "S2": "Ben", "S3": "Cleo", "S4": "Dan", "S5": "Eve", "S6": "Finn",
            "S7": "Gus", "S8": "Hana"}  # fmt: skip
FAIR = {"S1": "registered", "S2": "registered", "S3": "waitlisted", "S4": "cancelled",
        "S5": "registered", "S6": "registered"}  # fmt: skip
FAIR_ATTENDANCE = {"S1": 2, "S2": 1, "S4": 2, "S5": 2, "S6": 2}


def _sql(session: Session, statement: str, **values) -> None:
    session.execute(text(statement), values)


def add_student(session: Session, ctx: ServiceContext, number: str, first: str,
                last: str = "Marsh") -> uuid.UUID:  # fmt: skip
    student_id = uuid.uuid4()
    _sql(session, """INSERT INTO student (id, school_id, student_no, first_name, last_name)
                     VALUES (:id, :s, :no, :first, :last)""",
         id=student_id, s=ctx.school_id, no=number, first=first, last=last)  # fmt: skip
    return student_id


def add_event(session: Session, ctx: ServiceContext, name: str, starts_on: date,
              ends_on: date | None = None, *, min_days: int = 1,
              status: str = "open") -> uuid.UUID:  # fmt: skip
    event_id = uuid.uuid4()
    _sql(session, """INSERT INTO event (id, school_id, name, starts_on, ends_on,
                     certificate_min_days, status) VALUES (:id, :s, :name, :a, :b, :min, :status)""",
         id=event_id, s=ctx.school_id, name=name, a=starts_on, b=ends_on or starts_on,
         min=min_days, status=status)  # fmt: skip
    return event_id


def register(session: Session, ctx: ServiceContext, event_id: uuid.UUID, student_id: uuid.UUID,
             number: str, status: str = "registered") -> uuid.UUID:  # fmt: skip
    registration_id = uuid.uuid4()
    _sql(session, """INSERT INTO event_registration (id, school_id, event_id, student_id,
                     registration_no, status) VALUES (:id, :s, :e, :st, :no, :status)""",
         id=registration_id, s=ctx.school_id, e=event_id, st=student_id, no=number,
         status=status)  # fmt: skip
    return registration_id


def attend(session: Session, ctx: ServiceContext, registration_id: uuid.UUID, *days: date) -> None:
    for day in days:
        _sql(session, """INSERT INTO event_attendance (id, school_id, registration_id, attended_on)
                         VALUES (gen_random_uuid(), :s, :r, :d)""",
             s=ctx.school_id, r=registration_id, d=day)  # fmt: skip


def build_events(session: Session, ctx: ServiceContext, *, attended: bool = True) -> dict:
    """The fair and the quiz of the module docstring; ids by name ("fair", "quiz", "S1",
    "reg_S1", …)."""
    ids: dict = {}
    for number, first in STUDENTS.items():
        ids[number] = add_student(session, ctx, number, first)
    ids["fair"] = add_event(session, ctx, "Science Fair", *FAIR_DAYS, min_days=2)
    ids["quiz"] = add_event(session, ctx, "Quiz Night", QUIZ_DAY)
    for n, (number, status) in enumerate(FAIR.items(), start=1):
        ids[f"reg_{number}"] = register(session, ctx, ids["fair"], ids[number],
                                        f"REG-2026-{n:05d}", status)  # fmt: skip
    ids["reg_S7"] = register(session, ctx, ids["quiz"], ids["S7"], "REG-2026-00007")
    if attended:
        for number, days in FAIR_ATTENDANCE.items():
            attend(session, ctx, ids[f"reg_{number}"], *FAIR_DAYS[:days])
        _sql(session, """INSERT INTO certificate (id, school_id, registration_id, kind,
                         certificate_no) VALUES (gen_random_uuid(), :s, :r, 'participation',
                         'CERT-2025-00012')""", s=ctx.school_id, r=ids["reg_S5"])  # fmt: skip
    return ids


def crowd_event(session: Session, ctx: ServiceContext, name: str, starts_on: date, size: int,
                first_number: int) -> uuid.UUID:  # fmt: skip
    """An event with ``size`` registered students who all came (one day needed), their
    registration numbers from ``first_number`` on: one statement per table."""
    event_id = add_event(session, ctx, name, starts_on)
    tag = name.replace(" ", "")
    _sql(session, """
        WITH s AS (
            INSERT INTO student (id, school_id, student_no, first_name, last_name)
            SELECT gen_random_uuid(), :s, :tag || '-' || n, 'Pupil', :tag || ' ' || n
            FROM generate_series(1, :size) n RETURNING id, student_no),
        r AS (
            INSERT INTO event_registration (id, school_id, event_id, student_id, registration_no)
            SELECT gen_random_uuid(), :s, :e, s.id,
                   'REG-2026-' || lpad(CAST(:first + split_part(s.student_no, '-', 2)::int - 1
                                            AS text), 5, '0')
            FROM s RETURNING id)
        INSERT INTO event_attendance (id, school_id, registration_id, attended_on)
        SELECT gen_random_uuid(), :s, r.id, :day FROM r""",
         s=ctx.school_id, tag=tag, size=size, e=event_id, first=first_number, day=starts_on)  # fmt: skip
    return event_id
