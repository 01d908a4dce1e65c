"""Legacy group memberships from an older system: read -> validate -> plan or apply.

The file has one row per membership: the student (``student_no`` or ``email``), the
group's name and team number, the course the group belonged to, and whether the
membership is active. Reading follows the roster import (encodings, delimiters, quoted
fields, Excel leftovers); rows that cannot be used are rejected with line, column and
reason, and stored with the run. Matching against Rollbook is set-based: rows are
COPYed into a staging table and every decision is one statement over it. A file never
removes memberships it does not mention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.orm import Session

from app.db.staging import analyze_loaded, stage_rows
from app.domain.context import ServiceContext
from app.domain.enums import RunKind
from app.domain.student_fields import EMAIL_PATTERN
from app.imports.mapping import normalise_header
from app.imports.outcome import ImportOutcome
from app.imports.reading import (
    FileFormat,
    RawTable,
    UnreadableFile,
    detect_format,
    read_table,
    unfold_runaway_quotes,
)
from app.imports.validation import EXCEL_SCIENTIFIC
from app.jobs import Job
from app.runs.plan import MAX_LISTED_ITEMS, Fingerprint, Plan, PlanItem
from app.runs.recorder import RunScope, apply_recorded, recheck
from app.runs.rejections import Rejection, store_rejections
from app.services.permissions import Permission, needs

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "student_no": ("student_no", "student number", "student_id", "enrollment_no", "pupil no"),
    "email": ("email", "e-mail", "mail", "email address"),
    "group_name": ("group_name", "group", "group name", "team name", "team_name"),
    "team_number": ("team_number", "team", "team no", "team nr", "team number"),
    "course": ("course", "course_name", "course name", "subject"),
    "active": ("active", "is_active", "member active", "membership active"),
}
_ALIAS_LOOKUP = {normalise_header(a): name for name, aliases in COLUMN_ALIASES.items()
                 for a in aliases}  # fmt: skip
TRUE_WORDS = {"", "1", "true", "yes", "y", "active", "t", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "inactive", "f", "ended", "left"}


@dataclass(frozen=True, slots=True)
class LegacyRecord:
    line: int
    student_no: str | None
    email: str | None
    group_name: str
    team_number: int | None
    course: str
    active: bool

    @property
    def key(self) -> tuple[str, str, str]:
        student = self.student_no or f"@{(self.email or '').lower()}"
        return student, self.course.lower(), self.group_name.lower()


@dataclass
class LegacyFile:
    table: RawTable
    columns: dict[str, int]
    records: list[LegacyRecord] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    merged_duplicates: int = 0
    runaway_rows: int = 0  # rows rejected for a quote never closed (no longer in table.rows)

    @property
    def rows(self) -> int:
        return self.table.row_count + self.runaway_rows

    @property
    def params(self) -> dict[str, Any]:
        return {"kind": "legacy-groups", "file": self.table.path.name,
                "encoding": self.table.format.encoding,
                "delimiter": self.table.format.delimiter_name,
                "mapping": {h: _column_for(h) for h in self.table.header}}  # fmt: skip


@dataclass
class LegacyOutcome(ImportOutcome):
    groups_created: int = 0
    groups_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    members_unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {
            **self.common_summary(), "groups_created": self.groups_created,
            "groups_updated": self.groups_updated, "members_created": self.members_created,
            "members_updated": self.members_updated, "members_unchanged": self.members_unchanged,
        }  # fmt: skip


def _column_for(header: str) -> str | None:
    return _ALIAS_LOOKUP.get(normalise_header(header))


# ---------------------------------------------------------------- read and validate


def read_legacy_file(path: Path, fmt: FileFormat | None = None) -> LegacyFile:
    """Read and validate; raises UnreadableFile when the file has no usable columns."""
    table = read_table(path, fmt or detect_format(path))
    columns: dict[str, int] = {}
    for index, header in enumerate(table.header):
        name = _column_for(header)
        if name and name not in columns:
            columns[name] = index
    found = ", ".join(table.header) or "none"
    if "student_no" not in columns and "email" not in columns:
        raise UnreadableFile(f"{path.name} has no student_no or email column to match students "
                             f"by. Columns found: {found}.")  # fmt: skip
    for required in ("group_name", "course"):
        if required not in columns:
            raise UnreadableFile(f"{path.name} has no {required} column. Columns found: {found}. "
                                 f"Rename the column to {required}.")  # fmt: skip
    legacy = LegacyFile(table, columns)
    # A quote never closed swallows the rows after it: reject it, read them again.
    legacy.rejected.extend(unfold_runaway_quotes(table, set(columns.values())))
    legacy.runaway_rows = len(legacy.rejected)
    valid: list[LegacyRecord] = []
    for line, values in table.rows:
        try:
            valid.append(_record(line, values, columns, table.header))
        except _RowError as exc:
            legacy.rejected.append(Rejection(line, exc.column, exc.message,
                                             _raw(table.header, values)))  # fmt: skip
    _resolve_duplicates(legacy, valid)
    return legacy


class _RowError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


def _raw(header: list[str], values: list[str]) -> dict[str, str]:
    return {h: (values[i] if i < len(values) else "") for i, h in enumerate(header)}


def _record(
    line: int, values: list[str], columns: dict[str, int], header: list[str]
) -> LegacyRecord:
    def get(name: str) -> str | None:
        index = columns.get(name)
        if index is None or index >= len(values):
            return None
        return " ".join(values[index].split()) or None

    def column(name: str) -> str:
        return header[columns[name]] if name in columns else name

    student_no, email = get("student_no"), get("email")
    if student_no and EXCEL_SCIENTIFIC.match(student_no):
        raise _RowError(column("student_no"),
                        f"{student_no!r} looks like a number Excel turned into scientific "
                        "notation; format the column as Text and export again.")  # fmt: skip
    if not student_no and not email:
        target = "student_no" if "student_no" in columns else "email"
        raise _RowError(column(target), "A student number or an e-mail is required to know "
                        "which student this membership belongs to.")  # fmt: skip
    if email and not EMAIL_PATTERN.match(email):
        raise _RowError(column("email"), f"{email!r} is not a valid e-mail address.")
    group, course = get("group_name"), get("course")
    if not group:
        raise _RowError(column("group_name"), "The group name is missing.")
    if not course:
        raise _RowError(column("course"), "The course is missing; every group belongs to one.")
    team_text = get("team_number")
    team: int | None = None
    if team_text:
        if not team_text.isdigit() or len(team_text) > 6:
            raise _RowError(column("team_number"),
                            f"{team_text!r} is not a team number; use a whole number.")  # fmt: skip
        team = int(team_text)
    active_text = (get("active") or "").lower()
    if active_text not in TRUE_WORDS | FALSE_WORDS:
        raise _RowError(column("active"), f"{get('active')!r} is not yes or no; use true/false, "
                        "yes/no or 1/0 (empty means active).")  # fmt: skip
    return LegacyRecord(line, student_no, email.lower() if email else None, group, team, course,
                        active_text in TRUE_WORDS)  # fmt: skip


def _resolve_duplicates(legacy: LegacyFile, records: list[LegacyRecord]) -> None:
    """The same membership twice: identical rows are merged, conflicting ones rejected
    with both line numbers (which one is right is the person's call, not ours)."""
    by_key: dict[tuple[str, str, str], list[LegacyRecord]] = {}
    for record in records:
        by_key.setdefault(record.key, []).append(record)
    header = legacy.table.header
    rows = dict(legacy.table.rows)
    for group in by_key.values():
        first = group[0]
        if all((r.team_number, r.active) == (first.team_number, first.active) for r in group):
            legacy.records.append(first)
            legacy.merged_duplicates += len(group) - 1
            continue
        lines = ", ".join(str(r.line) for r in group)
        for record in group:
            legacy.rejected.append(Rejection(
                record.line, "group_name",
                f"Lines {lines} give the same membership ({first.group_name}, {first.course}) "
                "with different team numbers or active flags; keep the right one.",
                _raw(header, rows.get(record.line, [])),
            ))  # fmt: skip
    legacy.rejected.sort(key=lambda r: r.line)


# ---------------------------------------------------------------- plan and apply


def _raw_conn(session: Session) -> psycopg.Connection:
    return session.connection().connection.driver_connection


def _stage(conn: psycopg.Connection, ctx: ServiceContext, records: list[LegacyRecord],
           job: Job) -> None:  # fmt: skip
    stage_rows(
        conn, "legacy_stage",
        "line int, student_no text, email text, group_name text, team_number int, "
        "course text, active bool",
        ((r.line, r.student_no, r.email, r.group_name, r.team_number, r.course, r.active)
         for r in records),
        job=job, total=len(records),
    )  # fmt: skip
    conn.execute("ALTER TABLE legacy_stage ADD COLUMN student_id uuid, ADD COLUMN group_id uuid")
    school = ctx.school_id
    conn.execute(
        "UPDATE legacy_stage l SET student_id = s.id FROM student s WHERE l.student_no IS NOT NULL "
        "AND s.school_id = %s AND s.student_no = l.student_no AND s.deleted_at IS NULL", (school,)
    )  # fmt: skip
    conn.execute(
        "UPDATE legacy_stage l SET student_id = s.id FROM student s WHERE l.student_id IS NULL "
        "AND l.student_no IS NULL AND s.school_id = %s AND lower(s.email) = l.email "
        "AND s.deleted_at IS NULL", (school,)
    )  # fmt: skip
    conn.execute(
        "UPDATE legacy_stage l SET group_id = g.id FROM legacy_group g WHERE g.school_id = %s "
        "AND g.deleted_at IS NULL AND lower(g.course_name) = lower(l.course) "
        "AND lower(g.name) = lower(l.group_name)", (school,)
    )  # fmt: skip
    conn.execute("ANALYZE legacy_stage")


def _unknown_students(conn: psycopg.Connection, legacy: LegacyFile) -> list[Rejection]:
    rows = conn.execute(
        "SELECT line, student_no, email FROM legacy_stage WHERE student_id IS NULL ORDER BY line"
    ).fetchall()
    header, raw_rows = legacy.table.header, dict(legacy.table.rows)
    rejections = []
    for line, student_no, email in rows:
        column = "student_no" if student_no else "email"
        name = header[legacy.columns[column]]
        who = f"student number {student_no}" if student_no else f"e-mail {email}"
        rejections.append(Rejection(line, name, f"No student with {who} in Rollbook; import "
                                    "the student roster first, then this file again.",
                                    _raw(header, raw_rows.get(line, []))))  # fmt: skip
    conn.execute("DELETE FROM legacy_stage WHERE student_id IS NULL")
    return rejections


_CLASSIFY_SQL = """
SELECT
  (SELECT count(DISTINCT (lower(course), lower(group_name))) FROM legacy_stage
    WHERE group_id IS NULL),
  (SELECT count(*) FROM legacy_group g
    WHERE g.id IN (SELECT group_id FROM legacy_stage)
      AND EXISTS (SELECT 1 FROM legacy_stage l WHERE l.group_id = g.id
                  AND l.team_number IS NOT NULL AND l.team_number IS DISTINCT FROM g.team_number)),
  count(*) FILTER (WHERE m.id IS NULL),
  count(*) FILTER (WHERE m.id IS NOT NULL AND (m.active <> l.active OR m.deleted_at IS NOT NULL)),
  count(*) FILTER (WHERE m.id IS NOT NULL AND m.active = l.active AND m.deleted_at IS NULL)
FROM legacy_stage l
LEFT JOIN legacy_group_member m ON m.group_id = l.group_id AND m.student_id = l.student_id
"""

_ITEMS_SQL = """
SELECT l.line, s.student_no, s.first_name || ' ' || s.last_name, l.group_name, l.course,
       l.active, m.id IS NULL, m.active, m.deleted_at IS NOT NULL
FROM legacy_stage l
JOIN student s ON s.id = l.student_id
LEFT JOIN legacy_group_member m ON m.group_id = l.group_id AND m.student_id = l.student_id
WHERE m.id IS NULL OR m.active <> l.active OR m.deleted_at IS NOT NULL
ORDER BY l.line
LIMIT %s
"""


def _classify(conn: psycopg.Connection, outcome: LegacyOutcome) -> None:
    row = conn.execute(_CLASSIFY_SQL).fetchone()
    assert row is not None
    (outcome.groups_created, outcome.groups_updated, outcome.members_created,
     outcome.members_updated, outcome.members_unchanged) = (int(v or 0) for v in row)  # fmt: skip


def _plan_items(conn: psycopg.Connection) -> tuple[list[PlanItem], bool]:
    rows = conn.execute(_ITEMS_SQL, (MAX_LISTED_ITEMS + 1,)).fetchall()
    items = []
    for line, student_no, name, group, course, active, new, was_active, tombstoned in rows:
        membership = {"group": group, "course": course}
        if new:
            items.append(PlanItem("create_member", "legacy_group_member", f"{student_no} {name}",
                                  None, {**membership, "active": active}, f"line {line}"))  # fmt: skip
        else:
            before = {**membership, "active": bool(was_active) and not tombstoned}
            items.append(PlanItem("update_member", "legacy_group_member", f"{student_no} {name}",
                                  before, {**membership, "active": active}, f"line {line}"))  # fmt: skip
    return items[:MAX_LISTED_ITEMS], len(items) > MAX_LISTED_ITEMS


def _prepare(session: Session, ctx: ServiceContext, legacy: LegacyFile, job: Job | None
             ) -> tuple[psycopg.Connection, Job, LegacyOutcome]:  # fmt: skip
    job = job or Job()
    conn = _raw_conn(session)
    outcome = LegacyOutcome(rows=legacy.rows, merged_duplicates=legacy.merged_duplicates,
                            rejected=list(legacy.rejected))  # fmt: skip
    _stage(conn, ctx, legacy.records, job)
    outcome.rejected = sorted(outcome.rejected + _unknown_students(conn, legacy),
                              key=lambda r: r.line)  # fmt: skip
    job.check_cancel()
    job.progress(0, None, "Comparing with Rollbook…")
    _classify(conn, outcome)
    return conn, job, outcome


# Every membership the file names, as it is: its key (student, course, group) and the
# membership's version (none yet: NULL). The plan keeps them; the apply compares.
_MEMBER_PRINTS_SQL = """
SELECT 'legacy_group_member' AS entity,
       l.student_id::text || chr(31) || lower(l.course) || chr(31) || lower(l.group_name) AS key,
       m.row_version AS version, s.student_no || ' ' || l.group_name || ' (' || l.course || ')'
FROM legacy_stage l
JOIN student s ON s.id = l.student_id
LEFT JOIN legacy_group_member m ON m.group_id = l.group_id AND m.student_id = l.student_id
"""


@needs(Permission.IMPORT_ROSTERS)
def plan_legacy_import(session: Session, ctx: ServiceContext, legacy: LegacyFile, *,
                       job: Job | None = None) -> LegacyOutcome:  # fmt: skip
    """The dry run: what the file would create and change. Writes nothing lasting."""
    conn, job, outcome = _prepare(session, ctx, legacy, job)
    items, truncated = _plan_items(conn)
    prints = list(map(Fingerprint._make, conn.execute(_MEMBER_PRINTS_SQL).fetchall()))
    outcome.plan = Plan(RunKind.IMPORT, outcome.summary(), items, truncated, legacy.params,
                        prints)  # fmt: skip
    conn.execute("DROP TABLE legacy_stage")
    return outcome


# In steps, each table the step before filled analysed (analyze_loaded) before the
# next one joins it.
_APPLY_GROUPS_SQL = """
INSERT INTO legacy_group (id, school_id, name, team_number, course_name, course_id)
SELECT gen_random_uuid(), %(school)s, min(l.group_name), max(l.team_number), min(l.course),
       (SELECT c.id FROM course c WHERE c.school_id = %(school)s AND c.deleted_at IS NULL
          AND lower(c.name) = lower(min(l.course)))
FROM legacy_stage l WHERE l.group_id IS NULL
GROUP BY lower(l.course), lower(l.group_name)
"""

_GROUP_STAGE_SQL = """
UPDATE legacy_stage l SET group_id = g.id FROM legacy_group g
WHERE l.group_id IS NULL AND g.school_id = %(school)s AND g.deleted_at IS NULL
  AND lower(g.course_name) = lower(l.course) AND lower(g.name) = lower(l.group_name);

UPDATE legacy_group g SET team_number = t.team_number
FROM (SELECT l.group_id, max(l.team_number) AS team_number
      FROM legacy_stage l WHERE l.team_number IS NOT NULL GROUP BY l.group_id) t
WHERE g.id = t.group_id AND g.team_number IS DISTINCT FROM t.team_number
"""

_INSERT_MEMBERS_SQL = """
INSERT INTO legacy_group_member (id, school_id, group_id, student_id, active)
SELECT gen_random_uuid(), %(school)s, l.group_id, l.student_id, l.active
FROM legacy_stage l
ON CONFLICT ON CONSTRAINT uq_legacy_group_member_once DO NOTHING
"""

_UPDATE_MEMBERS_SQL = """
UPDATE legacy_group_member m SET active = l.active, deleted_at = NULL
FROM legacy_stage l
WHERE m.group_id = l.group_id AND m.student_id = l.student_id
  AND (m.active <> l.active OR m.deleted_at IS NOT NULL);
"""


@needs(Permission.IMPORT_ROSTERS)
def apply_legacy_import(session: Session, ctx: ServiceContext, legacy: LegacyFile, *,
                        plan: Plan | None = None, job: Job | None = None) -> LegacyOutcome:  # fmt: skip
    """Apply in the caller's transaction as a recorded run: groups and memberships are
    created or updated, rejected rows stored with the run. With ``plan`` (the preview
    the person saw) memberships that changed since are left alone and reported."""
    conn = _raw_conn(session)
    outcome = LegacyOutcome(rows=legacy.rows)

    def work(scope: RunScope) -> tuple[LegacyOutcome, dict[str, Any]]:
        nonlocal outcome
        _conn, running, outcome = _prepare(session, ctx, legacy, job)
        outcome.run_id = scope.run_id
        if plan is not None:
            outcome.stale = recheck(conn, plan.fingerprints, _MEMBER_PRINTS_SQL)
            scope.stale.extend(outcome.stale)
            _leave_stale(conn, outcome)
        running.progress(0, None, "Writing groups and memberships…")
        params = {"school": ctx.school_id}
        with psycopg.ClientCursor(conn) as cursor:
            groups = cursor.execute(_APPLY_GROUPS_SQL, params).rowcount
            analyze_loaded(conn, groups, "legacy_group")
            # One round trip for both statements (client-side binding).
            cursor.execute(_GROUP_STAGE_SQL, params)
            members = cursor.execute(_INSERT_MEMBERS_SQL, params).rowcount
            analyze_loaded(conn, members, "legacy_group_member")
            cursor.execute(_UPDATE_MEMBERS_SQL)
        running.check_cancel()
        conn.execute("DROP TABLE legacy_stage")
        outcome.applied = True
        return outcome, outcome.summary()

    run = apply_recorded(session, ctx, RunKind.IMPORT, legacy.params, work)
    outcome.run_id = run.run_id
    store_rejections(conn, ctx, run.run_id, outcome.rejected)
    run.value_or_raise()
    return outcome


def _leave_stale(conn: psycopg.Connection, outcome: LegacyOutcome) -> None:
    """Leave out the memberships that changed since the plan; recount what is left."""
    stale_keys = [item.key for item in outcome.stale]
    if stale_keys:
        conn.execute(
            "DELETE FROM legacy_stage l WHERE l.student_id::text || chr(31) || lower(l.course) "
            "|| chr(31) || lower(l.group_name) = ANY(%s)", (stale_keys,)
        )  # fmt: skip
        _classify(conn, outcome)
