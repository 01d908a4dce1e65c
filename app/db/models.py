"""The whole Rollbook schema as SQLAlchemy 2 typed models.

Enum-like columns are text with CHECK constraints generated from ``app.domain.enums``;
ranges (percent, rating, times) are CHECKed too. Tombstones: ``deleted_at``.
Functions and triggers (row_version bump, search vector) live in the migrations.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, DATEMULTIRANGE, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import XID8, Base, SchoolDataMixin, TimestampedMixin, enum_check, new_id
from app.domain.enums import (
    AttendanceStatus,
    CertificateKind,
    EnrollmentSource,
    EventStatus,
    PriorityLevel,
    RegistrationStatus,
    RequestStatus,
    RunKind,
    RunStatus,
    SessionFrequency,
    SessionMode,
    SessionStatus,
    StudentStatus,
    TeacherAttendance,
    UserRole,
)
from app.domain.text_limits import COURSE_TEXT_LIMITS, STUDENT_TEXT_LIMITS

UUIDCol = UUID(as_uuid=True)
TZ = DateTime(timezone=True)


def fk(target: str, *, ondelete: str | None = None, nullable: bool = False, index: bool = True):
    return mapped_column(
        UUIDCol, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
    )


class School(TimestampedMixin, Base):
    __tablename__ = "school"
    __table_args__ = (
        CheckConstraint(
            "(certificate_logo IS NULL) = (certificate_logo_type IS NULL) AND "
            "(certificate_logo_type IS NULL OR certificate_logo_type IN ('png', 'jpeg', 'svg'))",
            name="certificate_logo_typed",
        ),
        CheckConstraint("idle_lock_minutes BETWEEN 0 AND 480", name="idle_lock_minutes_range"),
    )

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    # The school's attendance rule: an excused absence carries a reason (the note).
    excused_needs_reason: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Its own certificate design (app.services.certificate_print): an SVG template, a
    # logo; NULL prints Rollbook's design, without a logo. Deferred: reading the school
    # (every start) does not fetch a logo of up to 2 MB.
    certificate_template: Mapped[str | None] = mapped_column(Text, deferred=True)
    certificate_logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    certificate_logo_type: Mapped[str | None] = mapped_column(Text)
    # Accounts (migration 0018): a linked account signs in anyway when this is set; the
    # window locks after this many idle minutes (0: never); repair is the admin's
    # unless registrars are allowed.
    require_passwords: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    idle_lock_minutes: Mapped[int] = mapped_column(Integer, server_default="15")
    registrars_may_repair: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class AppUser(SchoolDataMixin, Base):
    __tablename__ = "app_user"
    __table_args__ = (
        enum_check("role", UserRole),
        Index("uq_app_user_os_login", "school_id", "os_login", unique=True,
              postgresql_where=text("os_login IS NOT NULL")),
    )  # fmt: skip

    username: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Sign-in (migration 0018): five failures in a row lock the account for a while;
    # the hash and these are kept out of the audit log (password_changed_at is not).
    failed_logins: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(TZ)
    # The operating-system login this account is (the CLI acts as it, like peer auth).
    os_login: Mapped[str | None] = mapped_column(Text)
    password_changed_at: Mapped[datetime | None] = mapped_column(TZ)
    last_login_at: Mapped[datetime | None] = mapped_column(TZ)


def natural_order(value):
    """The order people read names with numbers in ("1A", "2A", "10A"): the value with its
    digit runs padded, as bytes (rollbook_natural_key, migration 0008)."""
    return func.rollbook_natural_key(value)


STUDENT_SORT_NAME = "public.rollbook_fold(last_name) || chr(1) || public.rollbook_fold(first_name)"
STUDENT_SEARCH_VECTOR = (
    "public.rollbook_student_search_vector(first_name, last_name, student_no, email)"
)


def length_checks(limits: dict[str, int]) -> list[CheckConstraint]:
    """CHECK (char_length(col) <= N) per limited text column, ck_<table>_<col>_length
    (migration 0013; existing over-long rows may leave one NOT VALID, see there)."""
    return [
        CheckConstraint(f"char_length({column}) <= {limit}", name=f"{column}_length")
        for column, limit in limits.items()
    ]


class Student(SchoolDataMixin, Base):
    __tablename__ = "student"
    __table_args__ = (
        enum_check("status", StudentStatus),
        CheckConstraint("btrim(student_no) <> ''", name="student_no_not_blank"),
        CheckConstraint("btrim(first_name) <> '' OR btrim(last_name) <> ''", name="has_name"),
        CheckConstraint("grade_level BETWEEN -1 AND 13", name="grade_level_range"),
        CheckConstraint("email IS NULL OR email LIKE '%_@_%'", name="email_shape"),
        *length_checks(STUDENT_TEXT_LIMITS),
        # Unique among live rows only: a tombstoned student frees its number and email.
        Index(
            "uq_student_no_per_school",
            "school_id",
            "student_no",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "uq_student_email_per_school",
            "school_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("deleted_at IS NULL AND email IS NOT NULL"),
        ),
        Index("ix_student_search_vector", "search_vector", postgresql_using="gin"),
        # The list's order, with the words a search checks: a search walks it in name
        # order without reading the table (migration 0003).
        Index(
            "ix_student_name",
            "school_id",
            "sort_name",
            "id",
            postgresql_include=["search_vector"],
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Natural class order ("2A" before "10A"), then the name itself (migration 0008).
        Index("ix_student_class", "school_id", natural_order(text("class_name")), "class_name"),
        Index("ix_student_status", "school_id", "status"),
    )

    student_no: Mapped[str] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text, server_default="")
    last_name: Mapped[str] = mapped_column(Text, server_default="")
    email: Mapped[str | None] = mapped_column(Text)
    class_name: Mapped[str | None] = mapped_column(Text)
    # -1 = pre-kindergarten, 0 = kindergarten, 1..13 grades.
    grade_level: Mapped[int | None] = mapped_column(SmallInteger)
    birth_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, server_default=StudentStatus.ACTIVE.value)
    state_id: Mapped[str | None] = mapped_column(Text)  # Ed-Fi StudentUniqueId
    sourced_id: Mapped[str | None] = mapped_column(Text)  # OneRoster sourcedId
    # Name order: accent- and case-folded "last\x01first", compared byte by byte, so it
    # is the same on every machine whatever its collation ("Ñúñez" sorts with the N's).
    # Stored, so sorting a page never calls a function per row.
    sort_name: Mapped[str] = mapped_column(
        Text(collation="C"), Computed(STUDENT_SORT_NAME, persisted=True), deferred=True
    )
    # Deferred: only the search predicate reads it; loading it with every row is waste.
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(STUDENT_SEARCH_VECTOR, persisted=True), deferred=True
    )


class Course(SchoolDataMixin, Base):
    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint("btrim(name) <> ''", name="name_not_blank"),
        *length_checks(COURSE_TEXT_LIMITS),
        Index(
            "uq_course_name_per_school",
            "school_id",
            func.lower(text("name")),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_course_code", "school_id", "code"),
    )

    code: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    term: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    sourced_id: Mapped[str | None] = mapped_column(Text)


class CourseEnrollment(SchoolDataMixin, Base):
    __tablename__ = "course_enrollment"
    school_fk = False
    __table_args__ = (
        UniqueConstraint("course_id", "student_id", name="uq_course_enrollment_once"),
        Index("ix_course_enrollment_course", "course_id"),
        Index("ix_course_enrollment_student", "student_id"),
        enum_check("source", EnrollmentSource),
        CheckConstraint("ended_on IS NULL OR ended_on >= enrolled_on", name="ended_after_start"),
    )

    course_id: Mapped[uuid.UUID] = fk("course.id", index=False)
    student_id: Mapped[uuid.UUID] = fk("student.id", index=False)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # The first day of the first period, and the end of the last one while inactive.
    enrolled_on: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    ended_on: Mapped[date | None] = mapped_column(Date)
    # Every period the student was enrolled, [from, until): re-enrolling adds one
    # (app.services.enrollment_writer), so past registers stay right. Filled from
    # enrolled_on/ended_on by a trigger when an insert leaves it out.
    periods: Mapped[Any] = mapped_column(DATEMULTIRANGE)
    source: Mapped[str] = mapped_column(Text, server_default=EnrollmentSource.MANUAL.value)


class EnrollmentRequest(SchoolDataMixin, Base):
    __tablename__ = "enrollment_request"
    school_fk = False
    __table_args__ = (
        enum_check("status", RequestStatus),
        Index(
            "uq_enrollment_request_one_pending",
            "student_id",
            "course_id",
            unique=True,
            postgresql_where=text("status = 'pending' AND deleted_at IS NULL"),
        ),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)", name="decided_when_not_pending"
        ),
        Index("ix_enrollment_request_status", "school_id", "status", "requested_at"),
    )

    student_id: Mapped[uuid.UUID] = fk("student.id")
    course_id: Mapped[uuid.UUID] = fk("course.id")
    status: Mapped[str] = mapped_column(Text, server_default=RequestStatus.PENDING.value)
    requested_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(TZ)
    decided_by: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # the request's own: why it was made
    decision_note: Mapped[str | None] = mapped_column(Text)  # why it was rejected/withdrawn


class CourseProgress(SchoolDataMixin, Base):
    __tablename__ = "course_progress"
    school_fk = False
    __table_args__ = (
        UniqueConstraint("student_id", "course_id", name="uq_course_progress_once"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
        Index("ix_course_progress_course", "course_id"),
    )

    student_id: Mapped[uuid.UUID] = fk("student.id", index=False)
    course_id: Mapped[uuid.UUID] = fk("course.id", index=False)
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), server_default="0")
    last_activity_at: Mapped[datetime | None] = mapped_column(TZ)


class LegacyGroup(SchoolDataMixin, Base):
    __tablename__ = "legacy_group"
    __table_args__ = (
        Index(
            "uq_legacy_group_per_course",
            "school_id",
            func.lower(text("course_name")),
            func.lower(text("name")),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(Text)
    team_number: Mapped[int | None] = mapped_column(Integer)
    # The course as the older system named it, and the Rollbook course it maps to.
    course_name: Mapped[str] = mapped_column(Text)
    course_id: Mapped[uuid.UUID | None] = fk("course.id", nullable=True)


class LegacyGroupMember(SchoolDataMixin, Base):
    __tablename__ = "legacy_group_member"
    school_fk = False
    __table_args__ = (
        UniqueConstraint("group_id", "student_id", name="uq_legacy_group_member_once"),
        Index("ix_legacy_group_member_student", "student_id"),
    )

    group_id: Mapped[uuid.UUID] = fk("legacy_group.id", ondelete="CASCADE", index=False)
    student_id: Mapped[uuid.UUID] = fk("student.id", index=False)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class ClassSession(SchoolDataMixin, Base):
    __tablename__ = "class_session"
    school_fk = False
    __table_args__ = (
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        enum_check("session_mode", SessionMode),
        enum_check("teacher_attendance_status", TeacherAttendance),
        enum_check("priority_level", PriorityLevel),
        enum_check("session_frequency", SessionFrequency),
        enum_check("status", SessionStatus),
        CheckConstraint("alarm_before_minutes >= 0", name="alarm_before_not_negative"),
        CheckConstraint("jsonb_typeof(topics) = 'array'", name="topics_is_array"),
        CheckConstraint("jsonb_typeof(topics_covered) = 'array'", name="topics_covered_is_array"),
        CheckConstraint(
            "recurring_pattern IS NULL OR jsonb_typeof(recurring_pattern) = 'object'",
            name="recurring_pattern_is_object",
        ),
        # A course's lessons, a class's lessons of a course, by date (the register's
        # "sessions held since enrollment").
        Index("ix_class_session_course", "course_id", "class_name", "session_date"),
        Index("ix_class_session_date", "school_id", "session_date"),
        Index("ix_class_session_status", "school_id", "status"),
        Index(
            "ix_class_session_featured",
            "school_id",
            "session_date",
            postgresql_where=text("is_featured"),
        ),
        Index("ix_class_session_recurring", "series_id", postgresql_where=text("is_recurring")),
    )

    course_id: Mapped[uuid.UUID] = fk("course.id", index=False)
    # The class the lesson is taught to ("7A"); NULL when the whole course meets. The
    # register of a lesson for a class lists the course's students of that class.
    class_name: Mapped[str | None] = mapped_column(Text)
    session_date: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(
        Integer,
        Computed("(EXTRACT(EPOCH FROM (end_time - start_time)) / 60)::integer", persisted=True),
    )
    session_mode: Mapped[str] = mapped_column(Text, server_default=SessionMode.IN_PERSON.value)
    location: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    topics_covered: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    teacher_attendance_status: Mapped[str | None] = mapped_column(Text)
    priority_level: Mapped[str] = mapped_column(Text, server_default=PriorityLevel.MEDIUM.value)
    is_recurring: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    session_frequency: Mapped[str] = mapped_column(
        Text, server_default=SessionFrequency.ONE_TIME.value
    )
    # {"days": [...], "months": [...], "specific_dates": [...]}
    recurring_pattern: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    series_id: Mapped[uuid.UUID | None] = mapped_column(UUIDCol)
    notification_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    alarm_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    alarm_before_minutes: Mapped[int] = mapped_column(Integer, server_default="15")
    is_featured: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    status: Mapped[str] = mapped_column(Text, server_default=SessionStatus.SCHEDULED.value)
    cancel_reason: Mapped[str | None] = mapped_column(Text)  # why it was cancelled, if said


class SessionAttendance(SchoolDataMixin, Base):
    __tablename__ = "session_attendance"
    school_fk = False
    __table_args__ = (
        UniqueConstraint("session_id", "enrollment_id", name="uq_session_attendance_once"),
        enum_check("status", AttendanceStatus),
        Index("ix_session_attendance_enrollment", "enrollment_id"),
        CheckConstraint(
            "minutes_late IS NULL OR (status = 'late' AND minutes_late BETWEEN 1 AND 600)",
            name="minutes_late_only_when_late",
        ),
    )

    session_id: Mapped[uuid.UUID] = fk("class_session.id", ondelete="CASCADE", index=False)
    enrollment_id: Mapped[uuid.UUID] = fk("course_enrollment.id", ondelete="CASCADE", index=False)
    status: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    minutes_late: Mapped[int | None] = mapped_column(Integer)
    marked_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    marked_by: Mapped[str | None] = mapped_column(Text)


class Event(SchoolDataMixin, Base):
    __tablename__ = "event"
    __table_args__ = (
        enum_check("status", EventStatus),
        CheckConstraint("btrim(name) <> ''", name="name_not_blank"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint(
            "registration_closes_at IS NULL OR registration_opens_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name="registration_window_order",
        ),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint(
            "team_size_min >= 1 AND team_size_max >= team_size_min", name="team_size_range"
        ),
        CheckConstraint("certificate_min_days >= 0", name="certificate_min_days_not_negative"),
        CheckConstraint("allow_individual OR allow_teams", name="allows_someone"),
        Index("ix_event_starts_on", "school_id", "starts_on"),
    )

    name: Mapped[str] = mapped_column(Text)
    venue: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    registration_opens_at: Mapped[datetime | None] = mapped_column(TZ)
    registration_closes_at: Mapped[datetime | None] = mapped_column(TZ)
    capacity: Mapped[int | None] = mapped_column(Integer)
    team_size_min: Mapped[int] = mapped_column(Integer, server_default="1")
    team_size_max: Mapped[int] = mapped_column(Integer, server_default="1")
    allow_individual: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    allow_teams: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    certificate_min_days: Mapped[int] = mapped_column(Integer, server_default="1")
    status: Mapped[str] = mapped_column(Text, server_default=EventStatus.DRAFT.value)


class EventTeam(SchoolDataMixin, Base):
    __tablename__ = "event_team"
    school_fk = False
    __table_args__ = (
        Index(
            "uq_event_team_name",
            "event_id",
            func.lower(text("name")),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        CheckConstraint("btrim(name) <> ''", name="name_not_blank"),
    )

    event_id: Mapped[uuid.UUID] = fk("event.id", index=False)
    name: Mapped[str] = mapped_column(Text)


class EventRegistration(SchoolDataMixin, Base):
    __tablename__ = "event_registration"
    school_fk = False
    __table_args__ = (
        UniqueConstraint("event_id", "student_id", name="uq_event_registration_once"),
        UniqueConstraint("school_id", "registration_no", name="uq_event_registration_no"),
        enum_check("status", RegistrationStatus),
        Index("ix_event_registration_student", "student_id"),
        Index("ix_event_registration_team", "team_id"),
    )

    event_id: Mapped[uuid.UUID] = fk("event.id", index=False)
    student_id: Mapped[uuid.UUID] = fk("student.id", index=False)
    team_id: Mapped[uuid.UUID | None] = fk("event_team.id", nullable=True, index=False)
    registration_no: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default=RegistrationStatus.REGISTERED.value)


class EventAttendance(SchoolDataMixin, Base):
    __tablename__ = "event_attendance"
    school_fk = False
    __table_args__ = (
        UniqueConstraint("registration_id", "attended_on", name="uq_event_attendance_once"),
    )

    registration_id: Mapped[uuid.UUID] = fk("event_registration.id", index=False)
    attended_on: Mapped[date] = mapped_column(Date)
    checked_in_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class EventFeedback(SchoolDataMixin, Base):
    __tablename__ = "event_feedback"
    school_fk = False
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    registration_id: Mapped[uuid.UUID] = mapped_column(
        UUIDCol, ForeignKey("event_registration.id"), unique=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    comments: Mapped[str | None] = mapped_column(Text)


class Certificate(SchoolDataMixin, Base):
    __tablename__ = "certificate"
    school_fk = False
    __table_args__ = (
        enum_check("kind", CertificateKind),
        UniqueConstraint("school_id", "certificate_no", name="uq_certificate_no"),
        Index(
            "uq_certificate_live_per_kind",
            "registration_id",
            "kind",
            unique=True,
            postgresql_where=text("revoked_at IS NULL AND deleted_at IS NULL"),
        ),
        # Every certificate of a registration, revoked ones too (the lookup lists them).
        Index("ix_certificate_registration", "registration_id"),
        CheckConstraint(
            "revoked_at IS NULL OR revoke_reason IS NOT NULL", name="revoke_has_reason"
        ),
        CheckConstraint(
            "revocation_flagged_at IS NULL OR revocation_flag_reason IS NOT NULL",
            name="revocation_flag_has_reason",
        ),
    )

    registration_id: Mapped[uuid.UUID] = fk("event_registration.id", index=False)
    kind: Mapped[str] = mapped_column(Text)
    certificate_no: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    issued_by: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(Text)
    # Set by the consistency repair: the certificate no longer meets its event's rules
    # and waits for a person to revoke it (or clear the flag).
    revocation_flagged_at: Mapped[datetime | None] = mapped_column(TZ)
    revocation_flag_reason: Mapped[str | None] = mapped_column(Text)


class NumberSequence(SchoolDataMixin, Base):
    __tablename__ = "number_sequence"
    __table_args__ = (
        UniqueConstraint("school_id", "name", name="uq_number_sequence_name"),
        CheckConstraint("next_value >= 1", name="next_value_positive"),
    )

    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text, server_default="")
    next_value: Mapped[int] = mapped_column(BigInteger, server_default="1")


class MaintenanceRun(SchoolDataMixin, Base):
    """The run history (app.runs): this desktop's record of its runs, not school data."""

    __tablename__ = "maintenance_run"
    captured = False
    __table_args__ = (
        enum_check("kind", RunKind),
        enum_check("status", RunStatus),
        Index("ix_maintenance_run_started", "school_id", "started_at"),
    )

    kind: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    status: Mapped[str] = mapped_column(Text, server_default=RunStatus.RUNNING.value)
    started_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(TZ)
    # The backup taken just before an applied run (a file in <data dir>/backups).
    backup_file: Mapped[str | None] = mapped_column(Text)


class ImportRejectedRow(SchoolDataMixin, Base):
    __tablename__ = "import_rejected_row"
    captured = False  # kept with its run, like the run itself
    school_fk = False
    __table_args__ = (Index("ix_import_rejected_row_run", "run_id", "line_no"),)

    run_id: Mapped[uuid.UUID] = fk("maintenance_run.id", ondelete="CASCADE", index=False)
    line_no: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB)
    errors: Mapped[list[Any]] = mapped_column(JSONB)


class AuditLog(Base):
    """Written by the database (rollbook_capture, migrations 0004–0005), never by Rollbook's
    code: one entry per changed row. Append-only: a trigger refuses UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint("origin IN ('local', 'sync')", name="origin_valid"),
        # A row's history: ids are unique across tables, so the id alone finds it (half
        # the cost per captured row of an index on (entity, entity_id)).
        Index("ix_audit_log_entity_id", "entity_id"),
        Index("ix_audit_log_run", "run_id", postgresql_where=text("run_id IS NOT NULL")),
        # Entries are appended in time order: a BRIN index answers "between these dates"
        # for next to nothing per row.
        Index("ix_audit_log_at", "at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    # No foreign keys: the history stays as written, and checking two keys for every
    # entry of a bulk run would cost more than the entry itself.
    school_id: Mapped[uuid.UUID] = mapped_column(UUIDCol)
    at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(UUIDCol)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUIDCol)
    # The writing transaction (the offline sync pushes local changes by transaction)
    # and whether the change was made here or pulled from the school server.
    txid: Mapped[str | None] = mapped_column(XID8)
    origin: Mapped[str] = mapped_column(Text, server_default="local")


# ---------------------------------------------------------------- offline sync (app/sync)
# Bookkeeping of the sync itself, never synced nor captured. The desktop side:


class SyncState(Base):
    """One desktop's standing with the school server, per school."""

    __tablename__ = "sync_state"

    school_id: Mapped[uuid.UUID] = mapped_column(
        UUIDCol, ForeignKey("school.id", name="fk_sync_state_school_id_school"), primary_key=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(UUIDCol)
    device_name: Mapped[str] = mapped_column(Text)
    server: Mapped[str] = mapped_column(Text)  # where, without credentials
    # Local audit entries up to this id are all pushed; above it, the transactions in
    # sync_pushed_tx are (an entry's id is not its commit order).
    push_floor: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # The server's transaction id (xid8) every pull starts from, as text.
    pull_cursor: Mapped[str | None] = mapped_column(Text)
    initial_table: Mapped[int | None] = mapped_column(Integer)
    initial_after: Mapped[uuid.UUID | None] = mapped_column(UUIDCol)
    initial_done: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    last_sync_at: Mapped[datetime | None] = mapped_column(TZ)
    last_attempt_at: Mapped[datetime | None] = mapped_column(TZ)
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, server_default="0")
    next_retry_at: Mapped[datetime | None] = mapped_column(TZ)
    # How many numbers one reservation of registration or certificate numbers takes.
    number_block_size: Mapped[int] = mapped_column(Integer, server_default="50")


class SyncPushedTx(Base):
    """Local transactions already pushed whose entries lie above the push floor."""

    __tablename__ = "sync_pushed_tx"

    school_id: Mapped[uuid.UUID] = mapped_column(UUIDCol, primary_key=True)
    txid: Mapped[str] = mapped_column(Text, primary_key=True)


class SyncConflict(Base):
    """What a push could not apply, kept for a person to decide (one row per column)."""

    __tablename__ = "sync_conflict"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('column', 'edit_delete', 'delete_edit', 'duplicate_key', 'missing_row', "
            "'refused')",
            name="kind_valid",
        ),  # fmt: skip
        # A retried push answers with the stored result: it must not be recorded twice.
        UniqueConstraint("op_id", "kind", "column_name", name="uq_sync_conflict_once"),
        Index("ix_sync_conflict_open", "school_id", postgresql_where=text("resolved_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUIDCol, primary_key=True,
                                          server_default=text("gen_random_uuid()"))  # fmt: skip
    school_id: Mapped[uuid.UUID] = mapped_column(UUIDCol)
    op_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[uuid.UUID] = mapped_column(UUIDCol)
    column_name: Mapped[str] = mapped_column(Text, server_default="")
    base: Mapped[Any | None] = mapped_column(JSONB)
    local: Mapped[Any | None] = mapped_column(JSONB)
    server: Mapped[Any | None] = mapped_column(JSONB)
    existing_id: Mapped[uuid.UUID | None] = mapped_column(UUIDCol)
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(TZ)
    resolution: Mapped[str | None] = mapped_column(Text)


# The server side:


class SyncDevice(Base):
    """A desktop allowed to sync one school (`rollbook server add-device`)."""

    __tablename__ = "sync_device"
    __table_args__ = (Index("uq_sync_device_name", "school_id", text("lower(name)"), unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(UUIDCol, primary_key=True,
                                          server_default=text("gen_random_uuid()"))  # fmt: skip
    school_id: Mapped[uuid.UUID] = mapped_column(
        UUIDCol, ForeignKey("school.id", name="fk_sync_device_school_id_school")
    )
    name: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    last_seen_at: Mapped[datetime | None] = mapped_column(TZ)
    # Away longer than the retention when a prune ran: the desktop must take a fresh copy.
    reinit_required: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class ServerLogin(Base):
    """On a school server: a PostgreSQL login and the one school it may see (a desktop's
    own, or a person's; migration 0020's row-level security reads it)."""

    __tablename__ = "server_login"
    __table_args__ = (
        CheckConstraint("kind IN ('device', 'person')", name="kind"),
        CheckConstraint("(kind = 'device') = (device_id IS NOT NULL)", name="device"),
    )

    role_name: Mapped[str] = mapped_column(Text, primary_key=True)
    school_id: Mapped[uuid.UUID] = mapped_column(
        UUIDCol, ForeignKey("school.id", name="fk_server_login_school_id_school")
    )
    kind: Mapped[str] = mapped_column(Text)
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        UUIDCol,
        ForeignKey("sync_device.id", name="fk_server_login_device_id_sync_device",
                   ondelete="CASCADE"),
    )  # fmt: skip
    person: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class SyncAppliedOp(Base):
    """Every pushed operation the server has taken, with its answer: a retry after a
    lost answer gets the same answer and applies nothing twice."""

    __tablename__ = "sync_applied_op"

    op_id: Mapped[str] = mapped_column(Text, primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(UUIDCol)
    result: Mapped[Any] = mapped_column(JSONB)
    applied_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class SyncServer(Base):
    """The server's one row: which schema revisions a push may carry."""

    __tablename__ = "sync_server"
    __table_args__ = (
        CheckConstraint("id", name="one_row"),
        CheckConstraint("retention_days > 0", name="retention_days_positive"),
    )

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    accepted_revisions: Mapped[list[str]] = mapped_column(ARRAY(Text))
    initialised_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    # How long tombstones stay before `rollbook server prune` removes them for good, and
    # when it last did (migration 0017).
    retention_days: Mapped[int] = mapped_column(Integer, server_default="180")
    pruned_at: Mapped[datetime | None] = mapped_column(TZ)


class ReservedNumbers(Base):
    """A block of registration or certificate numbers this desktop reserved from the
    school server, to issue offline (app.services.numbering): from ``next_value`` up to,
    not including, ``end_value``."""

    __tablename__ = "number_block"
    __table_args__ = (
        CheckConstraint("next_value <= end_value", name="within"),
        Index("ix_number_block_name", "school_id", "name", "next_value"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        UUIDCol, primary_key=True, server_default=text("gen_random_uuid()")
    )
    school_id: Mapped[uuid.UUID] = mapped_column(
        UUIDCol, ForeignKey("school.id", name="fk_number_block_school_id_school")
    )
    name: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(Text)
    next_value: Mapped[int] = mapped_column(BigInteger)
    end_value: Mapped[int] = mapped_column(BigInteger)
    reserved_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class SyncNumberBlock(Base):
    """The server's record of every block of numbers it handed to a desktop."""

    __tablename__ = "sync_number_block"

    id: Mapped[uuid.UUID] = mapped_column(
        UUIDCol, primary_key=True, server_default=text("gen_random_uuid()")
    )
    device_id: Mapped[uuid.UUID] = mapped_column(UUIDCol)
    school_id: Mapped[uuid.UUID] = mapped_column(UUIDCol)
    name: Mapped[str] = mapped_column(Text)
    first_value: Mapped[int] = mapped_column(BigInteger)
    end_value: Mapped[int] = mapped_column(BigInteger)
    reserved_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


# Tables whose rows carry row_version/updated_at maintained by rollbook_touch_row().
VERSIONED_TABLES = [
    table.name for table in Base.metadata.sorted_tables if "row_version" in table.columns
]
# Tables whose changes the database writes to the audit log (rollbook_capture).
CAPTURED_TABLES = sorted(
    mapper.class_.__tablename__
    for mapper in Base.registry.mappers
    if getattr(mapper.class_, "captured", False)
)

__all__ = ["Base", "new_id", "CAPTURED_TABLES", "VERSIONED_TABLES"]
