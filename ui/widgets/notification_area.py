"""The window's notification area: session reminders and announced changes to sessions.

A slim bar along the bottom of the window, above the status bar, shows the newest
notice while there are new ones; "Show all" lists the recent ones (newest first) and
Dismiss (or Esc) puts the bar away. A button in the status bar says how many are new
and brings the bar back. Nothing pops up over the work: a person reads it when they
look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeySequence, QPainter, QPaintEvent, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.wording import counted

MAX_KEPT = 50  # older notices drop off the list
ROWS_SHOWN = 6  # the list's height; more scroll
ICON_SIZE = 16


class NoticeKind(StrEnum):
    REMINDER = "reminder"
    CHANGE = "change"


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    at: datetime  # when the reminder went off or the change was made
    text: str
    detail: str = ""  # the tooltip: who made a change, the session's full times


class ElidedLabel(QLabel):
    """One line that ends in "…" when the window is too narrow for it (the whole text
    is in its tooltip), instead of pushing the bar's buttons off the window."""

    def __init__(self) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight,
                                              self.contentsRect().width())  # fmt: skip
        painter.drawText(self.contentsRect(), Qt.AlignmentFlag.AlignVCenter, shown)


def _clock_icon(widget: QWidget) -> QIcon:
    """A small clock for reminders, drawn in the text colour (no icon theme needed)."""
    ratio = widget.devicePixelRatioF()
    pixmap = QPixmap(QSize(ICON_SIZE, ICON_SIZE) * ratio)
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(widget.palette().windowText().color(), 1.6)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.drawEllipse(QRectF(1.5, 1.5, 13, 13))
    painter.drawLine(QPointF(8, 8), QPointF(8, 4.5))
    painter.drawLine(QPointF(8, 8), QPointF(10.5, 9.5))
    painter.end()
    return QIcon(pixmap)


class NotificationArea(QFrame):
    #: how many notices arrived since the person last looked
    unread_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationArea")
        self.setStyleSheet(
            "QFrame#notificationArea { border-top: 1px solid palette(mid);"
            " background: palette(alternate-base); }"
        )
        self.notices: list[Notice] = []
        self.unread = 0
        self.icons = {
            NoticeKind.REMINDER: _clock_icon(self),
            NoticeKind.CHANGE: self.style().standardIcon(
                QStyle.StandardPixmap.SP_MessageBoxInformation
            ),
        }
        self.icon = QLabel()
        self.latest = ElidedLabel()
        self.latest.setObjectName("latestNotice")
        self.more = QToolButton()
        self.more.setObjectName("showAllNotices")
        self.more.setAutoRaise(True)
        self.more.clicked.connect(lambda: self.toggle_list())
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("Dismiss")
        self.dismiss_button.setToolTip("Put the notifications away (Esc)")
        self.dismiss_button.setAutoRaise(True)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.list = QListWidget()
        self.list.setObjectName("noticeList")
        self.list.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.list.setAlternatingRowColors(True)
        self.list.hide()
        header = QHBoxLayout()
        header.setContentsMargins(10, 3, 4, 3)
        header.setSpacing(8)
        header.addWidget(self.icon)
        header.addWidget(self.latest, 1)
        header.addWidget(self.more)
        header.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(header)
        layout.addWidget(self.list)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.dismiss)
        self.hide()  # until there is something to say

    # ------------------------------------------------------------ notices
    def add(self, notice: Notice) -> None:
        """Show ``notice`` as the newest one."""
        self.notices.insert(0, notice)
        del self.notices[MAX_KEPT:]
        item = QListWidgetItem(self.icons[notice.kind], f"{notice.at:%H:%M}   {notice.text}")
        item.setToolTip(notice.detail or notice.text)
        self.list.insertItem(0, item)
        while self.list.count() > MAX_KEPT:
            self.list.takeItem(self.list.count() - 1)
        self._set_unread(self.unread + 1)
        self._fit_list()
        self._refresh()
        self.show()

    def texts(self) -> list[str]:
        """The notices' texts, newest first (what the list shows, without times)."""
        return [notice.text for notice in self.notices]

    # ------------------------------------------------------------ showing
    def dismiss(self) -> None:
        self._set_unread(0)
        self.list.hide()
        self.hide()
        self._refresh()

    def toggle(self) -> None:
        """The status bar's button and View > Notifications: show every notice, or put
        the bar away."""
        if self.isVisible() and self.listed:
            self.dismiss()
        else:
            self.show()
            self.toggle_list(True)

    @property
    def listed(self) -> bool:
        """Whether every notice is listed (asked for, even while the bar is away)."""
        return not self.list.isHidden()

    def toggle_list(self, shown: bool | None = None) -> None:
        """Show all / Show less."""
        self.list.setVisible(not self.listed if shown is None else shown)
        if self.listed:
            self._fit_list()
            self._set_unread(0)
        self._refresh()

    def _fit_list(self) -> None:
        rows = max(1, min(ROWS_SHOWN, self.list.count()))
        row_height = self.list.sizeHintForRow(0) if self.list.count() else 20
        self.list.setFixedHeight(rows * row_height + 2 * self.list.frameWidth() + 2)

    def _refresh(self) -> None:
        newest = self.notices[0] if self.notices else None
        if newest is None or self.listed:
            # The list shows every notice: the line above it only says what it is.
            self.icon.clear()
            self.icon.hide()
            self.latest.setText("Recent notifications, newest first" if newest
                                else "No notifications yet.")  # fmt: skip
            self.latest.setToolTip("")
        else:
            self.icon.setPixmap(self.icons[newest.kind].pixmap(ICON_SIZE, ICON_SIZE))
            self.icon.show()
            self.latest.setText(newest.text)
            self.latest.setToolTip(newest.detail or newest.text)
        if self.listed:
            self.more.setText("Show less")
        else:
            self.more.setText(f"Show all ({len(self.notices)})")
        self.more.setVisible(bool(self.notices))

    def _set_unread(self, count: int) -> None:
        if count != self.unread:
            self.unread = count
            self.unread_changed.emit(count)


class NotificationButton(QToolButton):
    """The status bar's way to the notifications: says how many are new."""

    def __init__(self, area: NotificationArea) -> None:
        super().__init__()
        self.setObjectName("notificationButton")
        self.setAutoRaise(True)
        self.setToolTip("Session reminders and changes to sessions (View > Notifications)")
        self.clicked.connect(area.toggle)
        area.unread_changed.connect(self._show_count)
        self._show_count(area.unread)

    def _show_count(self, unread: int) -> None:
        self.setText(f"{counted(unread, 'new notification')}" if unread else "Notifications")
        font = self.font()
        font.setBold(bool(unread))
        self.setFont(font)
