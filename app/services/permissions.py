"""Role checks, done first in every service."""

from __future__ import annotations

from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.domain.errors import PermissionDenied

REGISTRAR_ROLES = (UserRole.ADMIN, UserRole.REGISTRAR)


def require_role(ctx: ServiceContext, *allowed: UserRole, doing: str) -> None:
    if ctx.role not in allowed:
        roles = " or ".join(role.value for role in allowed)
        raise PermissionDenied(
            f"{ctx.actor} ({ctx.role.value}) may not {doing}; this needs the {roles} role."
        )
