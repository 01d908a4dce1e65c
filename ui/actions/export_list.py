"""File > Export…: the current list, with its filters and sort order, to a CSV file.

On the GUI thread the model hands over a plain description of the list (``ListExport``:
its query, column titles and value functions, and the service functions that read it);
the database worker reads only that, never the Qt model. The rows come in list order
through one server-side cursor, in batches, with progress and Cancel between them, and
go through the one CSV writer (app.csvfile), which moves the file into place only when
it is complete.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget
from sqlalchemy.orm import Session

from app.csvfile import write_csv
from app.domain.context import ServiceContext
from app.domain.wording import counted
from app.jobs import Job
from ui.actions.save_csv import ask_csv_path
from ui.models.paged import ListSource, PagedTableModel, display_text
from ui.ops import Op

EXPORT_BATCH = 1000


@dataclass(frozen=True)
class ListExport:
    """Everything the worker needs to export a list; nothing in it is a Qt object."""

    query: Any
    titles: tuple[str, ...]
    values: tuple[Callable[[Any], Any], ...]
    source: ListSource


def describe_export(model: PagedTableModel) -> ListExport:
    """What to export from ``model`` (on the GUI thread): the latest query asked for."""
    if model.source is None:
        raise TypeError(f"{type(model).__name__} has no ListSource to export from")
    return ListExport(
        model.query,
        tuple(column.title for column in model.columns),
        tuple(column.value for column in model.columns),
        model.source,
    )


def write_export(
    session: Session, ctx: ServiceContext, job: Job, export: ListExport, path: Path,
    batch_size: int = EXPORT_BATCH,
) -> int:  # fmt: skip
    """Write every row of the list to ``path`` as CSV (the one CSV writer: a cancelled
    or failed export leaves no file behind); the number of rows written."""
    total = export.source.count(session, ctx, export.query)
    job.check_cancel()

    def rows() -> Iterator[list[str]]:
        written = 0
        batches = export.source.stream(session, ctx, export.query, batch_size)
        # Closed on Cancel too, so the server-side cursor goes before the rollback.
        with contextlib.closing(batches):
            for batch in batches:
                job.check_cancel()
                for row in batch:
                    yield [display_text(value(row)) for value in export.values]
                written += len(batch)
                # Rows added since the count still go in; the total grows with them.
                shown_total = max(total, written)
                job.progress(written, shown_total,
                             f"Exported {written:,} of {shown_total:,} rows…")  # fmt: skip

    return write_csv(path, rows(), header=export.titles)


def start_export(parent: QWidget | None, export: ListExport, path: Path,
                 on_done: Callable[[str], None]) -> Op[int]:  # fmt: skip
    """Run the export on the database worker; ``on_done`` gets the status-bar text."""
    return (
        Op(
            parent, lambda s, ctx, job: write_export(s, ctx, job, export, path), title="Exporting…"
        )  # fmt: skip
        .success(lambda count: on_done(f"Exported {counted(count, 'row')} to {path.name}."))
        .run()
    )


def export_current_list(parent: QWidget, model: PagedTableModel, suggested_name: str,
                        on_done: Callable[[str], None]) -> None:  # fmt: skip
    path = ask_csv_path(parent, "Export list", suggested_name, folder_key="folders/export")
    if path is None:
        return
    start_export(parent, describe_export(model), path, on_done)
