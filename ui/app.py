"""Desktop entry point: ``rollbook`` with no sub-command lands here."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from app.config import Settings
from app.domain.errors import RollbookError
from app.runtime import open_database


def run(settings: Settings) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName("Rollbook")
    app.setApplicationName("Rollbook")
    try:
        database = open_database(settings)
    except RollbookError as exc:
        QMessageBox.critical(None, "Rollbook cannot start", str(exc))
        print(f"rollbook: {exc}", file=sys.stderr)
        return 2
    from ui.main_window import MainWindow
    from ui.ops import install_hub

    hub = install_hub(database, app)
    window = MainWindow(database)
    window.show()
    try:
        return app.exec()
    finally:
        hub.shutdown()
        database.close()
