"""Painting a table's plain text cells in one pass.

Qt's own table painting asks the model for seven roles of every visible cell and lays
each cell out through the style: with a Python model that is some 1,500 calls into
Python per screen, and it took longer than the database needed to answer a search.
Here the view paints the screen in one loop: one call per cell for its text, the text
drawn straight, backgrounds and grid drawn a row or a line at a time. Cells that are
not plain text (check boxes, a refused edit's message) are still painted by the
delegate, with everything Qt would give it.
"""

from __future__ import annotations

from PySide6.QtCore import QLine, QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem, QTableView

from ui.models.paged import PagedTableModel

# Qt's item text sits this far inside the cell (QCommonStyle: focus frame margin + 1).
TEXT_MARGIN = 3


def paint_plain_cells(view: QTableView, model: PagedTableModel, dirty: QRect) -> None:
    """Paint the part ``dirty`` of the view's viewport."""
    header, rows_header = view.horizontalHeader(), view.verticalHeader()
    first_row = rows_header.visualIndexAt(dirty.top())
    if first_row < 0 or model.rowCount() == 0:
        return
    last_row = rows_header.visualIndexAt(dirty.bottom())
    if last_row < 0:
        last_row = model.rowCount() - 1
    first_visual = max(0, header.visualIndexAt(dirty.left()))
    last_visual = header.visualIndexAt(dirty.right())
    if last_visual < 0:
        last_visual = header.count() - 1
    columns = []
    for visual in range(first_visual, last_visual + 1):
        logical = header.logicalIndex(visual)
        if not header.isSectionHidden(logical):
            x = view.columnViewportPosition(logical)
            width = view.columnWidth(logical)
            columns.append((logical, x, width, model.columns[logical].align_right))
    if not columns:
        return

    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    palette = option.palette
    group = (
        QPalette.ColorGroup.Disabled
        if not view.isEnabled()
        else QPalette.ColorGroup.Active
        if view.isActiveWindow()
        else QPalette.ColorGroup.Inactive
    )
    text_color = palette.color(group, QPalette.ColorRole.Text)
    selected_text = palette.color(group, QPalette.ColorRole.HighlightedText)
    highlight = palette.brush(group, QPalette.ColorRole.Highlight)
    alternate = (
        palette.brush(group, QPalette.ColorRole.AlternateBase)
        if view.alternatingRowColors()
        else None
    )
    metrics = option.fontMetrics
    ascent, descent = metrics.ascent(), metrics.descent()
    left, right = columns[0][1], columns[-1][1] + columns[-1][2]
    selection = view.selectionModel()
    if selection is not None and not selection.hasSelection():
        selection = None  # nothing to ask row by row
    delegate = view.itemDelegate()
    root = view.rootIndex()
    elide = Qt.TextElideMode.ElideRight

    grid = 1 if view.showGrid() else 0  # a cell's own area stops short of its grid lines
    rows = [
        (row, view.rowViewportPosition(row), view.rowHeight(row),
         selection is not None and selection.isRowSelected(row, root))
        for row in range(first_row, last_row + 1)
    ]  # fmt: skip
    painter = QPainter(view.viewport())
    # Backgrounds first, the alternate rows in one call: each call into Qt costs
    # about as much as filling the rectangle.
    painter.setPen(Qt.PenStyle.NoPen)
    if alternate is not None:
        painter.setBrush(alternate)
        painter.drawRects([QRect(left, y, right - left, height)
                           for row, y, height, selected in rows if row % 2 and not selected])  # fmt: skip
        painter.setBrush(Qt.BrushStyle.NoBrush)
    for _row, y, height, selected in rows:
        if selected:
            painter.fillRect(QRect(left, y, right - left, height), highlight)
    painter.setFont(option.font)
    painter.setPen(text_color)
    for row, y, height, selected in rows:
        if selected:
            painter.setPen(selected_text)
        baseline = y + (height - grid + ascent - descent) // 2
        texts = model.plain_row(row)
        for logical, x, width, align_right in columns:
            text = texts[logical]
            if text is None:
                _paint_with_delegate(delegate, painter, option, model.index(row, logical),
                                     QRect(x, y, width - grid, height - grid), selected)  # fmt: skip
                painter.setPen(selected_text if selected else text_color)
                continue
            room = width - grid - 2 * TEXT_MARGIN
            if room <= 0 or not text:
                continue
            advance = metrics.horizontalAdvance(text)
            if advance > room:
                text = metrics.elidedText(text, elide, room)
                advance = metrics.horizontalAdvance(text)
            text_x = x + width - grid - TEXT_MARGIN - advance if align_right else x + TEXT_MARGIN
            painter.drawText(text_x, baseline, text)
        if selected:
            painter.setPen(text_color)
    _paint_grid(view, painter, option, columns, rows)
    _paint_focus(view, painter, option)
    painter.end()


def _paint_with_delegate(delegate, painter, option, index: QModelIndex, rect, selected) -> None:
    cell_option = QStyleOptionViewItem(option)
    cell_option.rect = rect
    if selected:
        cell_option.state |= QStyle.StateFlag.State_Selected
    delegate.paint(painter, cell_option, index)


def _paint_grid(view, painter, option, columns, rows) -> None:
    if not view.showGrid():
        return
    color = QColor.fromRgba(
        view.style().styleHint(QStyle.StyleHint.SH_Table_GridLineColor, option, view) & 0xFFFFFFFF
    )
    painter.setPen(color)
    top = rows[0][1]
    bottom = rows[-1][1] + rows[-1][2] - 1
    left, right = columns[0][1], columns[-1][1] + columns[-1][2] - 1
    lines = [QLine(left, y + height - 1, right, y + height - 1) for _row, y, height, _s in rows]
    lines += [QLine(x + width - 1, top, x + width - 1, bottom) for _l, x, width, _r in columns]
    painter.drawLines(lines)


def _paint_focus(view, painter, option) -> None:
    current = view.currentIndex()
    if not (current.isValid() and view.hasFocus()):
        return
    focus = QStyleOptionViewItem(option)
    focus.rect = view.visualRect(current)
    focus.state |= QStyle.StateFlag.State_HasFocus
    view.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, focus, painter, view)
