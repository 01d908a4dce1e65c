"""Where bundled files live, both from a source checkout and in a frozen build."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICON_SIZES = (16, 32, 48, 64, 128, 256)


def is_frozen() -> bool:
    """True in the PyInstaller build (``dist/rollbook/rollbook``)."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def install_root() -> Path:
    """Folder holding ``migrations/`` and ``resources/``.

    PyInstaller unpacks data next to the executable (``sys._MEIPASS``); from source
    or a wheel they sit beside the ``app`` package.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def program_dir() -> Path:
    """The folder a person installed: ``dist/rollbook`` frozen, the checkout from source."""
    if is_frozen():
        return Path(sys.executable).resolve().parent
    return install_root()


def migrations_dir() -> Path:
    return install_root() / "migrations"


def resources_dir() -> Path:
    return install_root() / "resources"


def resource(*parts: str) -> Path:
    """A bundled file, e.g. ``resource("samples", "roster-example.csv")``."""
    return resources_dir().joinpath(*parts)


def icon_svg() -> Path:
    return resource("icons", "rollbook.svg")


def icon_png(size: int) -> Path:
    return resource("icons", f"rollbook-{size}.png")


def prepare_frozen_process() -> None:
    """Give child processes (the bundled PostgreSQL programs) the system's environment.

    The PyInstaller bootloader points ``LD_LIBRARY_PATH`` at the bundle so the app finds
    its own libraries, and keeps the original in ``LD_LIBRARY_PATH_ORIG``. The dynamic
    loader read it when this process started, so restoring it now changes nothing here,
    but ``initdb``/``postgres`` started later no longer pick up the bundle's copies of
    system libraries (they carry their own run path to libpq).
    """
    if not is_frozen() or not sys.platform.startswith("linux"):
        return
    for name in ("LD_LIBRARY_PATH",):
        original = os.environ.pop(f"{name}_ORIG", None)
        if original is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = original
