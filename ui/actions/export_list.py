"""File > Export…: the current list, with its filters and sort order, to an Excel
workbook or a CSV file.

On the GUI thread the model hands over a plain description of the list (``ListExport``:
its query, column titles and value functions, and the service functions that read it);
the database worker reads only that, never the Qt model. The rows come in list order
through one server-side cursor, in batches, with progress and Cancel between them, and
go through the one CSV writer (app.csvfile) or the one Excel writer (a workbook with the
list's own values: dates as dates, numbers as numbers), which move the file into place
only when it is complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget
from sqlalchemy.orm import Session

from app.csvfile import write_csv
from app.domain.context import ServiceContext
from app.domain.wording import counted
from app.jobs import Job
from app.reports.catalog import title_block
from app.reports.list_workbook import write_list_workbook
from ui.actions.save_file import CSV, XLSX, ask_save_path
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
    name: str = "List"  # the workbook's title: the page's name


# Query fields that are not filters a person chose (paging), or that only the window can
# name (ids: the filter bar shows the course's name, the query holds its id).
_NOT_FILTERS = {"offset", "limit", "sort", "descending"}


def describe_query(query: Any) -> tuple[str, ...]:
    """The list's filters and order in words, for the workbook's title block."""
    if not dataclasses.is_dataclass(query):
        return ()
    said: list[str] = []
    for field in dataclasses.fields(query):
        value = getattr(query, field.name)
        if (field.name in _NOT_FILTERS or value in (None, "", field.default)
                or isinstance(value, uuid.UUID)):  # fmt: skip
            continue
        label = field.name.replace("_", " ").capitalize()
        shown = f"{value:%-d %b %Y}" if isinstance(value, date) else str(value)
        said.append(f'{label}: "{shown}"' if field.name == "search" else f"{label}: {shown}")
    sort = getattr(query, "sort", None)
    if sort:
        order = " (descending)" if getattr(query, "descending", False) else ""
        said.append(f"Sorted by {str(sort).replace('_', ' ')}{order}")
    return tuple(said)


def describe_export(model: PagedTableModel, name: str = "List") -> ListExport:
    """What to export from ``model`` (on the GUI thread): the latest query asked for."""
    if model.source is None:
        raise TypeError(f"{type(model).__name__} has no ListSource to export from")
    return ListExport(
        model.query,
        tuple(column.title for column in model.columns),
        tuple(column.value for column in model.columns),
        model.source,
        name,
    )


def write_export(
    session: Session, ctx: ServiceContext, job: Job, export: ListExport, path: Path,
    batch_size: int = EXPORT_BATCH,
) -> int:  # fmt: skip
    """Write every row of the list to ``path``: an Excel workbook when it ends in .xlsx,
    else CSV (a cancelled or failed export leaves no file behind); the number of rows."""
    total = export.source.count(session, ctx, export.query)
    job.check_cancel()
    as_workbook = path.suffix.lower() == XLSX.suffix
    # CSV holds text, so values are written as the list shows them; a workbook keeps them.
    shown = (lambda value: value) if as_workbook else display_text

    def rows() -> Iterator[list[Any]]:
        written = 0
        batches = export.source.stream(session, ctx, export.query, batch_size)
        # Closed on Cancel too, so the server-side cursor goes before the rollback.
        with contextlib.closing(batches):
            for batch in batches:
                job.check_cancel()
                for row in batch:
                    yield [shown(value(row)) for value in export.values]
                written += len(batch)
                # Rows added since the count still go in; the total grows with them.
                shown_total = max(total, written)
                job.progress(written, shown_total,
                             f"Exported {written:,} of {shown_total:,} rows…")  # fmt: skip

    if as_workbook:
        title = title_block(session, ctx, export.name, describe_query(export.query))
        return write_list_workbook(path, title, export.titles, rows())
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


def export_current_list(parent: QWidget, model: PagedTableModel, name: str,
                        on_done: Callable[[str], None]) -> None:  # fmt: skip
    """Ask where (an Excel workbook unless CSV is chosen), then export the list ``name``."""
    suggested = name.lower().replace(" ", "-")
    path = ask_save_path(parent, "Export list", suggested, folder_key="folders/export",
                         formats=(XLSX, CSV))  # fmt: skip
    if path is None:
        return
    start_export(parent, describe_export(model, name), path, on_done)
