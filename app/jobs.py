"""Progress reporting and cooperative cancel for long work, free of Qt.

A long service takes a ``Job``; it calls ``job.progress(done, total, text)`` as it goes
and ``job.check_cancel()`` between batches. The UI (or the CLI) sets ``cancel()`` from
another thread; the next check raises ``Cancelled`` and the caller's transaction rolls
back, so a cancelled run changes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.domain.errors import Cancelled

ProgressCallback = Callable[["ProgressReport"], None]


@dataclass(frozen=True)
class ProgressReport:
    done: int
    total: int | None
    text: str

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


class Job:
    """Handed to long-running services. Thread-safe: cancel() may come from any thread."""

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        *,
        min_interval_s: float = 0.1,
    ) -> None:
        self._on_progress = on_progress
        self._min_interval_s = min_interval_s
        self._cancel = threading.Event()
        self._last_report = 0.0
        self.last: ProgressReport | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def progress(self, done: int, total: int | None = None, text: str = "") -> None:
        """Report progress; throttled so a tight loop does not flood the UI."""
        report = ProgressReport(done, total, text)
        self.last = report
        now = time.monotonic()
        finished = total is not None and done >= total
        if self._on_progress is None:
            return
        if finished or now - self._last_report >= self._min_interval_s:
            self._last_report = now
            self._on_progress(report)


def silent_job() -> Job:
    """A job nobody watches and nobody cancels (scripts, tests)."""
    return Job()
