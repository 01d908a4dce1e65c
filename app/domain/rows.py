"""Frozen dataclasses that services hand out. Safe to pass between threads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class SchoolRow:
    id: uuid.UUID
    code: str
    name: str


@dataclass(frozen=True)
class StudentRow:
    id: uuid.UUID
    student_no: str
    first_name: str
    last_name: str
    email: str | None
    class_name: str | None
    grade_level: int | None
    birth_date: date | None
    status: str
    state_id: str | None
    sourced_id: str | None
    row_version: int
    updated_at: datetime
    active_course_count: int = 0

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class StudentPage:
    rows: list[StudentRow]
    offset: int
    limit: int
    has_more: bool


@dataclass(frozen=True)
class CourseRow:
    id: uuid.UUID
    code: str | None
    name: str
    term: str | None
    active: bool


class EnrollmentOutcome(StrEnum):
    CREATED = "created"
    REACTIVATED = "reactivated"
    UNCHANGED = "unchanged"
    DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class EnrollmentRow:
    id: uuid.UUID
    student_id: uuid.UUID
    course_id: uuid.UUID
    course_name: str
    active: bool
    enrolled_on: date
    ended_on: date | None
    source: str
    progress_percent: Decimal | None


@dataclass(frozen=True)
class EnrollmentResult:
    enrollment: EnrollmentRow
    outcome: EnrollmentOutcome
    course_created: bool = False
