"""Scratch data folders for benchmarks run without a given folder.

A full-size run leaves 2-4 GB of database files; a few runs in a row would fill a
laptop's disk, so a folder the benchmark made itself goes when the process exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_folder(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    # Registered before the embedded server starts, so (atexit runs last-in first-out)
    # the server is stopped before its files are removed.
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
