"""Asking where to save a file, the one way: lists, reports, rejected rows, PDFs.

The dialog offers the formats the caller can write, and the saved name always ends in
the chosen format's extension: "registrations.xlsx" saved as CSV becomes
"registrations.csv", never CSV text under an Excel name. When that corrected name is a
file that exists, the person is asked before it is replaced (the dialog only asked about
the name typed). The folder is remembered per kind of save.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


@dataclass(frozen=True)
class FileFormat:
    name: str  # "Excel workbook"
    suffix: str  # ".xlsx"

    @property
    def filter(self) -> str:
        return f"{self.name}s (*{self.suffix})"


CSV = FileFormat("CSV file", ".csv")
XLSX = FileFormat("Excel workbook", ".xlsx")
PDF = FileFormat("PDF file", ".pdf")


def named_for(path: Path, file_format: FileFormat) -> Path:
    """``path`` with ``file_format``'s extension (any other extension is replaced)."""
    if path.suffix.lower() == file_format.suffix:
        return path
    return path.with_suffix(file_format.suffix)


def ask_save_path(
    parent: QWidget | None, title: str, suggested_name: str, *, folder_key: str,
    formats: Sequence[FileFormat] = (CSV,), default_folder: Path | None = None,
) -> Path | None:  # fmt: skip
    """The file to save, or None when the person cancels. A name typed with the
    extension of one of ``formats`` is saved in that format; any other name gets the
    format chosen in the dialog. The folder is remembered under ``folder_key``."""
    settings = QSettings()
    folder = Path(settings.value(folder_key, str(default_folder or Path.home())))
    suggested = Path(suggested_name)
    first = next((f for f in formats if f.suffix == suggested.suffix.lower()), formats[0])
    chosen, chosen_filter = QFileDialog.getSaveFileName(
        parent, title, str(folder / named_for(suggested, first).name),
        ";;".join(f.filter for f in formats), first.filter,
    )  # fmt: skip
    if not chosen:
        return None
    typed = Path(chosen)
    by_suffix = next((f for f in formats if f.suffix == typed.suffix.lower()), None)
    by_filter = next((f for f in formats if f.filter == chosen_filter), first)
    path = named_for(typed, by_suffix or by_filter)
    if path != typed and path.exists():
        answer = QMessageBox.question(
            parent, title,
            f"Rollbook saves this as {(by_suffix or by_filter).name.lower()}, so the file "
            f"will be {path.name}, and {path.name} already exists in {path.parent}.\n\n"
            "Replace it?",
        )  # fmt: skip
        if answer != QMessageBox.StandardButton.Yes:
            return None
    settings.setValue(folder_key, str(path.parent))
    return path
