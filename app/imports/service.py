"""Roster import as one call: read -> map -> validate -> plan or apply.

The CLI and the wizard both use these; the wizard also calls the steps one by one so
the person can confirm the format and the mapping in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.csvfile import write_csv
from app.domain.context import ServiceContext
from app.imports.mapping import ColumnMapping, auto_map, check_mapping
from app.imports.reading import FileFormat, RawTable, detect_format, read_table
from app.imports.roster import RosterOutcome, apply_roster, plan_roster
from app.imports.validation import ImportOptions, ValidationResult, validate
from app.jobs import Job
from app.runs.plan import Plan
from app.runs.rejections import Rejection


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
    plan: Plan | None = None, job: Job | None = None,
) -> RosterOutcome:  # fmt: skip
    """The dry run, or (``commit``) the import; ``plan`` is the preview the person saw."""
    if commit:
        return apply_roster(session, ctx, prepared.validation, plan=plan,
                            all_or_nothing=prepared.options.all_or_nothing,
                            params=prepared.params, job=job)  # fmt: skip
    return plan_roster(session, ctx, prepared.validation, params=prepared.params, job=job)


def write_rejected_csv(path: Path, header: list[str], rejections: list[Rejection]) -> int:
    """The rejected rows as they were in the file, plus an ``error`` column, ready to fix
    and import again."""
    columns = list(header)
    for rejection in rejections:
        columns += [k for k in rejection.raw if k not in columns]
    rows = ([*(r.raw.get(c, "") for c in columns), r.line, f"{r.column}: {r.message}"]
            for r in rejections)  # fmt: skip
    return write_csv(path, rows, header=[*columns, "line", "error"])
