"""A small school for register tests: five students of 7A, four enrolled in Biology
over different periods, and two Biology lessons."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from app.domain.enums import SessionFrequency
from app.domain.recurrence import Recurrence
from app.services.class_sessions import SessionPlan, schedule_sessions
from app.services.courses import create_course
from app.services.students import StudentInput, create_student

PERIODS = {
    "S1": "{[2026-09-01,)}",  # all term
    "S2": "{[2026-12-01,)}",  # joined in December
    "S3": "{[2026-09-01,2026-10-31),[2026-12-01,)}",  # left in October, back in December
    "S4": "{[2026-09-01,)}",  # enrolled, but inactive
}


def build_school(session, ctx) -> dict:
    """Five students of 7A, four enrolled in Biology over different periods, and a
    Biology lesson in September and one in November."""
    course = create_course(session, ctx, "Biology")
    students = {}
    for number, first in [("S1", "Ada"), ("S2", "Ben"), ("S3", "Cleo"), ("S4", "Dan"),
                          ("S5", "Eve")]:  # fmt: skip
        status = "inactive" if number == "S4" else "active"
        students[number] = create_student(
            session, ctx, StudentInput(number, first, "Marsh", class_name="7A", status=status)
        )
    enrollments = {}
    for number, periods in PERIODS.items():
        enrollments[number] = session.execute(text(
            "INSERT INTO course_enrollment (id, school_id, course_id, student_id, enrolled_on, "
            "periods) VALUES (gen_random_uuid(), :school, :course, :student, lower(CAST(:p AS "
            "datemultirange)), CAST(:p AS datemultirange)) RETURNING id"),
            {"school": ctx.school_id, "course": course.id, "student": students[number].id,
             "p": periods}).scalar_one()  # fmt: skip

    def lesson(day: date):
        plan = SessionPlan("Biology", Recurrence(SessionFrequency.ONE_TIME, first=day),
                           "09:00", "09:45", location="Lab 2")  # fmt: skip
        return schedule_sessions(session, ctx, plan).session_ids[0]

    return {"september": lesson(date(2026, 9, 15)), "november": lesson(date(2026, 11, 10)),
            "enrollments": enrollments}  # fmt: skip
