"""Session reminders and change announcements while the window runs.

Every ``POLL_INTERVAL_MS`` one read-only operation asks the database (on the database
worker, never on the GUI thread) for the reminders that went off since the last poll
and for the changes to sessions captured since then. A reminder is shown as a desktop
notification from the system tray, and kept in the window's notification area too (the
only place it shows where there is no tray, as on GNOME without an extension); a
change is announced in the notification area. Tools > Settings… turns either off.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon, QVBoxLayout, QWidget

from app.domain.wording import counted
from app.services.session_reminders import (
    Reminder,
    SessionChange,
    due_reminders,
    session_changes_since,
    wall_clock,
)
from ui import preferences
from ui.about import app_icon
from ui.ops import Op, error_text
from ui.widgets.notification_area import Notice, NoticeKind, NotificationArea, NotificationButton

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 45_000
# The first look waits until the window has shown its first list: start-up stays quick.
FIRST_POLL_DELAY_MS = 3_000
# A reminder that went off shortly before Rollbook started is still shown (opening
# Rollbook at 08:50 for a 09:00 lesson with a 15-minute alarm).
CATCH_UP = timedelta(minutes=30)
TRAY_MESSAGE_MS = 15_000


@dataclass(frozen=True)
class Polled:
    """What one poll found; ``audit_id`` is None when announcements are off."""

    until: datetime
    reminders: list[Reminder]
    changes: list[SessionChange]
    audit_id: int | None


class SessionReminders(QObject):
    #: a poll is over (whatever it found, or if it failed)
    polled = Signal()

    def __init__(self, window: QWidget, area: NotificationArea) -> None:
        super().__init__(window)
        self.window = window
        self.area = area
        self.timer = QTimer(self, interval=POLL_INTERVAL_MS)
        self.timer.timeout.connect(lambda: self.poll())
        self.first_poll = QTimer(self, singleShot=True, interval=FIRST_POLL_DELAY_MS)
        self.first_poll.timeout.connect(lambda: self.poll())
        self.tray: QSystemTrayIcon | None = None
        # Where the next poll's reminder window starts (wall-clock time): the last
        # poll's end; None before the first.
        self.after: datetime | None = None
        self._audit_id: int | None = None
        self._shown: set[tuple[uuid.UUID, datetime]] = set()
        self._running: Op[Polled] | None = None

    def start(self) -> None:
        self.first_poll.start()
        self.timer.start()
        # Closed, the window polls no more: its operations would outlive the database.
        self.window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.stop()
        return False

    def stop(self) -> None:
        self.first_poll.stop()
        self.timer.stop()
        if self.tray is not None:
            self.tray.hide()

    def poll(self, now: datetime | None = None) -> Op[Polled] | None:
        """Look for due reminders and new changes up to ``now`` (this computer's clock
        when None). Returns the operation, or None while the last one still runs."""
        if self._running is not None:
            return None
        until = wall_clock(now or datetime.now())
        # The clock going back (summer time ending) makes an empty window, not an error.
        after = min(self.after if self.after is not None else until - CATCH_UP, until)
        remind = preferences.is_on(preferences.REMINDERS)
        announce = preferences.is_on(preferences.ANNOUNCEMENTS)
        # Off, the cursor is dropped: switched on again, announcing starts from then
        # instead of replaying what happened meanwhile.
        audit_id = self._audit_id if announce else None

        def work(session, ctx, _job) -> Polled:
            due = due_reminders(session, ctx, after, until) if remind else []
            if not announce:
                return Polled(until, due, [], None)
            changes, newest = session_changes_since(session, ctx, audit_id)
            return Polled(until, due, changes, newest)

        self._running = (
            Op(self.window, work, show_progress=False, read_only=True)
            .success(self._polled)
            .failure(self._failed)
            .finally_(self._finished)
        )
        return self._running.run()

    def _finished(self) -> None:
        self._running = None
        self.polled.emit()

    def _failed(self, error: BaseException) -> None:
        # The next poll reads the same window again: nothing is lost, and a dialog
        # every 45 seconds while the server is away would help nobody.
        log.warning("reminders and announcements could not be read: %s", error_text(error))

    def _polled(self, polled: Polled) -> None:
        self.after = polled.until
        self._audit_id = polled.audit_id
        # Switched off while the poll ran: from then on nothing shows. Reminders come
        # last, so the bar shows the one that needs acting on.
        if preferences.is_on(preferences.ANNOUNCEMENTS):
            for change in polled.changes:
                self.area.add(Notice(NoticeKind.CHANGE, change.at.astimezone(), change.text,
                                     f"Changed by {change.actor} at "
                                     f"{change.at.astimezone():%H:%M on %a %d %b}"))  # fmt: skip
        if preferences.is_on(preferences.REMINDERS):
            for reminder in polled.reminders:
                self._remind(reminder, polled.until)

    def _remind(self, reminder: Reminder, now: datetime) -> None:
        key = (reminder.session_id, reminder.remind_at)
        if key in self._shown:
            return
        self._shown.add(key)
        # Keys of reminders more than a day old can never come again.
        self._shown = {k for k in self._shown if k[1] > now - timedelta(days=1)}
        self.area.add(Notice(NoticeKind.REMINDER, reminder.remind_at, reminder.summary,
                             f"Reminder {counted(reminder.minutes_before, 'minute')} before "
                             "the session starts"))  # fmt: skip
        tray = self._tray()
        if tray is not None:
            tray.showMessage(reminder.title, reminder.text(now), app_icon(), TRAY_MESSAGE_MS)

    def _tray(self) -> QSystemTrayIcon | None:
        """The tray icon, made when the first reminder needs it; None without a tray."""
        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(app_icon(), self)
            self.tray.setToolTip("Rollbook")
            self.tray.messageClicked.connect(self._bring_forward)
            self.tray.activated.connect(lambda _reason: self._bring_forward())
            self.tray.show()
        return self.tray

    def _bring_forward(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()
        self.area.show()
        self.area.toggle_list(True)


def attach_notifications(window: QMainWindow) -> SessionReminders:
    """Put the notification area under the window's pages and its button in the status
    bar, and start looking for reminders and changes."""
    area = NotificationArea()
    pages = window.takeCentralWidget()
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(pages, 1)
    layout.addWidget(area)
    window.setCentralWidget(central)
    window.statusBar().addPermanentWidget(NotificationButton(area))
    reminders = SessionReminders(window, area)
    reminders.start()
    return reminders
