"""Roster import: plan (dry run) and apply, both set-based.

Valid records are COPYed into a temporary staging table; matching, conflict checks and
the classification into create / update / unchanged (students) and create / reactivate
(enrollments) are single SQL statements over it. ``apply_roster`` runs the same
staging against the data as it is at that moment, so a plan made earlier can never
apply stale decisions; it then merges with INSERT ... SELECT ... ON CONFLICT and writes
the audit log set-based, all in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RunKind, RunStatus
from app.imports.validation import Rejection, RosterRecord, ValidationResult
from app.jobs import Job
from app.maintenance.plan import MAX_LISTED_ITEMS, Plan, PlanItem, finish_run, start_run
from app.services.courses import staged_courses_sql
from app.services.permissions import REGISTRAR_ROLES, require_role

STAGE_COLUMNS = ("line", "key", "student_no", "email", "first_name", "last_name", "class_name",
                 "grade_level", "birth_date", "status", "course", "sourced_id")  # fmt: skip
UPDATABLE = ("first_name", "last_name", "email", "class_name", "grade_level", "birth_date",
             "status")  # fmt: skip
COPY_BATCH = 5_000


@dataclass
class RosterOutcome:
    """What a plan or an apply found; the counts of the CLI's --json."""

    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    courses_created: int = 0
    enrollments_created: int = 0
    enrollments_reactivated: int = 0
    merged_duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    plan: Plan | None = None
    run_id: uuid.UUID | None = None
    applied: bool = False

    def summary(self) -> dict[str, int]:
        return {
            "rows": self.rows, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "courses_created": self.courses_created,
            "enrollments_created": self.enrollments_created,
            "enrollments_reactivated": self.enrollments_reactivated,
            "merged_duplicates": self.merged_duplicates, "rejected": len(self.rejected),
        }  # fmt: skip


def _raw(session: Session) -> psycopg.Connection:
    return session.connection().connection.driver_connection


def _stage(conn: psycopg.Connection, records: list[RosterRecord], job: Job) -> None:
    conn.execute(
        "CREATE TEMP TABLE roster_stage (line int, key text, student_no text, email text, "
        "first_name text, last_name text, class_name text, grade_level smallint, "
        "birth_date date, status text, course text, sourced_id text) ON COMMIT DROP"
    )
    with conn.cursor().copy(f"COPY roster_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        for start in range(0, len(records), COPY_BATCH):
            job.check_cancel()
            for r in records[start : start + COPY_BATCH]:
                copy.write_row((r.line, r.key, r.student_no, r.email, r.first_name, r.last_name,
                                r.class_name, r.grade_level, r.birth_date, r.status, r.course,
                                r.sourced_id))  # fmt: skip
            job.progress(min(start + COPY_BATCH, len(records)), len(records), "Reading rows…")


_CLASSIFY_SQL = """
ANALYZE roster_stage;

CREATE TEMP TABLE roster_student ON COMMIT DROP AS
SELECT DISTINCT ON (key) key, line, student_no, email, first_name, last_name, class_name,
       grade_level, birth_date, status, sourced_id,
       NULL::uuid AS student_id, NULL::text AS action, NULL::text AS reason,
       NULL::text AS reject_column
FROM roster_stage ORDER BY key, line;

CREATE INDEX ON roster_student (student_no);
CREATE INDEX ON roster_student (lower(email));
ANALYZE roster_student;

UPDATE roster_student r SET student_id = s.id
FROM student s
WHERE r.student_no IS NOT NULL AND s.school_id = %(school)s AND s.deleted_at IS NULL
  AND s.student_no = r.student_no;

UPDATE roster_student r SET student_id = s.id
FROM student s
WHERE r.student_no IS NULL AND s.school_id = %(school)s AND s.deleted_at IS NULL
  AND lower(s.email) = lower(r.email);

-- A student number that Rollbook knows with another e-mail is someone else's number.
UPDATE roster_student r
SET action = 'reject', reject_column = 'student_no',
    reason = 'Student number ' || r.student_no || ' belongs to ' || s.email
             || ' in Rollbook, not ' || r.email
             || '. Check the number, or change the e-mail in Rollbook first.'
FROM student s
WHERE s.id = r.student_id AND r.email IS NOT NULL AND s.email IS NOT NULL
  AND lower(s.email) <> lower(r.email);

-- An e-mail that already belongs to a different student.
UPDATE roster_student r
SET action = 'reject', reject_column = 'email',
    reason = 'The e-mail ' || r.email || ' already belongs to '
             || btrim(s.first_name || ' ' || s.last_name) || ' (' || s.student_no
             || ') in Rollbook.'
FROM student s
WHERE r.action IS NULL AND r.email IS NOT NULL AND s.school_id = %(school)s
  AND s.deleted_at IS NULL AND lower(s.email) = lower(r.email)
  AND s.id IS DISTINCT FROM r.student_id;

UPDATE roster_student SET action = 'create', student_id = gen_random_uuid()
WHERE action IS NULL AND student_id IS NULL;

UPDATE roster_student r SET action = CASE WHEN
       (r.first_name IS NOT NULL AND r.first_name IS DISTINCT FROM s.first_name)
    OR (r.last_name IS NOT NULL AND r.last_name IS DISTINCT FROM s.last_name)
    OR (r.email IS NOT NULL AND r.email IS DISTINCT FROM s.email)
    OR (r.class_name IS NOT NULL AND r.class_name IS DISTINCT FROM s.class_name)
    OR (r.grade_level IS NOT NULL AND r.grade_level IS DISTINCT FROM s.grade_level)
    OR (r.birth_date IS NOT NULL AND r.birth_date IS DISTINCT FROM s.birth_date)
    OR (r.status IS NOT NULL AND r.status IS DISTINCT FROM s.status)
    OR (r.sourced_id IS NOT NULL AND r.sourced_id IS DISTINCT FROM s.sourced_id)
    THEN 'update' ELSE 'unchanged' END
FROM student s
WHERE r.action IS NULL AND s.id = r.student_id;

CREATE TEMP TABLE roster_enrollment ON COMMIT DROP AS
SELECT DISTINCT ON (st.key, lower(st.course)) st.key, st.line, st.course, r.student_id,
       c.id AS course_id, e.id AS enrollment_id, e.active AS was_active,
       CASE WHEN e.id IS NULL THEN 'create' WHEN e.active THEN 'unchanged'
            ELSE 'reactivate' END AS action
FROM roster_stage st
JOIN roster_student r ON r.key = st.key AND r.action <> 'reject'
LEFT JOIN course c ON c.school_id = %(school)s AND c.deleted_at IS NULL
                  AND lower(c.name) = lower(st.course)
LEFT JOIN course_enrollment e ON e.course_id = c.id AND e.student_id = r.student_id
WHERE st.course IS NOT NULL
ORDER BY st.key, lower(st.course), st.line;

ANALYZE roster_enrollment;
"""

_COUNTS_SQL = """
SELECT
  (SELECT count(*) FROM roster_student WHERE action = 'create'),
  (SELECT count(*) FROM roster_student WHERE action = 'update'),
  (SELECT count(*) FROM roster_student WHERE action = 'unchanged'),
  (SELECT count(DISTINCT lower(course)) FROM roster_enrollment WHERE course_id IS NULL),
  (SELECT count(*) FROM roster_enrollment WHERE action = 'create'),
  (SELECT count(*) FROM roster_enrollment WHERE action = 'reactivate')
"""


def _classify(conn: psycopg.Connection, ctx: ServiceContext, outcome: RosterOutcome,
              records: list[RosterRecord]) -> None:  # fmt: skip
    conn.execute(_CLASSIFY_SQL.replace("%(school)s", f"'{ctx.school_id}'::uuid"))
    counts = conn.execute(_COUNTS_SQL).fetchone()
    assert counts is not None
    (outcome.created, outcome.updated, outcome.unchanged, outcome.courses_created,
     outcome.enrollments_created, outcome.enrollments_reactivated) = counts  # fmt: skip
    by_key: dict[str, list[RosterRecord]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append(record)
    for key, column, reason in conn.execute(
        "SELECT key, reject_column, reason FROM roster_student WHERE action = 'reject' ORDER BY line"
    ):
        for record in by_key[key]:
            raw = {k: ("" if v is None else str(v)) for k, v in asdict(record).items()}
            outcome.rejected.append(Rejection(record.line, column, reason, raw))
    outcome.rejected.sort(key=lambda r: r.line)


def _plan_items(conn: psycopg.Connection) -> tuple[list[PlanItem], bool]:
    items: list[PlanItem] = []
    fields = ", ".join(f"s.{f}" for f in UPDATABLE)
    rows = conn.execute(
        f"""SELECT r.action, coalesce(r.student_no, s.student_no, r.email), {fields},
                   {", ".join(f"r.{f}" for f in UPDATABLE)}
            FROM roster_student r LEFT JOIN student s ON s.id = r.student_id AND r.action = 'update'
            WHERE r.action IN ('create', 'update') ORDER BY r.line LIMIT %s""",
        (MAX_LISTED_ITEMS + 1,),
    ).fetchall()
    width = len(UPDATABLE)
    for action, key, *values in rows:
        before, after = values[:width], values[width:]
        if action == "create":
            items.append(PlanItem("create", "student", key, None,
                                  {f: v for f, v in zip(UPDATABLE, after, strict=True) if v is not None},
                                  "new in the file"))  # fmt: skip
        else:
            changed = [i for i in range(width) if after[i] is not None and after[i] != before[i]]
            items.append(PlanItem("update", "student", key,
                                  {UPDATABLE[i]: before[i] for i in changed},
                                  {UPDATABLE[i]: after[i] for i in changed}, "changed in the file"))  # fmt: skip
    room = MAX_LISTED_ITEMS + 1 - len(items)
    for action, key, course in conn.execute(
        "SELECT action, key, course FROM roster_enrollment WHERE action <> 'unchanged' "
        "ORDER BY line LIMIT %s", (max(0, room),),
    ):  # fmt: skip
        items.append(PlanItem(
            f"{action}_enrollment", "course_enrollment", f"{key.lstrip('@')} → {course}",
            {"active": False} if action == "reactivate" else None, {"active": True},
            "enrolled in the file" if action == "create" else "ended, enrolled again in the file",
        ))  # fmt: skip
    truncated = len(items) > MAX_LISTED_ITEMS
    return items[:MAX_LISTED_ITEMS], truncated


def plan_roster(
    session: Session, ctx: ServiceContext, validation: ValidationResult, *,
    params: dict[str, Any] | None = None, job: Job | None = None,
) -> RosterOutcome:  # fmt: skip
    """The dry run: what the import would change. Writes nothing that outlives the
    transaction (the staging tables are temporary)."""
    require_role(ctx, *REGISTRAR_ROLES, doing="import rosters")
    job = job or Job()
    conn = _raw(session)
    outcome = _outcome(validation)
    _stage(conn, validation.records, job)
    job.check_cancel()
    job.progress(0, None, "Comparing with Rollbook…")
    _classify(conn, ctx, outcome, validation.records)
    items, truncated = _plan_items(conn)
    outcome.plan = Plan(RunKind.IMPORT, outcome.summary(), items, truncated, params or {})
    _drop_stage(conn)
    return outcome


def _outcome(validation: ValidationResult) -> RosterOutcome:
    return RosterOutcome(
        rows=validation.total_rows,
        merged_duplicates=validation.merged_duplicates,
        rejected=list(validation.rejections),
    )


def _drop_stage(conn: psycopg.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS roster_enrollment, roster_student, roster_stage")


_APPLY_SQL = (
    """
-- student numbers for new students the file gave none (matched by e-mail only)
UPDATE roster_student r SET student_no = numbered.no
FROM (SELECT key, %(prefix)s || lpad((%(next)s + row_number() OVER (ORDER BY line) - 1)::text, 7, '0') AS no
      FROM roster_student WHERE action = 'create' AND student_no IS NULL) numbered
WHERE numbered.key = r.key;

"""
    + staged_courses_sql("roster_enrollment", "course")
    + """
INSERT INTO student (id, school_id, student_no, email, first_name, last_name, class_name,
                     grade_level, birth_date, status, sourced_id)
SELECT student_id, %(school)s, student_no, email, coalesce(first_name, ''),
       coalesce(last_name, ''), class_name, grade_level, birth_date, coalesce(status, 'active'),
       sourced_id
FROM roster_student WHERE action = 'create';

INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes, run_id)
SELECT %(school)s, %(actor)s, 'create', 'student', r.student_id,
       jsonb_build_object('before', '{}'::jsonb, 'after', jsonb_strip_nulls(jsonb_build_object(
         'student_no', r.student_no, 'email', r.email, 'first_name', r.first_name,
         'last_name', r.last_name, 'class_name', r.class_name, 'grade_level', r.grade_level,
         'birth_date', r.birth_date, 'status', coalesce(r.status, 'active')))),
       %(run)s
FROM roster_student r WHERE r.action = 'create';

-- before the update: the audit entry needs the old values
INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes, run_id)
SELECT %(school)s, %(actor)s, 'update', 'student', s.id,
       jsonb_build_object(
         'before', (SELECT coalesce(jsonb_object_agg(o.key, o.value), '{}'::jsonb)
                    FROM jsonb_each(old_values) o
                    WHERE new_values ? o.key AND new_values -> o.key IS DISTINCT FROM o.value),
         'after', (SELECT coalesce(jsonb_object_agg(n.key, n.value), '{}'::jsonb)
                   FROM jsonb_each(new_values) n
                   WHERE old_values -> n.key IS DISTINCT FROM n.value)),
       %(run)s
FROM roster_student r
JOIN student s ON s.id = r.student_id
CROSS JOIN LATERAL (SELECT
    jsonb_build_object('first_name', s.first_name, 'last_name', s.last_name, 'email', s.email,
      'class_name', s.class_name, 'grade_level', s.grade_level, 'birth_date', s.birth_date,
      'status', s.status) AS old_values,
    jsonb_strip_nulls(jsonb_build_object('first_name', r.first_name, 'last_name', r.last_name,
      'email', r.email, 'class_name', r.class_name, 'grade_level', r.grade_level,
      'birth_date', r.birth_date, 'status', r.status)) AS new_values) v
WHERE r.action = 'update';

UPDATE student s SET
  first_name = coalesce(r.first_name, s.first_name),
  last_name = coalesce(r.last_name, s.last_name),
  email = coalesce(r.email, s.email),
  class_name = coalesce(r.class_name, s.class_name),
  grade_level = coalesce(r.grade_level, s.grade_level),
  birth_date = coalesce(r.birth_date, s.birth_date),
  status = coalesce(r.status, s.status),
  sourced_id = coalesce(r.sourced_id, s.sourced_id)
FROM roster_student r
WHERE r.action = 'update' AND s.id = r.student_id;

INSERT INTO course_enrollment (id, school_id, course_id, student_id, source)
SELECT gen_random_uuid(), %(school)s, course_id, student_id, 'import'
FROM roster_enrollment WHERE action = 'create'
ON CONFLICT ON CONSTRAINT uq_course_enrollment_once DO NOTHING;

UPDATE course_enrollment e SET active = true, ended_on = NULL, enrolled_on = current_date,
       deleted_at = NULL
FROM roster_enrollment r
WHERE r.action = 'reactivate' AND e.id = r.enrollment_id;

INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes, run_id)
SELECT %(school)s, %(actor)s, CASE r.action WHEN 'create' THEN 'enroll' ELSE 'reactivate' END,
       'course_enrollment', e.id,
       jsonb_build_object('before', CASE r.action WHEN 'create' THEN '{}'::jsonb
                                     ELSE jsonb_build_object('active', false) END,
                          'after', jsonb_build_object('active', true, 'course_id', e.course_id,
                                                      'student_id', e.student_id, 'source', e.source)),
       %(run)s
FROM roster_enrollment r
JOIN course_enrollment e ON e.course_id = r.course_id AND e.student_id = r.student_id
WHERE r.action IN ('create', 'reactivate');

-- a re-enrollment brings back the progress row set aside when the enrollment ended
INSERT INTO course_progress (id, school_id, student_id, course_id)
SELECT gen_random_uuid(), %(school)s, student_id, course_id
FROM roster_enrollment WHERE action IN ('create', 'reactivate')
ON CONFLICT ON CONSTRAINT uq_course_progress_once
DO UPDATE SET deleted_at = NULL WHERE course_progress.deleted_at IS NOT NULL;
"""
)


def _student_number_start(conn: psycopg.Connection, ctx: ServiceContext) -> tuple[str, int]:
    """Prefix and first free number for students the file gave no number."""
    prefix = "S"
    highest = conn.execute(
        "SELECT coalesce(max(substring(student_no FROM '^S([0-9]+)$')::bigint), 0) "
        "FROM student WHERE school_id = %s AND student_no ~ '^S[0-9]+$'",
        (ctx.school_id,),
    ).fetchone()
    return prefix, int(highest[0] if highest else 0) + 1


def apply_roster(
    session: Session, ctx: ServiceContext, validation: ValidationResult, *,
    all_or_nothing: bool = False, params: dict[str, Any] | None = None, job: Job | None = None,
) -> RosterOutcome:  # fmt: skip
    """Apply the import in the caller's transaction and record the run.

    Decisions are remade against the data as it is now. With ``all_or_nothing`` and any
    rejected row, nothing is applied (the run is recorded with its rejections).
    """
    require_role(ctx, *REGISTRAR_ROLES, doing="import rosters")
    job = job or Job()
    conn = _raw(session)
    outcome = _outcome(validation)
    run_id = start_run(session, ctx, RunKind.IMPORT, dry_run=False, params=params or {})
    outcome.run_id = run_id
    _stage(conn, validation.records, job)
    job.check_cancel()
    job.progress(0, None, "Comparing with Rollbook…")
    _classify(conn, ctx, outcome, validation.records)
    job.check_cancel()
    if all_or_nothing and outcome.rejected:
        _drop_stage(conn)
        store_rejections(conn, ctx, run_id, outcome.rejected)
        finish_run(session, run_id, RunStatus.FAILED,
                   {**outcome.summary(), "created": 0, "updated": 0, "enrollments_created": 0,
                    "enrollments_reactivated": 0, "courses_created": 0,
                    "error": "rows were rejected and all-or-nothing was chosen"})  # fmt: skip
        return outcome
    job.progress(0, None, "Writing students and enrollments…")
    prefix, start = _student_number_start(conn, ctx)
    # Client-side binding: one round trip for the whole merge (server-side binding
    # allows a single statement per execute).
    with psycopg.ClientCursor(conn) as cursor:
        cursor.execute(
            _APPLY_SQL,
            {
                "school": ctx.school_id,
                "actor": ctx.actor,
                "run": run_id,
                "prefix": prefix,
                "next": start,
            },  # fmt: skip
        )
    job.check_cancel()
    _drop_stage(conn)
    store_rejections(conn, ctx, run_id, outcome.rejected)
    outcome.applied = True
    finish_run(session, run_id, RunStatus.SUCCEEDED, outcome.summary())
    return outcome


def store_rejections(conn: psycopg.Connection, ctx: ServiceContext, run_id: uuid.UUID,
                      rejections: list[Rejection]) -> None:  # fmt: skip
    if not rejections:
        return
    with conn.cursor().copy(
        "COPY import_rejected_row (id, school_id, run_id, line_no, raw, errors) FROM STDIN"
    ) as copy:
        for rejection in rejections:
            copy.write_row((uuid.uuid4(), ctx.school_id, run_id, rejection.line,
                            Jsonb(rejection.raw),
                            Jsonb([{"column": rejection.column, "message": rejection.message}])))  # fmt: skip
