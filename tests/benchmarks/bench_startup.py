"""Start-up benchmark: from launching ``rollbook`` to its main window on screen.

    uv run python tests/benchmarks/bench_startup.py [--runs 5] [--students 1000] [--build]

Measured in one run, each as a fresh process on the offscreen Qt platform, with the
database cluster stopped before every launch (as when a person opens the app):

- rollbook from source (``python -m ui.launch``) on a data dir with a demo school;
- the frozen one-folder build ``dist/rollbook/rollbook`` on the same data dir
  (``--build`` builds it first when missing; otherwise its figures are null);
- the baseline: a minimal PySide6 script showing an empty window plus a bare pgserver
  start of an existing cluster, the least any app of this kind has to do.

"Cold" is each program's first launch in the run (nothing of it loaded by this run
yet; the OS file cache is not dropped, that would need root and disturb the machine);
"warm" is the median of the following launches. With ROLLBOOK_LOG_LEVEL=info Rollbook
logs to stderr when its main window is on screen (saying that it is starting the
database, which it opens on a background thread meanwhile) and when the Students list
shows its first rows; the time until the first line is read is what the goals count
(``*_start_s``), the second is reported as ``*_ready_s``. Then it is ended as a logout
ends it (SIGTERM: it closes its windows and stops its database). The baseline prints
the first kind of line and quits. Goals: warm start <= 1.5x the baseline, frozen start
<= 1.2x the start from source.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FROZEN = ROOT / "dist" / "rollbook" / "rollbook"
# The start-up milestones ui/app.py logs at info.
SHOWN_MARK = "main window shown"
READY_MARK = "first list ready"
EXIT_WAIT_S = 120

BASELINE = """
import sys
import pgserver
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

server = pgserver.get_server(sys.argv[1], cleanup_mode="stop")
app = QApplication(sys.argv[:1])
window = QWidget()
window.resize(1280, 760)
window.show()
QTimer.singleShot(0, lambda: (print("baseline: main window shown", file=sys.stderr, flush=True),
                              window.close()))
app.exec()
"""


def launch(command: list[str], env: dict[str, str], *, lists: bool) -> tuple[float, float | None]:
    """Seconds from start to the 'shown' line and, for a program that ``lists`` (Rollbook),
    to the 'ready' line, read from its stderr; then ends Rollbook with SIGTERM (the
    baseline quits by itself) and waits for a clean exit."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=ROOT)  # fmt: skip
    assert process.stderr is not None
    # A program that never says it is ready must not hang the benchmark.
    watchdog = threading.Timer(EXIT_WAIT_S, process.kill)
    watchdog.start()
    shown_at = ready_at = None
    seen: list[str] = []
    try:
        for line in process.stderr:
            seen.append(line)
            if SHOWN_MARK in line and shown_at is None:
                shown_at = time.perf_counter() - started
                if not lists:
                    break
            if READY_MARK in line:
                ready_at = time.perf_counter() - started
                process.send_signal(signal.SIGTERM)
                break
        _out, err = process.communicate(timeout=EXIT_WAIT_S)
    finally:
        watchdog.cancel()
    if shown_at is None or (lists and ready_at is None) or process.returncode != 0:
        raise SystemExit(f"{command[0]} did not show its window and list (exit "
                         f"{process.returncode}):\n{''.join(seen)}{err}")  # fmt: skip
    return shown_at, ready_at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="warm launches of each (median)")
    parser.add_argument("--students", type=int, default=1000, help="size of the demo school")
    parser.add_argument("--build", action="store_true", help="build dist/rollbook if missing")
    args = parser.parse_args()

    note = []
    if not FROZEN.exists() and args.build:
        subprocess.run([str(ROOT / "packaging" / "build.sh")], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    frozen = FROZEN.exists()
    if not frozen:
        note.append("dist/rollbook not built: run packaging/build.sh or pass --build")

    # A short path: PostgreSQL's socket lives in the data dir and has a length limit.
    work = Path(tempfile.mkdtemp(prefix="rb-bench-"))
    try:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
               "ROLLBOOK_DATA_DIR": str(work / "data")}  # fmt: skip
        env.pop("ROLLBOOK_DATABASE_URL", None)
        env.pop("ROLLBOOK_SERVER_URL", None)
        subprocess.run([sys.executable, "-m", "app.cli", "demo-data", "--students",
                        str(args.students)], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        (work / "baseline").mkdir()
        # Settings the window saves go to the throwaway folder.
        env["XDG_CONFIG_HOME"] = str(work / "config")
        # The start-up milestones the launches are timed by.
        env["ROLLBOOK_LOG_LEVEL"] = "info"
        # Bytecode caches as an installed app has them (the first launch writes them),
        # kept in the throwaway folder rather than beside the sources.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")

        programs = {
            "source": [sys.executable, "-m", "ui.launch"],
            "baseline": [sys.executable, "-c", BASELINE, str(work / "baseline" / "pgdata")],
        }
        if frozen:
            programs["frozen"] = [str(FROZEN)]
        times: dict[str, list[float]] = {name: [] for name in programs}
        ready: dict[str, list[float]] = {name: [] for name in programs}
        # Interleaved, so a busy moment on the machine hits all of them alike.
        for _ in range(args.runs + 1):
            for name, command in programs.items():
                shown_at, ready_at = launch(command, env, lists=name != "baseline")
                times[name].append(shown_at)
                if ready_at is not None:
                    ready[name].append(ready_at)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def warm(name: str) -> float | None:
        return round(statistics.median(times[name][1:]), 3) if name in times else None

    def warm_ready(name: str) -> float | None:
        return round(statistics.median(ready[name][1:]), 3) if ready.get(name) else None

    def cold(name: str) -> float | None:
        return round(times[name][0], 3) if name in times else None

    warm_start, baseline, frozen_start = warm("source"), warm("baseline"), warm("frozen")
    package_mb = (
        round(
            sum(
                p.lstat().st_size
                for p in FROZEN.parent.rglob("*")
                if p.is_file() and not p.is_symlink()
            )
            / 2**20,
            1,
        )  # fmt: skip
        if frozen
        else None
    )
    note.append("cold = first launch in this run, from source including bytecode "
                "compilation; OS file cache not dropped; ready = the Students list shows "
                "its first rows")  # fmt: skip
    print(json.dumps({
        "warm_start_s": warm_start,
        "baseline_s": baseline,
        "ratio": round(warm_start / baseline, 2),
        "frozen_start_s": frozen_start,
        "frozen_ratio": round(frozen_start / warm_start, 2) if frozen_start else None,
        "warm_ready_s": warm_ready("source"),
        "frozen_ready_s": warm_ready("frozen"),
        "package_mb": package_mb,
        "cold_start_s": cold("source"),
        "frozen_cold_start_s": cold("frozen"),
        "baseline_cold_s": cold("baseline"),
        "runs": args.runs,
        "students": args.students,
        "note": "; ".join(note),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
