"""Staging rows for set-based work: COPY into a temporary table that lives until the end
of the transaction, indexed and analysed so the statements that join it plan well."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from app.jobs import Job

COPY_BATCH = 5_000  # rows between progress reports and Cancel checks


def stage_rows(
    conn: psycopg.Connection, table: str, columns: str, rows: Iterable[Sequence[Any]], *,
    index: str | None = None, job: Job | None = None, total: int | None = None,
    text: str = "Reading rows…",
) -> None:  # fmt: skip
    """Create the temporary ``table`` with ``columns`` ("name type, …"), COPY ``rows``
    into it, index ``index`` (if given) and ANALYZE it. With ``job``, progress is
    reported and Cancel honoured every COPY_BATCH rows."""
    conn.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    names = ", ".join(column.split()[0] for column in columns.split(","))
    written = 0
    with conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
            if job is not None and written % COPY_BATCH == 0:
                job.check_cancel()
                job.progress(written, total, text)
    if job is not None:
        job.check_cancel()
        job.progress(written, total, text)
    if index:
        conn.execute(f"CREATE INDEX ON {table} ({index})")
    conn.execute(f"ANALYZE {table}")


# A load smaller than this, or than a tenth of what the table held, leaves the planner's
# picture about right (autovacuum's own rule); a bigger one is analysed before the next
# statement reads the table.
ANALYZE_MIN_ROWS = 1_000


# The columns the set-based writers join and filter the loaded tables on. ANALYZE of
# these alone updates the row count and what the planner needs, at a fraction of the
# cost of a whole table's (the student table's search columns took most of the time:
# 5 s of a 100,000-row import's 25).
JOIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "student": ("id", "school_id", "student_no", "email", "status", "deleted_at"),
    "course_enrollment": ("id", "school_id", "student_id", "course_id", "active", "deleted_at"),
    "course_progress": ("id", "school_id", "student_id", "course_id", "deleted_at"),
    "legacy_group_member": ("id", "school_id", "group_id", "student_id", "active"),
}


def analyze_loaded(conn: psycopg.Connection, rows: int, *tables: str) -> list[str]:
    """ANALYZE each of ``tables`` that ``rows`` new rows changed enough to mislead the
    planner (its JOIN_COLUMNS where listed); returns the tables analysed.

    Rows written inside the transaction get no statistics until autovacuum runs after the
    commit, so a statement joining them in the same transaction is planned as if they
    were not there (a million-student demo load spent 25 minutes in one such query)."""
    if rows < ANALYZE_MIN_ROWS:
        return []
    analysed = []
    for table in tables:
        row = conn.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)
        ).fetchone()
        known = float(row[0]) if row else -1.0
        if known < 0 or rows >= 0.1 * known:  # -1: never analysed
            analyze_table(conn, table, JOIN_COLUMNS.get(table))
            analysed.append(table)
    return analysed


def analyze_table(conn: psycopg.Connection, table: str, columns: Sequence[str] | None = None) -> None:
    """ANALYZE one of the schema's tables (its ``columns`` only, if given). Only an owner
    may, and the app's role owns nothing: migration 0019's ``rollbook_analyze`` does it
    as the owner."""
    conn.execute("SELECT rollbook_analyze(%s, %s)", (table, list(columns) if columns else None))
