"""The main window: pages, navigation, status bar, and a PNG of every page."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_loaded
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from ui.main_window import MainWindow
from ui.pages.reports import ReportsPage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_every_page_renders_with_demo_data(qtbot, ops_hub, database, demo_school):
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.resize(1400, 820)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Rollbook — Test School"
    mode = window.statusBar().findChild(QLabel, "databaseMode")
    assert mode is not None and "Server database: test server" in mode.text()
    ARTIFACTS.mkdir(exist_ok=True)
    for number, page in enumerate(window.pages):
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + number), Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentWidget() is page
        png = ARTIFACTS / f"page_{number + 1}_{page.title.split()[-1].lower()}.png"
        if isinstance(page, ReportsPage):  # no list: the chosen report's first rows
            qtbot.waitUntil(lambda p=page: p.table.rowCount() > 0 and not p.preview_pending(),
                            timeout=20_000)  # fmt: skip
            assert window.grab().save(str(png))
            continue
        wait_loaded(qtbot, page.model)
        qtbot.waitUntil(lambda p=page: "…" not in str(p.model.data(p.model.index(0, 0))))
        assert page.model.rowCount() > 0
        assert page.count_label.text().split()[0].replace(",", "").isdigit()
        if number == 0:
            page.table.selectRow(0)
            name = page.model.row_at(0).full_name
            qtbot.waitUntil(lambda p=page, n=name: n in p.detail.heading.text(), timeout=10_000)
        qtbot.wait(50)
        assert window.grab().save(str(png))


def test_window_geometry_and_page_are_remembered(qtbot, ops_hub, database):
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.resize(1111, 666)
    window.show()
    window.show_page(2)
    window.close()
    again = MainWindow(database)
    qtbot.addWidget(again)
    # The offscreen screen is 800 px wide, so Qt narrows a restored window to fit;
    # the height (default 760) shows the saved geometry was used.
    assert again.size().height() == 666
    assert again.stack.currentIndex() == 2


def test_f5_refreshes_the_page_shown_wherever_the_focus_is_on_it(qtbot, ops_hub, database):
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.show_page(2)
    page = window.current_page
    wait_loaded(qtbot, page.model)
    refreshed = []
    page.model.refresh = lambda: refreshed.append(page)
    page.table.setFocus()
    qtbot.waitUntil(page.table.hasFocus, timeout=5000)
    qtbot.keyClick(page.table, Qt.Key.Key_F5)
    assert refreshed == [page]  # once: one F5, never two actions fighting over it
