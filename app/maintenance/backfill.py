"""Backfill: create or reactivate the course enrollments that active legacy memberships
call for (source ``backfill``), with their progress rows and audit entries.

``plan_backfill`` is the dry run. ``apply_backfill`` recomputes the gaps from the data as
it is at that moment (a plan made earlier can never apply stale decisions), then writes
everything set-based in one savepoint: a failure or Cancel leaves the database exactly
as it was and the run is recorded as failed or cancelled. Running it twice changes
nothing the second time; inactive memberships are never backfilled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RunKind, RunStatus
from app.jobs import Job
from app.maintenance.enrollment_audit import PAIRS_SQL
from app.maintenance.plan import MAX_LISTED_ITEMS, Plan, PlanItem, finish_run, start_run
from app.maintenance.runs import RecordedRun, apply_recorded
from app.services.courses import staged_courses_sql
from app.services.permissions import REGISTRAR_ROLES, require_role


@dataclass(frozen=True)
class BackfillCounts:
    enrollments_created: int = 0
    enrollments_reactivated: int = 0
    courses_created: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BackfillPlan:
    counts: BackfillCounts
    plan: Plan
    run_id: uuid.UUID | None = None


def _raw(session: Session) -> psycopg.Connection:
    return session.connection().connection.driver_connection


def _stage_gaps(conn: psycopg.Connection, ctx: ServiceContext) -> None:
    """The pairs that need an enrollment created or reactivated, as they are now."""
    pairs = PAIRS_SQL.replace(":school", "%(school)s")
    conn.execute(
        "CREATE TEMP TABLE backfill_gap ON COMMIT DROP AS "
        f"SELECT * FROM ({pairs}) pair WHERE state <> 'covered'",
        {"school": ctx.school_id},
    )


def _count_gaps(conn: psycopg.Connection) -> BackfillCounts:
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE state = 'missing'), "
        "count(*) FILTER (WHERE state = 'inactive'), "
        "count(DISTINCT lower(course_name)) FILTER (WHERE course_id IS NULL) "
        "FROM backfill_gap"
    ).fetchone()
    assert row is not None
    created, reactivated, courses = (int(v) for v in row)
    return BackfillCounts(created, reactivated, courses)


def _gap_items(conn: psycopg.Connection) -> tuple[list[PlanItem], bool]:
    rows = conn.execute(
        "SELECT g.state, s.student_no, s.first_name || ' ' || s.last_name, g.course_name, "
        "g.course_id IS NULL, e.ended_on, e.deleted_at IS NOT NULL "
        "FROM backfill_gap g JOIN student s ON s.id = g.student_id "
        "LEFT JOIN course_enrollment e ON e.id = g.enrollment_id "
        "ORDER BY g.state, g.course_name, s.sort_name LIMIT %s",
        (MAX_LISTED_ITEMS + 1,),
    ).fetchall()
    items = []
    for state, student_no, name, course, new_course, ended_on, removed in rows:
        key = f"{student_no} {name}"
        if state == "missing":
            reason = "active legacy membership, no enrollment"
            if new_course:
                reason += f"; the course {course!r} will be created"
            items.append(PlanItem("create_enrollment", "course_enrollment", key, None,
                                  {"course": course, "active": True, "source": "backfill"},
                                  reason))  # fmt: skip
        else:
            before = {"course": course, "active": False}
            if ended_on:
                before["ended_on"] = ended_on.isoformat()
            items.append(PlanItem("reactivate_enrollment", "course_enrollment", key, before,
                                  {"course": course, "active": True, "source": "backfill"},
                                  "active legacy membership, enrollment "
                                  + ("removed" if removed else "inactive")))  # fmt: skip
    return items[:MAX_LISTED_ITEMS], len(items) > MAX_LISTED_ITEMS


def plan_backfill(
    session: Session, ctx: ServiceContext, *, job: Job | None = None, record: bool = True
) -> BackfillPlan:
    """The dry run: which enrollments would be created and reactivated. With ``record``
    the preview is kept in the run history as a dry-run backfill."""
    require_role(ctx, *REGISTRAR_ROLES, doing="backfill enrollments")
    job = job or Job()
    conn = _raw(session)
    job.progress(0, None, "Finding memberships without an active enrollment…")
    _stage_gaps(conn, ctx)
    job.check_cancel()
    counts = _count_gaps(conn)
    items, truncated = _gap_items(conn)
    conn.execute("DROP TABLE backfill_gap")
    plan = Plan(RunKind.BACKFILL, counts.as_dict(), items, truncated, {"source": "backfill"})
    run_id = None
    if record:
        run_id = start_run(session, ctx, RunKind.BACKFILL, dry_run=True, params=plan.params)
        finish_run(session, run_id, RunStatus.SUCCEEDED, counts.as_dict())
    return BackfillPlan(counts, plan, run_id)


_STEPS: tuple[tuple[str, str], ...] = (
    (
        "Creating courses the memberships name…",
        staged_courses_sql("backfill_gap", "course_name")
        + """
WITH mapped AS (
  UPDATE legacy_group lg SET course_id = c.id FROM course c
  WHERE lg.school_id = %(school)s AND lg.course_id IS NULL AND lg.deleted_at IS NULL
    AND c.school_id = %(school)s AND c.deleted_at IS NULL AND lower(c.name) = lower(lg.course_name)
  RETURNING lg.id, c.id AS course_id
)
INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes, run_id)
SELECT %(school)s, %(actor)s, 'map_course', 'legacy_group', id,
       jsonb_build_object('before', jsonb_build_object('course_id', NULL),
                          'after', jsonb_build_object('course_id', course_id)),
       %(run)s
FROM mapped;
""",
    ),
    (
        "Creating enrollments…",
        """
WITH created AS (
  INSERT INTO course_enrollment (id, school_id, course_id, student_id, source)
  SELECT gen_random_uuid(), %(school)s, course_id, student_id, 'backfill'
  FROM backfill_gap WHERE state = 'missing'
  ON CONFLICT ON CONSTRAINT uq_course_enrollment_once DO NOTHING
  RETURNING id, course_id, student_id
)
INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes, run_id)
SELECT %(school)s, %(actor)s, 'enroll', 'course_enrollment', id,
       jsonb_build_object('before', '{}'::jsonb,
                          'after', jsonb_build_object('active', true, 'course_id', course_id,
                                                      'student_id', student_id,
                                                      'source', 'backfill')),
       %(run)s
FROM created;
""",
    ),
    (
        "Reactivating enrollments…",
        """
WITH reactivated AS (
  UPDATE course_enrollment e
  SET active = true, ended_on = NULL, deleted_at = NULL, enrolled_on = current_date,
      source = 'backfill'
  FROM backfill_gap g
  WHERE g.state = 'inactive' AND e.id = g.enrollment_id
    AND NOT (e.active AND e.deleted_at IS NULL)
  RETURNING e.id, e.course_id, e.student_id
)
INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes, run_id)
SELECT %(school)s, %(actor)s, 'reactivate', 'course_enrollment', id,
       jsonb_build_object('before', jsonb_build_object('active', false),
                          'after', jsonb_build_object('active', true, 'source', 'backfill')),
       %(run)s
FROM reactivated;
""",
    ),
    (
        "Creating progress rows (or bringing back those set aside)…",
        """
INSERT INTO course_progress (id, school_id, student_id, course_id)
SELECT gen_random_uuid(), %(school)s, student_id, course_id FROM backfill_gap
ON CONFLICT ON CONSTRAINT uq_course_progress_once
DO UPDATE SET deleted_at = NULL WHERE course_progress.deleted_at IS NOT NULL;
""",
    ),
)


def apply_backfill(
    session: Session, ctx: ServiceContext, *, job: Job | None = None
) -> RecordedRun[BackfillCounts]:
    """Apply the backfill in the caller's transaction and record the run.

    Returns the run; its status says whether it succeeded, failed (nothing changed, the
    reason in ``error``) or was cancelled (nothing changed)."""
    require_role(ctx, *REGISTRAR_ROLES, doing="backfill enrollments")
    job = job or Job()
    conn = _raw(session)

    def work(run_id: uuid.UUID) -> tuple[BackfillCounts, dict[str, Any]]:
        total = len(_STEPS) + 1
        job.progress(0, total, "Finding memberships without an active enrollment…")
        _stage_gaps(conn, ctx)
        job.check_cancel()
        counts = _count_gaps(conn)
        params = {"school": ctx.school_id, "actor": ctx.actor, "run": run_id}
        for done, (label, sql) in enumerate(_STEPS, start=1):
            job.progress(done, total, label)
            with psycopg.ClientCursor(conn) as cursor:
                cursor.execute(sql, params)
            job.check_cancel()
        conn.execute("DROP TABLE backfill_gap")
        job.progress(total, total, "Done.")
        return counts, counts.as_dict()

    return apply_recorded(session, ctx, RunKind.BACKFILL, {"source": "backfill"}, work)
