"""Enrollment audit: how far course enrollments cover the active legacy memberships.

A student in several groups of one course is one student–course *pair*. Each pair is
covered (an active enrollment), inactive (an enrollment exists but is inactive or
removed) or missing (no enrollment, or the course does not exist in Rollbook yet).
Everything is computed by one statement over the whole school; the lists of students
behind each number are capped, the counts never are.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RunKind, RunStatus
from app.jobs import Job
from app.maintenance.plan import MAX_LISTED_ITEMS, finish_run, start_run
from app.services.permissions import REGISTRAR_ROLES, require_role

STORED_LIST_LIMIT = 500  # students per list kept in the run history
PAIR_STATES = ("missing", "inactive", "covered")

# One row per active student–course pair of the school's legacy memberships, with the
# Rollbook course it maps to (NULL while no course of that name exists) and the pair's
# enrollment if there is one. Shared by the audit and the backfill.
PAIRS_SQL = """
SELECT p.student_id, p.course_id, p.course_name, p.memberships, e.id AS enrollment_id,
       CASE WHEN e.active AND e.deleted_at IS NULL THEN 'covered'
            WHEN e.id IS NOT NULL THEN 'inactive'
            ELSE 'missing' END AS state
FROM (
  SELECT m.student_id, g.course_id, min(g.course_name) AS course_name, count(*) AS memberships
  FROM legacy_group_member m
  JOIN (SELECT lg.id, lg.course_name,
               coalesce(lg.course_id, (SELECT c.id FROM course c
                                       WHERE c.school_id = lg.school_id AND c.deleted_at IS NULL
                                         AND lower(c.name) = lower(lg.course_name))) AS course_id
        FROM legacy_group lg
        WHERE lg.school_id = :school AND lg.deleted_at IS NULL) g ON g.id = m.group_id
  JOIN student s ON s.id = m.student_id AND s.deleted_at IS NULL
  WHERE m.active AND m.deleted_at IS NULL
  GROUP BY m.student_id, g.course_id, CASE WHEN g.course_id IS NULL THEN lower(g.course_name) END
) p
LEFT JOIN course_enrollment e ON e.course_id = p.course_id AND e.student_id = p.student_id
"""

_AUDIT_SQL = f"""
WITH pair AS MATERIALIZED ({PAIRS_SQL}),
counts AS (
  SELECT coalesce(sum(memberships), 0) AS memberships, count(*) AS pairs,
         count(*) FILTER (WHERE state = 'covered') AS covered,
         count(*) FILTER (WHERE state = 'inactive') AS inactive,
         count(*) FILTER (WHERE state = 'missing') AS missing
  FROM pair
),
listed AS (
  SELECT state, student_id, course_name,
         row_number() OVER (PARTITION BY state ORDER BY course_name, student_id) AS n
  FROM pair
)
SELECT c.memberships, c.pairs, c.covered, c.inactive, c.missing,
       l.state, s.student_no, s.first_name || ' ' || s.last_name, l.course_name, s.class_name
FROM counts c
LEFT JOIN listed l ON l.n <= :cap
LEFT JOIN student s ON s.id = l.student_id
ORDER BY l.state, l.course_name, s.sort_name
"""


class AuditVerdict(IntEnum):
    """Also the CLI's exit code, for automation."""

    COMPLETE = 0
    INACTIVE_ONLY = 1  # every gap is an inactive enrollment: a warning
    MISSING = 2  # enrollments are missing: a failure


@dataclass(frozen=True)
class PairStudent:
    student_no: str
    name: str
    course: str
    class_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"student_no": self.student_no, "name": self.name, "course": self.course}


@dataclass(frozen=True)
class AuditResult:
    memberships: int
    pairs: int
    covered: int
    inactive: int
    missing: int
    lists: dict[str, list[PairStudent]] = field(default_factory=dict)
    run_id: uuid.UUID | None = None

    @property
    def coverage_percent(self) -> float:
        if self.pairs == 0:
            return 100.0
        return round(100.0 * self.covered / self.pairs, 2)

    @property
    def verdict(self) -> AuditVerdict:
        if self.missing:
            return AuditVerdict.MISSING
        if self.inactive:
            return AuditVerdict.INACTIVE_ONLY
        return AuditVerdict.COMPLETE

    def count(self, state: str) -> int:
        return int(getattr(self, state))

    def summary(self, list_limit: int = STORED_LIST_LIMIT) -> dict[str, Any]:
        return {
            "memberships": self.memberships, "pairs": self.pairs, "covered": self.covered,
            "inactive": self.inactive, "missing": self.missing,
            "coverage_percent": self.coverage_percent, "verdict": self.verdict.name.lower(),
            "lists": {state: [s.as_dict() for s in self.lists.get(state, [])[:list_limit]]
                      for state in PAIR_STATES},
        }  # fmt: skip


def audit_enrollments(
    session: Session, ctx: ServiceContext, *, job: Job | None = None,
    list_limit: int = MAX_LISTED_ITEMS, record: bool = True,
) -> AuditResult:  # fmt: skip
    """Coverage of active legacy memberships by course enrollments; read-only.

    With ``record`` the audit is written to the run history (a dry-run maintenance_run).
    """
    require_role(ctx, *REGISTRAR_ROLES, doing="audit enrollments")
    job = job or Job()
    job.progress(0, None, "Comparing legacy memberships with enrollments…")
    rows = session.execute(text(_AUDIT_SQL), {"school": ctx.school_id, "cap": list_limit}).all()
    job.check_cancel()
    first = rows[0]
    lists: dict[str, list[PairStudent]] = {state: [] for state in PAIR_STATES}
    for row in rows:
        if row.state is not None:
            lists[row.state].append(PairStudent(row.student_no, row[7], row.course_name,
                                                row.class_name))  # fmt: skip
    result = AuditResult(int(first.memberships), int(first.pairs), int(first.covered),
                         int(first.inactive), int(first.missing), lists)  # fmt: skip
    if not record:
        return result
    run_id = start_run(session, ctx, RunKind.AUDIT, dry_run=True, params={"scope": "school"})
    finish_run(session, run_id, RunStatus.SUCCEEDED, result.summary())
    return AuditResult(**{**result.__dict__, "run_id": run_id})
