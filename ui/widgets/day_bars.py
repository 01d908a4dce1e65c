"""A small bar chart in a table cell: one bar per event day, as high as the share of
registered students who checked in that day, each over a faint full-height track so
the share reads at a glance; a day still to come shows its track only.

The cell is first drawn by the style as any other (background, hover, selection,
focus), without its text: the bars go on top. The text stays in the model, for File >
Export and screen readers; the numbers are in the cell's tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from ui.models.event_list import DayBar

MARGIN_X, MARGIN_Y = 6, 3
BAR_GAP = 2
MAX_BAR_WIDTH = 14
TRACK_ALPHA = 50


class DayBarsDelegate(QStyledItemDelegate):
    """Paints the DayBar tuple the model hands out under ``role``."""

    def __init__(self, role: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:  # fmt: skip
        cell = QStyleOptionViewItem(option)
        self.initStyleOption(cell, index)
        cell.text = ""
        widget = cell.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, cell, painter, widget)
        bars = index.data(self.role)
        if bars:
            selected = bool(cell.state & QStyle.StateFlag.State_Selected)
            role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
            paint_bars(painter, QRectF(cell.rect), bars, cell.palette.color(role),
                       right_to_left=cell.direction == Qt.LayoutDirection.RightToLeft)  # fmt: skip


def bar_rects(area: QRectF, count: int, *, right_to_left: bool = False) -> list[QRectF]:
    """Where ``count`` bars go in a cell of ``area`` (full height), first day first:
    as wide as fits up to MAX_BAR_WIDTH, from the leading edge."""
    inner = area.adjusted(MARGIN_X, MARGIN_Y, -MARGIN_X, -MARGIN_Y)
    if count <= 0 or inner.width() <= 0 or inner.height() <= 0:
        return []
    gap = BAR_GAP if inner.width() >= count * (BAR_GAP + 2) else 0
    width = min(MAX_BAR_WIDTH, (inner.width() - gap * (count - 1)) / count)
    rects = []
    for n in range(count):
        offset = n * (width + gap)
        left = inner.right() - offset - width if right_to_left else inner.left() + offset
        rects.append(QRectF(left, inner.top(), width, inner.height()))
    return rects


def paint_bars(painter: QPainter, area: QRectF, bars: Sequence[DayBar], color: QColor, *,
               right_to_left: bool = False) -> None:  # fmt: skip
    track = QColor(color)
    track.setAlpha(TRACK_ALPHA)
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    for bar, rect in zip(bars, bar_rects(area, len(bars), right_to_left=right_to_left),
                         strict=False):  # fmt: skip
        painter.fillRect(rect, track)
        if bar.held and bar.attended:
            height = max(rect.height() * bar.share, 1.0)  # one check-in still shows
            painter.fillRect(QRectF(rect.left(), rect.bottom() - height, rect.width(), height),
                             color)  # fmt: skip
    painter.restore()
