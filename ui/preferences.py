"""The person's own settings that change what Rollbook does (Tools > Settings…), kept in
QSettings next to the window geometry. Read where they apply, each time, so a change
takes effect at once without telling anybody."""

from __future__ import annotations

from PySide6.QtCore import QSettings

#: reminders of sessions with an alarm, as desktop notifications
REMINDERS = "notifications/reminders"
#: changes to sessions, announced in the window's notification area
ANNOUNCEMENTS = "notifications/announcements"

_DEFAULTS = {REMINDERS: True, ANNOUNCEMENTS: True}


def is_on(key: str) -> bool:
    return bool(QSettings().value(key, _DEFAULTS[key], type=bool))


def set_on(key: str, on: bool) -> None:
    QSettings().setValue(key, on)
