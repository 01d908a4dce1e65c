"""File > Export…: the current list, with its filters and sort order, to a CSV file.

Runs on the database worker page by page with progress and Cancel; the file is written
to a temporary name and moved into place only when complete, so a cancelled export
never leaves half a file behind.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QWidget

from ui.models.paged import PagedTableModel, display_text
from ui.ops import Op

EXPORT_PAGE = 1000


def export_model(session, ctx, job, model: PagedTableModel, query, path: Path) -> int:
    total = model.count(session, ctx, query)
    columns = model.columns
    fd, temp_name = tempfile.mkstemp(prefix=".export-", suffix=".csv", dir=path.parent)
    written = 0
    try:
        # utf-8-sig: Excel opens accented names correctly only with the BOM.
        with os.fdopen(fd, "w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.title for c in columns])
            offset = 0
            while True:
                job.check_cancel()
                page = model.fetch_page(session, ctx, query, offset, EXPORT_PAGE)
                writer.writerows([display_text(c.value(row)) for c in columns] for row in page.rows)
                written += len(page.rows)
                offset += len(page.rows)
                job.progress(written, total, f"Exported {written:,} of {total:,} rows…")
                if not page.has_more:
                    break
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return written


def export_current_list(parent: QWidget, model: PagedTableModel, suggested_name: str,
                        on_done) -> None:  # fmt: skip
    settings = QSettings()
    folder = settings.value("folders/export", str(Path.home()))
    filename, _ = QFileDialog.getSaveFileName(
        parent, "Export list", str(Path(folder) / f"{suggested_name}.csv"), "CSV files (*.csv)"
    )
    if not filename:
        return
    path = Path(filename)
    settings.setValue("folders/export", str(path.parent))
    query = model.query
    Op(
        parent,
        lambda s, ctx, job: export_model(s, ctx, job, model, query, path),
        title="Exporting…",
    ).success(lambda count: on_done(f"Exported {count:,} rows to {path.name}.")).run()
