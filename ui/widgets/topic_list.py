"""A list of short texts edited with the keyboard: a session's planned topics and the
topics it covered.

Type a topic in the line below the list and press Enter to add it; in the list, Delete
removes the highlighted topic, Ctrl+Up and Ctrl+Down move it, F2 (or a double-click)
edits it in place. The small buttons do the same for the mouse.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

ROWS_SHOWN = 6


class _TopicView(QListWidget):
    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # A handful of topics: QListWidget's own hint (192 px) leaves half of it empty.
        rows = self.fontMetrics().lineSpacing() * ROWS_SHOWN
        return QSize(super().sizeHint().width(), rows + 2 * self.frameWidth() + 4)


class TopicList(QWidget):
    changed = Signal()

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = _TopicView()
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.DoubleClicked)  # fmt: skip
        self.list.setMinimumHeight(self.list.fontMetrics().lineSpacing() * 3)
        self.entry = QLineEdit()
        self.entry.setPlaceholderText(placeholder)
        # Enter here adds the topic: it must not also press the dialog's default button.
        self.entry.installEventFilter(self)
        self.add_button = self._tool("+", "Add the topic typed below (Enter)", self.add_typed)
        self.remove_button = self._tool("−", "Remove the highlighted topic (Delete)", self.remove)
        self.up_button = self._tool("", "Move the topic up (Ctrl+Up)", lambda: self.move(-1))
        self.up_button.setArrowType(Qt.ArrowType.UpArrow)
        self.down_button = self._tool("", "Move the topic down (Ctrl+Down)", lambda: self.move(1))
        self.down_button.setArrowType(Qt.ArrowType.DownArrow)
        for keys, slot in ((QKeySequence.StandardKey.Delete, self.remove),
                           (QKeySequence("Ctrl+Up"), lambda: self.move(-1)),
                           (QKeySequence("Ctrl+Down"), lambda: self.move(1))):  # fmt: skip
            shortcut = QShortcut(keys, self.list, slot)
            # Only while this list has the focus: the dialog has two lists, and a key
            # both took would do nothing (an ambiguous shortcut).
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)

        entry_row = QHBoxLayout()
        entry_row.setContentsMargins(0, 0, 0, 0)
        entry_row.addWidget(self.entry, 1)
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            entry_row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(entry_row)
        self.setFocusProxy(self.list)
        self.list.model().rowsInserted.connect(lambda *_: self.changed.emit())
        self.list.model().rowsRemoved.connect(lambda *_: self.changed.emit())
        self.list.model().rowsMoved.connect(lambda *_: self.changed.emit())
        self.list.itemChanged.connect(lambda _item: self.changed.emit())
        self.list.currentRowChanged.connect(lambda _row: self._update_buttons())
        self.entry.textChanged.connect(lambda _text: self._update_buttons())
        self._update_buttons()

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        # The keys above do what the buttons do; Tab need not stop at four small buttons.
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button

    # ------------------------------------------------------------ the topics
    def topics(self) -> list[str]:
        """The topics as shown, in order; blank ones (an item emptied in place) left out."""
        texts = (self.list.item(row).text().strip() for row in range(self.list.count()))
        return [text for text in texts if text]

    def set_topics(self, topics: list[str] | tuple[str, ...]) -> None:
        self.list.clear()
        for topic in topics:
            self._append(topic)
        self._update_buttons()

    def _append(self, topic: str) -> QListWidgetItem:
        item = QListWidgetItem(topic)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    def add_typed(self) -> None:
        topic = self.entry.text().strip()
        if not topic:
            return
        self.list.setCurrentItem(self._append(topic))
        self.entry.clear()

    def remove(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        self.list.takeItem(row)
        self._update_buttons()

    def move(self, step: int) -> None:
        row = self.list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)

    def _update_buttons(self) -> None:
        row = self.list.currentRow()
        self.add_button.setEnabled(bool(self.entry.text().strip()))
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < self.list.count() - 1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (watched is self.entry and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):  # fmt: skip
            self.add_typed()
            return True
        return super().eventFilter(watched, event)
