"""Roster import: plan (dry run) and apply, both set-based.

Valid records are COPYed into a temporary staging table; matching, conflict checks and
the classification into create / update / unchanged students are single SQL statements
over it, and the enrollments go through the one enrollment writer (which also says
which students it will not enroll: inactive or withdrawn). A plan fingerprints every
student and enrollment it decided about; ``apply_roster`` stages the file again against
the data as it is now, leaves alone (and reports) whatever changed since the plan, and
writes the rest in a recorded run (app.runs.recorder) in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from app.db.staging import analyze_loaded, stage_rows
from app.domain.context import ServiceContext
from app.domain.enums import EnrollmentSource, RunKind
from app.domain.errors import RollbookError
from app.imports.outcome import ImportOutcome
from app.imports.reading import cyclic_gc_paused
from app.imports.validation import RosterRecord, ValidationResult
from app.jobs import Job
from app.runs.plan import MAX_LISTED_ITEMS, Fingerprint, Plan, PlanItem, StaleItem
from app.runs.recorder import RunScope, apply_recorded, recheck
from app.runs.rejections import Rejection, store_rejections
from app.services.courses import staged_courses_sql
from app.services.enrollment_writer import (
    PLAN_TABLE,
    EnrollmentReport,
    SkippedPair,
    end_enrollments,
    plan_enrollments,
    write_enrollments,
)
from app.services.permissions import Permission, needs

UPDATABLE = ("first_name", "last_name", "email", "class_name", "grade_level", "birth_date",
             "status", "sourced_id", "state_id")  # fmt: skip
PAIR_KEY = "\x1f"  # between a student's key and a course name in an enrollment's key


class AllOrNothingRefused(RollbookError):
    """Rows were rejected (or changed since the preview) and all-or-nothing was chosen."""


@dataclass
class RosterOutcome(ImportOutcome):
    """What a plan or an apply found; the counts of the CLI's --json."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    courses_created: int = 0
    enrollments_created: int = 0
    enrollments_reactivated: int = 0
    enrollments_skipped: int = 0
    enrollments_ended: int = 0
    # Enrollments the writer will not make, in words ("S0003 → Art: the student is withdrawn").
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            **self.common_summary(), "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "courses_created": self.courses_created,
            "enrollments_created": self.enrollments_created,
            "enrollments_reactivated": self.enrollments_reactivated,
            "enrollments_skipped": self.enrollments_skipped,
            "enrollments_ended": self.enrollments_ended,
        }  # fmt: skip


def _raw(session: Session) -> psycopg.Connection:
    return session.connection().connection.driver_connection


def _stage(conn: psycopg.Connection, validation: ValidationResult, job: Job) -> None:
    stage_rows(conn, "roster_ended", "key text, course text", validation.ended)
    records = validation.records
    stage_rows(
        conn, "roster_stage",
        "line int, key text, student_no text, email text, first_name text, last_name text, "
        "class_name text, grade_level smallint, birth_date date, status text, course text, "
        "sourced_id text, state_id text",
        ((r.line, r.key, r.student_no, r.email, r.first_name, r.last_name, r.class_name,
          r.grade_level, r.birth_date, r.status, r.course, r.sourced_id, r.state_id)
         for r in records),
        job=job, total=len(records),
    )  # fmt: skip


_CLASSIFY_SQL = """
-- Each student of the file once, with what the import does with it, decided in one
-- pass: matched by student number, else by e-mail; refused when the number is someone
-- else's (Rollbook knows it with another e-mail) or the e-mail belongs to another
-- student; otherwise created, updated or unchanged. (One statement instead of an
-- UPDATE per rule: the rules read the same joins, and a temporary table rewritten
-- row by row costs more than building it once.)
CREATE TEMP TABLE roster_student ON COMMIT DROP AS
WITH staged AS (
  SELECT DISTINCT ON (key) key, line, student_no, email, first_name, last_name, class_name,
         grade_level, birth_date, status, sourced_id, state_id
  FROM roster_stage ORDER BY key, line),
found AS (
  SELECT st.*, coalesce(by_no.id, by_email.id) AS found_id
  FROM staged st
  LEFT JOIN student by_no
         ON st.student_no IS NOT NULL AND by_no.school_id = %(school)s
        AND by_no.deleted_at IS NULL AND by_no.student_no = st.student_no
  LEFT JOIN student by_email
         ON st.student_no IS NULL AND by_email.school_id = %(school)s
        AND by_email.deleted_at IS NULL AND lower(by_email.email) = lower(st.email)),
judged AS (
  SELECT f.*, s.first_name AS s_first_name, s.last_name AS s_last_name, s.email AS s_email,
         s.class_name AS s_class_name, s.grade_level AS s_grade_level,
         s.birth_date AS s_birth_date, s.status AS s_status, s.sourced_id AS s_sourced_id,
         s.state_id AS s_state_id,
         -- A student number that Rollbook knows with another e-mail is someone else's.
         (f.email IS NOT NULL AND s.email IS NOT NULL AND lower(s.email) <> lower(f.email))
           AS number_taken,
         other.id AS email_owner, other.student_no AS owner_no,
         btrim(other.first_name || ' ' || other.last_name) AS owner_name
  FROM found f
  LEFT JOIN student s ON s.id = f.found_id
  -- An e-mail that already belongs to a different student (at most one: it is unique).
  LEFT JOIN student other
         ON f.email IS NOT NULL AND other.school_id = %(school)s AND other.deleted_at IS NULL
        AND lower(other.email) = lower(f.email) AND other.id IS DISTINCT FROM f.found_id)
SELECT key, line, student_no, email, first_name, last_name, class_name, grade_level,
       birth_date, status, sourced_id, state_id,
       CASE WHEN found_id IS NULL AND NOT number_taken AND email_owner IS NULL
            THEN gen_random_uuid() ELSE found_id END AS student_id,
       CASE WHEN number_taken OR email_owner IS NOT NULL THEN 'reject'
            WHEN found_id IS NULL THEN 'create'
            WHEN (first_name IS NOT NULL AND first_name IS DISTINCT FROM s_first_name)
              OR (last_name IS NOT NULL AND last_name IS DISTINCT FROM s_last_name)
              OR (email IS NOT NULL AND email IS DISTINCT FROM s_email)
              OR (class_name IS NOT NULL AND class_name IS DISTINCT FROM s_class_name)
              OR (grade_level IS NOT NULL AND grade_level IS DISTINCT FROM s_grade_level)
              OR (birth_date IS NOT NULL AND birth_date IS DISTINCT FROM s_birth_date)
              OR (status IS NOT NULL AND status IS DISTINCT FROM s_status)
              OR (sourced_id IS NOT NULL AND sourced_id IS DISTINCT FROM s_sourced_id)
              OR (state_id IS NOT NULL AND state_id IS DISTINCT FROM s_state_id)
            THEN 'update' ELSE 'unchanged' END AS action,
       CASE WHEN number_taken
              THEN 'Student number ' || student_no || ' belongs to ' || s_email
                   || ' in Rollbook, not ' || email
                   || '. Check the number, or change the e-mail in Rollbook first.'
            WHEN email_owner IS NOT NULL
              THEN 'The e-mail ' || email || ' already belongs to ' || owner_name || ' ('
                   || owner_no || ') in Rollbook.'
       END AS reason,
       CASE WHEN number_taken THEN 'student_no' WHEN email_owner IS NOT NULL THEN 'email'
       END AS reject_column
FROM judged;

-- The statements below join the file's students by key and id.
ANALYZE roster_student (key, student_id, action);

-- One row per student and course the file names. A course Rollbook does not have yet
-- stands in the plan under a placeholder id made from its name; the apply creates it.
CREATE TEMP TABLE roster_enrollment ON COMMIT DROP AS
SELECT DISTINCT ON (st.key, lower(st.course)) st.key, st.line, st.course, r.student_id,
       c.id AS course_id, coalesce(c.id, md5('course:' || lower(st.course))::uuid) AS plan_course_id
FROM roster_stage st
JOIN roster_student r ON r.key = st.key AND r.action <> 'reject'
LEFT JOIN course c ON c.school_id = %(school)s AND c.deleted_at IS NULL
                  AND lower(c.name) = lower(st.course)
WHERE st.course IS NOT NULL
ORDER BY st.key, lower(st.course), st.line;

ANALYZE roster_enrollment (key, student_id, plan_course_id, course_id);
"""

# A staged enrollment whose student is (or will be, by the file) active: only those get
# a course created for them; the writer skips the others.
_WILL_BE_ACTIVE = """EXISTS (
  SELECT 1 FROM roster_student r LEFT JOIN student s ON s.id = r.student_id
  WHERE r.key = staged.key AND r.action IN ('create', 'update', 'unchanged')
    AND coalesce(r.status, s.status, 'active') = 'active')"""

_COUNTS_SQL = f"""
SELECT
  (SELECT count(*) FROM roster_student WHERE action = 'create'),
  (SELECT count(*) FROM roster_student WHERE action = 'update'),
  (SELECT count(*) FROM roster_student WHERE action = 'unchanged'),
  (SELECT count(DISTINCT lower(course)) FROM roster_enrollment staged
   WHERE course_id IS NULL AND {_WILL_BE_ACTIVE})
"""

# The pairs for the enrollment writer, with the status each student will have: a new
# student's from the file (active if it says nothing), an existing one's from the file
# if it gives one, else as stored.
_PAIRS_SQL = """
SELECT e.student_id, {course} AS course_id,
       CASE WHEN r.action = 'create' THEN coalesce(r.status, 'active') ELSE r.status END
         AS student_status
FROM roster_enrollment e JOIN roster_student r ON r.key = e.key
WHERE r.action IN ('create', 'update', 'unchanged')
"""


def _classify(conn: psycopg.Connection, ctx: ServiceContext, outcome: RosterOutcome,
              records: list[RosterRecord]) -> None:  # fmt: skip
    conn.execute(_CLASSIFY_SQL.replace("%(school)s", f"'{ctx.school_id}'::uuid"))
    counts = conn.execute(_COUNTS_SQL).fetchone()
    assert counts is not None
    outcome.created, outcome.updated, outcome.unchanged, outcome.courses_created = counts
    by_key: dict[str, list[RosterRecord]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append(record)
    for key, column, reason in conn.execute(
        "SELECT key, reject_column, reason FROM roster_student WHERE action = 'reject' ORDER BY line"
    ):
        for record in {r.line: r for r in by_key[key]}.values():  # once per line
            raw = {k: ("" if v is None else str(v)) for k, v in asdict(record).items()}
            outcome.rejected.append(Rejection(record.line, column, reason, raw))
    outcome.rejected.sort(key=lambda r: r.line)


# The writer's plan (enrollment_plan) joined back to the file's enrollments: the
# student's key and the course as the file names it, for listing and fingerprints.
_PLANNED_PAIRS = f"""
FROM {PLAN_TABLE} p
JOIN roster_enrollment e ON e.student_id = p.student_id AND e.plan_course_id = p.course_id
"""


def _plan_enrollments(conn: psycopg.Connection, outcome: RosterOutcome) -> EnrollmentReport:
    planned = plan_enrollments(conn, _PAIRS_SQL.format(course="e.plan_course_id"), {})
    outcome.enrollments_created = planned.counts.created
    outcome.enrollments_reactivated = planned.counts.reactivated
    outcome.enrollments_skipped = planned.counts.skipped
    outcome.skipped = _skipped_texts(conn, planned.skipped, "e.plan_course_id")
    return planned


def _skipped_texts(conn: psycopg.Connection, skipped: list[SkippedPair],
                   course_column: str) -> list[str]:  # fmt: skip
    """ "S0003 → Art: the student is withdrawn", in the file's order; ``course_column``
    is the roster_enrollment (e) column the pairs' course ids came from."""
    if not skipped:
        return []
    rows = conn.execute(
        f"""SELECT e.key, e.course, s.reason
            FROM unnest(%s::uuid[], %s::uuid[], %s::text[]) AS s(student_id, course_id, reason)
            JOIN roster_enrollment e ON e.student_id = s.student_id
                                    AND {course_column} = s.course_id
            ORDER BY e.line""",
        ([p.student_id for p in skipped], [p.course_id for p in skipped],
         [p.reason for p in skipped]),
    )  # fmt: skip
    return [f"{key.lstrip('@')} → {course}: {reason}" for key, course, reason in rows]


def _fingerprints(conn: psycopg.Connection) -> list[Fingerprint]:
    """Every student and enrollment the plan decided about, as they are now (named only
    when one turns out stale: see _LABELS_SQL)."""
    return list(map(Fingerprint._make, conn.execute(
        f"""SELECT 'student', r.key, s.row_version, ''
            FROM roster_student r LEFT JOIN student s ON s.id = r.student_id
            WHERE r.action IN ('create', 'update', 'unchanged')
            UNION ALL
            SELECT 'course_enrollment', e.key || '{PAIR_KEY}' || lower(e.course),
                   p.enrollment_version, ''
            {_PLANNED_PAIRS} WHERE p.skip_reason IS NULL"""
    ).fetchall()))  # fmt: skip


# How a report names the file's students and enrollments: "S0002 Ben Nowak", "S0002 → Art".
_LABELS_SQL = f"""
SELECT 'student' AS entity, r.key,
       btrim(ltrim(r.key, '@') || ' ' || coalesce(r.first_name, s.first_name, '') || ' '
             || coalesce(r.last_name, s.last_name, '')) AS label
FROM roster_student r LEFT JOIN student s ON s.id = r.student_id
UNION ALL
SELECT 'course_enrollment', e.key || '{PAIR_KEY}' || lower(e.course),
       ltrim(e.key, '@') || ' → ' || e.course
FROM roster_enrollment e
"""


# The active enrollments the file ends (OneRoster's tobedeleted).
_ENDED_SQL = """
SELECT ce.student_id, ce.course_id, ce.row_version, g.key, g.course
FROM roster_ended g
JOIN student s ON s.school_id = %(school)s AND s.deleted_at IS NULL AND s.student_no = g.key
JOIN course c ON c.school_id = %(school)s AND c.deleted_at IS NULL
             AND lower(c.name) = lower(g.course)
JOIN course_enrollment ce ON ce.student_id = s.id AND ce.course_id = c.id
                         AND ce.active AND ce.deleted_at IS NULL
"""

# The fingerprints of the same rows now (see app.runs.recorder.recheck).
_CURRENT_SQL = f"""
SELECT 'student' AS entity, r.key, s.row_version AS version
FROM roster_student r JOIN student s ON s.id = r.student_id
UNION ALL
SELECT 'course_enrollment', e.key || '{PAIR_KEY}' || lower(e.course), ce.row_version
FROM roster_enrollment e
JOIN course_enrollment ce ON ce.student_id = e.student_id AND ce.course_id = e.course_id
UNION ALL
SELECT 'course_enrollment', ended.key || '{PAIR_KEY}' || lower(ended.course), ended.row_version
FROM ({_ENDED_SQL}) ended
"""


def _ended_prints(conn: psycopg.Connection, ctx: ServiceContext) -> list[Fingerprint]:
    return [
        Fingerprint("course_enrollment", f"{key}{PAIR_KEY}{course.lower()}", version,
                    f"{key} → {course} (ended)")
        for _s, _c, version, key, course in conn.execute(_ENDED_SQL, {"school": ctx.school_id})
    ]  # fmt: skip


def _plan_items(conn: psycopg.Connection, skipped: list[str]) -> tuple[list[PlanItem], bool]:
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
    enrollments = conn.execute(
        f"""SELECT p.action, ltrim(e.key, '@') || ' → ' || e.course {_PLANNED_PAIRS}
            WHERE p.skip_reason IS NULL AND p.action <> 'unchanged'
            ORDER BY e.line LIMIT %s""",
        (max(0, MAX_LISTED_ITEMS + 1 - len(items)),),
    )  # fmt: skip
    for action, key in enrollments:
        items.append(PlanItem(
            f"{action}_enrollment", "course_enrollment", key,
            {"active": False} if action == "reactivate" else None, {"active": True},
            "enrolled in the file" if action == "create" else "ended, enrolled again in the file",
        ))  # fmt: skip
    for text in skipped[: max(0, MAX_LISTED_ITEMS + 1 - len(items))]:
        items.append(PlanItem("skip_enrollment", "course_enrollment", text.split(": ", 1)[0],
                              None, None, text.split(": ", 1)[1]))  # fmt: skip
    truncated = len(items) > MAX_LISTED_ITEMS
    return items[:MAX_LISTED_ITEMS], truncated


# Staging, fingerprints and plan items make a few hundred thousand small objects too.
@needs(Permission.IMPORT_ROSTERS)
@cyclic_gc_paused()
def plan_roster(
    session: Session, ctx: ServiceContext, validation: ValidationResult, *,
    params: dict[str, Any] | None = None, job: Job | None = None,
) -> RosterOutcome:  # fmt: skip
    """The dry run: what the import would change. Writes nothing that outlives the
    transaction (the staging tables are temporary)."""
    job = job or Job()
    conn = _raw(session)
    outcome = _outcome(validation)
    _stage(conn, validation, job)
    job.check_cancel()
    job.progress(0, None, "Comparing with Rollbook…")
    _classify(conn, ctx, outcome, validation.records)
    _plan_enrollments(conn, outcome)
    ended = _ended_prints(conn, ctx)
    outcome.enrollments_ended = len(ended)
    items, truncated = _plan_items(conn, outcome.skipped)
    outcome.plan = Plan(RunKind.IMPORT, outcome.summary(), items, truncated, params or {},
                        _fingerprints(conn) + ended)  # fmt: skip
    _drop_stage(conn)
    return outcome


def _outcome(validation: ValidationResult) -> RosterOutcome:
    return RosterOutcome(
        rows=validation.total_rows,
        merged_duplicates=validation.merged_duplicates,
        rejected=list(validation.rejections),
    )


def _drop_stage(conn: psycopg.Connection) -> None:
    conn.execute(f"DROP TABLE IF EXISTS roster_enrollment, roster_student, roster_stage, "
                 f"roster_ended, {PLAN_TABLE}")  # fmt: skip


_LEAVE_STALE_SQL = f"""
UPDATE roster_student SET action = 'stale'
WHERE key IN (SELECT key FROM run_stale WHERE entity = 'student');
DELETE FROM roster_enrollment e
WHERE e.key IN (SELECT key FROM roster_student WHERE action = 'stale')
   OR e.key || '{PAIR_KEY}' || lower(e.course)
      IN (SELECT key FROM run_stale WHERE entity = 'course_enrollment');
DELETE FROM roster_ended g
WHERE g.key || '{PAIR_KEY}' || lower(g.course)
      IN (SELECT key FROM run_stale WHERE entity = 'course_enrollment');
"""

_APPLY_SQL = (
    """
-- student numbers for new students the file gave none (matched by e-mail only)
UPDATE roster_student r SET student_no = numbered.no
FROM (SELECT key, %(prefix)s || lpad((%(next)s + row_number() OVER (ORDER BY line) - 1)::text, 7, '0') AS no
      FROM roster_student WHERE action = 'create' AND student_no IS NULL) numbered
WHERE numbered.key = r.key;

"""
    + staged_courses_sql("roster_enrollment", "course", _WILL_BE_ACTIVE)
    + """
INSERT INTO student (id, school_id, student_no, email, first_name, last_name, class_name,
                     grade_level, birth_date, status, sourced_id, state_id)
SELECT student_id, %(school)s, student_no, email, coalesce(first_name, ''),
       coalesce(last_name, ''), class_name, grade_level, birth_date, coalesce(status, 'active'),
       sourced_id, state_id
FROM roster_student WHERE action = 'create'
-- In number order, as files usually are: the unique index on the number fills page by
-- page instead of splitting pages all over.
ORDER BY student_no;

UPDATE student s SET
  first_name = coalesce(r.first_name, s.first_name),
  last_name = coalesce(r.last_name, s.last_name),
  email = coalesce(r.email, s.email),
  class_name = coalesce(r.class_name, s.class_name),
  grade_level = coalesce(r.grade_level, s.grade_level),
  birth_date = coalesce(r.birth_date, s.birth_date),
  status = coalesce(r.status, s.status),
  sourced_id = coalesce(r.sourced_id, s.sourced_id),
  state_id = coalesce(r.state_id, s.state_id)
FROM roster_student r
WHERE r.action = 'update' AND s.id = r.student_id;
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


@needs(Permission.IMPORT_ROSTERS)
@cyclic_gc_paused()
def apply_roster(
    session: Session, ctx: ServiceContext, validation: ValidationResult, *,
    plan: Plan | None = None, all_or_nothing: bool = False,
    params: dict[str, Any] | None = None, job: Job | None = None,
) -> RosterOutcome:  # fmt: skip
    """Apply the import in the caller's transaction, as a recorded run.

    With ``plan`` (the preview the person saw) every student and enrollment it decided
    about is checked first: those that changed since are left alone and reported in
    ``stale``. With ``all_or_nothing`` and any rejected (or stale) row, nothing is
    applied and the run is recorded as failed, with its rejections.
    """
    job = job or Job()
    conn = _raw(session)
    outcome = _outcome(validation)

    def work(scope: RunScope) -> tuple[RosterOutcome, dict[str, Any]]:
        outcome.run_id = scope.run_id
        _stage(conn, validation, job)
        job.check_cancel()
        job.progress(0, None, "Comparing with Rollbook…")
        _classify(conn, ctx, outcome, validation.records)
        if plan is not None:
            outcome.stale = recheck(conn, plan.fingerprints, _CURRENT_SQL,
                                    {"school": ctx.school_id}, label_sql=_LABELS_SQL)  # fmt: skip
            scope.stale.extend(outcome.stale)
            _leave_stale(conn, outcome.stale)
        job.check_cancel()
        scope.summary.update(outcome.summary())
        if all_or_nothing and (outcome.rejected or outcome.stale):
            raise AllOrNothingRefused(
                "Nothing was imported: rows were rejected" + (" or changed since the preview"
                if outcome.stale else "") + " and all-or-nothing was chosen."
            )  # fmt: skip
        job.progress(0, None, "Writing students and enrollments…")
        prefix, start = _student_number_start(conn, ctx)
        # Client-side binding: one round trip for the whole merge (server-side binding
        # allows a single statement per execute).
        with psycopg.ClientCursor(conn) as cursor:
            cursor.execute(_APPLY_SQL, {"school": ctx.school_id, "prefix": prefix,
                                        "next": start})  # fmt: skip
        job.check_cancel()
        # The writer joins the students just created; the ending joins the enrollments.
        analyze_loaded(conn, outcome.created, "student")
        # A course left uncreated (only students who are not active name it) keeps its
        # placeholder: the writer skips those pairs, each with its own name.
        pairs = _PAIRS_SQL.format(course="coalesce(e.course_id, e.plan_course_id)")
        written = write_enrollments(conn, ctx, pairs, {}, source=EnrollmentSource.IMPORT.value)
        outcome.enrollments_created = written.counts.created
        outcome.enrollments_reactivated = written.counts.reactivated
        outcome.enrollments_skipped = written.counts.skipped
        outcome.skipped = _skipped_texts(conn, written.skipped,
                                         "coalesce(e.course_id, e.plan_course_id)")  # fmt: skip
        analyze_loaded(conn, written.counts.created, "course_enrollment")
        analyze_loaded(conn, written.counts.progress_created, "course_progress")
        outcome.enrollments_ended, _set_aside = end_enrollments(
            conn, "SELECT student_id, course_id FROM (" + _ENDED_SQL + ") ended",
            {"school": ctx.school_id},
        )  # fmt: skip
        job.check_cancel()
        _drop_stage(conn)
        outcome.applied = True
        return outcome, outcome.summary()

    run = apply_recorded(session, ctx, RunKind.IMPORT, params or {}, work)
    outcome.run_id = run.run_id
    # Rejected rows are kept with the run whatever became of it.
    store_rejections(conn, ctx, run.run_id, outcome.rejected)
    if isinstance(run.cause, AllOrNothingRefused):
        outcome.applied = False
        return outcome
    run.value_or_raise()
    return outcome


def _leave_stale(conn: psycopg.Connection, stale: list[StaleItem]) -> None:
    stage_rows(conn, "run_stale", "entity text, key text",
               ((item.entity, item.key) for item in stale))  # fmt: skip
    conn.execute(_LEAVE_STALE_SQL)
    conn.execute("DROP TABLE run_stale")
