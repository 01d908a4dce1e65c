"""Any list of the window as a workbook (File > Export… as .xlsx).

A list knows its titles and values but not their kinds, so each column's kind is read
from the values of the first rows (the rows the widths are fitted on): dates stay dates,
numbers numbers, yes/no reads "Yes"/"No", anything else is text (checked like all text
a person typed). The sheet has the same title block, frozen header, filter and print
set-up as every report.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.reports.workbook import SAMPLE_ROWS, CellKind, Column, TitleBlock, report_workbook

EVERY_ROWS = 1_000  # how often ``between_rows`` is called


def _kind(values: Iterable[Any]) -> CellKind:
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            return CellKind.CODE
        if isinstance(value, datetime):
            return CellKind.DATETIME
        if isinstance(value, date):
            return CellKind.DATE
        if isinstance(value, time):
            return CellKind.TIME
        if isinstance(value, int | float | Decimal):
            return CellKind.NUMBER
        return CellKind.TEXT
    return CellKind.TEXT


def _plain(value: Any) -> Any:
    """Values a cell holds: yes/no in words, enums by their value."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, enum.Enum):
        return value.value
    return value


def write_list_workbook(
    path: Path, title: TitleBlock, titles: Sequence[str], rows: Iterable[Sequence[Any]],
    *, between_rows: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Write the list to ``path`` as one sheet; the number of rows written.
    ``between_rows(written)`` is called every EVERY_ROWS rows (progress, and Cancel by
    raising, which leaves no file)."""
    rows = iter(rows)
    first = [[_plain(v) for v in row] for row in itertools.islice(rows, SAMPLE_ROWS)]
    columns = [Column(name, _kind(row[i] for row in first)) for i, name in enumerate(titles)]
    written = 0
    with report_workbook(path, title) as workbook:
        sheet = workbook.sheet(title.report, columns)
        for row in itertools.chain(first, ([_plain(v) for v in row] for row in rows)):
            sheet.append(row)
            written += 1
            if between_rows is not None and written % EVERY_ROWS == 0:
                between_rows(written)
    return written
