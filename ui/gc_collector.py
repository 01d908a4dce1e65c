"""Cyclic garbage collection on the window's thread only.

Python's cyclic collector runs in whichever thread happens to allocate when a threshold
is crossed — in Rollbook often the database worker, in the middle of a query. When the
cycle it frees holds a Qt object, Qt destroys that object on the wrong thread, or while
the worker is using it, and the program dies (a segmentation fault seen in the test
suite in "Garbage-collecting", a hang in another run). pyqtgraph, Anki and GitFourchette
answer it the same way, which is followed here: automatic collection is off, and a timer
on the window's thread collects each generation when its count passes the usual
threshold — and only while no background operation is running.

Reference counting still frees almost everything at once; only cycles wait a moment.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

CHECK_EVERY_MS = 1000


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, *,
                 busy: Callable[[], bool] = lambda: False) -> None:  # fmt: skip
        super().__init__(parent)
        self._busy = busy
        self.thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(CHECK_EVERY_MS)

    def check(self) -> None:
        if self._busy():
            return
        counts = gc.get_count()
        generation = -1
        for level in range(3):
            if counts[level] > self.thresholds[level]:
                generation = level
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        """Back to how collection was before (the window is gone)."""
        self.timer.stop()
        if self._was_enabled:
            gc.enable()
