"""Saving a file the one way: complete or not at all.

Every file Rollbook saves for a person (CSV lists and reports, Excel workbooks) is
written to a temporary file in the target's folder and moved over the target only when
complete, so a failed or cancelled save never leaves half a file nor spoils the file it
was to replace. The saved file gets the permissions any other program would give it (a
temporary file is private to its owner; a report is not).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from app.domain.errors import RollbookError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once: os.umask can only be read by setting it, which other threads must not see.
_UMASK = _umask()


class FileNotSaved(RollbookError):
    """The file could not be written (folder missing, no permission, disk full)."""


def _saved_mode(path: Path) -> int:
    """The mode the saved file gets: that of the file it replaces, else the user's usual
    mode for a new file (0666 less the umask)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


def why_not_saved(path: Path, exc: OSError) -> str:
    return (f"{path.name} could not be saved in {path.parent} ({exc.strerror or exc}). "
            "Choose another folder or name.")  # fmt: skip


@contextlib.contextmanager
def saving(path: Path) -> Iterator[Path]:
    """The temporary path to write; it replaces ``path`` when the block ends without an
    error, and is removed when it raises (an OSError becomes FileNotSaved)."""
    try:
        fd, temp_name = tempfile.mkstemp(prefix=".saving-", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise FileNotSaved(why_not_saved(path, exc)) from None
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        os.chmod(temp, _saved_mode(path))
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise FileNotSaved(why_not_saved(path, exc)) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
