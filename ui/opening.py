"""Opening the database on a background thread, told to the GUI by signals.

Used at every start: the main window is on screen at once and fills in when the
database is ready, and the first-start window keeps painting while the cluster is
created. The database layer is imported on that thread too (it is a good part of the
start-up time), so nothing here imports it at module level.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from app.config import Settings


class DatabaseOpener(QObject):
    """``start()`` opens the database; ``opened(Database)`` or ``failed(str)`` follows,
    with ``progress(text, done, total)`` on the way. The signals arrive on the GUI
    thread (queued), whatever thread emits them."""

    progress = Signal(str, int, int)
    opened = Signal(object)
    failed = Signal(str)

    def __init__(self, settings: Settings, *, thread_name: str = "rollbook-open") -> None:
        super().__init__()
        self.settings = settings
        self.thread_name = thread_name
        self.thread: threading.Thread | None = None
        self.ran_on = ""  # the thread that did the work (never the GUI thread)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self.thread.start()

    def wait(self, timeout_s: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout_s)

    def _run(self) -> None:
        from app.domain.errors import RollbookError
        from app.jobs import Job
        from app.runtime import open_database

        self.ran_on = threading.current_thread().name
        job = Job(lambda r: self.progress.emit(r.text, r.done, r.total or 0), min_interval_s=0)
        try:
            database = open_database(self.settings, job=job)
        except RollbookError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # shown in words, never as a traceback
            from ui.ops import error_text

            self.failed.emit(error_text(exc))
        else:
            self.opened.emit(database)
