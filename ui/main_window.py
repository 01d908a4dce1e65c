"""The main window. Thin: pages, wizards and actions live in their own modules."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

from app.runtime import Database


class MainWindow(QMainWindow):
    def __init__(self, database: Database) -> None:
        super().__init__()
        self.database = database
        self.setWindowTitle(f"Rollbook — {database.school.name}")
        self.setMinimumSize(800, 500)
        placeholder = QLabel("Rollbook is ready. Use the command line (rollbook --help) for now.")
        placeholder.setMargin(24)
        self.setCentralWidget(placeholder)
        self._build_menus()
        mode = database.target.mode.value
        self.statusBar().addPermanentWidget(QLabel(f"{mode} database: {database.target.location}"))
        self._restore_geometry()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About Rollbook", self)
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def _show_about(self) -> None:
        from app.cli import app_version

        QMessageBox.about(
            self,
            "About Rollbook",
            f"Rollbook {app_version()}\n\nDatabase: {self.database.target.mode.value}, "
            f"{self.database.target.location}\nData folder: {self.database.settings.data_dir}",
        )

    def _restore_geometry(self) -> None:
        geometry = QSettings().value("main_window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 700)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        QSettings().setValue("main_window/geometry", self.saveGeometry())
        super().closeEvent(event)
