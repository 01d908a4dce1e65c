"""The one Excel writer: every .xlsx Rollbook saves is written here.

A report is a workbook of sheets; each sheet starts with a title block (the school,
the report, its filters, when and by whom it was made), then one bold header row that is
frozen, filtered and repeated on every printed page, then the rows. Rows stream to disk
in openpyxl's write-only mode (with lxml), so a report of millions of cells needs the
memory of a few hundred rows: the first SAMPLE_ROWS are held back only to fit the column
widths, which the format wants before the first row is written.

Values keep their type: dates, times and date-times become Excel dates with a readable
format, rates become numbers shown as percentages, and text is always text: a name that
starts with ``=`` is stored as a string, never as a formula (``+ - @`` are text in a
workbook anyway), and characters a workbook cannot hold are dropped instead of failing
the save. The file is saved complete or not at all (app.savefile).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.reports.title import LineRole, TitleBlock, excel_datetime
from app.savefile import saving

SAMPLE_ROWS = 200  # rows read to fit column widths
MIN_WIDTH, MAX_WIDTH = 6, 60  # in characters
SHEET_NAME_LIMIT = 31  # Excel's limit on a sheet's name

DATE_FORMAT = "d mmm yyyy"  # "7 Dec 2026": no day/month order to misread
TIME_FORMAT = "hh:mm"
DATETIME_FORMAT = "d mmm yyyy hh:mm"
PERCENT_FORMAT = "0%"

HEADER_FILL = PatternFill("solid", start_color="DDE4EE")
BOLD = Font(bold=True)


class CellKind(StrEnum):
    TEXT = "text"  # anything a person typed: checked for formulas and bad characters
    CODE = "code"  # short text Rollbook itself writes (P/A/L/E, statuses): written as is
    NUMBER = "number"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"  # an aware time is shown in this computer's time zone
    PERCENT = "percent"  # a fraction (0.85), shown as 85%


_FORMATS = {
    CellKind.DATE: DATE_FORMAT,
    CellKind.TIME: TIME_FORMAT,
    CellKind.DATETIME: DATETIME_FORMAT,
    CellKind.PERCENT: PERCENT_FORMAT,
}
_FITTED_WIDTH = {CellKind.DATE: 12, CellKind.TIME: 7, CellKind.DATETIME: 17, CellKind.PERCENT: 8}


@dataclass(frozen=True)
class Column:
    title: str
    kind: CellKind = CellKind.TEXT
    width: float | None = None  # fixed; None fits the header and the sampled rows
    # The header cell's value when it is not the title: a real date for a session column.
    header_value: Any = None
    header_format: str | None = None


# How each line of the title block looks.
_TITLE_FONTS = {
    LineRole.HEADING: Font(bold=True, size=14),
    LineRole.SCHOOL: Font(bold=True),
    LineRole.DETAIL: None,
    LineRole.STAMP: Font(color="595959"),
}


def clean_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def sheet_name(name: str, taken: set[str]) -> str:
    """A sheet name Excel accepts and no other sheet of the workbook has."""
    base = "".join(" " if c in "[]:*?/\\" else c for c in name).strip(" '") or "Sheet"
    candidate, number = base[:SHEET_NAME_LIMIT], 2
    while candidate.lower() in {t.lower() for t in taken}:
        suffix = f" ({number})"
        candidate, number = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix, number + 1
    taken.add(candidate)
    return candidate


def _text_width(value: Any, kind: CellKind) -> int:
    if value is None:
        return 0
    if kind in _FITTED_WIDTH:
        return _FITTED_WIDTH[kind]
    return max((len(line) for line in str(value).splitlines()), default=0)


class ReportSheet:
    """One sheet of a report. ``append`` rows; widths are fitted on the first
    SAMPLE_ROWS, after which rows go straight to disk."""

    def __init__(self, workbook: ReportWorkbook, worksheet: WriteOnlyWorksheet,
                 columns: Sequence[Column], title: TitleBlock, sheet_title: str | None,
                 freeze_columns: int, header_height: float | None,
                 header_rotation: int) -> None:  # fmt: skip
        self.workbook = workbook
        self.ws = worksheet
        self.columns = tuple(columns)
        self._title_lines = title.lines(sheet_title)
        self.header_row = len(self._title_lines) + 2  # a blank row before the header
        self.rows_written = 0
        self._freeze_columns = freeze_columns
        self._header_height = header_height
        self._header_rotation = header_rotation
        self._sample: list[list[Any]] | None = []
        self._converters = [self._converter(column.kind) for column in self.columns]
        self._after_close: list[Callable[[], None]] = []

    # ------------------------------------------------------------ values
    def _styled(self, value: Any, number_format: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value)
        cell.number_format = number_format
        return cell

    def _converter(self, kind: CellKind) -> Callable[[Any], Any] | None:
        if kind is CellKind.TEXT:
            return self._text
        if kind is CellKind.DATETIME:
            return lambda v: None if v is None else self._styled(excel_datetime(v), DATETIME_FORMAT)
        if kind in _FORMATS:
            number_format = _FORMATS[kind]
            return lambda v: None if v is None else self._styled(v, number_format)
        return None  # CODE and NUMBER go in as they are

    def _text(self, value: Any) -> Any:
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        if ILLEGAL_CHARACTERS_RE.search(text):
            text = clean_text(text)
        if text.startswith("="):
            # A string cell, so it is never evaluated: the name reads as typed.
            cell = WriteOnlyCell(self.ws, None)
            cell._value, cell.data_type = text, "s"
            return cell
        return text

    def _converted(self, values: Sequence[Any]) -> list[Any]:
        return [value if convert is None else convert(value)
                for convert, value in zip(self._converters, values, strict=True)]  # fmt: skip

    # ------------------------------------------------------------ rows
    def append(self, values: Sequence[Any]) -> None:
        if self._sample is not None:
            self._sample.append(list(values))
            if len(self._sample) >= SAMPLE_ROWS:
                self._start()
            return
        self.ws.append(self._converted(values))
        self.rows_written += 1

    def _start(self) -> None:
        """Fix the widths, freeze and print set-up, then write the title block, the header
        and the sampled rows (the format wants all that before the first row)."""
        sample, self._sample = self._sample or [], None
        ws = self.ws
        for number, column in enumerate(self.columns, start=1):
            if column.width is not None:
                width = column.width
            else:
                widest = max((_text_width(row[number - 1], column.kind) for row in sample),
                             default=0)  # fmt: skip
                width = min(MAX_WIDTH, max(MIN_WIDTH, widest, len(column.title)) + 2)
            ws.column_dimensions[get_column_letter(number)].width = width
        first_data = self.header_row + 1
        ws.freeze_panes = f"{get_column_letter(self._freeze_columns + 1)}{first_data}"
        ws.print_title_rows = f"{self.header_row}:{self.header_row}"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.oddFooter.center.text = "Page &P of &N"
        ws.oddFooter.left.text = self._title_lines[0][0][:100].replace("&", "&&")
        if self._header_height is not None:
            ws.row_dimensions[self.header_row].height = self._header_height
        for text, role in self._title_lines:
            cell = WriteOnlyCell(ws, clean_text(text))
            if _TITLE_FONTS[role] is not None:
                cell.font = _TITLE_FONTS[role]
            ws.append([cell])
        ws.append([])
        ws.append(self._header_cells())
        for row in sample:
            ws.append(self._converted(row))
        self.rows_written = len(sample)

    def _header_cells(self) -> list[WriteOnlyCell]:
        cells = []
        for column in self.columns:
            value = column.title if column.header_value is None else column.header_value
            cell = WriteOnlyCell(self.ws, clean_text(value) if isinstance(value, str) else value)
            cell.font, cell.fill = BOLD, HEADER_FILL
            if column.header_format:
                cell.number_format = column.header_format
            if column.header_value is not None and self._header_rotation:
                cell.alignment = Alignment(text_rotation=self._header_rotation,
                                           horizontal="center", vertical="bottom")  # fmt: skip
            else:
                cell.alignment = Alignment(vertical="bottom", wrap_text=True)
            cells.append(cell)
        return cells

    # ------------------------------------------------------------ after the rows
    @property
    def first_data_row(self) -> int:
        return self.header_row + 1

    @property
    def last_row(self) -> int:
        """The last data row (the header row when there are none)."""
        return self.header_row + self.rows_written

    def column_range(self, number: int) -> str:
        """The cells of data column ``number`` (1-based), e.g. ``"F7:F230"``."""
        letter = get_column_letter(number)
        return f"{letter}{self.first_data_row}:{letter}{max(self.last_row, self.first_data_row)}"

    def when_closed(self, step: Callable[[], None]) -> None:
        """Run ``step`` once the rows are written (conditional formats and charts need the
        final row count)."""
        self._after_close.append(step)

    def finish(self) -> None:
        if self._sample is not None:
            self._start()
        last_column = get_column_letter(len(self.columns))
        self.ws.auto_filter.ref = f"A{self.header_row}:{last_column}{self.last_row}"
        for step in self._after_close:
            step()


@dataclass
class ReportWorkbook:
    """A report being written; ``sheet`` adds a sheet, ``save`` puts the file in place.
    Use as a context manager through ``report_workbook``."""

    title: TitleBlock
    book: Workbook = field(default_factory=lambda: Workbook(write_only=True))
    sheets: list[ReportSheet] = field(default_factory=list)
    _names: set[str] = field(default_factory=set)

    def sheet(self, name: str, columns: Sequence[Column], *, sheet_title: str | None = None,
              freeze_columns: int = 0, header_height: float | None = None,
              header_rotation: int = 0,
              title: TitleBlock | None = None) -> ReportSheet:  # fmt: skip
        """A new sheet named ``name`` (made valid and unique); ``sheet_title`` follows the
        report's name in its title block; the first ``freeze_columns`` stay in view.
        ``title`` replaces the report's title block on this sheet (its own notes)."""
        worksheet = self.book.create_sheet(sheet_name(name, self._names))
        sheet = ReportSheet(self, worksheet, columns, title or self.title, sheet_title,
                            freeze_columns, header_height, header_rotation)  # fmt: skip
        self.sheets.append(sheet)
        return sheet

    def save(self, path: Path) -> None:
        for sheet in self.sheets:
            sheet.finish()
        with saving(path) as temp:
            self.book.save(temp)

    def discard(self) -> None:
        """Drop the rows written so far: each write-only sheet streams into a temporary
        file of its own, which openpyxl would otherwise keep until the program ends."""
        for sheet in self.sheets:
            writer = sheet.ws._writer
            if writer is None:
                continue
            with contextlib.suppress(Exception):  # a half-written sheet may refuse to close
                if sheet.ws._rows is not None:
                    sheet.ws._rows.close()
                writer.close()
            Path(writer.out).unlink(missing_ok=True)


@contextlib.contextmanager
def report_workbook(path: Path, title: TitleBlock) -> Iterator[ReportWorkbook]:
    """A workbook saved to ``path`` when the block ends without an error; on an error
    (Cancel included) nothing is saved and an earlier file of that name is untouched."""
    workbook = ReportWorkbook(title)
    try:
        yield workbook
        workbook.save(path)
    except BaseException:
        workbook.discard()
        raise
