"""Render resources/icons/rollbook.svg to the PNG sizes desktops and the app use.

    uv run python packaging/render_icons.py

Run it after changing the SVG and commit the PNGs (the app and the package use them
as they are; rendering needs only Qt's SVG module, part of PySide6).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

from app.paths import ICON_SIZES, icon_png, icon_svg  # noqa: E402


def render(svg: Path, size: int, target: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG file")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(target), "PNG"):
        raise SystemExit(f"could not write {target}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - Qt needs one
    for size in ICON_SIZES:
        render(icon_svg(), size, icon_png(size))
        print(f"{icon_png(size).relative_to(icon_svg().parent.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
