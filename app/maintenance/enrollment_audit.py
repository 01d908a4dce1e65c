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

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RunKind
from app.jobs import Job
from app.runs.recorder import record_dry_run
from app.services.permissions import Permission, needs

LISTED_PER_STATE = 1_000  # students listed behind each number; the counts are complete
STORED_LIST_LIMIT = 500  # students per list kept in the run history
PAIR_STATES = ("missing", "inactive", "covered")

# One row per active student–course pair of the school's legacy memberships, with the
# Rollbook course it maps to (NULL while no course of that name exists) and the pair's
# enrollment if there is one. Shared by the audit and the backfill.
_GROUPS_CTE = """
WITH grp AS MATERIALIZED (  -- the school's groups, each with the course it maps to
  SELECT lg.id, lg.course_name, coalesce(lg.course_id, c.id) AS course_id,
         CASE WHEN coalesce(lg.course_id, c.id) IS NULL THEN lower(lg.course_name) END
           AS unmapped_course
  FROM legacy_group lg
  LEFT JOIN course c ON lg.course_id IS NULL AND c.school_id = lg.school_id
                    AND c.deleted_at IS NULL AND lower(c.name) = lower(lg.course_name)
  WHERE lg.school_id = :school AND lg.deleted_at IS NULL
)
"""

# Active memberships of students that are not removed, with the pair's enrollment.
_MEMBERSHIPS = """
FROM legacy_group_member m
JOIN grp g ON g.id = m.group_id
JOIN student s ON s.id = m.student_id AND s.deleted_at IS NULL
"""

_STATE = {
    "covered": "e.active AND e.deleted_at IS NULL",
    "inactive": "e.id IS NOT NULL AND NOT (e.active AND e.deleted_at IS NULL)",
    "missing": "e.id IS NULL",
}

# One row per active student–course pair, with the Rollbook course it maps to (NULL
# while no course of that name exists) and the pair's enrollment if there is one.
# The backfill stages its gaps from this.
PAIRS_SQL = f"""{_GROUPS_CTE}
SELECT p.student_id, p.course_id, p.course_name, e.id AS enrollment_id,
       CASE WHEN {_STATE["covered"]} THEN 'covered'
            WHEN e.id IS NOT NULL THEN 'inactive'
            ELSE 'missing' END AS state
FROM (
  SELECT m.student_id, g.course_id, min(g.course_name) AS course_name
  {_MEMBERSHIPS}
  WHERE m.active AND m.deleted_at IS NULL
  GROUP BY m.student_id, g.course_id, g.unmapped_course
) p
LEFT JOIN course_enrollment e ON e.course_id = p.course_id AND e.student_id = p.student_id
"""

# The counts, and the first students of each state, in one pass over the pairs: the
# lists are slices of one array per state from the same aggregate, so they cost no
# second look at a million memberships. (psycopg parameters: run on the raw connection.)
_AUDIT_SQL = f"""{_GROUPS_CTE.replace(":school", "%(school)s")}
SELECT coalesce(sum(p.memberships), 0) AS memberships, count(*) AS pairs,
       count(*) FILTER (WHERE {_STATE["covered"]}) AS covered,
       count(*) FILTER (WHERE {_STATE["inactive"]}) AS inactive,
       count(*) FILTER (WHERE {_STATE["missing"]}) AS missing,
       (array_agg(p.student_id) FILTER (WHERE {_STATE["covered"]}))[1:%(cap)s] AS covered_ids,
       (array_agg(p.course_key) FILTER (WHERE {_STATE["covered"]}))[1:%(cap)s] AS covered_courses,
       (array_agg(p.student_id) FILTER (WHERE {_STATE["inactive"]}))[1:%(cap)s] AS inactive_ids,
       (array_agg(p.course_key) FILTER (WHERE {_STATE["inactive"]}))[1:%(cap)s] AS inactive_courses,
       (array_agg(p.student_id) FILTER (WHERE {_STATE["missing"]}))[1:%(cap)s] AS missing_ids,
       (array_agg(p.course_key) FILTER (WHERE {_STATE["missing"]}))[1:%(cap)s] AS missing_courses
FROM (
  SELECT m.student_id, g.course_id, coalesce(g.course_id::text, g.unmapped_course) AS course_key,
         count(*) AS memberships
  {_MEMBERSHIPS}
  WHERE m.active AND m.deleted_at IS NULL
  GROUP BY m.student_id, g.course_id, g.unmapped_course
) p
LEFT JOIN course_enrollment e ON e.course_id = p.course_id AND e.student_id = p.student_id
"""

# Names for the listed pairs: a few thousand rows by primary key.
_LISTED_STUDENTS_SQL = """
SELECT s.id, s.student_no, s.first_name || ' ' || s.last_name, s.class_name
FROM student s WHERE s.id = ANY(%(ids)s)
"""
_LISTED_COURSES_SQL = """
SELECT c.id::text, c.name FROM course c
WHERE c.school_id = %(school)s AND c.id::text = ANY(%(keys)s)
UNION ALL
SELECT DISTINCT ON (lower(g.course_name)) lower(g.course_name), g.course_name
FROM legacy_group g
WHERE g.school_id = %(school)s AND lower(g.course_name) = ANY(%(keys)s)
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


@needs(Permission.BACKFILL)
def audit_enrollments(
    session: Session, ctx: ServiceContext, *, job: Job | None = None,
    list_limit: int = LISTED_PER_STATE, record: bool = True,
) -> AuditResult:  # fmt: skip
    """Coverage of active legacy memberships by course enrollments; read-only.

    With ``record`` the audit is written to the run history (a dry-run maintenance_run).
    """
    job = job or Job()
    job.progress(0, None, "Comparing legacy memberships with enrollments…")
    conn = session.connection().connection.driver_connection
    row = conn.execute(_AUDIT_SQL, {"school": ctx.school_id, "cap": max(0, list_limit)}).fetchone()
    assert row is not None
    job.check_cancel()
    memberships, pairs, covered, inactive, missing = (int(v) for v in row[:5])
    listed = {
        state: list(zip(row[5 + 2 * n] or [], row[6 + 2 * n] or [], strict=True))
        for n, state in enumerate(("covered", "inactive", "missing"))
    }
    job.progress(1, 2, "Listing the students behind each number…")
    result = AuditResult(memberships, pairs, covered, inactive, missing, _named(conn, ctx, listed))
    if not record:
        return result
    run_id = record_dry_run(session, ctx, RunKind.AUDIT, {"scope": "school"}, result.summary())
    return AuditResult(**{**result.__dict__, "run_id": run_id})


def _named(conn, ctx: ServiceContext, listed: dict[str, list[tuple[uuid.UUID, str]]]
           ) -> dict[str, list[PairStudent]]:  # fmt: skip
    """Student numbers, names, classes and course names for the listed pairs."""
    ids = sorted({pair[0] for pairs in listed.values() for pair in pairs})
    keys = sorted({pair[1] for pairs in listed.values() for pair in pairs})
    students = {row[0]: row[1:] for row in conn.execute(_LISTED_STUDENTS_SQL, {"ids": ids})}
    courses = dict(conn.execute(_LISTED_COURSES_SQL, {"school": ctx.school_id, "keys": keys}))
    lists: dict[str, list[PairStudent]] = {}
    for state in PAIR_STATES:
        named = [PairStudent(students[sid][0], students[sid][1], courses.get(key, key),
                             students[sid][2])
                 for sid, key in listed.get(state, []) if sid in students]  # fmt: skip
        lists[state] = sorted(named, key=lambda p: (p.course.lower(), p.name.lower()))
    return lists
