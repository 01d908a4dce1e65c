"""The one CSV writer: every file Rollbook saves as CSV is written here.

UTF-8 with a byte-order mark (Excel shows accented names correctly only with it) and the
csv module's quoting, saved complete or not at all (app.savefile): a failed or cancelled
save never leaves half a file.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from app.savefile import saving

EVERY_ROWS = 1_000  # how often ``between_rows`` is called


def write_csv(
    path: Path, rows: Iterable[Sequence[Any]], *, header: Sequence[str] | None = None,
    between_rows: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Write ``header`` and ``rows`` to ``path``; returns the number of rows written.

    ``between_rows(written)`` is called every EVERY_ROWS rows (progress, and Cancel by
    raising). None is written as an empty cell."""
    written = 0
    with saving(path) as temp, open(temp, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
            written += 1
            if between_rows is not None and written % EVERY_ROWS == 0:
                between_rows(written)
    return written
