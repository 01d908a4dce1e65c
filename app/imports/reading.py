"""Reading roster files: encoding, delimiter, header and rows, whatever Excel did to them.

Accepts UTF-8 with or without BOM, Windows-1252 (detected, with a warning) and Latin-1;
delimiters , ; tab | (sniffed, and confirmable by the caller); quoted fields with
commas, doubled quotes and line breaks. Blank lines and trailing empty columns are
dropped; every value is trimmed. Line numbers are the file's physical line numbers,
so a registrar can find the row in a text editor.

A quote that is never closed makes the CSV reader run on into the following lines
until some later quote closes it (or the file ends). Where that happened in a column
that cannot hold a line break, ``unfold_runaway_quotes`` rejects the row and reads
the swallowed lines again as rows of their own.
"""

from __future__ import annotations

import csv
import gc
import itertools
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from app.csvfile import FORMULA_STARTS
from app.domain.errors import RollbookError
from app.runs.rejections import Rejection

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ENCODINGS = ("utf-8-sig", "utf-8", "windows-1252", "latin-1")
SNIFF_BYTES = 64 * 1024
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}

csv.field_size_limit(1_000_000)


class UnreadableFile(RollbookError):
    """The file cannot be read as a table at all (exit code 2)."""


@dataclass(frozen=True)
class FileFormat:
    encoding: str
    delimiter: str
    warnings: tuple[str, ...] = ()

    @property
    def delimiter_name(self) -> str:
        return DELIMITERS.get(self.delimiter, repr(self.delimiter))


class Span(NamedTuple):
    """A record that runs over more than one physical line: its last line, and for each
    value that (as read, before trimming) holds a line break, (column, the line the
    value starts on, the line it ends on)."""

    end: int
    broken: tuple[tuple[int, int, int], ...]

    def runaway(self, field_columns: set[int]) -> tuple[int, int, int] | None:
        """The first value in ``field_columns`` that runs over a line break."""
        return next((b for b in self.broken if b[0] in field_columns), None)


def _span(start: int, end: int, values: list[str]) -> Span:
    broken, line = [], start
    for column, value in enumerate(values):
        if breaks := value.count("\n") + value.count("\r") - value.count("\r\n"):
            # The file's last line break can end a value that runs to the end.
            broken.append((column, line, min(line + breaks, end)))
            line += breaks
    return Span(end, tuple(broken))


@dataclass
class RawTable:
    path: Path
    format: FileFormat
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, values)
    # Start line -> Span, for multi-line records only (rare: a 100,000-row file keeps
    # no more than the few it has).
    spans: dict[int, Span] = field(default_factory=dict)
    # The rows and spans as read, kept once unfold_runaway_quotes changed them, so a
    # second validation with another mapping starts from the file again.
    _as_read: tuple[list[tuple[int, list[str]]], dict[int, Span]] | None = field(
        default=None, repr=False
    )

    @property
    def row_count(self) -> int:
        return len(self.rows)


def detect_encoding(data: bytes) -> tuple[str, list[str]]:
    """The encoding to read ``data`` with, and warnings a person should see.

    Not UTF-8 means a legacy 8-bit file. Windows-1252 (what Excel writes on Windows)
    and Latin-1 agree on every letter from 0xA0 up, and Windows-1252 also has curly
    quotes, dashes and the euro sign at 0x80-0x9F; so Windows-1252 is the reading,
    unless the file has one of the five bytes Windows-1252 leaves undefined, which
    only Latin-1 can decode.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", []
    try:
        data.decode("utf-8")
        return "utf-8", []
    except UnicodeDecodeError as exc:
        where = f"first non-UTF-8 byte at position {exc.start}"
    if set(data) & _CP1252_UNDEFINED:
        return "latin-1", [
            f"The file is not UTF-8 ({where}); it was read as Latin-1 (ISO-8859-1). "
            "Check that accented letters look right in the preview."
        ]
    return "windows-1252", [
        f"The file is not UTF-8 ({where}); it was read as Windows-1252, the encoding "
        "Excel uses on Windows. Check that accented letters look right in the preview."
    ]


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the most consistent columns."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        counts = [_count_outside_quotes(line, delimiter) for line in lines]
        if not counts[0]:
            continue
        common, frequency = Counter(counts).most_common(1)[0]
        score = frequency / len(counts) * 1000 + common
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _count_outside_quotes(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def detect_format(path: Path) -> FileFormat:
    data = _read_bytes(path, SNIFF_BYTES)
    if b"\x00" in data[:4096]:
        raise UnreadableFile(
            f"{path.name} looks like a binary file (an Excel .xlsx?), not a CSV text file. "
            "In Excel use File > Save As > CSV UTF-8."
        )
    encoding, warnings = detect_encoding(_read_bytes(path, None))
    text = data.decode(encoding, errors="replace")
    return FileFormat(encoding, sniff_delimiter(text), tuple(warnings))


def _read_bytes(path: Path, limit: int | None) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read() if limit is None else handle.read(limit)
    except OSError as exc:
        raise UnreadableFile(f"Cannot open {path}: {exc.strerror or exc}.") from None


def preview_lines(path: Path, fmt: FileFormat, count: int = 12) -> list[str]:
    """The first lines of the file as text, for the person to check the encoding."""
    with path.open("r", encoding=fmt.encoding, errors="replace", newline="") as handle:
        return [line.rstrip("\r\n") for _, line in zip(range(count), handle, strict=False)]


def _unprotected(value: str) -> str:
    """A value as typed before Rollbook's CSV writer protected it from spreadsheets
    (app.csvfile): a rejected-rows file, corrected and imported again, reads
    "=HYPERLINK(…)", not "'=HYPERLINK(…)"."""
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_STARTS:
        return value[1:].strip()
    return value


def iter_records(
    path: Path, fmt: FileFormat, spans: dict[int, Span] | None = None
) -> Iterator[tuple[int, list[str]]]:
    """(physical line number, trimmed values) for every non-blank record; ``spans``, if
    given, receives the records that run over more than one line."""
    return _records_from(path, fmt, 1, spans)


def _open(path: Path, fmt: FileFormat):
    try:
        return path.open("r", encoding=fmt.encoding, newline="")
    except OSError as exc:
        raise UnreadableFile(f"Cannot open {path}: {exc.strerror or exc}.") from None


def _records_from(
    path: Path, fmt: FileFormat, first_line: int, spans: dict[int, Span] | None
) -> Iterator[tuple[int, list[str]]]:
    """The records of the file read from physical line ``first_line`` on, as if the
    file began there."""
    line = first_line
    with _open(path, fmt) as handle:
        try:
            # Same line splitting as csv's line_num counts (newline="": \n, \r\n, \r).
            for _ in itertools.islice(handle, first_line - 1):
                pass
            reader = _reader(handle, fmt)
            for values in reader:
                start, line = line, first_line + reader.line_num
                if spans is not None and line - 1 > start:
                    spans[start] = _span(start, line - 1, values)
                # _cleaned, written out: this loop runs once per row of 100,000-row files,
                # and most rows have no NUL and no protected value (one C-level scan says so).
                joined = "".join(values)
                if "'" in joined or "\x00" in joined:
                    cleaned = [_unprotected(v.replace("\x00", "").strip()) for v in values]
                else:
                    cleaned = [value.strip() for value in values]
                while cleaned and cleaned[-1] == "":
                    cleaned.pop()
                if cleaned:
                    yield start, cleaned
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(
                f"{path.name}, line {line}: the file cannot be read as {fmt.encoding} CSV "
                f"({exc}). Choose another encoding or delimiter."
            ) from None


def _reader(lines: Iterable[str], fmt: FileFormat):
    return csv.reader(lines, delimiter=fmt.delimiter, quotechar='"', doublequote=True,
                      skipinitialspace=False, strict=False)  # fmt: skip


def _cleaned(values: list[str]) -> list[str]:
    # PostgreSQL text cannot hold NUL; it is never meaningful in a roster.
    cleaned = [_unprotected(value.replace("\x00", "").strip()) for value in values]
    while cleaned and cleaned[-1] == "":
        cleaned.pop()  # Excel's trailing empty columns
    return cleaned


def sample_table(path: Path, fmt: FileFormat, rows: int = 8) -> RawTable:
    """The header and the first ``rows`` records: what the format preview shows. Reads
    only as far into the file as those records go."""
    records = iter_records(path, fmt)
    first = next(records, None)
    if first is None:
        raise UnreadableFile(f"{path.name} is empty: there is no header row and no data.")
    return RawTable(path, fmt, first[1], list(itertools.islice(records, rows)))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Reading and validating a roster builds a few hundred thousand small objects and
    no reference cycles; the cyclic garbage collector would walk them over and over as
    they pile up — a third of the time of a 100,000-row file. Reference counting still
    frees everything; the collector runs again afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_table(path: Path, fmt: FileFormat | None = None) -> RawTable:
    with cyclic_gc_paused():
        return _read_table(path, fmt)


def _read_table(path: Path, fmt: FileFormat | None) -> RawTable:
    fmt = fmt or detect_format(path)
    spans: dict[int, Span] = {}
    records = iter_records(path, fmt, spans)
    first = next(records, None)
    if first is None:
        raise UnreadableFile(f"{path.name} is empty: there is no header row and no data.")
    _, header = first
    if len(header) < 1 or all(not h for h in header):
        raise UnreadableFile(f"{path.name}: the first line has no column names.")
    table = RawTable(path, fmt, header)
    table.rows = list(records)
    table.spans = spans
    return table


def unfold_runaway_quotes(table: RawTable, field_columns: set[int]) -> list[Rejection]:
    """Reject every record whose quote ran on over a line break into one of
    ``field_columns`` (the columns mapped to roster fields, none of which can hold a
    line break), and read the lines it swallowed again as records of their own.

    ``table.rows`` and ``table.spans`` are replaced; called again (another mapping),
    it starts again from the rows as read.
    """
    rows, spans = table._as_read or (table.rows, table.spans)
    if not any(span.runaway(field_columns) for span in spans.values()):
        table.rows, table.spans, table._as_read = rows, spans, None
        return []
    new_spans = dict(spans)
    unfolded: list[tuple[int, list[str]]] = []
    rejections: list[Rejection] = []
    index = 0
    while index < len(rows):
        line, values = rows[index]
        span = spans.get(line)
        runaway = span.runaway(field_columns) if span else None
        if runaway is None:
            unfolded.append(rows[index])
            index += 1
            continue
        rejections.append(_runaway_rejection(table, line, runaway))
        index = _read_again(table, rows, runaway[1] + 1, field_columns, new_spans, unfolded,
                            rejections)  # fmt: skip
    table._as_read = (rows, spans)
    table.rows, table.spans = unfolded, new_spans
    return rejections


def _read_again(
    table: RawTable, rows: list[tuple[int, list[str]]], first_line: int,
    field_columns: set[int], spans: dict[int, Span],
    unfolded: list[tuple[int, list[str]]], rejections: list[Rejection],
) -> int:  # fmt: skip
    """Read the file again from ``first_line`` (a runaway quote swallowed it) until a
    record starts where one started in the first reading: from there on both readings
    agree. Returns the index in ``rows`` to go on from."""
    while True:
        found: dict[int, Span] = {}
        for start, values in _records_from(table.path, table.format, first_line, found):
            at = bisect_left(rows, start, key=lambda row: row[0])
            if at < len(rows) and rows[at][0] == start:
                return at  # back in step with the first reading
            span = found.get(start)
            runaway = span.runaway(field_columns) if span else None
            if runaway is not None:
                rejections.append(_runaway_rejection(table, start, runaway))
                first_line = runaway[1] + 1  # another runaway: read again after its quote
                break
            if span is not None:
                spans[start] = span
            unfolded.append((start, values))
        else:
            return len(rows)  # the end of the file


def _runaway_rejection(table: RawTable, line: int, runaway: tuple[int, int, int]) -> Rejection:
    column, opened, closed = runaway
    header = table.header
    name = header[column] if column < len(header) else f"column {column + 1}"
    # The quote opens on the record's first line unless a value before it (a note)
    # legitimately ran over lines first.
    where = "here" if opened == line else f"on line {opened}"
    swallowed = (f"line {closed} was" if closed == opened + 1
                 else f"lines {opened + 1}–{closed} were")  # fmt: skip
    message = (f"the quote opened {where} is not closed until line {closed}; {swallowed} "
               "read into this field")  # fmt: skip
    # The row as its own line shows it, not with the lines it swallowed.
    values = next(iter(_reader([_physical_line(table, line)], table.format)), [])
    values = _cleaned(values)
    raw = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header)}
    raw.update({f"column {i + 1}": v for i, v in enumerate(values) if i >= len(header)})
    return Rejection(line, name, message, raw)


def _physical_line(table: RawTable, line: int) -> str:
    with _open(table.path, table.format) as handle:
        try:
            text = next(itertools.islice(handle, line - 1, line), "")
        except UnicodeDecodeError:
            return ""
    return text.rstrip("\r\n")
