"""The one CSV writer: every file Rollbook saves as CSV is written here.

UTF-8 with a byte-order mark (Excel shows accented names correctly only with it), the
csv module's quoting, and written to a temporary file in the same folder that replaces
the target only when complete: a failed or cancelled save never leaves half a file.
The saved file gets the permissions any other program would give it (a temporary file
is private to its owner; a report is not).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from app.domain.errors import RollbookError

EVERY_ROWS = 1_000  # how often ``between_rows`` is called


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once: os.umask can only be read by setting it, which other threads must not see.
_UMASK = _umask()


def _saved_mode(path: Path) -> int:
    """The mode the saved file gets: that of the file it replaces, else the user's usual
    mode for a new file (0666 less the umask)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


class CsvNotSaved(RollbookError):
    """The file could not be written (folder missing, no permission, disk full)."""


def write_csv(
    path: Path, rows: Iterable[Sequence[Any]], *, header: Sequence[str] | None = None,
    between_rows: Callable[[int], None] | None = None,
) -> int:  # fmt: skip
    """Write ``header`` and ``rows`` to ``path``; returns the number of rows written.

    ``between_rows(written)`` is called every EVERY_ROWS rows (progress, and Cancel by
    raising). None is written as an empty cell."""
    try:
        fd, temp_name = tempfile.mkstemp(prefix=".saving-", suffix=".csv", dir=path.parent)
    except OSError as exc:
        raise CsvNotSaved(_why(path, exc)) from None
    written = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            if header is not None:
                writer.writerow(header)
            for row in rows:
                writer.writerow(["" if value is None else value for value in row])
                written += 1
                if between_rows is not None and written % EVERY_ROWS == 0:
                    between_rows(written)
        os.chmod(temp_name, _saved_mode(path))
        os.replace(temp_name, path)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise CsvNotSaved(_why(path, exc)) from None
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return written


def _why(path: Path, exc: OSError) -> str:
    return (f"{path.name} could not be saved in {path.parent} ({exc.strerror or exc}). "
            "Choose another folder or name.")  # fmt: skip
