"""Asking where to save a CSV file, the one way: lists, reports and rejected rows.

Rollbook writes CSV only (until Excel export exists), so the dialog offers only CSV and
the name always ends in .csv: "registrations.xlsx" is saved as "registrations.csv", never
as CSV text under an Excel name. When that corrected name is a file that exists, the
person is asked before it is replaced (the dialog only asked about the name typed).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

CSV_FILTER = "CSV files (*.csv)"


def csv_name(path: Path) -> Path:
    """``path`` with the .csv extension (any other extension is replaced)."""
    return path if path.suffix.lower() == ".csv" else path.with_suffix(".csv")


def ask_csv_path(
    parent: QWidget | None, title: str, suggested_name: str, *, folder_key: str,
    default_folder: Path | None = None,
) -> Path | None:  # fmt: skip
    """The file to save, or None when the person cancels. The folder is remembered
    under ``folder_key`` for the next save of the same kind."""
    settings = QSettings()
    folder = Path(settings.value(folder_key, str(default_folder or Path.home())))
    chosen, _ = QFileDialog.getSaveFileName(
        parent, title, str(folder / csv_name(Path(suggested_name)).name), CSV_FILTER
    )
    if not chosen:
        return None
    typed = Path(chosen)
    path = csv_name(typed)
    if path != typed and path.exists():
        answer = QMessageBox.question(
            parent, title,
            f"Rollbook saves CSV files, so the file will be {path.name}, and {path.name} "
            f"already exists in {path.parent}.\n\nReplace it?",
        )  # fmt: skip
        if answer != QMessageBox.StandardButton.Yes:
            return None
    settings.setValue(folder_key, str(path.parent))
    return path
