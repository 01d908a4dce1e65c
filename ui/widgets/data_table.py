"""The table view every page uses: fixed row height, SQL-side sorting, inline editors,
column widths and sort order remembered per table, refused edits shown at the cell.

Cells are painted by Qt's own view painting through the item delegate, so style
sheets, right-to-left layouts, hover and selection look as the desktop's style draws
them; the model keeps that cheap (one multiData call per cell, flags worked out once
per column)."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QToolTip, QWidget

from ui.delegates import ColumnEditorDelegate
from ui.models.paged import PagedTableModel

ROW_HEIGHT = 24


class DataTableView(QTableView):
    #: a message for the status bar (refused edits, saves)
    status_message = Signal(str)

    def __init__(self, model: PagedTableModel, settings_key: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings_key = settings_key
        self.setModel(model)
        self.setItemDelegate(ColumnEditorDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        # Cells hold names, numbers and dates in Latin script, where shaping (kerning,
        # ligatures) is cosmetic; skipping it halves the cost of measuring and drawing
        # each cell's text. Scripts that need shaping still get it.
        font = self.font()
        font.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)
        self.setFont(font)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vertical = self.verticalHeader()
        # A fixed row height lets the view lay out a million rows without asking each one.
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        vertical.setVisible(False)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionsMovable(True)
        for number, column in enumerate(model.columns):
            header.resizeSection(number, column.width)
        self.setSortingEnabled(False)  # enabling it would sort at once; restore first
        self._restore_state()
        header.setSortIndicatorShown(True)
        header.sortIndicatorChanged.connect(self._sort_requested)
        # A reset resizes the stretched last section too; save once things settle,
        # not on every resize event (each save writes the settings file).
        self._save_timer = QTimer(self, singleShot=True, interval=400)
        self._save_timer.timeout.connect(self.save_state)
        header.sectionResized.connect(lambda *_: self._save_timer.start())
        # Lay out a new set of rows at once. Left to the first paint, the layout changes
        # the scroll bar's range during it, and the scroll area's queued answer to that
        # paints every cell a second time.
        model.modelReset.connect(self.executeDelayedItemsLayout)
        model.edit_failed.connect(self._show_refused_edit)
        model.edit_saved.connect(lambda _index: self.status_message.emit("Saved."))

    @property
    def paged_model(self) -> PagedTableModel:
        model = self.model()
        assert isinstance(model, PagedTableModel)
        return model

    def _sort_requested(self, section: int, order: Qt.SortOrder) -> None:
        if self.paged_model.columns[section].sort_key is None:
            self.status_message.emit(
                f"The list cannot be sorted by {self.paged_model.columns[section].title}."
            )
            return
        self.paged_model.sort(section, order)
        self.save_state()

    def _show_refused_edit(self, index: QModelIndex, message: str) -> None:
        rect = self.visualRect(index)
        QToolTip.showText(self.viewport().mapToGlobal(rect.bottomLeft()), message, self)
        self.status_message.emit(message)

    def selected_rows(self) -> list:
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        loaded = (self.paged_model.row_at(row) for row in rows)
        return [row for row in loaded if row is not None]

    # ------------------------------------------------------------ persistence
    def save_state(self) -> None:
        settings = QSettings()
        settings.setValue(f"tables/{self.settings_key}/header", self.horizontalHeader().saveState())

    def _restore_state(self) -> None:
        state = QSettings().value(f"tables/{self.settings_key}/header")
        header = self.horizontalHeader()
        if state is not None and header.restoreState(state):
            section, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
            model = self.paged_model
            if 0 <= section < len(model.columns) and model.columns[section].sort_key:
                # Only set the query; the page loads it when it first shows.
                model.preset_query(
                    replace(  # type: ignore[type-var]
                        model.query,
                        sort=model.columns[section].sort_key,
                        descending=order == Qt.SortOrder.DescendingOrder,
                    )
                )
        else:
            key = getattr(self.paged_model.query, "sort", None)
            section = self.paged_model.sort_column_for(key) if key else -1
            header.setSortIndicator(section, Qt.SortOrder.AscendingOrder)
