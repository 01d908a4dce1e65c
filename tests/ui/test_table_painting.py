"""The tables paint their cells themselves (ui/widgets/plain_cells.py): what a person
sees must be what Qt's own table painting would show."""

from __future__ import annotations

from conftest import wait_loaded
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractItemView, QTableView

from ui.delegates import ColumnEditorDelegate
from ui.pages.enrollments import EnrollmentsPage


def _differing_share(ours: QImage, theirs: QImage) -> float:
    width, height = min(ours.width(), theirs.width()), min(ours.height(), theirs.height())
    differing = 0
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            a, b = ours.pixelColor(x, y), theirs.pixelColor(x, y)
            if abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) > 12:
                differing += 1
    return differing / ((width // 2) * (height // 2))


def test_cells_look_as_qt_would_paint_them(qtbot, ops_hub, demo_school):
    page = EnrollmentsPage()  # text, dates, numbers aligned right and a check box column
    qtbot.addWidget(page)
    page.resize(1100, 500)
    page.show()
    qtbot.waitExposed(page)
    wait_loaded(qtbot, page.model)
    table = page.table

    reference = QTableView()
    qtbot.addWidget(reference)
    reference.setModel(page.model)
    reference.setFont(table.font())
    reference.setItemDelegate(ColumnEditorDelegate(reference))
    reference.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    reference.setAlternatingRowColors(True)
    reference.setWordWrap(False)
    reference.verticalHeader().setVisible(False)
    reference.verticalHeader().setDefaultSectionSize(table.verticalHeader().defaultSectionSize())
    for column in range(page.model.columnCount()):
        reference.setColumnWidth(column, table.columnWidth(column))
    reference.resize(table.size())
    reference.show()
    qtbot.waitExposed(reference)
    for view in (table, reference):
        view.selectRow(2)
        view.clearFocus()

    ours = table.viewport().grab().toImage()
    theirs = reference.viewport().grab().toImage()
    assert _differing_share(ours, theirs) < 0.02
    # and the comparison is not between two blank views
    blank = QImage(ours.size(), ours.format())
    blank.fill(ours.pixelColor(ours.width() - 2, ours.height() - 2))
    assert _differing_share(ours, blank) > 0.05
