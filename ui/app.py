"""Desktop entry point: ``rollbook`` with no sub-command lands here.

The main window is put on screen first, saying what is happening, and the database is
opened (and its layer imported) on a background thread meanwhile; the window builds
its pages when the database is ready. On a computer with no database yet, the
first-start window creates it instead.

With logging at info (``--log-level info``) it logs how long the start took: when the
main window is on screen and when its first list shows rows.
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.config import Settings, needs_first_run

log = logging.getLogger(__name__)

EXIT_CANNOT_START = 2
MILESTONE_SHOWN = "main window shown"
MILESTONE_LISTED = "first list ready"


def _collect_garbage_on_this_thread(app: QApplication) -> None:
    from ui.gc_collector import GuiThreadCollector

    def busy() -> bool:
        # Imported when first asked (a second after the start), not before the window is
        # up: ui.ops brings the database layer, which loads on a background thread.
        from ui.ops import installed_hub

        hub = installed_hub()
        return hub is not None and hub.busy

    # Kept on the application: it must live as long as the event loop does.
    app.rollbook_collector = GuiThreadCollector(app, busy=busy)  # type: ignore[attr-defined]


def run(settings: Settings) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName("Rollbook")
    app.setApplicationName("Rollbook")
    app.setDesktopFileName("rollbook")  # Wayland matches the window to rollbook.desktop
    from ui.about import app_icon
    from ui.main_window import MainWindow

    app.setWindowIcon(app_icon())
    _quit_on_termination(app)
    _collect_garbage_on_this_thread(app)
    if needs_first_run(settings):
        return _first_start(app, settings)

    from ui.opening import DatabaseOpener

    window = MainWindow()
    window.show_opening(_starting(settings))
    window.show()
    _log_start_milestones(window)
    opened: list = []  # the Database, once open
    failure: list[str] = []
    opener = DatabaseOpener(settings)

    def attach(database) -> None:
        from ui.ops import install_hub

        opened.append(database)
        if not window.isVisible():
            return  # closed while the database was opening
        from app.config import os_login
        from ui.sign_in import sign_in_at_start

        install_hub(database, app)
        # The school's accounts decide who acts: signed in, the only account linked to
        # this login, or (no accounts yet) whoever opened the data.
        window.show_opening("Signing in…")
        sign_in_at_start(window, os_login(), then=lambda _start: window.attach(database),
                         cancelled=window.close)  # fmt: skip

    def fail(message: str) -> None:
        failure.append(message)
        print(f"rollbook: {message}", file=sys.stderr)
        window.show_failure(message)
        if QApplication.platformName() != "offscreen":  # nobody could read or close it
            QMessageBox.critical(window, "Rollbook cannot start", message)
        window.close()

    opener.progress.connect(lambda text, _done, _total: window.show_opening(text))
    opener.opened.connect(attach)
    opener.failed.connect(fail)
    opener.start()
    try:
        code = app.exec()
    finally:
        opener.wait()
        _close(opened)
    return EXIT_CANNOT_START if failure else code


def _first_start(app: QApplication, settings: Settings) -> int:
    from ui.first_run import run_first_run
    from ui.main_window import MainWindow

    database, hub, failed = run_first_run(settings)
    if database is None or hub is None:
        return EXIT_CANNOT_START if failed else 0
    window = MainWindow(database)
    window.show()
    _log_start_milestones(window)
    try:
        return app.exec()
    finally:
        _close([database])


def _quit_on_termination(app: QApplication) -> None:
    """Logging out (SIGTERM) or Ctrl+C in a terminal closes Rollbook the normal way, so
    the embedded database is stopped with it instead of being left running."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: app.closeAllWindows())
    # Python handles a signal only when it next runs some Python code; Qt's event loop
    # alone would hold it back until the next click.
    ticker = QTimer(app, interval=250)
    ticker.timeout.connect(lambda: None)
    ticker.start()


def _starting(settings: Settings) -> str:
    from app.config import starting_text

    return starting_text(settings)


def _close(opened: list) -> None:
    from ui.ops import installed_hub

    hub = installed_hub()
    if hub is not None:
        hub.shutdown()
    for database in opened:
        database.close()


def _log_start_milestones(window) -> None:
    """Log (at info) when the window is on screen and when its first list shows rows,
    in seconds since Rollbook started: what a slow start is looked into with, and what
    tests/benchmarks/bench_startup.py measures."""
    if not log.isEnabledFor(logging.INFO):
        return
    # After the event loop has run once: the window is then painted, not just asked to be.
    QTimer.singleShot(0, lambda: _milestone(MILESTONE_SHOWN))
    if window.pages:  # built at once (after the first-start window)
        QTimer.singleShot(0, lambda: _log_when_listed(window))
    else:
        window.ready.connect(lambda: _log_when_listed(window))


def _milestone(what: str) -> None:
    from app.cli import STARTED

    log.info("%s (%.2f s after start, %.2f s CPU)",
             what, time.monotonic() - STARTED, time.process_time())  # fmt: skip


def _log_when_listed(window) -> None:
    page = window.pages[0] if window.pages else None
    if page is None:
        return
    logged: list[bool] = []

    def listed() -> None:
        if not logged:
            logged.append(True)
            _milestone(MILESTONE_LISTED)

    if page.model.rowCount() and not page.model.is_loading:
        listed()
    else:
        page.model.page_loaded.connect(lambda _page: listed())
