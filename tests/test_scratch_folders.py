"""A benchmark's throwaway data folder goes when the benchmark ends, however it ends."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"
SCRIPT = f"""
import sys, time
sys.path.insert(0, {str(BENCHMARKS)!r})
from scratch import scratch_folder
folder = scratch_folder("rollbook-scratch-test-")
(folder / "data").mkdir()
print(folder, flush=True)
if sys.argv[1] == "fail":
    raise RuntimeError("the benchmark failed")
time.sleep(60)
"""


@pytest.mark.parametrize("ending", ["fail", "sigterm", "sigint"])
def test_the_scratch_folder_is_removed_when_the_benchmark_ends(ending):
    run = subprocess.Popen([sys.executable, "-c", SCRIPT, ending], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    folder = Path(run.stdout.readline().strip())
    assert folder.name.startswith("rollbook-scratch-test-")
    if ending != "fail":
        assert folder.is_dir()
        time.sleep(0.2)
        run.send_signal(signal.SIGTERM if ending == "sigterm" else signal.SIGINT)
    run.wait(timeout=30)
    assert not folder.exists()
