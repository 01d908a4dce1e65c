"""The consistency check: what in one school's data breaks Rollbook's own rules, and the
repair each finding would get.

Each finding kind is one set-based query (anti-joins and window counts over the whole
school), materialised once into a temporary table: the count is complete, and only the
listed rows (at most MAX_LISTED_ITEMS over all kinds, shared fairly) are joined to
names and dates for the preview. The same queries re-check a plan before a repair is
applied (``app.maintenance.repair``), so a preview and an apply can never disagree
about what counts as a finding.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RunKind
from app.domain.periods import describe_periods
from app.domain.wording import counted
from app.jobs import Job
from app.runs.plan import MAX_LISTED_ITEMS, Plan, PlanItem
from app.runs.recorder import record_dry_run
from app.services.permissions import Permission, needs

# ---------------------------------------------------------------- finding queries
# Every query returns: subject_id (the row a repair changes or that stands for the
# finding), row_version (to notice a change between preview and apply), action (the
# proposed repair), student_id, target_id (course or event) and ref_id (a second row
# the repair needs). %(school)s is the school.

PROGRESS_ONLY = """
SELECT p.id AS subject_id, p.row_version,
       CASE WHEN e.id IS NULL
                 AND EXISTS (SELECT 1 FROM student s WHERE s.id = p.student_id
                             AND s.deleted_at IS NULL AND s.status = 'active')
                 AND EXISTS (SELECT 1 FROM course c WHERE c.id = p.course_id
                             AND c.deleted_at IS NULL)
            THEN 'create-enrollment' ELSE 'set-aside-progress' END AS action,
       p.student_id, p.course_id AS target_id, e.id AS ref_id
FROM course_progress p
LEFT JOIN course_enrollment e ON e.course_id = p.course_id AND e.student_id = p.student_id
WHERE p.school_id = %(school)s AND p.deleted_at IS NULL
  AND (e.id IS NULL OR NOT e.active OR e.deleted_at IS NOT NULL)
"""

ENROLLMENT_ONLY = """
SELECT e.id AS subject_id, e.row_version,
       CASE WHEN p.id IS NULL THEN 'create-progress' ELSE 'restore-progress' END AS action,
       e.student_id, e.course_id AS target_id, p.id AS ref_id
FROM course_enrollment e
LEFT JOIN course_progress p ON p.student_id = e.student_id AND p.course_id = e.course_id
WHERE e.school_id = %(school)s AND e.active AND e.deleted_at IS NULL
  AND (p.id IS NULL OR p.deleted_at IS NOT NULL)
"""

# An enrollment ended after the approval is history, not a finding; so is an approval
# for a student who is no longer active (enrolling them is not the repair).
APPROVED_NO_ENROLLMENT = """
WITH approved AS MATERIALIZED (
  SELECT r.id, r.row_version, r.student_id, r.course_id, e.id AS enrollment_id
  FROM enrollment_request r
  LEFT JOIN course_enrollment e ON e.course_id = r.course_id AND e.student_id = r.student_id
  WHERE r.school_id = %(school)s AND r.status = 'approved' AND r.deleted_at IS NULL
    AND (e.id IS NULL
         OR ((NOT e.active OR e.deleted_at IS NOT NULL)
             AND (e.ended_on IS NULL OR e.ended_on < r.decided_at::date))))
SELECT a.id AS subject_id, a.row_version,
       CASE WHEN a.enrollment_id IS NULL THEN 'create-enrollment'
            ELSE 'reactivate-enrollment' END AS action,
       a.student_id, a.course_id AS target_id, a.enrollment_id AS ref_id
FROM approved a
WHERE EXISTS (SELECT 1 FROM student s WHERE s.id = a.student_id AND s.deleted_at IS NULL
              AND s.status = 'active')
  AND EXISTS (SELECT 1 FROM course c WHERE c.id = a.course_id AND c.deleted_at IS NULL)
"""

PENDING_BUT_ENROLLED = """
SELECT r.id AS subject_id, r.row_version, 'withdraw-request' AS action,
       r.student_id, r.course_id AS target_id, e.id AS ref_id
FROM enrollment_request r
JOIN course_enrollment e ON e.course_id = r.course_id AND e.student_id = r.student_id
                        AND e.active AND e.deleted_at IS NULL
WHERE r.school_id = %(school)s AND r.status = 'pending' AND r.deleted_at IS NULL
"""

# Not enrolled on the session date: the enrollment was removed, or the date lies outside
# every period the student was enrolled (before the first, between two, after the last).
ATTENDANCE_NOT_ENROLLED = """
SELECT a.id AS subject_id, a.row_version, 'set-aside-attendance' AS action,
       e.student_id, e.course_id AS target_id, a.session_id AS ref_id
FROM session_attendance a
JOIN class_session cs ON cs.id = a.session_id AND cs.deleted_at IS NULL
JOIN course_enrollment e ON e.id = a.enrollment_id
WHERE a.school_id = %(school)s AND a.deleted_at IS NULL
  AND (e.deleted_at IS NOT NULL OR NOT e.periods @> cs.session_date)
"""

EVENT_ATTENDANCE_CANCELLED = """
SELECT ea.id AS subject_id, ea.row_version, 'set-aside-event-attendance' AS action,
       r.student_id, r.event_id AS target_id, r.id AS ref_id
FROM event_attendance ea
JOIN event_registration r ON r.id = ea.registration_id
WHERE ea.school_id = %(school)s AND ea.deleted_at IS NULL
  AND (r.status = 'cancelled' OR r.deleted_at IS NOT NULL)
"""

CERTIFICATE_INELIGIBLE = """
SELECT c.id AS subject_id, c.row_version, 'flag-certificate' AS action,
       r.student_id, r.event_id AS target_id, r.id AS ref_id
FROM certificate c
JOIN event_registration r ON r.id = c.registration_id
JOIN event ev ON ev.id = r.event_id
WHERE c.school_id = %(school)s AND c.deleted_at IS NULL AND c.revoked_at IS NULL
  AND c.revocation_flagged_at IS NULL
  AND (r.status = 'cancelled' OR r.deleted_at IS NOT NULL
       OR (SELECT count(*) FROM event_attendance ea WHERE ea.registration_id = r.id
           AND ea.deleted_at IS NULL) < ev.certificate_min_days)
"""

# Too small: every member leaves the team. Too big: the members who joined last leave,
# down to the maximum. Leaving means taking part alone, or - where the event takes no
# individuals - the waiting list until a team is found.
TEAM_SIZE = """
WITH sizes AS (
  SELECT r.team_id, count(*) AS size
  FROM event_registration r
  WHERE r.school_id = %(school)s AND r.team_id IS NOT NULL AND r.deleted_at IS NULL
    AND r.status <> 'cancelled'
  GROUP BY r.team_id),
outside AS MATERIALIZED (
  SELECT s.team_id, s.size, ev.team_size_min, ev.team_size_max, ev.allow_individual
  FROM sizes s JOIN event_team t ON t.id = s.team_id JOIN event ev ON ev.id = t.event_id
  WHERE s.size < ev.team_size_min OR s.size > ev.team_size_max),
members AS (
  SELECT r.id, r.row_version, r.student_id, r.event_id, r.team_id, o.size,
         o.team_size_min, o.team_size_max, o.allow_individual,
         row_number() OVER (PARTITION BY r.team_id ORDER BY r.created_at, r.id) AS place
  FROM outside o JOIN event_registration r ON r.team_id = o.team_id
  WHERE r.deleted_at IS NULL AND r.status <> 'cancelled')
SELECT m.id AS subject_id, m.row_version,
       CASE WHEN m.allow_individual THEN 'leave-team' ELSE 'leave-team-waitlist' END AS action,
       m.student_id, m.event_id AS target_id, m.team_id AS ref_id
FROM members m
WHERE m.size < m.team_size_min OR (m.size > m.team_size_max AND m.place > m.team_size_max)
"""


# ---------------------------------------------------------------- details for the preview
# For the listed rows only: names, dates and numbers that explain the finding.
# {found} is the temporary table of the kind; %(limit)s the rows to list, chosen before
# the joins so only those rows are looked up.

_PERSON = "st.student_no, btrim(st.first_name || ' ' || st.last_name)"
_ORDER = "ORDER BY st.sort_name, f.subject_id"

DETAILS = {
    "progress-only": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, co.name,
               jsonb_build_object('percent', p.percent, 'last_activity', p.last_activity_at::date,
                                  'enrollment', e.id IS NOT NULL, 'ended_on', e.ended_on,
                                  'deleted', e.deleted_at IS NOT NULL)
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN course_progress p ON p.id = f.subject_id
        LEFT JOIN course_enrollment e ON e.id = f.ref_id
        JOIN student st ON st.id = f.student_id JOIN course co ON co.id = f.target_id {_ORDER}""",
    "enrollment-only": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, co.name,
               jsonb_build_object('enrolled_on', e.enrolled_on)
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN course_enrollment e ON e.id = f.subject_id
        JOIN student st ON st.id = f.student_id JOIN course co ON co.id = f.target_id {_ORDER}""",
    "approved-no-enrollment": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, co.name,
               jsonb_build_object('decided_on', r.decided_at::date, 'decided_by', r.decided_by,
                                  'ended_on', e.ended_on)
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN enrollment_request r ON r.id = f.subject_id
        LEFT JOIN course_enrollment e ON e.id = f.ref_id
        JOIN student st ON st.id = f.student_id JOIN course co ON co.id = f.target_id {_ORDER}""",
    "pending-but-enrolled": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, co.name,
               jsonb_build_object('requested_on', r.requested_at::date,
                                  'enrolled_on', e.enrolled_on)
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN enrollment_request r ON r.id = f.subject_id
        JOIN course_enrollment e ON e.id = f.ref_id
        JOIN student st ON st.id = f.student_id JOIN course co ON co.id = f.target_id {_ORDER}""",
    "attendance-not-enrolled": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, co.name,
               jsonb_build_object('session_date', cs.session_date, 'status', a.status,
                                  'removed', e.deleted_at IS NOT NULL,
                                  'periods', (SELECT jsonb_agg(jsonb_build_array(lower(r), upper(r)))
                                              FROM unnest(e.periods) r))
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN session_attendance a ON a.id = f.subject_id
        JOIN class_session cs ON cs.id = a.session_id
        JOIN course_enrollment e ON e.id = a.enrollment_id
        JOIN student st ON st.id = f.student_id JOIN course co ON co.id = f.target_id {_ORDER}""",
    "event-attendance-cancelled": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, ev.name,
               jsonb_build_object('attended_on', ea.attended_on,
                                  'registration_no', r.registration_no, 'status', r.status)
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN event_attendance ea ON ea.id = f.subject_id
        JOIN event_registration r ON r.id = f.ref_id
        JOIN student st ON st.id = f.student_id JOIN event ev ON ev.id = f.target_id {_ORDER}""",
    "certificate-ineligible": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, ev.name,
               jsonb_build_object('certificate_no', c.certificate_no, 'kind', c.kind,
                                  'status', r.status, 'min_days', ev.certificate_min_days,
                                  'days', (SELECT count(*) FROM event_attendance ea
                                           WHERE ea.registration_id = r.id
                                             AND ea.deleted_at IS NULL))
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN certificate c ON c.id = f.subject_id
        JOIN event_registration r ON r.id = f.ref_id
        JOIN student st ON st.id = f.student_id JOIN event ev ON ev.id = f.target_id {_ORDER}""",
    "team-size": f"""
        SELECT f.action, f.row_version, f.subject_id, {_PERSON}, ev.name,
               jsonb_build_object('team', t.name, 'min', ev.team_size_min,
                                  'max', ev.team_size_max,
                                  'size', (SELECT count(*) FROM event_registration m
                                           WHERE m.team_id = t.id AND m.deleted_at IS NULL
                                             AND m.status <> 'cancelled'),
                                  'registration_no', r.registration_no)
        FROM (SELECT * FROM {{found}} ORDER BY subject_id LIMIT %(limit)s) f JOIN event_registration r ON r.id = f.subject_id
        JOIN event_team t ON t.id = f.ref_id
        JOIN student st ON st.id = f.student_id JOIN event ev ON ev.id = f.target_id {_ORDER}""",
}


# ---------------------------------------------------------------- the kinds


def _day(value: Any) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value:%d %b %Y}" if isinstance(value, date | datetime) else "?"


def _describe_progress_only(action: str, f: dict) -> tuple[str, str, str]:
    percent = f"progress {float(f['percent']):.0f}%"
    if action == "create-enrollment":
        return (f"{percent}, no enrollment", "enrolled (active)",
                "Progress is recorded but the student has no enrollment in the course.")  # fmt: skip
    ended = f"ended {_day(f['ended_on'])}" if f["ended_on"] else "inactive"
    if f["deleted"] or not f["enrollment"]:
        ended = "deleted"
    return (f"{percent}, enrollment {ended}", "progress set aside (kept)",
            "Progress is live although the enrollment is not active.")  # fmt: skip


def _describe_enrollment_only(action: str, f: dict) -> tuple[str, str, str]:
    before = "no progress record" if action == "create-progress" else "progress set aside"
    return (before, "progress record" + (" restored" if action == "restore-progress" else " 0%"),
            f"Enrolled since {_day(f['enrolled_on'])} but without a progress record.")  # fmt: skip


def _describe_approved(action: str, f: dict) -> tuple[str, str, str]:
    by = f" by {f['decided_by']}" if f["decided_by"] else ""
    reason = f"Request approved{by} on {_day(f['decided_on'])}, but no active enrollment."
    if action == "create-enrollment":
        return "approved, no enrollment", "enrolled (active)", reason
    ended = f"enrollment ended {_day(f['ended_on'])}" if f["ended_on"] else "enrollment inactive"
    return f"approved, {ended}", "enrollment re-activated", reason


def _describe_pending(action: str, f: dict) -> tuple[str, str, str]:
    return ("request pending", "request withdrawn (with a note)",
            f"Requested {_day(f['requested_on'])}, but already enrolled since "
            f"{_day(f['enrolled_on'])}.")  # fmt: skip


def _describe_attendance(action: str, f: dict) -> tuple[str, str, str]:
    when = _day(f["session_date"])
    if f["removed"]:
        reason = f"Marked for a session on {when}, but the enrollment was removed."
    else:
        periods = [(date.fromisoformat(start), date.fromisoformat(end) if end else None)
                   for start, end in f["periods"] or []]  # fmt: skip
        reason = (f"Marked for a session on {when}, outside the enrollment "
                  f"({describe_periods(periods)}).")  # fmt: skip
    return f"{f['status']} on {when}", "attendance set aside (kept)", reason


def _describe_event_attendance(action: str, f: dict) -> tuple[str, str, str]:
    return (f"attended {_day(f['attended_on'])}", "attendance set aside (kept)",
            f"Registration {f['registration_no']} is {f['status']}.")  # fmt: skip


def _describe_certificate(action: str, f: dict) -> tuple[str, str, str]:
    if f["status"] == "cancelled":
        reason = f"Registration is cancelled; certificate {f['certificate_no']} was issued anyway."
    else:
        reason = (f"Attended {f['days']} of the {f['min_days']} days the event requires for "
                  f"certificate {f['certificate_no']}.")  # fmt: skip
    return f"{f['kind']} certificate {f['certificate_no']}", "flagged for revocation", reason


def _describe_team(action: str, f: dict) -> tuple[str, str, str]:
    limits = f"{f['min']}-{f['max']}" if f["min"] != f["max"] else str(f["min"])
    after = "takes part alone" if action == "leave-team" else "waiting list (no team)"
    return (f"in team {f['team']}", after,
            f"Team {f['team']} has {counted(f['size'], 'member')}; the event allows {limits}.")  # fmt: skip


@dataclass(frozen=True)
class FindingKind:
    name: str  # as the CLI's --kind takes it
    label: str  # as the wizard and reports show it
    entity: str  # the table of subject_id
    sql: str
    describe: Callable[[str, dict], tuple[str, str, str]]


KINDS: tuple[FindingKind, ...] = (
    # Order matters for the repair: an approval made good first may already settle a
    # progress-only finding for the same student and course.
    FindingKind("approved-no-enrollment", "Approved request without enrollment",
                "enrollment_request", APPROVED_NO_ENROLLMENT, _describe_approved),
    FindingKind("progress-only", "Progress without active enrollment", "course_progress",
                PROGRESS_ONLY, _describe_progress_only),
    FindingKind("enrollment-only", "Enrollment without progress", "course_enrollment",
                ENROLLMENT_ONLY, _describe_enrollment_only),
    FindingKind("pending-but-enrolled", "Pending request, already enrolled",
                "enrollment_request", PENDING_BUT_ENROLLED, _describe_pending),
    FindingKind("attendance-not-enrolled", "Session attendance outside the enrollment",
                "session_attendance", ATTENDANCE_NOT_ENROLLED, _describe_attendance),
    FindingKind("event-attendance-cancelled", "Event attendance on a cancelled registration",
                "event_attendance", EVENT_ATTENDANCE_CANCELLED, _describe_event_attendance),
    FindingKind("certificate-ineligible", "Certificate that fails the event's rules",
                "certificate", CERTIFICATE_INELIGIBLE, _describe_certificate),
    FindingKind("team-size", "Team outside the event's size limits", "event_registration",
                TEAM_SIZE, _describe_team),
)  # fmt: skip
KIND_NAMES = tuple(kind.name for kind in KINDS)
BY_NAME = {kind.name: kind for kind in KINDS}


@dataclass(frozen=True)
class Finding(PlanItem):
    """A PlanItem with what the preview table shows and what the repair re-checks.

    ``kind`` is the finding kind, ``key`` the subject row's id, ``before``/``after``
    hold ``{"state": text}``; ``action`` is the proposed repair and ``row_version``
    the subject row's version when it was found."""

    action: str = ""
    row_version: int = 0
    student: str = ""
    target: str = ""

    @property
    def subject_id(self) -> uuid.UUID:
        return uuid.UUID(self.key)

    @property
    def before_text(self) -> str:
        return str((self.before or {}).get("state", ""))

    @property
    def after_text(self) -> str:
        return str((self.after or {}).get("state", ""))

    @property
    def label(self) -> str:
        return BY_NAME[self.kind].label


def check_kinds(kinds: list[str] | tuple[str, ...] | None) -> list[FindingKind]:
    """The kinds asked for (all when None), in repair order; unknown names are refused."""
    from app.domain.errors import ValidationError

    if not kinds:
        return list(KINDS)
    unknown = [k for k in kinds if k not in BY_NAME]
    if unknown:
        raise ValidationError(
            "kind",
            f"Unknown finding kind {', '.join(unknown)}; choose from {', '.join(KIND_NAMES)}.",
        )
    return [kind for kind in KINDS if kind.name in kinds]


def raw_connection(session: Session) -> psycopg.Connection:
    return session.connection().connection.driver_connection


def _fair_limits(counts: dict[str, int], total: int) -> dict[str, int]:
    """Share ``total`` listed rows between kinds: small kinds are listed whole, the rest
    split what remains evenly."""
    limits = {name: 0 for name in counts}
    left, open_kinds = total, [n for n, c in counts.items() if c > 0]
    while open_kinds and left > 0:
        share = max(1, left // len(open_kinds))
        for name in list(open_kinds):
            take = min(share, counts[name] - limits[name], left)
            limits[name] += take
            left -= take
            if limits[name] >= counts[name]:
                open_kinds.remove(name)
            if left <= 0:
                break
    return limits


@needs(Permission.CHECK_CONSISTENCY)
def plan_consistency(
    session: Session, ctx: ServiceContext, *, kinds: list[str] | None = None,
    job: Job | None = None, max_listed: int = MAX_LISTED_ITEMS,
) -> Plan:  # fmt: skip
    """Find every inconsistency of the school. Read-only: counts per kind are complete,
    the listed findings stop at ``max_listed`` (shared fairly between the kinds)."""
    job = job or Job()
    chosen = check_kinds(kinds)
    conn = raw_connection(session)
    params = {"school": ctx.school_id}
    counts: dict[str, int] = {}
    steps = len(chosen) + 1
    for n, kind in enumerate(chosen):
        job.check_cancel()
        job.progress(n, steps, f"Checking: {kind.label.lower()}…")
        table = _found_table(kind)
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TEMP TABLE {table} ON COMMIT DROP AS {kind.sql}", params)
        conn.execute(f"ANALYZE {table}")  # the listing joins it to big tables
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        counts[kind.name] = int(row[0]) if row else 0
    job.check_cancel()
    job.progress(len(chosen), steps, "Listing what was found…")
    limits = _fair_limits(counts, max_listed)
    items: list[PlanItem] = []
    for kind in chosen:
        if limits[kind.name]:
            items += _listed(conn, kind, limits[kind.name])
        conn.execute(f"DROP TABLE {_found_table(kind)}")
    job.progress(steps, steps, "Check finished")
    return Plan(
        kind=RunKind.CONSISTENCY,
        summary={name: counts[name] for name in counts},
        items=items,
        items_truncated=any(limits[name] < counts[name] for name in counts),
        params={"kinds": [kind.name for kind in chosen]},
    )


def _found_table(kind: FindingKind) -> str:
    return "found_" + kind.name.replace("-", "_")


def _listed(conn: psycopg.Connection, kind: FindingKind, limit: int) -> list[Finding]:
    table = _found_table(kind)
    rows = conn.execute(DETAILS[kind.name].format(found=table), {"limit": limit}).fetchall()
    findings = []
    for action, version, subject_id, student_no, name, target, facts in rows:
        before, after, reason = kind.describe(action, facts)
        findings.append(
            Finding(
                kind=kind.name,
                entity=kind.entity,
                key=str(subject_id),
                before={"state": before},
                after={"state": after},
                reason=reason,
                action=action,
                row_version=version,
                student=f"{name} ({student_no})",
                target=target,
            )  # fmt: skip
        )
    return findings


def total_findings(plan: Plan) -> int:
    return sum(plan.summary.values())


@needs(Permission.CHECK_CONSISTENCY)
def record_check(session: Session, ctx: ServiceContext, plan: Plan) -> uuid.UUID:
    """Keep the check in the run history (a dry run: nothing was changed)."""
    return record_dry_run(session, ctx, RunKind.CONSISTENCY, plan.params,
                          {**plan.summary, "total": total_findings(plan)})  # fmt: skip
