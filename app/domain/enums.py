"""Closed sets of values. The database enforces them with CHECK constraints built
from these same enums, so the two cannot drift apart."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    ADMIN = "admin"
    REGISTRAR = "registrar"
    STAFF = "staff"


class StudentStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    WITHDRAWN = "withdrawn"


class EnrollmentSource(StrEnum):
    MANUAL = "manual"
    IMPORT = "import"
    REQUEST = "request"
    BACKFILL = "backfill"
    SYNC = "sync"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class SessionMode(StrEnum):
    ONLINE = "online"
    IN_PERSON = "in-person"
    HYBRID = "hybrid"


class TeacherAttendance(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"


class PriorityLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class SessionFrequency(StrEnum):
    ONE_TIME = "one-time"
    WEEKLY = "weekly"
    BI_WEEKLY = "bi-weekly"
    MONTHLY = "monthly"


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AttendanceStatus(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    LATE = "late"
    EXCUSED = "excused"


class EventStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class CertificateKind(StrEnum):
    PARTICIPATION = "participation"
    MERIT = "merit"
    WINNER = "winner"


class RunKind(StrEnum):
    IMPORT = "import"
    AUDIT = "audit"
    BACKFILL = "backfill"
    CONSISTENCY = "consistency"
    REPAIR = "repair"
    SYNC = "sync"
    REQUESTS = "requests"  # enrollment requests approved or rejected together


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
