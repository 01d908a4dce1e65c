"""What every list page shares: a filter bar over a lazily paged table, a row count,
and loading the first page only when the page is first shown."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.domain.text_limits import SEARCH_TEXT_LIMIT
from ui.models.paged import PagedTableModel
from ui.widgets.data_table import DataTableView

SEARCH_DEBOUNCE_MS = 250
# The rows on screen stay until a new filter's rows arrive; when that takes longer
# than this, the row count line says they are coming.
LOADING_NOTICE_MS = 150


class ListPage(QWidget):
    status_message = Signal(str)
    title = ""
    # The title in the View menu, with the Alt letter that opens the page from it.
    menu_text = ""
    noun = ("row", "rows")

    def __init__(self, model: PagedTableModel, settings_key: str, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.table = DataTableView(model, settings_key, self)
        self.table.status_message.connect(self.status_message)
        self.filter_bar = QHBoxLayout()
        self.filter_bar.setContentsMargins(0, 0, 0, 0)
        self.count_label = QLabel("")
        self.count_label.setObjectName("rowCount")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Room for the longest count it will show, fixed: a label that may change size
        # makes the whole page lay itself out again each time its text changes, and it
        # changes with every search.
        widest = f"8,888,888+ {self.noun[1]}"
        self.count_label.setFixedSize(
            self.count_label.fontMetrics().horizontalAdvance(widest) + 8,
            self.count_label.sizeHint().height(),
        )
        model.row_count_changed.connect(self._show_count)
        self._loading_notice = QTimer(self, singleShot=True, interval=LOADING_NOTICE_MS)
        self._loading_notice.timeout.connect(self._show_loading)
        model.query_started.connect(self._loading_notice.start)
        model.query_failed.connect(lambda: self.count_label.setText("Not loaded"))
        self._loaded = False
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.apply_filters)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        heading = QLabel(f"<h2 style='margin:0'>{self.title}</h2>")
        # The heading row: the title, then the count and anything a page adds beside it.
        self.heading_row = QHBoxLayout()
        self.heading_row.addWidget(heading)
        self.heading_row.addStretch(1)
        self.heading_row.addWidget(self.count_label)
        layout.addLayout(self.heading_row)
        layout.addLayout(self.filter_bar)
        self.body = QVBoxLayout()
        self.body.addWidget(self.table)
        layout.addLayout(self.body, 1)
        # F5 is the window's View > Refresh, which refreshes the page shown: a second F5
        # here would make the key ambiguous, and Qt then runs neither.

    # ------------------------------------------------------------ filters
    def add_search(self, placeholder: str) -> QLineEdit:
        search = QLineEdit(self)
        search.setPlaceholderText(placeholder)
        search.setClearButtonEnabled(True)
        search.setMaxLength(SEARCH_TEXT_LIMIT)  # a pasted page is cut, as the service cuts it
        search.setMinimumWidth(320)
        search.textChanged.connect(lambda _text: self._search_timer.start())
        search.returnPressed.connect(self.apply_filters)
        find = QAction("Find", self, shortcut=QKeySequence.StandardKey.Find)
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(lambda: (search.setFocus(), search.selectAll()))
        self.addAction(find)
        self.filter_bar.addWidget(search)
        return search

    def add_choice(self, label: str, everything: str, items: list[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox(self)
        combo.setAccessibleName(label)
        combo.setToolTip(label)
        combo.addItem(everything, None)
        for text, value in items:
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.filter_bar.addWidget(combo)
        return combo

    def set_choices(self, combo: QComboBox, items: list[tuple[str, Any]]) -> None:
        current = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for text, value in items:
            combo.addItem(text, value)
        # By equality, not findData: Qt cannot compare the Python values (course ids)
        # it holds, and the choice would fall back to "All …" while the list still
        # showed the one chosen.
        position = next((i for i in range(1, combo.count()) if combo.itemData(i) == current), 0)
        combo.setCurrentIndex(position if current is not None else 0)
        combo.blockSignals(False)

    def set_text_choices(self, combo: QComboBox, texts: list[str]) -> None:
        """Choices that are their own value (class names), set in one call after the
        first "All …" entry: a big school has thousands of classes, and adding them one
        by one held up the window for a tenth of a second. Read with ``chosen_text``."""
        everything, current = combo.itemText(0), self.chosen_text(combo)
        combo.blockSignals(True)
        model = QStringListModel([everything, *texts], combo)
        combo.setModel(model)
        # One row height for all: the popup need not measure thousands of entries.
        combo.view().setUniformItemSizes(True)
        position = combo.findText(current, Qt.MatchFlag.MatchExactly) if current else 0
        combo.setCurrentIndex(max(position, 0))
        combo.blockSignals(False)

    @staticmethod
    def chosen_text(combo: QComboBox) -> str | None:
        """The chosen entry of a combo filled by ``set_text_choices``; None for "All …"."""
        return combo.currentText() if combo.currentIndex() > 0 else None

    def query_from_filters(self, query: Any) -> Any:
        """Subclasses: the model's query with the filter widgets applied."""
        return query

    def apply_filters(self) -> None:
        self._search_timer.stop()
        query = self.query_from_filters(self.model.query)
        if query != self.model.query or not self._loaded:
            self._loaded = True
            self.model.set_query(replace(query))

    # ------------------------------------------------------------ life cycle
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._loaded:
            self.apply_filters()
            self.load_choices()

    def load_choices(self) -> None:
        """Subclasses: fill filter combos from the database (via ops)."""

    def _show_loading(self) -> None:
        if not self.model.shows_latest_query:
            self.count_label.setText("Loading…")

    def _show_count(self, count: int, final: bool) -> None:
        singular, plural = self.noun
        noun = singular if count == 1 else plural
        self.count_label.setText(f"{count:,} {noun}" if final else f"{count:,}+ {noun}")
