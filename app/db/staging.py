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
