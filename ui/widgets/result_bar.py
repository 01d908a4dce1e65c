"""The bar that says what became of a save: "Saved course-attendance.xlsx (4 sheets,
1,234 rows)" with Open file and Show in folder, or that nothing was saved. It stays
until the next save or until dismissed; nothing pops up over the work."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

_STYLES = {
    # outcome: (text, background, border)
    "saved": ("#1d5e2a", "#e8f4ea", "#9cc9a5"),
    "not-saved": ("palette(window-text)", "palette(alternate-base)", "palette(mid)"),
}


class ResultBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultBar")
        self.path: Path | None = None
        self.text = QLabel("")
        self.text.setObjectName("resultText")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setWordWrap(True)
        self.open_button = QPushButton("&Open file")
        self.open_button.setToolTip("Open the saved file in the program this computer uses for it")
        self.open_button.clicked.connect(self.open_file)
        self.folder_button = QPushButton("Show &in folder")
        self.folder_button.setToolTip("Open the folder the file was saved in")
        self.folder_button.clicked.connect(self.show_folder)
        self.dismiss_button = QToolButton()
        self.dismiss_button.setText("✕")
        self.dismiss_button.setAutoRaise(True)
        self.dismiss_button.setToolTip("Dismiss")
        self.dismiss_button.setAccessibleName("Dismiss")
        self.dismiss_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.open_button)
        layout.addWidget(self.folder_button)
        layout.addWidget(self.dismiss_button)
        self.hide()

    def show_saved(self, path: Path, text: str) -> None:
        self.path = path
        self._show("saved", text, buttons=True)

    def show_not_saved(self, text: str) -> None:
        self.path = None
        self._show("not-saved", text, buttons=False)

    def outcome(self) -> str:
        return str(self.property("outcome") or "")

    def _show(self, outcome: str, text: str, *, buttons: bool) -> None:
        colour, background, border = _STYLES[outcome]
        self.setProperty("outcome", outcome)
        self.setStyleSheet(
            f"QFrame#resultBar {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 4px; }} QLabel#resultText {{ color: {colour}; }}"
        )
        self.text.setText(text)
        self.open_button.setVisible(buttons)
        self.folder_button.setVisible(buttons)
        self.show()

    def open_file(self) -> bool:
        return self.path is not None and QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(self.path))
        )

    def show_folder(self) -> bool:
        return self.path is not None and QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(self.path.parent))
        )
