"""Reading roster files: encoding, delimiter, header and rows, whatever Excel did to them.

Accepts UTF-8 with or without BOM, Windows-1252 (detected, with a warning) and Latin-1;
delimiters , ; tab | (sniffed, and confirmable by the caller); quoted fields with
commas, doubled quotes and line breaks. Blank lines and trailing empty columns are
dropped; every value is trimmed. Line numbers are the file's physical line numbers,
so a registrar can find the row in a text editor.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.csvfile import FORMULA_STARTS
from app.domain.errors import RollbookError

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


@dataclass
class RawTable:
    path: Path
    format: FileFormat
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, values)

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


def iter_records(path: Path, fmt: FileFormat) -> Iterator[tuple[int, list[str]]]:
    """(physical line number, trimmed values) for every non-blank record."""
    try:
        handle = path.open("r", encoding=fmt.encoding, newline="")
    except OSError as exc:
        raise UnreadableFile(f"Cannot open {path}: {exc.strerror or exc}.") from None
    with handle:
        reader = csv.reader(handle, delimiter=fmt.delimiter, quotechar='"', doublequote=True,
                            skipinitialspace=False, strict=False)  # fmt: skip
        line = 1
        try:
            for values in reader:
                start, line = line, reader.line_num + 1
                # PostgreSQL text cannot hold NUL; it is never meaningful in a roster.
                cleaned = [_unprotected(value.replace("\x00", "").strip()) for value in values]
                while cleaned and cleaned[-1] == "":
                    cleaned.pop()  # Excel's trailing empty columns
                if cleaned:
                    yield start, cleaned
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(
                f"{path.name}, line {line}: the file cannot be read as {fmt.encoding} CSV "
                f"({exc}). Choose another encoding or delimiter."
            ) from None


def sample_table(path: Path, fmt: FileFormat, rows: int = 8) -> RawTable:
    """The header and the first ``rows`` records: what the format preview shows. Reads
    only as far into the file as those records go."""
    records = iter_records(path, fmt)
    first = next(records, None)
    if first is None:
        raise UnreadableFile(f"{path.name} is empty: there is no header row and no data.")
    return RawTable(path, fmt, first[1], list(itertools.islice(records, rows)))


def read_table(path: Path, fmt: FileFormat | None = None) -> RawTable:
    fmt = fmt or detect_format(path)
    records = iter_records(path, fmt)
    first = next(records, None)
    if first is None:
        raise UnreadableFile(f"{path.name} is empty: there is no header row and no data.")
    _, header = first
    if len(header) < 1 or all(not h for h in header):
        raise UnreadableFile(f"{path.name}: the first line has no column names.")
    table = RawTable(path, fmt, header)
    table.rows = list(records)
    return table
