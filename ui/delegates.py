"""Inline editors chosen by each column's Editor kind: combo boxes for fixed values,
date edits for dates; text and check boxes use Qt's own."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QDateEdit, QSpinBox, QStyledItemDelegate, QWidget

from ui.models.paged import Editor, PagedTableModel


class ColumnEditorDelegate(QStyledItemDelegate):
    def _column(self, index: QModelIndex):
        model = index.model()
        assert isinstance(model, PagedTableModel)
        return model.columns[index.column()]

    def createEditor(self, parent: QWidget, option, index: QModelIndex) -> QWidget:  # noqa: N802
        column = self._column(index)
        if column.editor is Editor.CHOICE:
            combo = QComboBox(parent)
            combo.addItems(list(column.choices))
            combo.setFrame(False)
            return combo
        if column.editor is Editor.DATE:
            edit = QDateEdit(parent)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setFrame(False)
            return edit
        if column.editor is Editor.INTEGER:
            spin = QSpinBox(parent)
            spin.setRange(-1, 10_000)
            spin.setFrame(False)
            return spin
        return super().createEditor(parent, option, index)

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:  # noqa: N802
        value = index.data(Qt.ItemDataRole.EditRole)
        if isinstance(editor, QComboBox):
            position = editor.findText(str(value or ""))
            editor.setCurrentIndex(max(0, position))
        elif isinstance(editor, QDateEdit):
            editor.setDate(QDate(value) if isinstance(value, date) else QDate.currentDate())
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value or 0))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model, index: QModelIndex) -> None:  # noqa: N802
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)
        elif isinstance(editor, QDateEdit):
            model.setData(index, editor.date().toPython(), Qt.ItemDataRole.EditRole)
        elif isinstance(editor, QSpinBox):
            model.setData(index, editor.value(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)
