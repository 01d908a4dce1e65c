"""The one enrollment writer: every path that enrolls students goes through here.

Enrolling a set of (student, course) pairs means, for each pair, in one set-based
statement: create the enrollment, or re-activate an ended one (adding a period, so the
earlier one is kept: "enrolled 3 Aug–14 Oct, again since 1 Dec"), or leave an active
one alone; and create the pair's progress row, or bring back the one set aside when the
enrollment ended. A student who is inactive, withdrawn or removed is never enrolled:
the pair is skipped and its reason returned for the caller's plan or report. The
source (manual, import, request, backfill, sync) says how an enrollment first came to
be and is never overwritten. The audit log is written by the database (see
app.db.capture); the run a change belongs to comes from the run recorder.

Callers hand in their pairs as a query (``pairs_sql``) selecting ``student_id``,
``course_id`` and ``student_status``: the status the student has or will have when the
pairs are written (NULL: as stored). In a plan a student or course that the same run
will create has a placeholder id and a status; it counts as a new enrollment.

Used by the single-student service, request approval, the roster and OneRoster
imports, the backfill and the consistency repair.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from app.domain.context import ServiceContext

SKIPPED_LISTED = 10_000  # skipped pairs returned by name; the count is always complete


@dataclass(frozen=True)
class SkippedPair:
    student_id: uuid.UUID
    course_id: uuid.UUID
    reason: str


@dataclass(frozen=True)
class EnrollmentCounts:
    created: int = 0
    reactivated: int = 0
    unchanged: int = 0
    skipped: int = 0
    progress_created: int = 0
    progress_restored: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class EnrollmentReport:
    """What writing the pairs did (or, for a plan, would do), and the pairs skipped."""

    counts: EnrollmentCounts
    skipped: list[SkippedPair] = field(default_factory=list)


def _classified(pairs_sql: str) -> str:
    """CTEs ``pair`` and ``plan``: one row per distinct pair with what it needs."""
    return f"""
pair AS (SELECT DISTINCT ON (student_id, course_id) student_id, course_id, student_status
         FROM ({pairs_sql}) given ORDER BY student_id, course_id, student_status),
plan AS MATERIALIZED (
  SELECT p.student_id, p.course_id, e.id AS enrollment_id, e.row_version AS enrollment_version,
         -- Only enrolling is refused: an enrollment that is already active stays as it
         -- is (and gets its progress row if it lacks one).
         CASE
           WHEN e.active AND e.deleted_at IS NULL THEN NULL
           WHEN s.deleted_at IS NOT NULL THEN 'the student was removed'
           WHEN s.id IS NULL AND p.student_status IS NULL THEN 'the student does not exist'
           WHEN coalesce(p.student_status, s.status) <> 'active'
             THEN 'the student is ' || coalesce(p.student_status, s.status)
           WHEN c.deleted_at IS NOT NULL THEN 'the course was removed'
         END AS skip_reason,
         CASE WHEN e.id IS NULL THEN 'create'
              WHEN e.active AND e.deleted_at IS NULL THEN 'unchanged'
              ELSE 'reactivate' END AS action,
         CASE WHEN pr.id IS NULL THEN 'create'
              WHEN pr.deleted_at IS NOT NULL THEN 'restore' END AS progress_action
  FROM pair p
  LEFT JOIN student s ON s.id = p.student_id
  LEFT JOIN course c ON c.id = p.course_id
  LEFT JOIN course_enrollment e ON e.course_id = p.course_id AND e.student_id = p.student_id
  LEFT JOIN course_progress pr ON pr.student_id = p.student_id AND pr.course_id = p.course_id)
"""


_COUNTS = """
  (SELECT count(*) FILTER (WHERE skip_reason IS NULL AND action = 'unchanged') FROM plan),
  (SELECT count(*) FILTER (WHERE skip_reason IS NOT NULL) FROM plan),
  (SELECT coalesce(jsonb_agg(jsonb_build_array(student_id, course_id, skip_reason)), '[]')
   FROM (SELECT * FROM plan WHERE skip_reason IS NOT NULL
         ORDER BY student_id, course_id LIMIT %(skipped_listed)s) listed)
"""


# A plan's decisions, one row per distinct pair: student_id, course_id, enrollment_id,
# enrollment_version (its row_version now; NULL: none), skip_reason (NULL: written),
# action (create / reactivate / unchanged) and progress_action (create / restore / NULL).
PLAN_TABLE = "enrollment_plan"


def plan_enrollments(
    conn: psycopg.Connection, pairs_sql: str, params: dict[str, Any]
) -> EnrollmentReport:
    """What writing these pairs would do; reads only. The decisions are left in
    PLAN_TABLE (until the transaction ends) for the caller's listing and fingerprints:
    a plan of a hundred thousand pairs stays in the database, not in Python."""
    conn.execute(f"DROP TABLE IF EXISTS {PLAN_TABLE}")
    conn.execute(
        f"CREATE TEMP TABLE {PLAN_TABLE} ON COMMIT DROP AS "
        f"WITH {_classified(pairs_sql)} SELECT * FROM plan",
        params,
    )
    conn.execute(f"ANALYZE {PLAN_TABLE}")
    row = conn.cursor(row_factory=tuple_row).execute(
        f"""SELECT
          count(*) FILTER (WHERE skip_reason IS NULL AND action = 'create'),
          count(*) FILTER (WHERE skip_reason IS NULL AND action = 'reactivate'),
          count(*) FILTER (WHERE skip_reason IS NULL AND action = 'unchanged'),
          count(*) FILTER (WHERE skip_reason IS NOT NULL),
          count(*) FILTER (WHERE skip_reason IS NULL AND progress_action = 'create'),
          count(*) FILTER (WHERE skip_reason IS NULL AND progress_action = 'restore')
        FROM {PLAN_TABLE}"""
    ).fetchone()  # fmt: skip
    assert row is not None
    created, reactivated, unchanged, skipped, progress_created, progress_restored = row
    listed = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            f"SELECT student_id, course_id, skip_reason FROM {PLAN_TABLE} "
            "WHERE skip_reason IS NOT NULL ORDER BY student_id, course_id LIMIT %s",
            (SKIPPED_LISTED,),
        )
        .fetchall()
    )
    counts = EnrollmentCounts(
        created=created, reactivated=reactivated, unchanged=unchanged, skipped=skipped,
        progress_created=progress_created, progress_restored=progress_restored,
    )  # fmt: skip
    return EnrollmentReport(counts, [SkippedPair(*pair) for pair in listed])


def write_enrollments(
    conn: psycopg.Connection, ctx: ServiceContext, pairs_sql: str, params: dict[str, Any],
    *, source: str,
) -> EnrollmentReport:  # fmt: skip
    """Enroll every pair ``pairs_sql`` selects, in one statement, in the caller's
    transaction. Returns what was done and the pairs skipped, with their reasons."""
    row = conn.cursor(row_factory=tuple_row).execute(
        f"""WITH {_classified(pairs_sql)},
created AS (
  INSERT INTO course_enrollment (id, school_id, course_id, student_id, source, periods)
  SELECT gen_random_uuid(), %(writer_school)s, course_id, student_id, %(writer_source)s,
         datemultirange(daterange(current_date, NULL))
  FROM plan WHERE skip_reason IS NULL AND action = 'create'
  -- In key order, the foreign-key checks and index inserts walk their indexes in order
  -- instead of at random: about a tenth faster for a hundred thousand pairs.
  ORDER BY student_id, course_id
  -- two desktops enrolling the same student at once end up with one row, never two
  ON CONFLICT ON CONSTRAINT uq_course_enrollment_once DO NOTHING
  RETURNING 1),
reactivated AS (
  UPDATE course_enrollment e
  SET active = true, deleted_at = NULL, ended_on = NULL,
      periods = e.periods + datemultirange(daterange(current_date, NULL))
  FROM plan WHERE plan.skip_reason IS NULL AND plan.action = 'reactivate'
    AND e.id = plan.enrollment_id AND NOT (e.active AND e.deleted_at IS NULL)
  RETURNING 1),
progress AS (
  INSERT INTO course_progress (id, school_id, student_id, course_id)
  SELECT gen_random_uuid(), %(writer_school)s, student_id, course_id
  FROM plan WHERE skip_reason IS NULL AND progress_action IS NOT NULL
  ORDER BY student_id, course_id
  ON CONFLICT ON CONSTRAINT uq_course_progress_once
  DO UPDATE SET deleted_at = NULL WHERE course_progress.deleted_at IS NOT NULL
  RETURNING (xmax = 0) AS created)
SELECT (SELECT count(*) FROM created), (SELECT count(*) FROM reactivated),
       (SELECT count(*) FILTER (WHERE created) FROM progress),
       (SELECT count(*) FILTER (WHERE NOT created) FROM progress),
       {_COUNTS}""",
        {**params, "writer_school": ctx.school_id, "writer_source": source,
         "skipped_listed": SKIPPED_LISTED},
    ).fetchone()  # fmt: skip
    assert row is not None
    created, reactivated, progress_created, progress_restored, unchanged, skipped, listed = row
    counts = EnrollmentCounts(
        created=created, reactivated=reactivated, unchanged=unchanged, skipped=skipped,
        progress_created=progress_created, progress_restored=progress_restored,
    )  # fmt: skip
    return EnrollmentReport(counts, [
        SkippedPair(uuid.UUID(student), uuid.UUID(course), reason)
        for student, course, reason in listed
    ])  # fmt: skip


def end_enrollments(
    conn: psycopg.Connection, pairs_sql: str, params: dict[str, Any]
) -> tuple[int, int]:
    """End the active enrollments of the pairs ``pairs_sql`` selects (student_id,
    course_id): the current period closes today, the progress row is set aside (its
    percent kept for a re-enrollment). Returns (enrollments ended, progress set aside)."""
    row = conn.cursor(row_factory=tuple_row).execute(
        f"""WITH pair AS ({pairs_sql}),
ended AS (
  UPDATE course_enrollment e
  SET active = false, ended_on = greatest(current_date, e.enrolled_on),
      periods = e.periods
                * datemultirange(daterange(NULL, greatest(current_date, e.enrolled_on)))
  FROM pair WHERE e.student_id = pair.student_id AND e.course_id = pair.course_id
    AND e.active AND e.deleted_at IS NULL
  RETURNING e.student_id, e.course_id),
set_aside AS (
  UPDATE course_progress p SET deleted_at = now()
  FROM ended WHERE p.student_id = ended.student_id AND p.course_id = ended.course_id
    AND p.deleted_at IS NULL
  RETURNING 1)
SELECT (SELECT count(*) FROM ended), (SELECT count(*) FROM set_aside)""",
        params,
    ).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0]), int(row[1])
