"""Background operations for the UI.

Every database call from the UI goes through ``Op``: the work runs on the one database
worker thread (one session per operation, committed when it returns), results and
failures come back on the GUI thread, a progress dialog with Cancel appears when an
operation takes longer than ``PROGRESS_DELAY_MS``, and a finished write broadcasts
which tables its transaction changed (as the database's change capture noted them, see
app.db.capture) so pages refresh what they show.

    Op(self, lambda s, ctx, job: students.update_student(s, ctx, sid, changes)
       ).success(self._saved).run()

Work that reads files or only computes (sniffing a roster, parsing OneRoster,
validating rows) runs as ``Op(..., files=True)`` on a second worker, so it never holds
up the database worker nor the window; its work is called with the job alone. Syncing
with the school server (seconds, or a minute when the network is slow) runs as
``Op(..., network=True)`` on a third, so it holds up neither; it opens its own
transactions, and is called with the job alone too.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QPushButton, QWidget
from sqlalchemy.orm import Session

from app.db.capture import written_entities
from app.domain.context import ServiceContext
from app.domain.errors import Cancelled, RollbookError
from app.jobs import Job, ProgressReport
from app.runtime import Database

if TYPE_CHECKING:
    from app.services.users import UserRow

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[Session, ServiceContext, Job], T]
FileWork = Callable[[Job], T]
PROGRESS_DELAY_MS = 500


class OpsHub(QObject):
    """Owns the database worker and tells the UI what changed."""

    changed = Signal(object)  # frozenset[str]: the tables an operation's transaction wrote
    busy_changed = Signal(bool)
    signed_in_changed = Signal()  # another person signed in: what the window allows changes
    _finished = Signal(object, object)  # (Op, Future) delivered on the GUI thread
    _progress = Signal(object, object)  # (Op, ProgressReport)

    def __init__(self, database: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.database = database
        # The account signed in to the window (ui/sign_in.py); None: no accounts yet.
        self.signed_in: UserRow | None = None
        # One worker: database work is serialised, like Anki's collection lock.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollbook-db")
        # Reading and checking files: never in the way of the database or the window.
        self._files = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollbook-files")
        self._network = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollbook-network")
        self._running = 0
        self._shut_down = False
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._show_progress, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._running > 0

    def sign_in(self, user: UserRow | None) -> None:
        """From now on ``user`` acts (ui/sign_in.py)."""
        self.signed_in = user
        self.signed_in_changed.emit()

    def context(self) -> ServiceContext:
        """Who acts: the signed-in account, else (a school without accounts) whoever
        opened the data, as its administrator."""
        if self.signed_in is not None:
            from app.services.users import context_of

            return context_of(self.signed_in, self.database.school.id)
        return self.database.context()

    def submit(self, op: Op[Any]) -> Future:
        self._running += 1
        if self._running == 1:
            self.busy_changed.emit(True)
        if self._shut_down:
            # The window is closing: a timer that fires now (a search's pause, a preview)
            # asks for work nobody will see. Dropped like an op cancelled before it ran.
            future: Future = Future()
            future.cancel()
        elif op.files:
            future = self._files.submit(self._read, op)
        elif op.network:
            future = self._network.submit(self._read, op)
        else:
            future = self._executor.submit(self._execute, op)
        # Also called when the future is cancelled before it ran (then at once, on the
        # thread that cancelled it): a dropped op is counted off like any other.
        future.add_done_callback(lambda f, op=op: self._finished.emit(op, f))
        return future

    def _read(self, op: Op[T]) -> tuple[T, frozenset[str]]:
        return op.work(op.job), frozenset()  # type: ignore[call-arg]

    def _execute(self, op: Op[T]) -> tuple[T, frozenset[str]]:
        if op.read_only:
            # A read needs no transaction of its own: without BEGIN and COMMIT a page
            # of a list is two round trips shorter.
            with self.database.engine.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                with Session(bind=autocommit) as session:
                    return op.work(session, self.context(), op.job), frozenset()
        ctx = self.context()
        # Captured in the audit log as the signed-in person's.
        with self.database.sessions(info={"actor": ctx.actor}) as session, session.begin():
            result = op.work(session, ctx, op.job)
            return result, written_entities(session)

    def _show_progress(self, op: Op[Any], report: ProgressReport) -> None:
        op._on_progress(report)

    def _deliver(self, op: Op[Any], future: Future) -> None:
        self._running -= 1
        if self._running == 0:
            self.busy_changed.emit(False)
        op._done(future)
        if not future.cancelled() and future.exception() is None and future.result()[1]:
            self.changed.emit(future.result()[1])

    def shutdown(self) -> None:
        self._shut_down = True
        self._files.shutdown(wait=True, cancel_futures=True)
        self._network.shutdown(wait=True, cancel_futures=True)
        self._executor.shutdown(wait=True, cancel_futures=True)


_hub: OpsHub | None = None


def install_hub(database: Database, parent: QObject | None = None) -> OpsHub:
    global _hub
    _hub = OpsHub(database, parent)
    return _hub


def installed_hub() -> OpsHub | None:
    """The hub if one was installed (shutting down after a start that never got there)."""
    return _hub


def hub() -> OpsHub:
    if _hub is None:
        raise RuntimeError("install_hub() must run before any operation")
    return _hub


class Op(Generic[T]):
    """One unit of database work started from the UI."""

    def __init__(
        self,
        parent: QWidget | None,
        work: Work[T] | FileWork[T],
        *,
        title: str = "Working…",
        show_progress: bool = True,
        read_only: bool = False,
        files: bool = False,
        network: bool = False,
    ) -> None:
        """``read_only`` work runs outside a transaction (each statement on its own);
        anything that writes must leave it False. ``files`` work runs on the file worker
        and is called as ``work(job)``."""
        self.parent = parent
        self.work = work
        self.title = title
        self.read_only = read_only
        self.files = files
        self.network = network
        self.job = Job(self._report_from_worker)
        self._show_progress_dialog = show_progress
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[BaseException], None] | None = None
        self._finally: Callable[[], None] | None = None
        self._progress_callback: Callable[[ProgressReport], None] | None = None
        self._dialog: QProgressDialog | None = None
        self._timer: QTimer | None = None
        self._last_report: ProgressReport | None = None
        self._future: Future | None = None

    def success(self, callback: Callable[[T], None]) -> Op[T]:
        self._success = callback
        return self

    def failure(self, callback: Callable[[BaseException], None]) -> Op[T]:
        """Replace the default error dialog (e.g. to show the error at a table cell)."""
        self._failure = callback
        return self

    def on_progress(self, callback: Callable[[ProgressReport], None]) -> Op[T]:
        """Also send progress reports here (pages that show their own progress bar)."""
        self._progress_callback = callback
        return self

    def finally_(self, callback: Callable[[], None]) -> Op[T]:
        self._finally = callback
        return self

    def run(self) -> Op[T]:
        if self._show_progress_dialog:
            self._timer = QTimer(singleShot=True, interval=PROGRESS_DELAY_MS)
            self._timer.timeout.connect(self._open_dialog)
            self._timer.start()
        self._future = hub().submit(self)
        return self

    def cancel(self) -> None:
        """Nobody needs the answer any more: drop the work if it is still queued (it
        then never runs, and neither its success nor its failure callback is called;
        its finally_ callback still is); if it is running, set its job's cancel flag,
        which long work checks between batches (its outcome, Cancelled or not, is
        reported as usual)."""
        self.job.cancel()
        if self._future is not None:
            self._future.cancel()

    # -- worker thread
    def _report_from_worker(self, report: ProgressReport) -> None:
        hub()._progress.emit(self, report)

    # -- GUI thread
    def _on_progress(self, report: ProgressReport) -> None:
        self._last_report = report
        if self._progress_callback is not None:
            self._progress_callback(report)
        if self._dialog is not None:
            self._apply_report(report)

    def _apply_report(self, report: ProgressReport) -> None:
        assert self._dialog is not None
        if report.total:
            self._dialog.setMaximum(report.total)
            self._dialog.setValue(min(report.done, report.total))
        if report.text:
            self._dialog.setLabelText(report.text)

    def _open_dialog(self) -> None:
        dialog = QProgressDialog(self.title, "Cancel", 0, 0, self.parent)
        dialog.setWindowTitle("Rollbook")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self._cancel)
        self._dialog = dialog
        if self._last_report is not None:
            self._apply_report(self._last_report)
        dialog.show()

    def _cancel(self) -> None:
        self.job.cancel()
        if self._dialog is not None:
            self._dialog.setLabelText("Cancelling… nothing will be changed.")
            # Keep the dialog up (Qt hides it on cancel) until the worker has stopped.
            self._dialog.show()
            for button in self._dialog.findChildren(QPushButton):
                button.setEnabled(False)

    def _close_progress(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._dialog is not None:
            self._dialog.hide()
            self._dialog.deleteLater()
            self._dialog = None

    def _done(self, future: Future) -> None:
        self._close_progress()
        if self.parent is not None and not shiboken6.isValid(self.parent):
            return  # the window that asked was closed meanwhile; nobody to tell
        try:
            if future.cancelled():
                return  # dropped before it ran: no outcome to report
            error = future.exception()
            if error is None:
                if self._success is not None:
                    self._success(future.result()[0])
            elif self._failure is not None:
                self._failure(error)
            else:
                show_error(self.parent, error)
        finally:
            if self._finally is not None:
                self._finally()


def error_text(error: BaseException) -> str:
    """What a person reads: the typed error's own text, never a traceback."""
    if isinstance(error, RollbookError):
        return str(error)
    return (
        "Something went wrong that Rollbook did not expect, and nothing was changed.\n\n"
        f"Details: {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
    )


def show_error(parent: QWidget | None, error: BaseException) -> None:
    if isinstance(error, Cancelled):
        return  # the person asked for it; the database is unchanged
    if not isinstance(error, RollbookError):
        log.error("unexpected error in operation:\n%s", "".join(traceback.format_exception(error)))
    parent = parent or QApplication.activeWindow()
    box = QMessageBox(QMessageBox.Icon.Warning, "Rollbook", error_text(error), parent=parent)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    # Without a parent nothing else keeps the box alive while it is open.
    _open_boxes.add(box)
    box.finished.connect(lambda _result, b=box: _open_boxes.discard(b))
    box.open()


_open_boxes: set[QMessageBox] = set()
