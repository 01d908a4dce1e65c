"""Starting the app: the main window is on screen before the database layer is even
loaded, says what it is doing, and builds its pages once the database is open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QProgressBar

from ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def test_the_window_needs_nothing_of_the_database_layer():
    check = (
        "import sys, app.cli, ui.launch, ui.app, ui.main_window, ui.opening; app.cli.build_parser(); "
        "heavy = sorted(m for m in ('sqlalchemy', 'psycopg', 'alembic', 'pandas') "
        "if m in sys.modules); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_window_first_then_pages(qtbot, ops_hub, database):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show_opening("Starting the database…")
    window.show()
    qtbot.waitExposed(window)
    assert window.pages == [] and window.findChild(QProgressBar) is not None
    ARTIFACTS.mkdir(exist_ok=True)
    window.grab().save(str(ARTIFACTS / "start_1_opening.png"))
    with qtbot.waitSignal(window.ready, timeout=10_000):
        window.attach(database)
    assert [p.title for p in window.pages][0] == "Students"
    assert window.windowTitle() == f"Rollbook — {database.school.name}"
    window.show_page(1)  # the pages work as when built at once
    assert window.current_page is window.pages[1]


def test_start_from_source_shows_the_window_then_the_list(db):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ROLLBOOK_STARTUP_PROBE": "1",
           "ROLLBOOK_DATABASE_URL": db.url, "ROLLBOOK_SCHOOL": "TEST"}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "ui.launch"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120)  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.startswith("rollbook:")]
    assert result.returncode == 0, result.stderr
    assert [line.split(" (")[0] for line in lines] == [
        "rollbook: main window shown",
        "rollbook: main window ready",
    ]


def test_unreachable_server_says_so_and_exits_2(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ROLLBOOK_STARTUP_PROBE": "1",
           "ROLLBOOK_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
           "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "ui.launch"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert "main window shown" in result.stdout  # the window said so before it closed
    assert "rollbook:" in result.stderr and "Traceback" not in result.stderr


def test_termination_closes_the_app_normally(db):
    """Logging out sends SIGTERM: the app closes as if the window were closed."""
    import signal
    import time

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ROLLBOOK_DATABASE_URL": db.url,
           "ROLLBOOK_SCHOOL": "TEST"}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "ui.launch"], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(3)  # on screen, with its first list loaded
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
