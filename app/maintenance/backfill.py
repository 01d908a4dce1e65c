"""Backfill: create or reactivate the course enrollments that active legacy memberships
call for (source ``backfill``), with their progress rows, through the one enrollment
writer (students who are inactive or withdrawn are skipped, with the reason).

``plan_backfill`` is the dry run; it fingerprints every enrollment it would write.
``apply_backfill`` finds the gaps as they are at that moment and, given the plan the
person saw, writes only the planned ones that have not changed since (those that did
are reported as stale; gaps that appeared since are left for the next run), as a
recorded run in the caller's transaction: a failure or Cancel leaves the database
exactly as it was and the run is recorded as failed or cancelled. Running it twice
changes nothing the second time; inactive memberships are never backfilled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from app.db.staging import analyze_loaded
from app.domain.context import ServiceContext
from app.domain.enums import EnrollmentSource, RunKind
from app.jobs import Job
from app.maintenance.enrollment_audit import PAIRS_SQL
from app.runs.plan import MAX_LISTED_ITEMS, Fingerprint, Plan, PlanItem, StaleItem
from app.runs.recorder import RecordedRun, RunScope, apply_recorded, recheck, record_dry_run
from app.services.courses import staged_courses_sql
from app.services.enrollment_writer import (
    PLAN_TABLE,
    SkippedPair,
    plan_enrollments,
    write_enrollments,
)
from app.services.permissions import Permission, needs


@dataclass(frozen=True)
class BackfillCounts:
    enrollments_created: int = 0
    enrollments_reactivated: int = 0
    courses_created: int = 0
    skipped: int = 0  # students not enrolled: inactive, withdrawn
    stale: int = 0  # planned, but changed since the preview
    new_since_plan: int = 0  # gaps the preview did not show; left for the next run

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class BackfillPlan:
    counts: BackfillCounts
    plan: Plan
    run_id: Any = None


@dataclass(frozen=True)
class BackfillResult:
    counts: BackfillCounts
    stale: list[StaleItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _raw(session: Session) -> psycopg.Connection:
    return session.connection().connection.driver_connection


# A gap's key: the student and the course by its name, which is also the name of a
# course the backfill creates, so a plan made before the course existed still matches.
_GAP_KEY = "g.student_id::text || chr(31) || lower(g.course_name)"


def _stage_gaps(conn: psycopg.Connection, ctx: ServiceContext, *, all_pairs: bool = False
                ) -> None:  # fmt: skip
    """The pairs that need an enrollment created or reactivated, as they are now (in
    backfill_gap); with ``all_pairs`` every pair, covered ones too, in backfill_pair, so
    that a plan's gaps that are covered by now can be told apart."""
    pairs = PAIRS_SQL.replace(":school", "%(school)s")
    source = "backfill_pair" if all_pairs else "backfill_gap"
    where = "" if all_pairs else "WHERE state <> 'covered'"
    # The key matches the gaps to a plan's fingerprints: only an apply of a plan needs it.
    key = _GAP_KEY if all_pairs else "NULL::text"
    conn.execute(
        f"CREATE TEMP TABLE {source} ON COMMIT DROP AS "
        f"SELECT g.*, {key} AS key FROM ({pairs}) g {where}",
        {"school": ctx.school_id},
    )
    if all_pairs:
        conn.execute("CREATE TEMP TABLE backfill_gap ON COMMIT DROP AS "
                     "SELECT * FROM backfill_pair WHERE state <> 'covered'")  # fmt: skip
        conn.execute("ANALYZE backfill_pair")
    conn.execute("ANALYZE backfill_gap")


# Placeholder ids for courses the backfill will create, so the writer can plan them.
_PLAN_PAIRS = """
SELECT student_id, coalesce(course_id, md5('course:' || lower(course_name))::uuid) AS course_id,
       NULL::text AS student_status
FROM backfill_gap"""
_APPLY_PAIRS = "SELECT student_id, course_id, NULL::text AS student_status FROM backfill_gap"

# Every gap's enrollment as it is (none: NULL), and the students the writer skips (a
# student set active since the preview must not be enrolled unseen). {pairs} is
# backfill_gap for a plan, backfill_pair (every pair, covered ones too) for the re-check.
_PRINTS_SQL = f"""
SELECT 'course_enrollment' AS entity, {_GAP_KEY} AS key, e.row_version AS version,
       s.student_no || ' ' || btrim(s.first_name || ' ' || s.last_name) || ' → '
         || g.course_name AS label
FROM {{pairs}} g
JOIN student s ON s.id = g.student_id
LEFT JOIN course_enrollment e ON e.id = g.enrollment_id
UNION ALL
SELECT DISTINCT 'student', s.id::text, s.row_version,
       s.student_no || ' ' || btrim(s.first_name || ' ' || s.last_name)
FROM {{pairs}} g JOIN student s ON s.id = g.student_id
WHERE s.status <> 'active'
"""
_ACTIVE_STUDENT = (
    "EXISTS (SELECT 1 FROM student s WHERE s.id = staged.student_id AND s.status = 'active')"
)


def _named_skips(conn: psycopg.Connection, skipped: list[SkippedPair]) -> list[str]:
    """ "S0003 Ana Peña → Art: the student is withdrawn" for the skipped pairs (their
    course ids may be placeholders of courses the backfill would create)."""
    if not skipped:
        return []
    rows = conn.execute(
        """SELECT DISTINCT ON (st.student_no, g.course_name)
                  st.student_no || ' ' || btrim(st.first_name || ' ' || st.last_name) || ' → '
                  || g.course_name, s.reason
           FROM unnest(%s::uuid[], %s::uuid[], %s::text[]) AS s(student_id, course_id, reason)
           JOIN backfill_gap g ON g.student_id = s.student_id
            AND coalesce(g.course_id, md5('course:' || lower(g.course_name))::uuid) = s.course_id
           JOIN student st ON st.id = s.student_id
           ORDER BY st.student_no, g.course_name""",
        ([p.student_id for p in skipped], [p.course_id for p in skipped],
         [p.reason for p in skipped]),
    )  # fmt: skip
    return [f"{who}: {reason}" for who, reason in rows]


def _gap_items(conn: psycopg.Connection, skipped: list[str]) -> tuple[list[PlanItem], bool]:
    rows = conn.execute(
        "SELECT g.state, s.student_no, s.first_name || ' ' || s.last_name, g.course_name, "
        "g.course_id IS NULL, e.ended_on, e.deleted_at IS NOT NULL, s.status "
        "FROM backfill_gap g JOIN student s ON s.id = g.student_id "
        "LEFT JOIN course_enrollment e ON e.id = g.enrollment_id "
        "WHERE s.status = 'active' "
        "ORDER BY g.state, g.course_name, s.sort_name LIMIT %s",
        (MAX_LISTED_ITEMS + 1,),
    ).fetchall()
    items = []
    for state, student_no, name, course, new_course, ended_on, removed, _status in rows:
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
                                  {"course": course, "active": True},
                                  "active legacy membership, enrollment "
                                  + ("removed" if removed else "inactive")))  # fmt: skip
    for text in skipped[: max(0, MAX_LISTED_ITEMS + 1 - len(items))]:
        who, why = text.split(": ", 1)
        items.append(PlanItem("skip_enrollment", "course_enrollment", who, None, None, why))
    return items[:MAX_LISTED_ITEMS], len(items) > MAX_LISTED_ITEMS


@needs(Permission.BACKFILL)
def plan_backfill(
    session: Session, ctx: ServiceContext, *, job: Job | None = None, record: bool = True
) -> BackfillPlan:
    """The dry run: which enrollments would be created and reactivated, and who would be
    skipped. With ``record`` the preview is kept in the run history as a dry run."""
    job = job or Job()
    conn = _raw(session)
    job.progress(0, None, "Finding memberships without an active enrollment…")
    _stage_gaps(conn, ctx)
    job.check_cancel()
    planned = plan_enrollments(conn, _PLAN_PAIRS, {})
    skipped = _named_skips(conn, planned.skipped)
    courses = conn.execute(
        "SELECT count(DISTINCT lower(course_name)) FROM backfill_gap staged "
        f"WHERE course_id IS NULL AND {_ACTIVE_STUDENT}"
    ).fetchone()
    counts = BackfillCounts(planned.counts.created, planned.counts.reactivated,
                            int(courses[0]) if courses else 0, planned.counts.skipped)  # fmt: skip
    items, truncated = _gap_items(conn, skipped)
    prints = list(map(Fingerprint._make,
                      conn.execute(_PRINTS_SQL.format(pairs="backfill_gap")).fetchall()))  # fmt: skip
    conn.execute(f"DROP TABLE backfill_gap, {PLAN_TABLE}")
    plan = Plan(RunKind.BACKFILL, counts.as_dict(), items, truncated, {"source": "backfill"},
                prints)  # fmt: skip
    run_id = record_dry_run(session, ctx, RunKind.BACKFILL, plan.params, counts.as_dict()) \
        if record else None  # fmt: skip
    return BackfillPlan(counts, plan, run_id)


# Courses only for the students the writer will enroll.
_MAP_COURSES = (
    staged_courses_sql("backfill_gap", "course_name", _ACTIVE_STUDENT)
    + """
UPDATE legacy_group lg SET course_id = c.id FROM course c
WHERE lg.school_id = %(school)s AND lg.course_id IS NULL AND lg.deleted_at IS NULL
  AND c.school_id = %(school)s AND c.deleted_at IS NULL AND lower(c.name) = lower(lg.course_name);
"""
)


def _keep_planned(conn: psycopg.Connection, plan: Plan, stale: list[StaleItem]) -> int:
    """Leave only the planned gaps that have not changed; returns how many gaps the plan
    did not know (they wait for the next run)."""
    planned = [f.key for f in plan.fingerprints if f.entity == "course_enrollment"]
    changed = [item.key for item in stale if item.entity == "course_enrollment"]
    students = [item.key for item in stale if item.entity == "student"]
    row = conn.execute(
        "WITH gone AS (DELETE FROM backfill_gap WHERE NOT key = ANY(%s) OR key = ANY(%s) "
        "OR student_id::text = ANY(%s) RETURNING key) "
        "SELECT count(*) FILTER (WHERE NOT key = ANY(%s)) FROM gone",
        (planned, changed, students, planned),
    ).fetchone()
    return int(row[0]) if row else 0


@needs(Permission.BACKFILL)
def apply_backfill(
    session: Session, ctx: ServiceContext, *, plan: Plan | None = None, job: Job | None = None
) -> RecordedRun[BackfillResult]:
    """Apply the backfill in the caller's transaction, as a recorded run.

    Returns the run; its status says whether it succeeded, failed (nothing changed, the
    reason in ``error``) or was cancelled (nothing changed)."""
    job = job or Job()
    conn = _raw(session)

    def work(scope: RunScope) -> tuple[BackfillResult, dict[str, Any]]:
        total = 4
        job.progress(0, total, "Finding memberships without an active enrollment…")
        _stage_gaps(conn, ctx, all_pairs=plan is not None)
        job.check_cancel()
        stale: list[StaleItem] = []
        new_since = 0
        if plan is not None:
            job.progress(1, total, "Checking the preview against the data now…")
            stale = recheck(conn, plan.fingerprints, _PRINTS_SQL.format(pairs="backfill_pair"))
            scope.stale.extend(stale)
            new_since = _keep_planned(conn, plan, stale)
            conn.execute("DROP TABLE backfill_pair")
        courses = conn.execute(
            "SELECT count(DISTINCT lower(course_name)) FROM backfill_gap staged "
            f"WHERE course_id IS NULL AND {_ACTIVE_STUDENT}"
        ).fetchone()
        job.progress(2, total, "Creating courses the memberships name…")
        with psycopg.ClientCursor(conn) as cursor:
            cursor.execute(_MAP_COURSES, {"school": ctx.school_id})
        job.check_cancel()
        job.progress(3, total, "Creating and reactivating enrollments…")
        written = write_enrollments(conn, ctx, _APPLY_PAIRS, {},
                                    source=EnrollmentSource.BACKFILL.value)  # fmt: skip
        skipped = _named_skips(conn, written.skipped)
        # The audit and check that follow a backfill read these: with statistics, not
        # after autovacuum gets round to them.
        analyze_loaded(conn, written.counts.created, "course_enrollment")
        analyze_loaded(conn, written.counts.progress_created, "course_progress")
        job.check_cancel()
        conn.execute("DROP TABLE backfill_gap")
        job.progress(total, total, "Done.")
        counts = BackfillCounts(written.counts.created, written.counts.reactivated,
                                int(courses[0]) if courses else 0, written.counts.skipped,
                                len(stale), new_since)  # fmt: skip
        return BackfillResult(counts, stale, skipped), counts.as_dict()

    return apply_recorded(session, ctx, RunKind.BACKFILL, {"source": "backfill"}, work)
