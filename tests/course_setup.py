"""Test set-up: enroll a student in a course by name, creating the course first when the
school does not have it yet (Rollbook itself never creates a course while enrolling)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.rows import EnrollmentResult
from app.services.courses import find_or_create_course
from app.services.enrollments import set_course_enrollment


def enroll_named(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID, course_name: str
) -> EnrollmentResult:
    find_or_create_course(session, ctx, course_name)
    return set_course_enrollment(session, ctx, student_id, course_name)
