"""app/ is the Qt-free core: nothing in it imports PySide6 or ui."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent / "app"
FORBIDDEN = ("PySide6", "ui", "shiboken6")


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_no_app_module_imports_qt_or_ui():
    offenders = [
        f"{path.relative_to(APP_DIR.parent)}: {name}"
        for path in sorted(APP_DIR.rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_importing_every_app_module_loads_no_qt():
    modules = [
        ".".join(path.relative_to(APP_DIR.parent).with_suffix("").parts).removesuffix(".__init__")
        for path in APP_DIR.rglob("*.py")
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'ui')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=APP_DIR.parent, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
