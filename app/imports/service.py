"""Roster import as one call: read -> map -> validate -> plan or apply.

The CLI and the wizard both use these; the wizard also calls the steps one by one so
the person can confirm the format and the mapping in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from app.csvfile import write_csv
from app.domain.context import ServiceContext
from app.imports.mapping import ColumnMapping, auto_map, check_mapping, parse_map_option
from app.imports.oneroster import OneRosterFile, read_oneroster
from app.imports.reading import FileFormat, RawTable, detect_format, read_table
from app.imports.roster import RosterOutcome, apply_roster, plan_roster
from app.imports.sds import is_sds_folder, read_sds
from app.imports.validation import ImportOptions, ValidationResult, validate
from app.jobs import Job
from app.runs.plan import Plan
from app.runs.rejections import Rejection
from app.services.permissions import Permission, needs


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
            "ignored_columns": self.ignored_columns,
            "date_format": fmt.value if (fmt := self.validation.date_format) else None,
            "date_format_inferred": self.validation.date_format_inferred,
            "all_or_nothing": self.options.all_or_nothing,
        }

    @property
    def ignored_columns(self) -> list[str]:
        return self.mapping.ignored_columns


def prepare(
    path: Path,
    *,
    fmt: FileFormat | None = None,
    mapping: ColumnMapping | None = None,
    options: ImportOptions | None = None,
    column_map: Sequence[str] = (),
) -> PreparedImport:
    """Read and validate a roster file; raises UnreadableFile when it cannot be used.

    ``column_map`` holds ``--map "COLUMN=FIELD"`` choices, which win over the names
    Rollbook recognises (see app.imports.mapping.parse_map_option).
    """
    options = options or ImportOptions()
    table = read_table(path, fmt or detect_format(path))
    mapping = mapping or auto_map(table.header, parse_map_option(table.header, list(column_map)))
    check_mapping(mapping, path.name)
    return PreparedImport(table, mapping, validate(table, mapping, options), options)


@needs(Permission.IMPORT_ROSTERS)
def run_import(
    session: Session, ctx: ServiceContext, prepared: PreparedImport, *, commit: bool,
    plan: Plan | None = None, job: Job | None = None,
) -> RosterOutcome:  # fmt: skip
    """The dry run, or (``commit``) the import; ``plan`` is the preview the person saw.
    The outcome lists the file's columns that were not imported."""
    if commit:
        outcome = apply_roster(session, ctx, prepared.validation, plan=plan,
                               all_or_nothing=prepared.options.all_or_nothing,
                               params=prepared.params, job=job)  # fmt: skip
    else:
        outcome = plan_roster(session, ctx, prepared.validation, params=prepared.params, job=job)
    outcome.ignored_columns = list(prepared.ignored_columns)
    return outcome


def write_rejected_csv(path: Path, header: list[str], rejections: list[Rejection]) -> int:
    """The rejected rows as they were in the file, plus an ``error`` column, ready to fix
    and import again."""
    columns = list(header)
    for rejection in rejections:
        columns += [k for k in rejection.raw if k not in columns]
    rows = ([*(r.raw.get(c, "") for c in columns), r.line, f"{r.column}: {r.message}"]
            for r in rejections)  # fmt: skip
    return write_csv(path, rows, header=[*columns, "line", "error"])


def read_roster_folder(path: Path) -> OneRosterFile:
    """A folder or zip of CSVs from another system: School Data Sync v1 when it looks like
    one, else OneRoster (whose reader names what is missing or unsupported)."""
    return read_sds(path) if is_sds_folder(path) else read_oneroster(path)
