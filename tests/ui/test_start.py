"""Starting the app: the main window is on screen before the database layer is even
loaded, says what it is doing, and builds its pages once the database is open."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
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


def test_the_window_is_up_before_the_database_layer_loads():
    """What ui.app.run does before the window is on screen loads none of it either (the
    garbage collector's hook once imported ui.ops there: start-up took 0.5 s longer)."""
    check = (
        "import sys, ui.app, ui.main_window; from PySide6.QtWidgets import QApplication; "
        "a = QApplication(['rollbook', '-platform', 'offscreen']); "
        "ui.app._quit_on_termination(a); ui.app._collect_garbage_on_this_thread(a); "
        "w = ui.main_window.MainWindow(); w.show_opening('Starting…'); w.show(); a.processEvents(); "
        "heavy = sorted(m for m in ('sqlalchemy', 'psycopg', 'alembic', 'pandas', 'argon2') "
        "if m in sys.modules); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout  # fmt: skip
    assert out.strip().splitlines()[-1] == "[]"


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


def test_start_logs_the_window_then_the_list_and_ends_on_sigterm(db, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ROLLBOOK_DATABASE_URL": db.url,
           "ROLLBOOK_SCHOOL": "TEST", "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "ui.launch", "--log-level", "info"],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stderr is not None
    timer = threading.Timer(120, process.kill)  # a start that never gets there fails, not hangs
    timer.start()
    milestones = []
    try:
        for line in process.stderr:
            if "INFO ui.app: " in line:
                milestones.append(line.split("INFO ui.app: ", 1)[1])
            if "first list ready" in line:
                process.send_signal(signal.SIGTERM)
                break
        out, err = process.communicate(timeout=60)
    finally:
        timer.cancel()
    assert process.returncode == 0, err
    assert [m.split(" (")[0] for m in milestones] == ["main window shown", "first list ready"]
    assert all(re.search(r"\(\d+\.\d\d s after start, \d+\.\d\d s CPU\)", m)
               for m in milestones)  # fmt: skip
    assert out == ""  # the log goes to stderr, nothing to stdout


def test_a_log_level_that_does_not_exist_is_refused(tmp_path):
    env = {**os.environ, "ROLLBOOK_LOG_LEVEL": "loud", "ROLLBOOK_DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "app.cli", "db", "current"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "'loud' is not a log level" in result.stderr and "ROLLBOOK_LOG_LEVEL" in result.stderr


def test_unreachable_server_says_so_and_exits_2(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ROLLBOOK_LOG_LEVEL": "info",
           "ROLLBOOK_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
           "XDG_CONFIG_HOME": str(tmp_path)}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "ui.launch"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120)  # fmt: skip
    assert result.returncode == 2
    assert "main window shown" in result.stderr  # the window was up before it closed
    assert "rollbook:" in result.stderr and "Traceback" not in result.stderr


def test_termination_closes_the_app_normally(db):
    """Logging out sends SIGTERM: the app closes as if the window were closed."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ROLLBOOK_DATABASE_URL": db.url,
           "ROLLBOOK_SCHOOL": "TEST"}  # fmt: skip
    env.pop("ROLLBOOK_LOG_LEVEL", None)
    process = subprocess.Popen([sys.executable, "-m", "ui.launch"], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(3)  # on screen, with its first list loaded
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out == "" and "main window shown" not in err  # no log unless asked for
