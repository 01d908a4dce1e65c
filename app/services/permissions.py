"""Who may do what: the permission matrix, checked first in every service.

Every public service function — anything the window or the CLI calls with a session and
a context — carries the permission it needs (``@needs``), checked before it reads or
writes anything. tests/test_permissions.py lists every such function and fails for one
without it, so a new service cannot forget; the matrix below is the one place that says
which role holds what.

- admin: everything, including users, school settings, backfill, repair, sync conflicts;
- registrar: students, courses, enrollments, requests, sessions, events, imports, the
  consistency check, certificates' revocation, reports, the audit log; repair when the
  school allows it (``school.registrars_may_repair``);
- staff: viewing, requests on a student's behalf, session attendance, event
  registration, check-in and feedback, issuing certificates (each event's own rules
  decide who earned one), reports.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import text

from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.domain.errors import PermissionDenied

ADMIN, REGISTRAR, STAFF = UserRole.ADMIN, UserRole.REGISTRAR, UserRole.STAFF


class Permission(StrEnum):
    """What a person may do; the value is the words of a refusal ("may not …")."""

    VIEW = "look at the school's records"
    EXPORT_REPORTS = "export reports"
    MANAGE_STUDENTS = "add, edit or delete students"
    MANAGE_COURSES = "add or edit courses"
    MANAGE_ENROLLMENTS = "enroll or unenroll students"
    REQUEST_COURSES = "request courses for students"
    DECIDE_REQUESTS = "approve or reject enrollment requests"
    SCHEDULE_SESSIONS = "schedule, edit or cancel class sessions"
    TAKE_ATTENDANCE = "take session attendance"
    MANAGE_EVENTS = "create, edit, open, close or cancel events"
    REGISTER_FOR_EVENTS = "register students and teams for events"
    CHECK_IN = "check students in at events and record feedback"
    ISSUE_CERTIFICATES = "issue certificates"
    REVOKE_CERTIFICATES = "revoke certificates or clear their flags"
    IMPORT_ROSTERS = "import rosters"
    CHECK_CONSISTENCY = "run the consistency check"
    REPAIR = "repair inconsistencies"
    BACKFILL = "audit and backfill enrollments from legacy groups"
    SCHOOL_SETTINGS = "change the school's settings"
    MANAGE_USERS = "manage staff accounts"
    VIEW_AUDIT_LOG = "read the audit log"
    SYNC_CONFLICTS = "decide sync conflicts"


_EVERYONE = frozenset(UserRole)
_OFFICE = frozenset({ADMIN, REGISTRAR})
_ADMIN = frozenset({ADMIN})

MATRIX: dict[Permission, frozenset[UserRole]] = {
    Permission.VIEW: _EVERYONE,
    Permission.EXPORT_REPORTS: _EVERYONE,
    Permission.MANAGE_STUDENTS: _OFFICE,
    Permission.MANAGE_COURSES: _OFFICE,
    Permission.MANAGE_ENROLLMENTS: _OFFICE,
    Permission.REQUEST_COURSES: _EVERYONE,
    Permission.DECIDE_REQUESTS: _OFFICE,
    Permission.SCHEDULE_SESSIONS: _OFFICE,
    Permission.TAKE_ATTENDANCE: _EVERYONE,
    Permission.MANAGE_EVENTS: _OFFICE,
    Permission.REGISTER_FOR_EVENTS: _EVERYONE,
    Permission.CHECK_IN: _EVERYONE,
    # Staff issue certificates for every event: which students earned one is the event's
    # own rules' to decide (days attended, awards), checked for every role alike.
    Permission.ISSUE_CERTIFICATES: _EVERYONE,
    Permission.REVOKE_CERTIFICATES: _OFFICE,
    Permission.IMPORT_ROSTERS: _OFFICE,
    Permission.CHECK_CONSISTENCY: _OFFICE,
    Permission.REPAIR: _ADMIN,  # and registrars where the school allows it
    Permission.BACKFILL: _ADMIN,
    Permission.SCHOOL_SETTINGS: _ADMIN,
    Permission.MANAGE_USERS: _ADMIN,
    Permission.VIEW_AUDIT_LOG: _OFFICE,
    Permission.SYNC_CONFLICTS: _ADMIN,
}


def roles_with(permission: Permission) -> frozenset[UserRole]:
    return MATRIX[permission]


def may(role: UserRole, permission: Permission, *, registrars_may_repair: bool = False) -> bool:
    if permission is Permission.REPAIR and role is REGISTRAR and registrars_may_repair:
        return True
    return role in MATRIX[permission]


def _registrars_may_repair(session: Any, ctx: ServiceContext) -> bool:
    return bool(session.execute(text("SELECT registrars_may_repair FROM school WHERE id = :s"),
                                {"s": ctx.school_id}).scalar())  # fmt: skip


def refusal(ctx: ServiceContext, permission: Permission) -> str:
    """The one line a refused person reads."""
    roles = " or ".join(role.value for role in UserRole if role in MATRIX[permission])
    return (
        f"{ctx.actor} ({ctx.role.value}) may not {permission.value}; this needs the {roles} role."
    )


def require(ctx: ServiceContext, permission: Permission, session: Any = None) -> None:
    """Raise PermissionDenied unless ctx's role holds ``permission``."""
    if ctx.role in MATRIX[permission]:
        return
    if (permission is Permission.REPAIR and ctx.role is REGISTRAR and session is not None
            and _registrars_may_repair(session, ctx)):  # fmt: skip
        return
    raise PermissionDenied(refusal(ctx, permission))


F = TypeVar("F", bound=Callable[..., Any])


def needs(permission: Permission) -> Callable[[F], F]:
    """Mark a service ``fn(session, ctx, …)``: the permission is checked before it runs
    (for a generator, when it is called, before the first row)."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def guarded(session, ctx, *args, **kwargs):
            require(ctx, permission, session)
            return fn(session, ctx, *args, **kwargs)

        guarded.permission = permission  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


__all__ = ["MATRIX", "Permission", "may", "needs", "refusal", "require", "roles_with"]
