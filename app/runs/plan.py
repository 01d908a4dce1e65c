"""The shape every preview-then-apply run shares (imports, legacy groups, backfill,
repair, request decisions): a Plan of items with before/after values and a reason, a
summary of counts, and a fingerprint of every row the plan decided about.

The fingerprints are how an apply knows the plan still holds: each names a row (entity
and a key the run kind understands) and its ``row_version`` when it was planned, or
None when the row did not exist yet. ``app.runs.recheck`` compares them with the data
as it is when the plan is applied; a row that changed meanwhile is stale, left alone,
and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.domain.enums import RunKind

MAX_LISTED_ITEMS = 10_000  # counts are always complete; the listed items stop here


@dataclass(frozen=True)
class PlanItem:
    kind: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str = ""


class Fingerprint(NamedTuple):
    """A row as the plan saw it: its version then, or None if it did not exist. A
    tuple: a plan of a hundred thousand rows builds a hundred thousand of these."""

    entity: str
    key: str
    version: int | None
    label: str = ""  # how a report names it ("S0001 Anna Müller → Biology")


@dataclass(frozen=True)
class StaleItem:
    """A planned change that was not applied because its row changed meanwhile."""

    entity: str
    key: str
    label: str
    why: str


@dataclass(frozen=True)
class Plan:
    kind: RunKind
    summary: dict[str, Any]
    items: list[PlanItem] = field(default_factory=list)
    items_truncated: bool = False
    params: dict[str, Any] = field(default_factory=dict)
    # Every row the plan decided about, listed or not.
    fingerprints: list[Fingerprint] = field(default_factory=list)
