"""Frozen dataclasses that services hand out. Safe to pass between threads."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from app.domain.periods import describe_periods

RowT = TypeVar("RowT")


def rows_from_values(row_type: type[RowT], results: Iterable[Sequence]) -> list[RowT]:
    """Rows of ``row_type`` from result tuples holding every field in order.

    A frozen dataclass's __init__ sets each field through object.__setattr__, which
    for a page of students took a third as long as fetching it; filling the instance
    dictionary directly builds the same rows.
    """
    names = [field.name for field in fields(row_type)]  # type: ignore[arg-type]
    new = object.__new__
    rows = []
    for values in results:
        row = new(row_type)
        row.__dict__.update(zip(names, values, strict=True))
        rows.append(row)
    return rows


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
    periods: tuple[tuple[date, date | None], ...] = ()

    @property
    def period_text(self) -> str:
        """ "enrolled 3 Aug–14 Oct, again since 1 Dec" """
        return describe_periods(self.periods)


@dataclass(frozen=True)
class EnrollmentResult:
    enrollment: EnrollmentRow
    outcome: EnrollmentOutcome


@dataclass(frozen=True)
class EnrollmentListRow:
    id: uuid.UUID
    student_id: uuid.UUID
    student_no: str
    student_name: str
    course_id: uuid.UUID
    course_name: str
    active: bool
    enrolled_on: date
    ended_on: date | None
    progress_percent: Decimal | None
    row_version: int


@dataclass(frozen=True)
class SessionListRow:
    id: uuid.UUID
    course_id: uuid.UUID
    course_name: str
    session_date: date
    start_time: time
    end_time: time
    duration_minutes: int
    session_mode: str
    location: str | None
    status: str
    present: int
    absent: int
    late: int
    excused: int
    row_version: int
    class_name: str | None = None  # the class the lesson is for; None: the whole course

    @property
    def attendance_summary(self) -> str:
        return f"P {self.present} · A {self.absent} · L {self.late} · E {self.excused}"


@dataclass(frozen=True)
class RegistrationListRow:
    id: uuid.UUID
    event_id: uuid.UUID
    event_name: str
    registration_no: str
    student_id: uuid.UUID
    student_no: str
    student_name: str
    team_name: str | None
    status: str
    days_attended: int
    certificate_nos: str | None
    row_version: int


@dataclass(frozen=True)
class EventRow:
    id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date
    status: str


@dataclass(frozen=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    offset: int
    limit: int
    has_more: bool


@dataclass(frozen=True)
class AttendanceSummaryRow:
    """A student's attendance in one course: the sessions held since they enrolled
    (completed sessions of their register, and any they were marked in) and the marks."""

    course_name: str
    sessions_held: int
    present: int
    absent: int
    late: int
    excused: int

    @property
    def not_marked(self) -> int:
        return max(self.sessions_held - self.present - self.absent - self.late - self.excused, 0)

    @property
    def rate(self) -> float | None:
        """Present or late out of the marked sessions an excuse does not cover; None when
        there are none. Unmarked sessions count neither way: a register nobody took is
        not the student's absence."""
        counted = self.present + self.absent + self.late
        return (self.present + self.late) / counted if counted else None


@dataclass(frozen=True)
class RequestListRow:
    """An enrollment request as the Enrollment requests page shows it."""

    id: uuid.UUID
    student_id: uuid.UUID
    student_no: str
    student_name: str
    course_id: uuid.UUID
    course_name: str
    status: str
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None  # the request's own
    decision_note: str | None  # the reason given when it was rejected or withdrawn
    row_version: int


@dataclass(frozen=True)
class RequestDecisions:
    """What a bulk approve or reject did: the requests decided, and for every request
    that was not, why (it stays as it was)."""

    decided: list[uuid.UUID]
    failed: dict[uuid.UUID, str]
