"""Who is acting, for which school. Passed to every service call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from app.domain.enums import UserRole


@dataclass(frozen=True)
class ServiceContext:
    school_id: uuid.UUID
    actor: str
    role: UserRole = UserRole.ADMIN
    # Set while a maintenance run is applying, so audit entries link to the run.
    run_id: uuid.UUID | None = None

    def for_run(self, run_id: uuid.UUID) -> ServiceContext:
        return replace(self, run_id=run_id)
