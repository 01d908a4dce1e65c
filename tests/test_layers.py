"""The layers hold: the import-linter contracts in pyproject.toml (the core never imports
Qt or ui, and each layer only uses the ones below it), checked by the maintained tool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint_imports(*args: str) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(tool), "--no-cache", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)  # fmt: skip


def test_every_import_contract_is_kept():
    result = _lint_imports()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


def test_a_core_module_importing_the_window_layer_breaks_the_contract(tmp_path):
    """The check is real: a copy of the project in which a service imports ui fails it."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("app", "ui", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            subprocess.run(["cp", "-r", str(source), str(copy / name)], check=True)
        else:
            (copy / name).write_text(source.read_text())
    service = copy / "app" / "services" / "courses.py"
    service.write_text(service.read_text() + "\nimport ui.ops  # noqa\n")
    tool = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(tool), "--no-cache"], capture_output=True, text=True,
                            cwd=copy, env={"PYTHONPATH": str(copy), "PATH": ""}, timeout=120)  # fmt: skip
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
