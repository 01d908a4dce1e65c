"""Syncing in the window (replica mode): in the background on a timer (every minute unless the connection kept says otherwise) and on Sync now
(F9), never holding up the window, with the status bar saying where the desktop stands.

The status bar reads "Offline · 3 changes to send · trying again in 20 s", "Syncing…"
or "Synced at 10:15 · 2 conflicts" — the conflicts a link that opens them. A sync that
fails says why (hover the words) and is tried again by itself with back-off; Tools >
Pause sync stops the timer until it is unticked. The work is app.sync.engine.sync_once
on the ops hub's network lane: the window and its database work go on meanwhile.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel

from app.domain.errors import RollbookError
from app.domain.wording import counted
from app.runtime import Database
from app.sync.conflicts import SyncStatus, sync_status
from app.sync.engine import SyncReport, count_open_and_pending, sync_once
from app.sync.server import accepted_revisions
from app.sync.tables import SYNCED_TABLES
from ui.ops import Op, hub

PAUSED_SETTING = "sync/paused"

log = logging.getLogger(__name__)


class SyncController(QObject):
    """Runs the syncs and tells the status bar about them."""

    #: (words for the status bar, rich text allowed; the reason to show on hover)
    state_changed = Signal(str, str)
    #: a sync finished (the report)
    synced = Signal(object)

    def __init__(self, database: Database, parent: QObject | None = None,
                 sync: Callable[..., SyncReport] = sync_once) -> None:  # fmt: skip
        super().__init__(parent)
        self.database = database
        self._sync = sync
        self.running: Op | None = None
        self.last: SyncReport | None = None
        self.last_synced_at: datetime | None = None
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(self.sync_now)
        self.countdown = QTimer(self, interval=1000)
        self.countdown.timeout.connect(self._show)
        self.recount = QTimer(self, singleShot=True, interval=2000)
        self.recount.timeout.connect(self.refresh_counts)

    @property
    def paused(self) -> bool:
        return bool(QSettings().value(PAUSED_SETTING, False, type=bool))

    def set_paused(self, paused: bool) -> None:
        QSettings().setValue(PAUSED_SETTING, paused)
        if paused:
            self.timer.stop()
        elif self.running is None:
            self.timer.start(0)
        self._show()

    def start(self) -> None:
        """Show where the desktop stood when it was last open, then sync soon (not in
        the window's way while it builds). Local edits update the count of changes to
        send (a couple of seconds after them)."""
        Op(None, lambda s, ctx, job: sync_status(s, ctx.school_id), read_only=True,
           show_progress=False).success(self._stored).run()  # fmt: skip
        hub().changed.connect(lambda _tables: self.recount.start())
        if not self.paused:
            self.timer.start(1500)

    def _stored(self, status: SyncStatus) -> None:
        if self.last is not None or not status.connected:
            self._show()
            return
        if status.last_sync_at is not None:
            self.last_synced_at = status.last_sync_at.astimezone().replace(tzinfo=None)
        self.last = SyncReport(
            status="unreachable" if status.last_error else "synced",
            message=status.last_error or "", open_conflicts=status.open_conflicts,
            pending_operations=status.pending_operations,
        )  # fmt: skip
        self._show()

    def refresh_counts(self) -> None:
        """Changes to send and conflicts open, read again (after an edit or a decision)."""
        if self.last is None:
            return
        Op(None, lambda s, ctx, job: count_open_and_pending(s, ctx.school_id), read_only=True,
           show_progress=False).success(self._counted).run()  # fmt: skip

    def _counted(self, counts: tuple[int, int]) -> None:
        if self.last is not None:
            self.last = replace(self.last, open_conflicts=counts[0], pending_operations=counts[1])
            self._show()

    def sync_now(self) -> None:
        if self.running is not None:
            return  # one at a time; the running one brings everything anyway
        self.timer.stop()
        database = self.database
        sync = self._sync

        def work(job):
            return sync(database.sessions, database.settings.server_url,
                        school_code=database.settings.school_code,
                        device_name=database.settings.device_name, revision=accepted_revisions()[0],
                        job=job)  # fmt: skip

        self.running = Op(None, work, network=True, show_progress=False)
        self.running.success(self._done).failure(self._failed).finally_(self._finished)
        self.running.run()
        self._show()

    def _done(self, report: SyncReport) -> None:
        self.last = report
        if report.ok:
            self.last_synced_at = datetime.now()
        if report.changed_rows or report.copied_rows:
            hub().changed.emit(frozenset(SYNCED_TABLES))  # pages show what came
            self.recount.stop()  # that was the sync's own writing, counted already
        self.synced.emit(report)

    def _failed(self, error: BaseException) -> None:
        # Not a refusal the engine reports (those are reports): the local database, say.
        if not isinstance(error, RollbookError):
            log.error("sync failed unexpectedly", exc_info=error)
        self.last = SyncReport(status="refused", message=str(error).splitlines()[0],
                               retry_in_s=60.0)  # fmt: skip

    def _finished(self) -> None:
        self.running = None
        if not self.paused:
            interval = self.database.settings.sync_interval_s
            wait = interval if self.last is None or self.last.ok else (
                self.last.retry_in_s or interval)  # fmt: skip
            self.timer.start(int(wait * 1000))
        self._show()

    def _show(self) -> None:
        text, reason = self.describe()
        if self.last is not None and not self.last.ok and self.timer.isActive():
            self.countdown.start()
        else:
            self.countdown.stop()
        self.state_changed.emit(text, reason)

    def describe(self) -> tuple[str, str]:
        last = self.last
        if self.running is not None:
            return "Syncing…", "Sending this desktop's changes and bringing the server's"
        parts: list[str] = []
        reason = ""
        if last is None:
            parts.append("Not synced yet")
        elif last.status == "unreachable":
            parts.append("Offline")
            reason = f"The school server cannot be reached: {last.message}"
        elif last.status == "upgrade_required":
            parts.append("Upgrade required")
            reason = last.message
        elif last.status == "reinit_required":
            parts.append('<a href="reinit">Re-initialise required</a>')
            reason = last.message[:1].upper() + last.message[1:]
        elif last.status == "refused":
            parts.append("Sync refused")
            reason = last.message
        elif self.last_synced_at is not None:
            parts.append(f"Synced at {self.last_synced_at:%H:%M}")
        if last is not None and last.pending_operations:
            parts.append(f"{counted(last.pending_operations, 'change')} to send")
        if last is not None and last.open_conflicts:
            words = counted(last.open_conflicts, "conflict")
            parts.append(f'<a href="conflicts">{html.escape(words)}</a>')
        if self.paused:
            parts.append("paused")
        elif (last is not None and not last.ok and self.timer.isActive()
              and last.status != "reinit_required"):  # asking again changes nothing there
            seconds = max(1, round(self.timer.remainingTime() / 1000))
            parts.append(f"trying again in {seconds} s")
        return "Sync: " + " · ".join(parts), reason


class SyncStatusLabel(QLabel):
    """The status bar's sync words; the conflicts link opens them, the re-initialise link
    its wizard."""

    def __init__(self, controller: SyncController, open_conflicts: Callable[[], None],
                 open_reinit: Callable[[], None]) -> None:  # fmt: skip
        super().__init__("Sync: …")
        self.setObjectName("syncState")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.linkActivated.connect(
            lambda link: open_reinit() if link == "reinit" else open_conflicts())
        controller.state_changed.connect(self._show)

    def _show(self, text: str, reason: str) -> None:
        self.setText(text)
        self.setToolTip(reason or "Syncs with the school server in the background; "
                        "Tools > Sync now (F9) syncs at once")  # fmt: skip
