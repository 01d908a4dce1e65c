"""Repairing what the consistency check found: re-check, then apply, as a recorded run.

``apply_repair`` stages the selected findings (kind, row, row version, proposed action)
in a temporary table and, kind by kind, re-runs the finding query joined to them: a
finding whose row changed since the preview (other version), that needs another repair
now, or that is no longer inconsistent is skipped and reported; the rest are repaired
set-based. Enrollments and progress rows go through the one enrollment writer; the
other repairs are single UPDATE ... FROM statements. Nothing is hard-deleted: rows are
created, re-activated, set aside (tombstoned, kept), withdrawn with a note, or flagged.
The database writes the audit log; the run recorder (app.runs) keeps the run, also one
that failed or was cancelled, after rolling its changes back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from app.csvfile import write_csv
from app.db.staging import stage_rows
from app.domain.context import ServiceContext
from app.domain.enums import EnrollmentSource, RunKind
from app.jobs import Job
from app.maintenance.consistency import (
    KINDS,
    Finding,
    check_kinds,
    plan_consistency,
    raw_connection,
)
from app.runs.plan import Plan, StaleItem
from app.runs.recorder import RecordedRun, RunScope, apply_recorded
from app.services.enrollment_writer import write_enrollments
from app.services.permissions import Permission, needs


def _enroll(source: EnrollmentSource, actions: tuple[str, ...]) -> Callable[..., None]:
    """Enroll (or re-activate, or give back its progress row) the findings' pairs."""
    wanted = ", ".join(f"'{a}'" for a in actions)

    def repair(conn: psycopg.Connection, ctx: ServiceContext) -> None:
        write_enrollments(
            conn, ctx,
            "SELECT DISTINCT student_id, target_id AS course_id, NULL::text AS student_status "
            f"FROM repair_go WHERE action IN ({wanted})",
            {}, source=source.value,
        )  # fmt: skip

    return repair


def _statement(sql: str) -> Callable[..., None]:
    def repair(conn: psycopg.Connection, ctx: ServiceContext) -> None:
        with psycopg.ClientCursor(conn) as cursor:
            cursor.execute(sql, {"school": ctx.school_id, "actor": ctx.actor})

    return repair


def _both(*steps: Callable[..., None]) -> Callable[..., None]:
    def repair(conn: psycopg.Connection, ctx: ServiceContext) -> None:
        for step in steps:
            step(conn, ctx)

    return repair


# The repair of each kind, applied to the findings in repair_go (its finding query's
# columns: subject_id, action, student_id, target_id, ref_id).
APPLY: dict[str, Callable[..., None]] = {
    "approved-no-enrollment": _enroll(
        EnrollmentSource.REQUEST, ("create-enrollment", "reactivate-enrollment")
    ),
    "progress-only": _both(
        _enroll(EnrollmentSource.BACKFILL, ("create-enrollment",)),
        _statement("""
UPDATE course_progress p SET deleted_at = now()
FROM repair_go g WHERE g.action = 'set-aside-progress' AND p.id = g.subject_id"""),
    ),
    "enrollment-only": _enroll(EnrollmentSource.MANUAL, ("create-progress", "restore-progress")),
    "pending-but-enrolled": _statement("""
UPDATE enrollment_request r SET status = 'withdrawn', decided_at = now(),
       decided_by = %(actor)s,
       decision_note = 'Withdrawn by the consistency repair: already enrolled in the course.'
FROM repair_go g WHERE r.id = g.subject_id"""),
    "attendance-not-enrolled": _statement("""
UPDATE session_attendance a SET deleted_at = now(),
       note = concat_ws(' — ', a.note,
                        'Set aside by the consistency repair: not enrolled on the session date.')
FROM repair_go g WHERE a.id = g.subject_id"""),
    "event-attendance-cancelled": _statement("""
UPDATE event_attendance ea SET deleted_at = now()
FROM repair_go g WHERE ea.id = g.subject_id"""),
    "certificate-ineligible": _statement("""
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
WHERE c.id = g.subject_id"""),
    "team-size": _statement("""
UPDATE event_registration r SET team_id = NULL,
       status = CASE WHEN g.action = 'leave-team-waitlist' THEN 'waitlisted' ELSE r.status END
FROM repair_go g WHERE r.id = g.subject_id"""),
}


@dataclass(frozen=True)
class SkippedFinding:
    finding: Finding
    why: str

    def as_stale(self) -> StaleItem:
        f = self.finding
        return StaleItem(f.entity, f.key, f"{f.label}: {f.student}, {f.target}", self.why)


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


@needs(Permission.CHECK_CONSISTENCY)
def plan_repair(
    session: Session, ctx: ServiceContext, *, kinds: list[str] | None = None,
    job: Job | None = None,
) -> Plan:  # fmt: skip
    """The findings with their proposed repairs (the check and the repair preview are
    the same thing: every finding kind has its repair)."""
    return plan_consistency(session, ctx, kinds=kinds, job=job)


def _stage(conn: psycopg.Connection, findings: list[Finding]) -> None:
    stage_rows(conn, "repair_selected", "kind text, subject_id uuid, row_version bigint, action text",
               ((f.kind, f.subject_id, f.row_version, f.action) for f in findings),
               index="subject_id")  # fmt: skip


@needs(Permission.REPAIR)
def apply_repair(
    session: Session, ctx: ServiceContext, findings: list[Finding] | None, *,
    kinds: list[str] | None = None, job: Job | None = None,
) -> RecordedRun[RepairOutcome]:  # fmt: skip
    """Repair the selected findings in the caller's transaction, as a recorded run.

    With ``findings=None`` every current finding of ``kinds`` is repaired (the command
    line's ``--commit``: found and repaired in the same transaction). Otherwise each
    selected finding is re-checked first; those that changed are skipped and reported.
    """
    job = job or Job()
    chosen = check_kinds(kinds or sorted({f.kind for f in findings or []}) or None)
    if findings is not None:
        chosen = [k for k in chosen if any(f.kind == k.name for f in findings)]
    params = {"kinds": [k.name for k in chosen],
              "selected": "all" if findings is None else len(findings)}  # fmt: skip
    conn = raw_connection(session)

    def work(scope: RunScope) -> tuple[RepairOutcome, dict[str, Any]]:
        if findings is not None:
            _stage(conn, findings)
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
                {"school": ctx.school_id, "kind": kind.name},
            )
            APPLY[kind.name](conn, ctx)
            ids = [row[0] for row in conn.execute("SELECT subject_id FROM repair_go")]
            counts[kind.name] = len(ids)
            repaired.update(ids)
            conn.execute("DROP TABLE repair_go")
        job.check_cancel()
        outcome = RepairOutcome(scope.run_id, counts)
        if findings is not None:
            outcome.applied = [f for f in findings if f.subject_id in repaired]
            outcome.skipped = _why_skipped(
                conn, ctx, [f for f in findings if f.subject_id not in repaired]
            )
            conn.execute("DROP TABLE repair_selected")
            scope.stale.extend(s.as_stale() for s in outcome.skipped)
        job.progress(len(chosen), len(chosen), "Repair finished")
        return outcome, outcome.summary()

    return apply_recorded(session, ctx, RunKind.REPAIR, params, work)


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


REPORT_COLUMNS = ["outcome", "kind", "student", "course_or_event", "before", "after", "reason",
                  "note", "row_id"]  # fmt: skip


def write_report(path: Path, outcome: RepairOutcome) -> int:
    """The run as a CSV a person can open in a spreadsheet."""
    rows = [("repaired", f, "") for f in outcome.applied]
    rows += [("skipped", s.finding, s.why) for s in outcome.skipped]
    return write_csv(path, ([what, f.label, f.student, f.target, f.before_text, f.after_text,
                             f.reason, note, f.key] for what, f, note in rows),
                     header=REPORT_COLUMNS)  # fmt: skip
