"""Where bundled files live, both from a source checkout and in a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path


def install_root() -> Path:
    """Folder holding ``migrations/`` and ``resources/``.

    PyInstaller unpacks data next to the executable (``sys._MEIPASS``); from source
    or a wheel they sit beside the ``app`` package.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def migrations_dir() -> Path:
    return install_root() / "migrations"


def resources_dir() -> Path:
    return install_root() / "resources"
