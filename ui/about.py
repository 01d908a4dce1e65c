"""The app icon and Help > About: version, database mode and location, data folder."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMessageBox, QWidget

from app.paths import ICON_SIZES, icon_png, is_frozen, program_dir
from app.version import app_version

if TYPE_CHECKING:
    from app.runtime import Database


def app_icon() -> QIcon:
    """Rollbook's icon in every size it is drawn at (rendered from the SVG, see packaging/)."""
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(icon_png(size)))
    return icon


def about_text(database: Database) -> str:
    target = database.target
    school = database.school
    build = "desktop package" if is_frozen() else "from source"
    return (
        f"<h3>Rollbook {escape(app_version())}</h3>"
        "<p>School administration that keeps working when the network is down.</p>"
        "<table cellspacing='0' cellpadding='2'>"
        f"<tr><td><b>Database</b></td><td>{escape(target.mode.value)}</td></tr>"
        f"<tr><td><b>Location</b></td><td>{escape(target.location)}</td></tr>"
        f"<tr><td><b>Data folder</b></td><td>{escape(str(database.settings.data_dir))}</td></tr>"
        f"<tr><td><b>School</b></td><td>{escape(school.name)} ({escape(school.code)})</td></tr>"
        f"<tr><td><b>Program</b></td><td>{escape(str(program_dir()))} ({build})</td></tr>"
        "</table>"
    )


def about_box(parent: QWidget, database: Database) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About Rollbook")
    box.setIconPixmap(app_icon().pixmap(64, 64))
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text(database))
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    return box


def show_about(parent: QWidget, database: Database) -> None:
    about_box(parent, database).exec()
