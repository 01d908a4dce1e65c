"""The Sessions page's week view: a week's class sessions as blocks on a grid of days
(Monday to Friday, and Saturday or Sunday when sessions fall on them) and times of day,
coloured by status, with sessions at the same time side by side.

Keyboard: the arrow keys move the highlight (Left and Right to the nearest session on
the day before or after, Up and Down within the day), Home and End go to the week's
first and last session, Enter opens the highlighted session (as a double-click does),
Page Up and Page Down change the week. The view shows what it is given: the page loads
the week (``week_changed``) and hands the sessions to ``set_sessions``.
"""

from __future__ import annotations

import html
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import SessionStatus
from app.domain.wording import counted
from app.services.session_week import WEEK_LIMIT, WeekSession, week_start


@dataclass(frozen=True)
class StatusLook:
    label: str
    fill: str
    edge: str
    text: str
    struck: bool = False


# Light fills with dark text of the same hue: readable on light and dark themes alike
# (the block carries its own colours), and told apart by more than hue: a cancelled
# session is grey, dashed and struck through.
STATUS_LOOKS: dict[str, StatusLook] = {
    SessionStatus.SCHEDULED.value: StatusLook("Scheduled", "#d7e6fc", "#3a74d0", "#12294d"),
    SessionStatus.IN_PROGRESS.value: StatusLook("In progress", "#ffe2a6", "#c98600", "#3d2a00"),
    SessionStatus.COMPLETED.value: StatusLook("Completed", "#cfeed8", "#2e8a52", "#0f3320"),
    SessionStatus.CANCELLED.value: StatusLook("Cancelled", "#ececec", "#9a9a9a", "#6b6b6b",
                                              struck=True),
}  # fmt: skip

DEFAULT_HOURS = (8, 16)  # the grid shows at least the school day
MIN_HOUR_PX = 48  # a 45-minute lesson still has room for three lines
MIN_DAY_PX = 120
WEEKEND = (5, 6)


def week_label(monday: date) -> str:
    return f"Week of {monday:%a} {monday.day} {monday:%b %Y}"


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def shown_days(monday: date, sessions: Sequence[WeekSession]) -> list[date]:
    """Monday to Friday, and a weekend day only when a session falls on it."""
    busy = {s.session_date for s in sessions}
    days = [monday + timedelta(days=n) for n in range(7)]
    return [d for d in days if d.weekday() not in WEEKEND or d in busy]


def hour_range(sessions: Sequence[WeekSession]) -> tuple[int, int]:
    """The hours the grid shows: the school day, widened to the week's earliest start
    and latest end, so that most weeks keep the same grid and blocks stay in place."""
    first, last = DEFAULT_HOURS
    for s in sessions:
        first = min(first, s.start_time.hour)
        last = max(last, math.ceil(_minutes(s.end_time) / 60))
    return first, min(last, 24)


@dataclass(frozen=True)
class Placed:
    """A session where the grid shows it: the day's column, and its lane of ``lanes``
    side by side when sessions of the day overlap."""

    session: WeekSession
    column: int
    lane: int
    lanes: int


def place_sessions(days: Sequence[date], sessions: Sequence[WeekSession]) -> list[Placed]:
    placed: list[Placed] = []
    for column, day in enumerate(days):
        todays = sorted((s for s in sessions if s.session_date == day),
                        key=lambda s: (s.start_time, s.end_time))  # fmt: skip
        group: list[tuple[WeekSession, int]] = []
        lane_ends: list[time] = []
        group_end = time.min
        for s in todays:
            # A session that starts after everything before it ended starts a new
            # group: only sessions that really overlap share the day's width.
            if group and s.start_time >= group_end:
                placed += [Placed(g, column, lane, len(lane_ends)) for g, lane in group]
                group, lane_ends = [], []
            lane = next((i for i, end in enumerate(lane_ends) if end <= s.start_time),
                        len(lane_ends))  # fmt: skip
            if lane == len(lane_ends):
                lane_ends.append(s.end_time)
            lane_ends[lane] = s.end_time
            group.append((s, lane))
            group_end = max(group_end, s.end_time)
        placed += [Placed(g, column, lane, len(lane_ends)) for g, lane in group]
    return placed


def session_details(s: WeekSession) -> list[str]:
    """Everything about a session, a line each: the tooltip and the screen reader's text."""
    minutes = _minutes(s.end_time) - _minutes(s.start_time)
    look = STATUS_LOOKS.get(s.status)
    return [
        s.group_name,
        f"{s.session_date:%A} {s.session_date.day} {s.session_date:%B %Y}, "
        f"{s.start_time:%H:%M}–{s.end_time:%H:%M} ({minutes} min)",
        " · ".join(p for p in (s.location, s.session_mode) if p),
        f"{look.label if look else s.status} · "
        f"{counted(s.marked, 'mark') if s.marked else 'no marks yet'}",
    ]


def session_tooltip(s: WeekSession) -> str:
    course, *rest = (html.escape(line) for line in session_details(s))
    return "<br>".join([f"<b>{course}</b>", *rest,
                        "<i>Double-click or Enter: open the register</i>"])  # fmt: skip


class WeekGrid(QWidget):
    """The painted grid of one week; focusable, driven by the keyboard or the mouse."""

    session_activated = Signal(object)  # uuid.UUID
    highlight_changed = Signal(object)  # uuid.UUID | None
    week_step_requested = Signal(int)  # -1: the week before, +1: the week after

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Sessions of the week")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.monday = week_start(date.today())
        self.sessions: list[WeekSession] = []
        self.empty_text = ""
        self._days = shown_days(self.monday, [])
        self._hours = DEFAULT_HOURS
        self._placed: list[Placed] = []
        self._highlight: uuid.UUID | None = None

    # ------------------------------------------------------------ data
    def set_week(self, monday: date, sessions: Sequence[WeekSession]) -> None:
        before = self.highlighted()
        self.monday, self.sessions = monday, list(sessions)
        self._days = shown_days(monday, self.sessions)
        self._hours = hour_range(self.sessions)
        self._placed = place_sessions(self._days, self.sessions)
        self.setMinimumSize(self.minimumSizeHint())
        self._set_highlight(self._carried_highlight(before))
        self.update()

    def _carried_highlight(self, before: WeekSession | None) -> uuid.UUID | None:
        """The same session after a reload; in another week, the same lesson of the
        series (course, weekday and time), so Page Down walks a timetable slot;
        otherwise the week's first session."""
        if not self.sessions:
            return None
        if before is not None:
            for s in self.sessions:
                if s.id == before.id:
                    return s.id
            for s in self.sessions:
                if (s.course_id, s.session_date.weekday(), s.start_time) == (
                        before.course_id, before.session_date.weekday(), before.start_time):  # fmt: skip
                    return s.id
        return self._in_order()[0].session.id

    def highlighted(self) -> WeekSession | None:
        return next((s for s in self.sessions if s.id == self._highlight), None)

    def days(self) -> list[date]:
        return list(self._days)

    def placed(self) -> list[Placed]:
        return list(self._placed)

    def _set_highlight(self, session_id: uuid.UUID | None) -> None:
        if session_id == self._highlight:
            return
        self._highlight = session_id
        chosen = self.highlighted()
        # What a screen reader says of the grid: the highlighted session.
        self.setAccessibleDescription(". ".join(session_details(chosen)) if chosen else "")
        self.highlight_changed.emit(session_id)
        self.update()

    def highlight(self, session_id: uuid.UUID) -> None:
        if any(s.id == session_id for s in self.sessions):
            self._set_highlight(session_id)

    # ------------------------------------------------------------ geometry
    def _header_height(self) -> int:
        return self.fontMetrics().height() + 14

    def _gutter(self) -> int:
        return self.fontMetrics().horizontalAdvance("00:00") + 16

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hours = self._hours[1] - self._hours[0]
        return QSize(self._gutter() + len(self._days) * MIN_DAY_PX + 8,
                     self._header_height() + hours * MIN_HOUR_PX + 8)  # fmt: skip

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.minimumSizeHint()

    def _day_width(self) -> float:
        return (self.width() - self._gutter() - 8) / max(len(self._days), 1)

    def _hour_height(self) -> float:
        hours = self._hours[1] - self._hours[0]
        return max(MIN_HOUR_PX, (self.height() - self._header_height() - 8) / hours)

    def _y(self, minutes: int) -> float:
        return self._header_height() + (minutes - self._hours[0] * 60) * self._hour_height() / 60

    def block_rect(self, placed: Placed) -> QRectF:
        width = self._day_width() / placed.lanes
        x = self._gutter() + placed.column * self._day_width() + placed.lane * width
        top = self._y(_minutes(placed.session.start_time))
        bottom = self._y(_minutes(placed.session.end_time))
        return QRectF(x + 3, top + 1, width - 6, bottom - top - 2)

    def highlight_rect(self) -> QRectF | None:
        found = next((p for p in self._placed if p.session.id == self._highlight), None)
        return self.block_rect(found) if found else None

    def _placed_at(self, point: QPointF) -> Placed | None:
        return next((p for p in reversed(self._placed) if self.block_rect(p).contains(point)),
                    None)  # fmt: skip

    # ------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        self._paint_grid(painter, palette)
        for placed in self._placed:
            self._paint_block(painter, placed, placed.session.id == self._highlight)
        if not self._placed and self.empty_text:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            area = QRectF(self._gutter(), self._header_height(), self.width() - self._gutter(),
                          self.height() - self._header_height())  # fmt: skip
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, self.empty_text)
        if self.hasFocus() and not self._placed:
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))

    def _paint_grid(self, painter: QPainter, palette: QPalette) -> None:
        header, gutter, day_width = self._header_height(), self._gutter(), self._day_width()
        right = gutter + day_width * len(self._days)
        line = palette.color(QPalette.ColorRole.Mid)
        faint = QColor(line)
        faint.setAlpha(70)
        text = palette.color(QPalette.ColorRole.Text)
        painter.fillRect(QRectF(0, 0, self.width(), header),
                         palette.color(QPalette.ColorRole.Window))  # fmt: skip
        today = date.today()
        for column, day in enumerate(self._days):
            x = gutter + column * day_width
            font = QFont(self.font())
            font.setBold(day == today)  # today stands out
            painter.setFont(font)
            painter.setPen(palette.color(QPalette.ColorRole.Highlight) if day == today else text)
            painter.drawText(QRectF(x, 0, day_width, header), Qt.AlignmentFlag.AlignCenter,
                             f"{day:%a} {day.day} {day:%b}")  # fmt: skip
        painter.setFont(self.font())
        first, last = self._hours
        for hour in range(first, last + 1):
            y = self._y(hour * 60)
            painter.setPen(QPen(line, 1))
            painter.drawLine(QPointF(gutter - 4, y), QPointF(right, y))
            if hour < last:
                painter.setPen(text)
                painter.drawText(QRectF(0, y + 2, gutter - 8, self.fontMetrics().height()),
                                 Qt.AlignmentFlag.AlignRight, f"{hour:02d}:00")  # fmt: skip
                half = self._y(hour * 60 + 30)
                painter.setPen(QPen(faint, 1, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(gutter, half), QPointF(right, half))
        painter.setPen(QPen(line, 1))
        for column in range(len(self._days) + 1):
            x = gutter + column * day_width
            painter.drawLine(QPointF(x, 0), QPointF(x, self._y(last * 60)))

    def _paint_block(self, painter: QPainter, placed: Placed, highlighted: bool) -> None:
        s = placed.session
        look = STATUS_LOOKS.get(s.status, STATUS_LOOKS[SessionStatus.SCHEDULED.value])
        rect = self.block_rect(placed)
        edge = QColor(look.edge)
        painter.setPen(
            QPen(edge, 1, Qt.PenStyle.DashLine if look.struck else Qt.PenStyle.SolidLine)
        )
        painter.setBrush(QColor(look.fill))
        painter.drawRoundedRect(rect, 4, 4)
        painter.fillRect(QRectF(rect.left(), rect.top(), 4, rect.height()), edge)
        if highlighted:
            ring = self.palette().color(QPalette.ColorRole.Highlight)
            painter.setPen(QPen(ring, 3 if self.hasFocus() else 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(-1, -1, 1, 1), 5, 5)
        painter.save()
        painter.setClipRect(rect.adjusted(1, 1, -1, -1))
        inner = rect.adjusted(8, 3, -4, -3)
        metrics = QFontMetrics(self.font())
        rows = max(1, int(inner.height() // metrics.height()))
        # A line that hardly fits (a 20-minute session) is centred, not cut at its foot.
        y = inner.top() if rows > 1 else rect.center().y() - metrics.height() / 2
        # Too narrow for a time and a name on one line (three sessions side by side):
        # the name, which the time's row already tells apart from the others.
        narrow = inner.width() < metrics.horizontalAdvance("00:00 Mathematics")
        for text, bold in self._block_lines(s, rows, narrow):
            font = QFont(self.font())
            font.setBold(bold)
            font.setStrikeOut(look.struck and bold)
            painter.setFont(font)
            painter.setPen(QColor(look.text))
            shown = QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight,
                                                  int(inner.width()))  # fmt: skip
            painter.drawText(QRectF(inner.left(), y, inner.width(), metrics.height()),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown)  # fmt: skip
            y += metrics.height()
        painter.restore()

    @staticmethod
    def _block_lines(s: WeekSession, rows: int, narrow: bool = False) -> list[tuple[str, bool]]:
        """The block's text for the lines it has room for, most telling first. A status
        other than scheduled is also written out: colour alone is not enough for all."""
        times = f"{s.start_time:%H:%M}–{s.end_time:%H:%M}"
        place = s.location or s.session_mode
        look = STATUS_LOOKS.get(s.status)
        status = [] if s.status == SessionStatus.SCHEDULED.value else [
            look.label.lower() if look else s.status]  # fmt: skip
        if rows == 1:
            return [(s.group_name if narrow else f"{s.start_time:%H:%M} {s.group_name}", True)]
        if rows == 2:
            return [(s.group_name, True), (" · ".join([times, *status, place]), False)]
        if rows == 3:
            return [(s.group_name, True), (times, False), (" · ".join([place, *status]), False)]
        state = status + ([f"{s.marked} marked"] if s.marked else [])
        return [(s.group_name, True), (times, False), (place, False),
                *([(" · ".join(state), False)] if state else [])]  # fmt: skip

    # ------------------------------------------------------------ tooltips
    def event(self, event) -> bool:
        if event.type() == event.Type.ToolTip:
            found = self._placed_at(QPointF(event.pos()))
            if found is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), session_tooltip(found.session), self,
                                  self.block_rect(found).toRect())  # fmt: skip
            return True
        return super().event(event)

    # ------------------------------------------------------------ mouse and keys
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        found = self._placed_at(event.position())
        if found is not None:
            self._set_highlight(found.session.id)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt override
        found = self._placed_at(event.position())
        if found is not None and event.button() == Qt.MouseButton.LeftButton:
            self._set_highlight(found.session.id)
            self.session_activated.emit(found.session.id)
            return
        super().mouseDoubleClickEvent(event)

    def _in_order(self) -> list[Placed]:
        return sorted(self._placed, key=lambda p: (p.column, p.session.start_time, p.lane))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                      Qt.KeyboardModifier.KeypadModifier)  # fmt: skip
        if not plain:  # Ctrl+T and the like are the page's
            super().keyPressEvent(event)
        elif key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
            self.week_step_requested.emit(-1 if key == Qt.Key.Key_PageUp else 1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._highlight is not None:
                self.session_activated.emit(self._highlight)
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right,
                     Qt.Key.Key_Home, Qt.Key.Key_End):  # fmt: skip
            # Taken even where nothing moves: the scroll area around must not scroll.
            target = self._moved(key)
            if target is not None:
                self._set_highlight(target.session.id)
        else:
            super().keyPressEvent(event)

    def _moved(self, key: int) -> Placed | None:
        order = self._in_order()
        if not order:
            return None
        current = next((p for p in order if p.session.id == self._highlight), None)
        if current is None or key == Qt.Key.Key_Home:
            return order[0]
        if key == Qt.Key.Key_End:
            return order[-1]
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            day = [p for p in order if p.column == current.column]
            at = day.index(current) + (1 if key == Qt.Key.Key_Down else -1)
            return day[at] if 0 <= at < len(day) else None
        step = 1 if key == Qt.Key.Key_Right else -1
        column = current.column + step
        while 0 <= column < len(self._days):
            day = [p for p in order if p.column == column]
            if day:  # the session nearest in time on the next day that has any
                start = _minutes(current.session.start_time)
                return min(day, key=lambda p: (abs(_minutes(p.session.start_time) - start),
                                               p.lane))  # fmt: skip
            column += step
        return None

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().focusInEvent(event)
        self.update()  # the highlight ring is thicker with the focus

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().focusOutEvent(event)
        self.update()


class WeekView(QWidget):
    """The week grid with the week's buttons, its title and a legend."""

    session_activated = Signal(object)  # uuid.UUID
    highlight_changed = Signal(object)  # uuid.UUID | None
    week_changed = Signal(object)  # date: the new week's Monday; load its sessions

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = WeekGrid()
        self.grid.session_activated.connect(self.session_activated)
        self.grid.highlight_changed.connect(self._highlight_changed)
        self.grid.week_step_requested.connect(self.step_week)
        self.setFocusProxy(self.grid)
        self.previous_button = QPushButton("◀ &Previous week")
        self.previous_button.setToolTip("The week before (Page Up)")
        self.previous_button.clicked.connect(lambda: self.step_week(-1))
        self.this_week_button = QPushButton("Th&is week")
        self.this_week_button.setToolTip("Back to the current week")
        self.this_week_button.clicked.connect(lambda: self.go_to_week(date.today()))
        self.next_button = QPushButton("&Next week ▶")
        self.next_button.setToolTip("The week after (Page Down)")
        self.next_button.clicked.connect(lambda: self.step_week(1))
        self.title = QLabel("")
        self.title.setObjectName("weekTitle")
        self.title.setStyleSheet("QLabel#weekTitle { font-weight: bold; font-size: 11pt; }")
        self.count_label = QLabel("")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.grid)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.StyledPanel)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the grid inside

        nav = QHBoxLayout()
        nav.setContentsMargins(0, 0, 0, 0)
        for button in (self.previous_button, self.this_week_button, self.next_button):
            nav.addWidget(button)
        nav.addSpacing(12)
        nav.addWidget(self.title)
        nav.addStretch(1)
        nav.addWidget(self.count_label)
        legend = QHBoxLayout()
        legend.setContentsMargins(0, 0, 0, 0)
        for look in STATUS_LOOKS.values():
            legend.addWidget(_swatch(look))
            legend.addWidget(QLabel(look.label))
            legend.addSpacing(10)
        legend.addStretch(1)
        keys = QLabel("Arrows move · Enter opens the register · Page Up/Down change the week")
        keys.setStyleSheet("color: palette(mid);")
        legend.addWidget(keys)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(nav)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(legend)
        self._monday = self.grid.monday
        self.title.setText(week_label(self._monday))

    @property
    def monday(self) -> date:
        return self._monday

    def go_to_week(self, day: date) -> None:
        """Show the week ``day`` falls in; its sessions come with ``set_sessions``."""
        monday = week_start(day)
        if monday == self._monday:
            return
        self._monday = monday
        self.title.setText(week_label(monday))
        # The days and hours of the new week at once; its sessions when they come.
        self.grid.empty_text = ""
        self.grid.set_week(monday, [])
        self.count_label.setText("Loading…")
        self.week_changed.emit(monday)

    def step_week(self, weeks: int) -> None:
        self.go_to_week(self._monday + timedelta(weeks=weeks))

    def set_sessions(self, monday: date, sessions: Sequence[WeekSession]) -> None:
        if monday != self._monday:
            return  # an answer for a week no longer shown
        self.grid.empty_text = "No sessions this week."
        if len(sessions) > WEEK_LIMIT:  # the service says there are more than it sent
            self.grid.set_week(monday, sessions[:WEEK_LIMIT])
            self.count_label.setText(f"First {WEEK_LIMIT} sessions: choose a course")
            self.count_label.setToolTip(f"This week has more than {WEEK_LIMIT} sessions; "
                                        "the Course filter shows one course's in full")  # fmt: skip
            return
        self.grid.set_week(monday, sessions)
        self.count_label.setText(counted(len(sessions), "session"))
        self.count_label.setToolTip("")

    def show_loading(self) -> None:
        self.count_label.setText("Loading…")

    def show_failure(self, text: str) -> None:
        self.count_label.setText("Not loaded")
        self.count_label.setToolTip(text)

    def highlighted(self) -> WeekSession | None:
        return self.grid.highlighted()

    def _highlight_changed(self, session_id: uuid.UUID | None) -> None:
        rect = self.grid.highlight_rect()
        if rect is not None:  # keep it on screen when the grid is taller than the view
            centre = rect.center()
            self.scroll.ensureVisible(int(centre.x()), int(centre.y()),
                                      int(rect.width() / 2) + 8, int(rect.height() / 2) + 8)  # fmt: skip
        self.highlight_changed.emit(session_id)


def _swatch(look: StatusLook) -> QLabel:
    swatch = QLabel()
    swatch.setFixedSize(18, 12)
    style = "dashed" if look.struck else "solid"
    swatch.setStyleSheet(f"background: {look.fill}; border: 1px {style} {look.edge};")
    return swatch
