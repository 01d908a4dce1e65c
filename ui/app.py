"""Desktop entry point: ``rollbook`` with no sub-command lands here."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.config import Settings
from app.domain.errors import RollbookError
from app.runtime import needs_first_run, open_database

# Benchmarks (tests/benchmarks/bench_startup.py) set this: print one line once the
# main window is on screen, then quit as if the person closed it.
ENV_STARTUP_PROBE = "ROLLBOOK_STARTUP_PROBE"


def run(settings: Settings) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName("Rollbook")
    app.setApplicationName("Rollbook")
    app.setDesktopFileName("rollbook")  # Wayland matches the window to rollbook.desktop
    from ui.about import app_icon

    app.setWindowIcon(app_icon())
    from ui.ops import install_hub

    if needs_first_run(settings):
        from ui.first_run import run_first_run

        database, hub, failed = run_first_run(settings)
        if database is None or hub is None:
            return 2 if failed else 0
    else:
        # The server starts (mostly waiting on PostgreSQL) while the window's modules load.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rollbook-start") as pool:
            opening = pool.submit(open_database, settings)
            import ui.main_window  # noqa: F401

            try:
                database = opening.result()
            except RollbookError as exc:
                QMessageBox.critical(None, "Rollbook cannot start", str(exc))
                print(f"rollbook: {exc}", file=sys.stderr)
                return 2
        hub = install_hub(database, app)
    from ui.main_window import MainWindow

    window = MainWindow(database)
    window.show()
    if os.environ.get(ENV_STARTUP_PROBE):
        QTimer.singleShot(0, lambda: _report_shown(window))
    try:
        return app.exec()
    finally:
        hub.shutdown()
        database.close()


def _report_shown(window) -> None:
    print(f"rollbook: main window shown ({time.process_time():.2f} s CPU)", flush=True)
    window.close()
