"""Help > About and the window icon."""

from __future__ import annotations

from pathlib import Path

from app.cli import app_version
from ui.about import about_box, app_icon
from ui.main_window import MainWindow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_main_window_uses_the_app_icon(qtbot, ops_hub, database):
    window = MainWindow(database)
    qtbot.addWidget(window)
    sizes = {(s.width(), s.height()) for s in window.windowIcon().availableSizes()}
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= sizes
    assert not app_icon().pixmap(16, 16).isNull()


def test_about_box_names_version_database_and_data_folder(qtbot, ops_hub, database):
    window = MainWindow(database)
    qtbot.addWidget(window)
    box = about_box(window, database)
    qtbot.addWidget(box)
    text = box.text()
    assert f"Rollbook {app_version()}" in text
    assert database.target.mode.value in text and database.target.location in text
    assert str(database.settings.data_dir) in text
    assert "from source" in text
    assert not box.iconPixmap().isNull() and box.iconPixmap().width() == 64
    box.show()
    qtbot.waitExposed(box)
    ARTIFACTS.mkdir(exist_ok=True)
    box.grab().save(str(ARTIFACTS / "about_box.png"))
