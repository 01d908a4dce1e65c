"""Every benchmark still runs and prints its JSON line, at a size that takes seconds.

The benchmarks are run by hand at full size; nothing else imports them, so without
this a change to a service they call (a renamed field, a new argument) breaks them
unnoticed until the next person measures. No figure is checked here: timings belong
to the benchmarks, not to the test suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent / "benchmarks"

SMALL_RUNS = {
    "bench_attendance": (
        ["--marks", "20000", "--registers", "10"],
        {"open_ratio", "save_statements", "summary_ratio"},
    ),  # fmt: skip
    "bench_backup": (["--students", "2000", "--rounds", "1"], {"backup_ratio", "restore_ratio"}),
    "bench_backfill": (["--students", "2000"], {"backfill_ratio", "audit_ratio"}),
    "bench_events": (
        ["--students", "2000", "--lookups", "20"],
        {"ratio", "statements", "seq_scans"},
    ),
    "bench_export": (["--cells", "20000"], {"ratio", "peak_rss_mb", "raw_peak_rss_mb"}),
    "bench_import": (
        ["--rows", "3000", "--orm-sample", "200", "--rounds", "1"],
        {"ratio_vs_orm_loop"},
    ),
    "bench_consistency": (["--enrollments", "5000"], {"ratio", "findings"}),
    "bench_search": (["--students", "3000"], {"p95_ms", "seq_scans", "ratio"}),
    "bench_sync": (
        ["--students", "300", "--ops", "100", "--rounds", "1"],
        {"initial_ratio", "push_ops_per_s", "pull_ops_per_s"},
    ),
    "bench_tables": (["--students", "3000"], {"first_paint_ratio", "search_ratio"}),
    "bench_startup": (["--runs", "1", "--students", "100"], {"warm_start_s", "ratio"}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL_RUNS))
def test_benchmark_runs_and_prints_its_figures(name: str) -> None:
    arguments, figures = SMALL_RUNS[name]
    # Their throwaway data folders go to a folder removed afterwards; a short path,
    # because the embedded database's socket lives there (Unix sockets allow ~100 bytes).
    with tempfile.TemporaryDirectory(prefix="rb-bench-", ignore_cleanup_errors=True) as folder:
        env = {**os.environ, "TMPDIR": folder, "QT_QPA_PLATFORM": "offscreen"}
        finished = subprocess.run(
            [sys.executable, str(BENCHMARKS / f"{name}.py"), *arguments],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        # A full-size run leaves gigabytes; what a benchmark made for itself it removes.
        # (Qt's own runtime folder is not theirs.)
        left_behind = sorted(path.name for path in Path(folder).glob("rollbook-bench-*"))
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert left_behind == [], left_behind
    last_line = finished.stdout.strip().splitlines()[-1]
    printed = json.loads(last_line)
    assert figures <= printed.keys(), last_line
    assert all(printed[figure] is not None for figure in figures), last_line
