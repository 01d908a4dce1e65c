"""Scratch data folders for benchmarks run without a given folder.

A full-size run leaves 2-4 GB of database files; a few runs in a row would fill a
laptop's disk, so a folder the benchmark made itself goes when the process ends: on a
normal exit, a failure, Ctrl+C, or a plain ``kill`` (SIGTERM is turned into an exit so
the clean-up runs). ``--data-dir`` keeps a folder on purpose.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import sys
import tempfile
from pathlib import Path


def _exit_on_sigterm() -> None:
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def scratch_folder(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    # Registered before the embedded server starts, so (atexit runs last-in first-out)
    # the server is stopped before its files are removed.
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    _exit_on_sigterm()
    return path
