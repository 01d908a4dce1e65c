"""The certificate register: every certificate issued for the chosen events and issue
dates (nothing chosen: every certificate), revoked and flagged ones too, in number
order; and a summary of the counts by event and kind.

A school keeps tens of thousands of certificates, so the rows stream through one
server-side cursor in batches, with progress and Cancel between batches. The summary is
one grouped statement read first: it says whether there is anything to write at all,
and gives the total the progress counts towards.

Dates are chosen on the day a certificate was issued as this computer's clock shows it
(issued_at is stored with its time zone): a certificate issued at 00:30 on 1 Oct local
time belongs to 1 Oct even where the server's clock still said 30 Sep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import CertificateKind
from app.domain.wording import counted, plural
from app.jobs import Job
from app.reports import catalog
from app.reports.catalog import EmptyReport, ReportFilters, ReportKind, ReportPreview, ReportSaved
from app.reports.event_attendance import find_events, full_name
from app.reports.title import excel_datetime
from app.reports.workbook import CellKind, Column, ReportSheet, report_workbook
from app.services.event_setup import EventDetails
from app.services.permissions import Permission, needs

KIND = ReportKind.CERTIFICATES
BATCH = 2_000  # rows per round trip of the cursor; progress and Cancel between batches
VALID, REVOKED, FLAGGED = "Valid", "Revoked", "Flagged for revocation"
KIND_TEXT = {k.value: k.value.capitalize() for k in CertificateKind}

REVOKED_FILL = PatternFill("solid", start_color="D9D9D9", end_color="D9D9D9")
REVOKED_FONT = Font(color="C00000", bold=True)
FLAGGED_FILL = PatternFill("solid", start_color="FFEB9C", end_color="FFEB9C")
FLAGGED_FONT = Font(color="9C5700")

CERTIFICATE_COLUMNS = (
    Column("Certificate no", CellKind.CODE),
    Column("Kind", CellKind.CODE),
    Column("Student no", CellKind.TEXT),
    Column("Name", CellKind.TEXT),
    Column("Class", CellKind.TEXT),
    Column("Event", CellKind.TEXT),
    Column("Event date", CellKind.DATE),
    Column("Registration no", CellKind.CODE),
    Column("Issued at", CellKind.DATETIME),
    Column("Issued by", CellKind.TEXT),
    Column("Status", CellKind.CODE),
    Column("Revoked at", CellKind.DATETIME),
    Column("Revoked by", CellKind.TEXT),
    Column("Revoke reason", CellKind.TEXT),
)
STATUS_COLUMN = 11
SUMMARY_COLUMNS = (
    Column("Event", CellKind.TEXT),
    Column("Event date", CellKind.DATE),
    Column("Participation", CellKind.NUMBER),
    Column("Merit", CellKind.NUMBER),
    Column("Winner", CellKind.NUMBER),
    Column("Revoked", CellKind.NUMBER),
    Column("Total valid", CellKind.NUMBER),
)

_FROM = """
FROM certificate c
JOIN event_registration r ON r.id = c.registration_id
JOIN event ev ON ev.id = r.event_id
"""

# Number order: the year, then the number within it ("CERT-2026-99999" before
# "CERT-2026-100000", and every 2025 number before the 2026 ones).
_ROWS = """
SELECT c.certificate_no, c.kind, s.student_no, s.last_name, s.first_name, s.class_name,
       ev.name, ev.starts_on, r.registration_no, c.issued_at, c.issued_by,
       c.revoked_at, c.revoked_by, c.revoke_reason, c.revocation_flagged_at,
       c.revocation_flag_reason
{from_} JOIN student s ON s.id = r.student_id
WHERE {where}
ORDER BY split_part(c.certificate_no, '-', 2), length(c.certificate_no), c.certificate_no
"""

# Counts by event: Participation/Merit/Winner are the valid ones (flagged included: a
# flagged certificate stands until someone revokes it).
_SUMMARY = """
SELECT ev.name, ev.starts_on,
       count(*) FILTER (WHERE c.revoked_at IS NULL AND c.kind = 'participation'),
       count(*) FILTER (WHERE c.revoked_at IS NULL AND c.kind = 'merit'),
       count(*) FILTER (WHERE c.revoked_at IS NULL AND c.kind = 'winner'),
       count(*) FILTER (WHERE c.revoked_at IS NOT NULL),
       count(*) FILTER (WHERE c.revoked_at IS NULL),
       count(*) FILTER (WHERE c.revoked_at IS NULL AND c.revocation_flagged_at IS NOT NULL)
{from_}
WHERE {where}
GROUP BY ev.id, ev.name, ev.starts_on
ORDER BY ev.starts_on, lower(ev.name), ev.id
"""


@dataclass(frozen=True)
class Selection:
    """What the filters choose, as SQL conditions with their values, and in words."""

    where: str
    params: dict[str, Any]
    events: tuple[EventDetails, ...]
    date_from: date | None
    date_to: date | None

    def statement(self, sql: str, limit: int | None = None) -> TextClause:
        # ``where`` is made of this module's own fixed conditions; values are bound.
        tail = " LIMIT :limit" if limit is not None else ""
        return text(sql.format(from_=_FROM, where=self.where) + tail)

    @property
    def dates_text(self) -> str | None:
        """ "between 1 Sep 2026 and 30 Nov 2026", "from 1 Sep 2026 on", …"""
        if self.date_from and self.date_to:
            return f"between {self.date_from:%-d %b %Y} and {self.date_to:%-d %b %Y}"
        if self.date_from:
            return f"from {self.date_from:%-d %b %Y} on"
        if self.date_to:
            return f"up to {self.date_to:%-d %b %Y}"
        return None

    @property
    def events_text(self) -> str | None:
        names = [e.name for e in self.events]
        if not names:
            return None
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    def filters_text(self) -> tuple[str, ...]:
        said = []
        if self.events:
            names = ", ".join(e.name for e in self.events)
            said.append(f"{plural(len(self.events), 'Event')}: {names}")
        if self.dates_text:
            said.append(f"Issued {self.dates_text}")
        return tuple(said) or ("Every certificate",)

    def nothing_text(self) -> str:
        """The one line of EmptyReport."""
        if not self.dates_text and not self.events_text:
            return "No certificates have been issued yet: nothing to export."
        parts = ["No certificates issued"]
        if self.dates_text:
            parts.append(self.dates_text)
        if self.events_text:
            parts.append(f"for {self.events_text}")
        return " ".join(parts) + ": nothing to export."


def _local_midnight(day: date) -> datetime:
    """The first moment of ``day`` on this computer's clock, as an aware time."""
    return datetime.combine(day, time.min).astimezone()


@needs(Permission.VIEW)
def select_certificates(session: Session, ctx: ServiceContext, filters: ReportFilters) -> Selection:
    """The register's selection: live certificates of the school, of the chosen events,
    issued on the chosen local dates. Unknown event names raise UnknownEvent."""
    events = tuple(find_events(session, ctx, filters.events))
    where = ["c.school_id = :school", "c.deleted_at IS NULL"]
    params: dict[str, Any] = {"school": ctx.school_id}
    if events:
        where.append("r.event_id = ANY(CAST(:events AS uuid[]))")
        params["events"] = [event.id for event in events]
    # Whole local days as a half-open range of instants, computed once here: no time zone
    # conversion per row, and a day the clocks change (summer time) keeps its 23 or 25
    # hours, which a date_trunc in the server's zone would not.
    if filters.date_from:
        where.append("c.issued_at >= :start")
        params["start"] = _local_midnight(filters.date_from)
    if filters.date_to:
        where.append("c.issued_at < :end")
        params["end"] = _local_midnight(filters.date_to + timedelta(days=1))
    return Selection(" AND ".join(where), params, events, filters.date_from, filters.date_to)


@dataclass(frozen=True)
class Totals:
    events: int
    certificates: int
    revoked: int
    flagged: int
    by_kind: dict[str, int]  # valid ones

    @property
    def valid(self) -> int:
        return self.certificates - self.revoked

    def line(self) -> str:
        """ "412 certificates (3 revoked) · 5 events"."""
        revoked = f" ({self.revoked:,} revoked)" if self.revoked else ""
        return f"{counted(self.certificates, 'certificate')}{revoked} · {counted(self.events, 'event')}"

    def notes(self) -> tuple[str, ...]:
        kinds = ", ".join(f"{self.by_kind[k]:,} {k}" for k in self.by_kind if self.by_kind[k])
        said = [f"Total: {counted(self.certificates, 'certificate')} for "
                f"{counted(self.events, 'event')}", f"{self.valid:,} valid" +
                (f" ({kinds})" if kinds else ""), f"{self.revoked:,} revoked"]  # fmt: skip
        if self.flagged:
            said.append(f"{self.flagged:,} flagged for revocation")
        return (" · ".join(said),)


def _summary_rows(session: Session, selection: Selection) -> list[tuple[Any, ...]]:
    rows = session.execute(selection.statement(_SUMMARY), selection.params).all()
    return [tuple(row) for row in rows]


def _totals(summary: Sequence[tuple[Any, ...]]) -> Totals:
    kinds = [k.value for k in CertificateKind]
    by_kind = {kind: sum(row[2 + n] for row in summary) for n, kind in enumerate(kinds)}
    revoked = sum(row[5] for row in summary)
    valid = sum(row[6] for row in summary)
    return Totals(len(summary), valid + revoked, revoked, sum(row[7] for row in summary), by_kind)


def _status(revoked_at: datetime | None, flagged_at: datetime | None) -> str:
    if revoked_at is not None:
        return REVOKED
    return FLAGGED if flagged_at is not None else VALID


def _row(found: Sequence[Any]) -> tuple[Any, ...]:
    (number, kind, student_no, last, first, class_name, event, event_date, registration_no,
     issued_at, issued_by, revoked_at, revoked_by, revoke_reason, flagged_at,
     flag_reason) = found  # fmt: skip
    reason = revoke_reason if revoked_at is not None else flag_reason
    return (number, KIND_TEXT.get(kind, kind), student_no, full_name(last, first), class_name,
            event, event_date, registration_no, issued_at, issued_by,
            _status(revoked_at, flagged_at), revoked_at, revoked_by, reason)  # fmt: skip


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row for the preview: times in this computer's zone, as the workbook shows them."""
    return tuple(excel_datetime(v) if isinstance(v, datetime) else v for v in row)


def _selected(session: Session, ctx: ServiceContext, filters: ReportFilters):
    selection = select_certificates(session, ctx, filters)
    summary = _summary_rows(session, selection)
    if not summary:
        raise EmptyReport(selection.nothing_text())
    return selection, summary, _totals(summary)


@needs(Permission.VIEW)
def preview(session: Session, ctx: ServiceContext, filters: ReportFilters,
            limit: int) -> ReportPreview:  # fmt: skip
    """The first ``limit`` certificates in number order, and the counts."""
    selection, _summary, totals = _selected(session, ctx, filters)
    rows = session.execute(selection.statement(_ROWS, limit), {**selection.params, "limit": limit})
    return ReportPreview(KIND, tuple(c.title for c in CERTIFICATE_COLUMNS),
                         tuple(_plain(_row(row)) for row in rows), totals.certificates,
                         totals.line())  # fmt: skip


def _status_formats(sheet: ReportSheet) -> None:
    """Revoked in red on grey, flagged in amber: what a reader of the register looks for."""
    cells = sheet.column_range(STATUS_COLUMN)
    sheet.ws.conditional_formatting.add(
        cells, CellIsRule(operator="equal", formula=[f'"{REVOKED}"'], fill=REVOKED_FILL,
                          font=REVOKED_FONT),
    )  # fmt: skip
    sheet.ws.conditional_formatting.add(
        cells, CellIsRule(operator="equal", formula=[f'"{FLAGGED}"'], fill=FLAGGED_FILL,
                          font=FLAGGED_FONT),
    )  # fmt: skip


def _stream_rows(session: Session, job: Job, selection: Selection, sheet: ReportSheet,
                 total: int) -> int:  # fmt: skip
    """Every selected certificate into ``sheet`` through one server-side cursor."""
    # A text statement through the Session leaves yield_per unused: the batch size is
    # given to the cursor's buffer and to partitions() themselves.
    result = session.execute(
        selection.statement(_ROWS), selection.params,
        execution_options={"stream_results": True, "max_row_buffer": BATCH},
    )  # fmt: skip
    done = 0
    try:
        for batch in result.partitions(BATCH):
            job.check_cancel()
            for found in batch:
                sheet.append(_row(found))
            done += len(batch)
            job.progress(done, total, f"{done:,} of {counted(total, 'certificate')}")
    finally:
        result.close()
    return done


@needs(Permission.EXPORT_REPORTS)
def write(session: Session, ctx: ServiceContext, job: Job, filters: ReportFilters,
          path: Path) -> ReportSaved:  # fmt: skip
    """The Certificates sheet (streamed) and the Summary by event; EmptyReport (and no
    file) when the filters choose no certificate."""
    job.progress(0, None, "Counting the certificates…")
    selection, summary, totals = _selected(session, ctx, filters)
    title = catalog.title_block(session, ctx, KIND, selection.filters_text(), totals.notes())
    with report_workbook(path, title) as workbook:
        certificates = workbook.sheet("Certificates", CERTIFICATE_COLUMNS,
                                      sheet_title="Certificates", freeze_columns=1)  # fmt: skip
        written = _stream_rows(session, job, selection, certificates, totals.certificates)
        certificates.when_closed(lambda: _status_formats(certificates))
        by_event = workbook.sheet("Summary", SUMMARY_COLUMNS, sheet_title="Summary by event")
        for row in summary:
            by_event.append(row[:7])
        job.check_cancel()
    return ReportSaved(path, tuple(s.ws.title for s in workbook.sheets), written + len(summary),
                       totals.line())  # fmt: skip
