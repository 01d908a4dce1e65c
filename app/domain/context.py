"""Who is acting, for which school. Passed to every service call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.domain.enums import UserRole


@dataclass(frozen=True)
class ServiceContext:
    school_id: uuid.UUID
    actor: str
    role: UserRole = UserRole.ADMIN
