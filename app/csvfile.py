"""The one CSV writer: every file Rollbook saves as CSV is written here.

UTF-8 with a byte-order mark (Excel shows accented names correctly only with it) and the
csv module's quoting, saved complete or not at all (app.savefile): a failed or cancelled
save never leaves half a file.

Formula injection: a spreadsheet opening a CSV file runs any cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, and tab or carriage return in front do not stop some
of them. A student named ``=HYPERLINK("http://x","y")`` would become a link, and
``+cmd|' /C calc'!A0`` once started programs on the computer of whoever opened the
export. As OWASP recommends, every text value starting with one of those characters is
written with a single quote in front (``'=HYPERLINK(...)``), so the spreadsheet shows the
text itself, apostrophe included (Excel and LibreOffice show it as part of the text;
nothing is run). Numbers given as numbers (int, float, Decimal) are written as they
are, so ``-3`` stays a number; the same text as a string is quoted like any other.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.savefile import saving

EVERY_ROWS = 1_000  # how often ``between_rows`` is called

# What a spreadsheet takes as the start of a formula (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """``value`` as the CSV writer writes it: None as an empty cell, numbers as they are,
    anything else as text, with a leading ``'`` when a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):  # bool is an int: written as True/False
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(
    path: Path, rows: Iterable[Sequence[Any]], *, header: Sequence[str] | None = None,
    between_rows: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Write ``header`` and ``rows`` to ``path``; returns the number of rows written.

    ``between_rows(written)`` is called every EVERY_ROWS rows (progress, and Cancel by
    raising). Every value goes through ``cell`` (None empty, formulas neutralised)."""
    written = 0
    with saving(path) as temp, open(temp, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow([cell(title) for title in header])
        for row in rows:
            writer.writerow([cell(value) for value in row])
            written += 1
            if between_rows is not None and written % EVERY_ROWS == 0:
                between_rows(written)
    return written
