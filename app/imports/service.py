"""Roster import as one call: read -> map -> validate -> plan or apply.

The CLI and the wizard both use these; the wizard also calls the steps one by one so
the person can confirm the format and the mapping in between.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import ImportRejectedRow, MaintenanceRun
from app.domain.context import ServiceContext
from app.domain.errors import NotFound
from app.imports.mapping import ColumnMapping, auto_map, check_mapping
from app.imports.reading import FileFormat, RawTable, detect_format, read_table
from app.imports.roster import RosterOutcome, apply_roster, plan_roster
from app.imports.validation import ImportOptions, Rejection, ValidationResult, validate
from app.jobs import Job


@dataclass(frozen=True)
class PreparedImport:
    table: RawTable
    mapping: ColumnMapping
    validation: ValidationResult
    options: ImportOptions

    @property
    def params(self) -> dict:
        return {
            "file": self.table.path.name,
            "encoding": self.table.format.encoding,
            "delimiter": self.table.format.delimiter_name,
            "mapping": self.mapping.as_dict(),
            "date_format": self.options.date_format.value,
            "all_or_nothing": self.options.all_or_nothing,
        }


def prepare(
    path: Path,
    *,
    fmt: FileFormat | None = None,
    mapping: ColumnMapping | None = None,
    options: ImportOptions | None = None,
) -> PreparedImport:
    """Read and validate a roster file; raises UnreadableFile when it cannot be used."""
    options = options or ImportOptions()
    table = read_table(path, fmt or detect_format(path))
    mapping = mapping or auto_map(table.header)
    check_mapping(mapping, path.name)
    return PreparedImport(table, mapping, validate(table, mapping, options), options)


def run_import(
    session: Session, ctx: ServiceContext, prepared: PreparedImport, *, commit: bool,
    job: Job | None = None,
) -> RosterOutcome:  # fmt: skip
    if commit:
        return apply_roster(session, ctx, prepared.validation,
                            all_or_nothing=prepared.options.all_or_nothing,
                            params=prepared.params, job=job)  # fmt: skip
    return plan_roster(session, ctx, prepared.validation, params=prepared.params, job=job)


def write_rejected_csv(path: Path, header: list[str], rejections: list[Rejection]) -> int:
    """The rejected rows as they were in the file, plus an ``error`` column, ready to fix
    and import again. UTF-8 with BOM so Excel shows accents correctly."""
    columns = list(header)
    for rejection in rejections:
        columns += [k for k in rejection.raw if k not in columns]
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([*columns, "line", "error"])
        for rejection in rejections:
            writer.writerow([*(rejection.raw.get(c, "") for c in columns), rejection.line,
                             f"{rejection.column}: {rejection.message}"])  # fmt: skip
    return len(rejections)


def stored_rejections(
    session: Session, ctx: ServiceContext, run_id: uuid.UUID
) -> tuple[list[str], list[Rejection]]:
    """The rejected rows kept for an import run: (original header, rejections)."""
    run = session.get(MaintenanceRun, run_id)
    if run is None or run.school_id != ctx.school_id:
        raise NotFound("That import run no longer exists.")
    header = list((run.params or {}).get("mapping", {}).keys())
    rows = session.scalars(
        select(ImportRejectedRow)
        .where(ImportRejectedRow.run_id == run_id)
        .order_by(ImportRejectedRow.line_no)
    )
    rejections = [
        Rejection(row.line_no, (row.errors or [{}])[0].get("column", ""),
                  "; ".join(e.get("message", "") for e in row.errors or []), dict(row.raw))
        for row in rows
    ]  # fmt: skip
    return header, rejections
