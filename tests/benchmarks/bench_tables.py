"""The Students page at 1,000 and at 1,000,000 students.

Measures, on the offscreen Qt platform, in one process per school size (each "painted"
is the end of the first paint of the table's viewport that showed the rows):
- first paint: from creating and showing the Students page to the first page of real
  rows painted;
- search: from the (debounced) search being applied to its rows painted, against the
  SQL execution time of the same query run directly on the connection (the baseline):
  the medians over five rounds of eight searches, each search's baseline run right
  after it;
- scroll to end: from jumping to the last row to the last rows painted, while a 5 ms
  timer records the longest gap in the GUI event loop (a stall);
- peak RSS of the GUI process at 1M students (data is created by a separate
  ``rollbook demo-data`` process, so it does not count).

Prints one JSON line:
    {"first_paint_ms_1k", "first_paint_ms_1m", "first_paint_ratio", "search_repaint_ms",
     "search_sql_ms", "search_ratio", "max_gui_stall_ms", "peak_rss_mb_1m", ...}

    uv run python tests/benchmarks/bench_tables.py [--data-dir-1m DIR] [--students N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from scratch import scratch_folder

ROOT = Path(__file__).resolve().parents[2]
SEARCHES = ["jos", "mül", "anna kow", "s00012", "zoe", "dvo", "chlo mar", "lee"]
MEASURED_ROUNDS = 5


def ensure_school(data_dir: Path, students: int) -> None:
    marker = data_dir / f".demo-{students}"
    if marker.exists():
        return
    subprocess.run(
        [sys.executable, "-m", "app.cli", "--data-dir", str(data_dir), "demo-data",
         "--students", str(students), "--json"],
        check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    marker.touch()


def measure(data_dir: Path) -> dict:
    """Runs in a child process: one Qt application against one school."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import (
        QCoreApplication,
        QElapsedTimer,
        QEvent,
        QEventLoop,
        QObject,
        QSettings,
        QTimer,
    )  # fmt: skip
    from PySide6.QtWidgets import QApplication
    from sqlalchemy import event

    from app.config import load_settings
    from app.runtime import open_database
    from ui.ops import hub, install_hub
    from ui.pages.students import StudentsPage

    app = QApplication([])
    QCoreApplication.setOrganizationName("RollbookBenchmark")
    QSettings().clear()
    db = open_database(load_settings(data_dir=data_dir))
    install_hub(db, app)

    def wait(predicate, timeout_s=120.0):
        # Wait in a Qt event loop, as the application does: the GUI thread sleeps
        # (releasing the GIL for the database worker) until something happens.
        deadline = time.perf_counter() + timeout_s
        loop = QEventLoop()
        # Coarse on purpose: each check takes the GIL from the database worker. The
        # timings come from the paint watch, not from when a check notices.
        poll = QTimer(interval=10)
        poll.timeout.connect(
            lambda: (predicate() or time.perf_counter() > deadline) and loop.quit()
        )
        poll.start()
        while not predicate():
            if time.perf_counter() > deadline:
                raise TimeoutError
            loop.exec()
        poll.stop()

    def settle(ms: int = 100) -> None:
        """Let the window finish what the last answer started (the repaint after the
        row count arrived): a person's next keystroke comes a debounce later, not at
        once, and timing it from a busy window would count the last search's work."""
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def painted(page, row: int) -> bool:
        if not page.model.shows_latest_query:
            return False  # the previous search's rows, kept until the new ones arrive
        value = page.model.data(page.model.index(row, 0))
        return value not in (None, "…")

    class PaintWatch(QObject):
        """When the table's viewport finished the first paint that had ``ready()`` rows:
        the moment a person sees them. (Waiting for the rows and then forcing a repaint
        would count a second paint whenever Qt had already painted them.)"""

        def __init__(self, viewport) -> None:
            super().__init__()
            self.ready = None
            self.seen_at: float | None = None
            viewport.installEventFilter(self)

        def arm(self, ready) -> None:
            self.ready, self.seen_at = ready, None

        def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint and self.ready and self.ready():
                self.ready = None
                # Runs once the paint this event starts has finished.
                QTimer.singleShot(0, lambda: setattr(self, "seen_at", time.perf_counter()))
            return False

    # -- warm-up: first connection, catalogue caches (not what a person waits for)
    warm = StudentsPage()
    warm.resize(1200, 800)
    warm.show()
    wait(lambda: painted(warm, 0))
    wait(lambda: not hub().busy)  # its filter choices too: the next page starts idle
    warm.close()

    # -- first paint
    started = time.perf_counter()
    page = StudentsPage()
    page.resize(1200, 800)
    watch = PaintWatch(page.table.viewport())
    watch.arm(lambda: painted(page, 0))
    page.show()
    wait(lambda: watch.seen_at is not None)
    first_paint_ms = (watch.seen_at - started) * 1000
    wait(lambda: page.model.row_count_is_final)
    total_rows = page.model.rowCount()

    # -- search: applied -> rows repainted, against the SQL alone. The baseline runs
    # exactly the statements the page's first-page fetch sent (captured as they went
    # out), straight on a connection: what is left over is Rollbook's own overhead.
    search_ms: list[float] = []
    sql_ms: list[float] = []
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    def answered(page) -> bool:
        """The latest search's first rows are there, or it is known that none match
        (then the emptied table is the answer, with the "0 students" line)."""
        model = page.model
        return painted(page, 0) or (
            model.shows_latest_query and model.row_count_is_final and model.rowCount() == 0
        )

    # The first round brings each search's rows into the cache, as a person's earlier
    # keystrokes would; the next ones are measured, for the page and the baseline.
    # Several measured rounds, because a single paint or statement on a busy machine
    # can be a few milliseconds off either way.
    for round_no, text in [(r, t) for r in range(1 + MEASURED_ROUNDS) for t in SEARCHES]:
        settle()
        page.search.setText(text)  # starts the debounce timer
        sent.clear()
        event.listen(db.engine, "before_cursor_execute", capture)
        watch.arm(lambda: answered(page))
        started = time.perf_counter()
        page.apply_filters()  # what the timer does when it fires

        wait(lambda: watch.seen_at is not None)
        elapsed = (watch.seen_at - started) * 1000
        event.remove(db.engine, "before_cursor_execute", capture)
        if round_no == 0:
            wait(lambda: page.model.row_count_is_final)
            continue
        search_ms.append(elapsed)
        page_statements = [
            (sql, params) for sql, params in sent if not sql.lstrip().startswith("SELECT count(")
        ]  # the total for the status line is fetched after the page, and not waited for
        wait(lambda: page.model.row_count_is_final)
        with db.engine.connect() as conn:
            started = time.perf_counter()
            for sql, params in page_statements:
                conn.exec_driver_sql(sql, params).fetchall()
            sql_ms.append((time.perf_counter() - started) * 1000)
    page.search.setText("")
    page.apply_filters()
    wait(lambda: painted(page, 0) and page.model.row_count_is_final)

    # -- scroll to the end, watching the event loop for stalls
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last_tick = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        gaps.append((now - last_tick[0]) / 1e6)
        last_tick[0] = now

    ticker = QTimer()
    ticker.setInterval(5)
    ticker.timeout.connect(tick)
    ticker.start()
    last = page.model.rowCount() - 1
    watch.arm(lambda: painted(page, last))
    started = time.perf_counter()
    page.table.scrollToBottom()
    wait(lambda: watch.seen_at is not None)
    scroll_ms = (watch.seen_at - started) * 1000
    # keep scrolling up through the list, page by page, as a person dragging would
    for _ in range(20):
        page.table.verticalScrollBar().setValue(page.table.verticalScrollBar().value() - 600)
        app.processEvents()
    wait(lambda: not page.model.is_loading)
    ticker.stop()
    db.close()
    return {
        "rows": total_rows,
        "first_paint_ms": round(first_paint_ms, 1),
        "search_repaint_ms": round(statistics.median(search_ms), 1),
        "search_sql_ms": round(statistics.median(sql_ms), 1),
        "scroll_to_end_ms": round(scroll_ms, 1),
        "max_gui_stall_ms": round(max(gaps) if gaps else 0.0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_child(data_dir: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", str(data_dir)],
        check=True, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="Students page benchmark")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir-1k", type=Path)
    parser.add_argument("--data-dir-1m", type=Path)
    parser.add_argument("--students", type=int, default=1_000_000, help="size of the big school")
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    small_dir = args.data_dir_1k or scratch_folder("rollbook-bench-1k-")
    big_dir = args.data_dir_1m or scratch_folder("rollbook-bench-1m-")
    ensure_school(small_dir, 1_000)
    ensure_school(big_dir, args.students)
    small, big = run_child(small_dir), run_child(big_dir)
    print(json.dumps({
        "first_paint_ms_1k": small["first_paint_ms"],
        "first_paint_ms_1m": big["first_paint_ms"],
        "first_paint_ratio": round(big["first_paint_ms"] / small["first_paint_ms"], 2),
        "search_repaint_ms": big["search_repaint_ms"],
        "search_sql_ms": big["search_sql_ms"],
        "search_ratio": round(big["search_repaint_ms"] / big["search_sql_ms"], 2),
        "max_gui_stall_ms": big["max_gui_stall_ms"],
        "peak_rss_mb_1m": big["peak_rss_mb"],
        "scroll_to_end_ms_1m": big["scroll_to_end_ms"],
        "rows_1m": big["rows"],
        "search_repaint_ms_1k": small["search_repaint_ms"],
        "max_gui_stall_ms_1k": small["max_gui_stall_ms"],
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
