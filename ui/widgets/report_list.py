"""The list of reports on the Reports page: each entry its title in bold over a line
or two saying what the report holds.

The entry is drawn by the style as any list item is (selection, focus, hover), with
the two texts laid inside it; the description wraps to the list's width.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole  # what the entry stands for (the report's kind)
PADDING = 8  # around an entry's texts
GAP = 2  # between the title and the description

Index = QModelIndex | QPersistentModelIndex


def _bold(font: QFont) -> QFont:
    bold = QFont(font)
    bold.setBold(True)
    return bold


class _TitleAndDescription(QStyledItemDelegate):
    def _text_width(self, option: QStyleOptionViewItem) -> int:
        view = option.widget
        width = (
            view.viewport().width() if isinstance(view, QAbstractItemView) else option.rect.width()
        )
        return max(width - 2 * PADDING, 80)

    def _heights(self, font: QFont, width: int, description: str) -> tuple[int, int]:
        title = QFontMetrics(_bold(font)).height()
        wrapped = QFontMetrics(font).boundingRect(
            QRect(0, 0, width, 10_000), Qt.TextFlag.TextWordWrap, description
        )
        return title, wrapped.height()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        width = self._text_width(option)
        title, description = self._heights(option.font, width, index.data(DESCRIPTION_ROLE) or "")
        return QSize(width + 2 * PADDING, title + GAP + description + 2 * PADDING)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title, description = opt.text, index.data(DESCRIPTION_ROLE) or ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        opt.text = ""  # the style draws the entry (background, selection, focus); we the texts
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        enabled = bool(opt.state & QStyle.StateFlag.State_Enabled)
        area = opt.rect.adjusted(PADDING, PADDING, -PADDING, -PADDING)
        title_height, _ = self._heights(opt.font, area.width(), description)
        painter.save()
        painter.setFont(_bold(opt.font))
        style.drawItemText(painter, QRect(area.left(), area.top(), area.width(), title_height),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                           opt.palette, enabled, title, role)  # fmt: skip
        painter.setFont(opt.font)
        below = area.adjusted(0, title_height + GAP, 0, 0)
        style.drawItemText(painter, below, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                           | Qt.TextFlag.TextWordWrap, opt.palette, enabled, description, role)  # fmt: skip
        painter.restore()


class ReportList(QListWidget):
    """The reports to choose from; ``add_report`` one by one, read the chosen one's key
    with ``chosen()``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportList")
        self.setItemDelegate(_TitleAndDescription(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        # Entries are measured against the list's width: measured again when it changes.
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSpacing(2)

    def add_report(self, key: str, title: str, description: str) -> QListWidgetItem:
        item = QListWidgetItem(title)
        item.setData(KEY_ROLE, key)
        item.setData(DESCRIPTION_ROLE, description)
        item.setToolTip(description)
        # Screen readers read the title as the entry's name, and this after it.
        item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, description)
        self.addItem(item)
        return item

    def chosen(self) -> str | None:
        item = self.currentItem()
        return None if item is None else item.data(KEY_ROLE)

    def choose(self, key: str) -> bool:
        for row in range(self.count()):
            if self.item(row).data(KEY_ROLE) == key:
                self.setCurrentRow(row)
                return True
        return False
