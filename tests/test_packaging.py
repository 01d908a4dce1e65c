"""The desktop package's parts that run from source too: self-test, paths, icons,
the .desktop file and its installer."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app import paths
from app.self_test import EXIT_FAILED, StepFailed, run_self_test

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("temporary data folder", "start database", "migrations", "demo data",
         "open main window", "search", "export report", "close window", "shut down")  # fmt: skip


@pytest.fixture
def short_tmp():
    """A temp folder with a short path: PostgreSQL's socket path has a length limit."""
    folder = Path(tempfile.mkdtemp(prefix="rb-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("QT_QPA_PLATFORM", None)  # the self-test chooses offscreen by itself
    return env


def test_self_test_from_source_passes_and_leaves_nothing_behind(short_tmp):
    tmp_path = short_tmp
    result = subprocess.run(
        [sys.executable, "-m", "ui.launch", "--self-test"],
        capture_output=True, text=True, env=_env(tmp_path), cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rollbook self-test: passed 10 steps")
    for step in STEPS:
        assert step in lines[0]
    assert not list(tmp_path.glob("rollbook-self-test-*"))  # the data folder is gone


def test_a_failed_step_is_named_exit_1_and_still_cleaned_up(short_tmp, capsys, monkeypatch):
    tmp_path = short_tmp
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    seen: dict[str, Path] = {}

    def window_that_cannot_find(test, database, sample):
        seen["pgdata"] = database.settings.pgdata_dir
        assert (seen["pgdata"] / "postmaster.pid").exists()  # the database is up
        with test.step("search"):
            raise StepFailed(f"searching '{sample.last_name}' did not find {sample.full_name}")

    code = run_self_test(window_that_cannot_find, students=50)
    out = capsys.readouterr().out.strip()
    assert code == EXIT_FAILED
    assert out.startswith("rollbook self-test: FAILED at step 'search': searching ")
    assert "\n" not in out
    assert not (seen["pgdata"] / "postmaster.pid").exists()  # the cluster was stopped
    assert not list(tmp_path.glob("rollbook-self-test-*"))


def test_paths_point_into_the_bundle_when_frozen(monkeypatch, tmp_path):
    assert paths.install_root() == ROOT and not paths.is_frozen()
    bundle = tmp_path / "rollbook" / "_internal"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "rollbook" / "rollbook"))
    assert paths.is_frozen()
    assert paths.migrations_dir() == bundle / "migrations"
    assert paths.icon_png(32) == bundle / "resources" / "icons" / "rollbook-32.png"
    assert paths.program_dir() == tmp_path / "rollbook"


def test_frozen_children_get_the_systems_library_path(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", "/opt/rollbook/_internal", raising=False)
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/rollbook/_internal")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/usr/local/lib")
    paths.prepare_frozen_process()
    assert os.environ["LD_LIBRARY_PATH"] == "/usr/local/lib"
    assert "LD_LIBRARY_PATH_ORIG" not in os.environ
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/rollbook/_internal")
    paths.prepare_frozen_process()  # nothing was set before the app started
    assert "LD_LIBRARY_PATH" not in os.environ


def test_icon_pngs_are_rendered_from_the_current_svg(qapp):
    from PySide6.QtGui import QImage

    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        from render_icons import render
    finally:
        sys.path.pop(0)
    for size in paths.ICON_SIZES:
        stored = QImage(str(paths.icon_png(size)))
        assert (stored.width(), stored.height()) == (size, size)
    fresh = ROOT / "test-artifacts" / "icon-check-64.png"
    fresh.parent.mkdir(exist_ok=True)
    render(paths.icon_svg(), 64, fresh)
    a, b = QImage(str(fresh)), QImage(str(paths.icon_png(64)))
    assert a.convertToFormat(QImage.Format.Format_ARGB32) == b.convertToFormat(
        QImage.Format.Format_ARGB32
    ), "run packaging/render_icons.py and commit the PNGs"


def test_desktop_file_launches_rollbook_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "packaging" / "rollbook.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "Rollbook"
    assert section["Exec"] == "rollbook" and section["Icon"] == "rollbook"
    assert section["Terminal"] == "false"
    assert section["Categories"].endswith(";") and "Education" in section["Categories"]


def test_install_desktop_entry_points_the_menu_at_the_folder(tmp_path):
    folder = tmp_path / "Rollbook Package"
    folder.mkdir()
    exe = folder / "rollbook"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    data_home = tmp_path / "share"
    result = subprocess.run(
        [str(ROOT / "packaging" / "install-desktop-entry.sh"), str(folder)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "XDG_DATA_HOME": str(data_home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    desktop = (data_home / "applications" / "rollbook.desktop").read_text()
    assert f'Exec="{exe}"' in desktop and "Icon=rollbook" in desktop
    for size in paths.ICON_SIZES:
        assert (data_home / f"icons/hicolor/{size}x{size}/apps/rollbook.png").is_file()
    assert (data_home / "icons/hicolor/scalable/apps/rollbook.svg").is_file()
