"""What every file import's preview or apply reports, whatever the file held."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from app.runs.plan import Plan, StaleItem
from app.runs.rejections import Rejection


@dataclass
class ImportOutcome:
    rows: int
    merged_duplicates: int = 0  # identical rows read once
    rejected: list[Rejection] = field(default_factory=list)
    stale: list[StaleItem] = field(default_factory=list)  # changed since the preview
    plan: Plan | None = None
    run_id: uuid.UUID | None = None
    applied: bool = False
    # Columns of the file that were not imported (known or not), in the file's order.
    ignored_columns: list[str] = field(default_factory=list)

    def common_summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "merged_duplicates": self.merged_duplicates,
                "rejected": len(self.rejected), "stale": len(self.stale)}  # fmt: skip
