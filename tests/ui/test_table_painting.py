"""The tables paint through Qt's item delegate, so what the desktop asks for reaches the
cells: a style sheet's colours and a right-to-left layout."""

from __future__ import annotations

from collections import Counter

from conftest import open_students_page, wait_loaded
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QImage

from app.services.students import StudentInput, create_student
from ui.pages.students import StudentsPage

ITEM_STYLE = """
QTableView::item { color: rgb(200, 0, 0); }
QTableView::item:selected { background-color: rgb(0, 160, 0); color: rgb(255, 255, 255); }
"""


def _share(image: QImage, rect: QRect, wanted) -> float:
    """The share of the pixels in ``rect`` for which ``wanted(color)`` holds."""
    hits = total = 0
    for y in range(rect.top(), rect.bottom() + 1):
        for x in range(rect.left(), rect.right() + 1):
            total += 1
            hits += bool(wanted(image.pixelColor(x, y)))
    return hits / total


def _red_text(color) -> bool:
    return color.red() > 120 and color.green() < 90 and color.blue() < 90


def _green_selection(color) -> bool:
    return color.red() < 40 and 130 < color.green() < 190 and color.blue() < 40


def _row_rect(table, row: int) -> QRect:
    model = table.model()
    first = table.visualRect(model.index(row, 0))
    last = table.visualRect(model.index(row, model.columnCount() - 1))
    return first.united(last).adjusted(1, 1, -2, -2)


def test_a_style_sheet_colours_the_cells_and_the_selection(qtbot, ops_hub, demo_school):
    page = open_students_page(qtbot, height=600)
    table = page.table
    table.setStyleSheet(ITEM_STYLE)
    table.selectRow(2)
    table.clearFocus()
    image = table.viewport().grab().toImage()

    plain, selected = _row_rect(table, 0), _row_rect(table, 2)
    assert _share(image, plain, _red_text) > 0.01  # the row's text, in the sheet's colour
    assert _share(image, plain, _green_selection) == 0
    assert _share(image, selected, _green_selection) > 0.6  # the sheet's selection colour
    assert _share(image, selected, _red_text) == 0

    # The same view with nothing to show has none of it: the colours above are the
    # rows' own painting, not the frame's.
    page.search.setText("zz-nobody-zz")
    page.apply_filters()
    wait_loaded(qtbot, page.model)
    assert page.model.rowCount() == 0
    empty = table.viewport().grab().toImage()
    assert _share(empty, plain, _red_text) == 0
    assert _share(empty, selected, _green_selection) == 0


def _ink_columns(image: QImage, rect: QRect) -> list[int]:
    """The x positions in ``rect`` where some pixel is dark: where the text is."""
    return [
        x
        for x in range(rect.left(), rect.right() + 1)
        if any(
            image.pixelColor(x, y).lightness() < 110 for y in range(rect.top(), rect.bottom() + 1)
        )
    ]


def test_in_a_right_to_left_layout_names_start_at_the_right(qtbot, ops_hub, db, ctx):
    # A school whose desktop runs in Hebrew: the columns run from right to left, and a
    # name sits at the right edge of its cell, where the reader starts.
    with db.sessions.begin() as session:
        create_student(session, ctx, StudentInput("S-0001", "דוד", "כהן"))
        create_student(session, ctx, StudentInput("S-0002", "Anna", "Kowalska"))
    page = StudentsPage()
    page.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
    qtbot.addWidget(page)
    page.resize(1300, 600)
    page.show()
    qtbot.waitExposed(page)
    wait_loaded(qtbot, page.model)
    table = page.table
    table.clearFocus()
    names = [page.model.data(page.model.index(row, 1)) for row in range(page.model.rowCount())]
    assert "דוד כהן" in names
    image = table.viewport().grab().toImage()

    number_cell = table.visualRect(page.model.index(0, 0))
    name_cell = table.visualRect(page.model.index(names.index("דוד כהן"), 1))
    assert name_cell.right() < number_cell.left()  # the first column is the rightmost
    inside = name_cell.adjusted(1, 1, -2, -2)
    ink = _ink_columns(image, inside)
    assert ink, "the name is not painted"
    gap_right, gap_left = inside.right() - max(ink), min(ink) - inside.left()
    assert gap_right < 10 < gap_left


def test_a_search_paints_its_rows_once(qtbot, ops_hub, demo_school):
    # Painting every visible cell costs more than the rest of showing a search; a
    # second full paint of the same rows (the scroll bar's range settling after the
    # first) would double it.
    page = open_students_page(qtbot, height=600)
    page.resize(1300, 300)  # a few rows on screen, fewer than the search finds
    loaded = [page.model.row_at(row) for row in range(200)]
    # A surname prefix many share: more rows than the screen shows (the scroll bar
    # stays), fewer than a page (no row count to wait for).
    prefix = Counter(row.last_name[:2] for row in loaded).most_common(1)[0][0]
    qtbot.wait(100)
    paints = []
    watch = _PaintCounter(paints)
    page.table.viewport().installEventFilter(watch)
    page.search.setText(prefix)
    page.apply_filters()
    wait_loaded(qtbot, page.model)
    qtbot.wait(300)  # time for any late repaint
    rows_on_screen = page.table.viewport().height() // page.table.rowHeight(0)
    assert rows_on_screen < page.model.rowCount() < 200
    assert len(paints) == 1


class _PaintCounter(QObject):
    def __init__(self, paints: list) -> None:
        super().__init__()
        self.paints = paints

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint:
            self.paints.append(event.rect())
        return False
