"""Repairing what the consistency check found: re-check, then apply, in one transaction.

``apply_repair`` stages the selected findings (kind, row, row version, proposed action)
in a temporary table and, kind by kind, re-runs the finding query joined to them: a
finding whose row changed since the preview (other version), that needs another repair
now, or that is no longer inconsistent is skipped and reported; the rest are repaired
with set-based UPDATE ... FROM / INSERT ... SELECT statements that also write the audit
log. Nothing is hard-deleted: rows are created, re-activated, set aside (tombstoned,
kept), withdrawn with a note, or flagged. The run is recorded as a maintenance_run;
``run_repair`` also records a run that failed or was cancelled, after rolling it back.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.domain.context import ServiceContext
from app.domain.enums import RunKind, RunStatus
from app.domain.errors import Cancelled, RollbookError
from app.jobs import Job
from app.maintenance.consistency import (
    KINDS,
    Finding,
    check_kinds,
    plan_consistency,
    raw_connection,
)
from app.maintenance.plan import Plan, finish_run, record_failed_run, start_run
from app.services.permissions import REGISTRAR_ROLES, require_role

_AUDIT = "INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes, run_id)"


def _audit(action: str, entity: str, before: str, after: str) -> str:
    return (f"{_AUDIT} SELECT %(school)s, %(actor)s, {action}, '{entity}', id, "
            f"jsonb_build_object('before', {before}, 'after', {after}), %(run)s FROM done")  # fmt: skip


_ENSURE_PROGRESS = f"""
WITH done AS (
  INSERT INTO course_progress (id, school_id, student_id, course_id)
  SELECT gen_random_uuid(), %(school)s, student_id, target_id
  FROM (SELECT DISTINCT student_id, target_id FROM repair_go) pairs
  ON CONFLICT ON CONSTRAINT uq_course_progress_once
  DO UPDATE SET deleted_at = NULL WHERE course_progress.deleted_at IS NOT NULL
  RETURNING id, (xmax = 0) AS created, student_id, course_id)
{_audit("CASE WHEN created THEN 'create' ELSE 'restore' END", "course_progress",
        "CASE WHEN created THEN '{}'::jsonb ELSE jsonb_build_object('set_aside', true) END",
        "jsonb_build_object('student_id', student_id, 'course_id', course_id, 'set_aside', false)")};
"""  # fmt: skip


def _create_enrollments(source: str) -> str:
    return f"""
WITH done AS (
  INSERT INTO course_enrollment (id, school_id, course_id, student_id, source)
  SELECT gen_random_uuid(), %(school)s, target_id, student_id, '{source}'
  FROM (SELECT DISTINCT student_id, target_id FROM repair_go
        WHERE action = 'create-enrollment') pairs
  ON CONFLICT ON CONSTRAINT uq_course_enrollment_once DO NOTHING
  RETURNING id, course_id, student_id)
{_audit("'enroll'", "course_enrollment", "'{}'::jsonb",
        f"jsonb_build_object('active', true, 'course_id', course_id, 'student_id', student_id, "
        f"'source', '{source}')")};
"""  # fmt: skip


APPLY = {
    "approved-no-enrollment": _create_enrollments("request") + f"""
WITH done AS (
  UPDATE course_enrollment e SET active = true, deleted_at = NULL, ended_on = NULL,
         enrolled_on = current_date
  FROM repair_go g WHERE g.action = 'reactivate-enrollment' AND e.id = g.ref_id
  RETURNING e.id)
{_audit("'reactivate'", "course_enrollment", "jsonb_build_object('active', false)",
        "jsonb_build_object('active', true)")};
""" + _ENSURE_PROGRESS,
    "progress-only": _create_enrollments("backfill") + f"""
WITH done AS (
  UPDATE course_progress p SET deleted_at = now()
  FROM repair_go g WHERE g.action = 'set-aside-progress' AND p.id = g.subject_id
  RETURNING p.id)
{_audit("'set_aside'", "course_progress", "jsonb_build_object('set_aside', false)",
        "jsonb_build_object('set_aside', true)")};
""",
    "enrollment-only": _ENSURE_PROGRESS,
    "pending-but-enrolled": f"""
WITH done AS (
  UPDATE enrollment_request r SET status = 'withdrawn', decided_at = now(),
         decided_by = %(actor)s,
         note = concat_ws(' — ', r.note,
                          'Withdrawn by the consistency repair: already enrolled in the course.')
  FROM repair_go g WHERE r.id = g.subject_id
  RETURNING r.id, r.note)
{_audit("'withdrawn'", "enrollment_request", "jsonb_build_object('status', 'pending')",
        "jsonb_build_object('status', 'withdrawn', 'note', note)")};
""",
    "attendance-not-enrolled": f"""
WITH done AS (
  UPDATE session_attendance a SET deleted_at = now(),
         note = concat_ws(' — ', a.note,
                          'Set aside by the consistency repair: not enrolled on the session date.')
  FROM repair_go g WHERE a.id = g.subject_id
  RETURNING a.id)
{_audit("'set_aside'", "session_attendance", "jsonb_build_object('set_aside', false)",
        "jsonb_build_object('set_aside', true)")};
""",
    "event-attendance-cancelled": f"""
WITH done AS (
  UPDATE event_attendance ea SET deleted_at = now()
  FROM repair_go g WHERE ea.id = g.subject_id
  RETURNING ea.id)
{_audit("'set_aside'", "event_attendance", "jsonb_build_object('set_aside', false)",
        "jsonb_build_object('set_aside', true)")};
""",
    "certificate-ineligible": f"""
WITH done AS (
  UPDATE certificate c SET revocation_flagged_at = now(),
         revocation_flag_reason = CASE
           WHEN r.status = 'cancelled' OR r.deleted_at IS NOT NULL
             THEN 'The registration was cancelled.'
           ELSE 'Attended ' || d.days || ' of the ' || ev.certificate_min_days
                || ' days the event requires.' END
  FROM repair_go g
  JOIN event_registration r ON r.id = g.ref_id
  JOIN event ev ON ev.id = r.event_id
  LEFT JOIN LATERAL (SELECT count(*) AS days FROM event_attendance ea
                     WHERE ea.registration_id = r.id AND ea.deleted_at IS NULL) d ON true
  WHERE c.id = g.subject_id
  RETURNING c.id, c.revocation_flag_reason AS reason)
{_audit("'flag_revocation'", "certificate", "jsonb_build_object('flagged', false)",
        "jsonb_build_object('flagged', true, 'reason', reason)")};
""",
    "team-size": f"""
WITH done AS (
  UPDATE event_registration r SET team_id = NULL,
         status = CASE WHEN g.action = 'leave-team-waitlist' THEN 'waitlisted' ELSE r.status END
  FROM repair_go g WHERE r.id = g.subject_id
  RETURNING r.id, g.ref_id AS team_id, r.status)
{_audit("'leave_team'", "event_registration", "jsonb_build_object('team_id', team_id)",
        "jsonb_build_object('team_id', null, 'status', status)")};
""",
}  # fmt: skip


@dataclass(frozen=True)
class SkippedFinding:
    finding: Finding
    why: str


@dataclass
class RepairOutcome:
    run_id: uuid.UUID
    applied_counts: dict[str, int]
    applied: list[Finding] = field(default_factory=list)
    skipped: list[SkippedFinding] = field(default_factory=list)

    @property
    def applied_total(self) -> int:
        return sum(self.applied_counts.values())

    def summary(self) -> dict[str, object]:
        return {"applied": self.applied_total, "skipped": len(self.skipped),
                "by_kind": dict(self.applied_counts)}  # fmt: skip


def plan_repair(
    session: Session, ctx: ServiceContext, *, kinds: list[str] | None = None,
    job: Job | None = None,
) -> Plan:  # fmt: skip
    """The findings with their proposed repairs (the check and the repair preview are
    the same thing: every finding kind has its repair)."""
    return plan_consistency(session, ctx, kinds=kinds, job=job)


def _stage(conn: psycopg.Connection, findings: list[Finding]) -> None:
    conn.execute(
        "CREATE TEMP TABLE repair_selected (kind text, subject_id uuid, row_version bigint, "
        "action text) ON COMMIT DROP"
    )
    with conn.cursor().copy(
        "COPY repair_selected (kind, subject_id, row_version, action) FROM STDIN"
    ) as copy:
        for f in findings:
            copy.write_row((f.kind, f.subject_id, f.row_version, f.action))
    conn.execute("CREATE INDEX ON repair_selected (subject_id)")
    conn.execute("ANALYZE repair_selected")


def apply_repair(
    session: Session, ctx: ServiceContext, findings: list[Finding] | None, *,
    kinds: list[str] | None = None, job: Job | None = None,
) -> RepairOutcome:  # fmt: skip
    """Repair the selected findings in the caller's transaction and record the run.

    With ``findings=None`` every current finding of ``kinds`` is repaired (the command
    line's ``--commit``: found and repaired in the same transaction). Otherwise each
    selected finding is re-checked first; those that changed are skipped and reported.
    """
    require_role(ctx, *REGISTRAR_ROLES, doing="repair inconsistencies")
    job = job or Job()
    chosen = check_kinds(kinds or sorted({f.kind for f in findings or []}) or None)
    if findings is not None:
        chosen = [k for k in chosen if any(f.kind == k.name for f in findings)]
    params = {"kinds": [k.name for k in chosen],
              "selected": "all" if findings is None else len(findings)}  # fmt: skip
    run_id = start_run(session, ctx, RunKind.REPAIR, dry_run=False, params=params)
    conn = raw_connection(session)
    if findings is not None:
        _stage(conn, findings)
    values = {"school": ctx.school_id, "actor": ctx.actor, "run": run_id}
    counts: dict[str, int] = {}
    repaired: set[uuid.UUID] = set()
    for n, kind in enumerate(chosen):
        job.check_cancel()
        job.progress(n, len(chosen), f"Repairing: {kind.label.lower()}…")
        selected = "" if findings is None else (
            " JOIN repair_selected s ON s.kind = %(kind)s AND s.subject_id = f.subject_id"
            " AND s.row_version = f.row_version AND s.action = f.action")  # fmt: skip
        conn.execute(
            f"CREATE TEMP TABLE repair_go ON COMMIT DROP AS SELECT f.* FROM ({kind.sql}) f{selected}",
            {**values, "kind": kind.name},
        )
        with psycopg.ClientCursor(conn) as cursor:
            cursor.execute(APPLY[kind.name], values)
        ids = [row[0] for row in conn.execute("SELECT subject_id FROM repair_go")]
        counts[kind.name] = len(ids)
        repaired.update(ids)
        conn.execute("DROP TABLE repair_go")
    job.check_cancel()
    outcome = RepairOutcome(run_id, counts)
    if findings is not None:
        outcome.applied = [f for f in findings if f.subject_id in repaired]
        outcome.skipped = _why_skipped(
            conn, ctx, [f for f in findings if f.subject_id not in repaired]
        )
        conn.execute("DROP TABLE repair_selected")
    job.progress(len(chosen), len(chosen), "Repair finished")
    finish_run(session, run_id, RunStatus.SUCCEEDED, outcome.summary())
    return outcome


def _why_skipped(conn: psycopg.Connection, ctx: ServiceContext,
                 skipped: list[Finding]) -> list[SkippedFinding]:  # fmt: skip
    """Tell apart a finding that still exists in another form from one that is gone."""
    if not skipped:
        return []
    still: set[uuid.UUID] = set()
    for kind in KINDS:
        ids = [f.subject_id for f in skipped if f.kind == kind.name]
        if ids:
            rows = conn.execute(
                f"SELECT f.subject_id FROM ({kind.sql}) f WHERE f.subject_id = ANY(%(ids)s)",
                {"school": ctx.school_id, "ids": ids},
            )
            still.update(row[0] for row in rows)
    return [
        SkippedFinding(f, "Changed since the preview; run the check again to see what it "
                          "needs now." if f.subject_id in still else
                          "No longer inconsistent: it was changed or fixed since the preview.")
        for f in skipped
    ]  # fmt: skip


def run_repair(
    sessions: sessionmaker[Session], ctx: ServiceContext, findings: list[Finding] | None, *,
    kinds: list[str] | None = None, job: Job | None = None,
) -> RepairOutcome:  # fmt: skip
    """``apply_repair`` in a transaction of its own. If it fails or is cancelled the
    transaction rolls back, so the data is exactly as before, and the run is recorded
    as failed (or cancelled) with the reason; then the error is raised again."""
    try:
        with sessions.begin() as session:
            return apply_repair(session, ctx, findings, kinds=kinds, job=job)
    except BaseException as error:
        status = RunStatus.CANCELLED if isinstance(error, Cancelled | KeyboardInterrupt) \
            else RunStatus.FAILED  # fmt: skip
        params = {"kinds": kinds or sorted({f.kind for f in findings or []}),
                  "selected": "all" if findings is None else len(findings)}  # fmt: skip
        record_failed_run(sessions, ctx, RunKind.REPAIR, params, error, status)
        if isinstance(error, psycopg.Error | DBAPIError):
            raise RepairFailed(
                f"The repair failed and was rolled back; nothing was changed "
                f"({database_error_text(error)}). The failed run is in the run history."
            ) from error
        raise


class RepairFailed(RollbookError):
    """The database refused part of a repair; all of it was rolled back."""


def database_error_text(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


REPORT_COLUMNS = ["outcome", "kind", "student", "course_or_event", "before", "after", "reason",
                  "note", "row_id"]  # fmt: skip


def write_report(path: Path, outcome: RepairOutcome) -> int:
    """The run as a CSV a person can open in a spreadsheet (UTF-8 with BOM)."""
    rows = [("repaired", f, "") for f in outcome.applied]
    rows += [("skipped", s.finding, s.why) for s in outcome.skipped]
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for what, f, note in rows:
            writer.writerow([what, f.label, f.student, f.target, f.before_text, f.after_text,
                             f.reason, note, f.key])  # fmt: skip
    return len(rows)
