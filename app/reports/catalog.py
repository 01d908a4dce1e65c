"""The reports Rollbook makes, and the one way to preview or write any of them.

The Reports page and ``rollbook export`` both go through ``preview_report`` and
``write_report`` with a ``ReportKind`` and ``ReportFilters``; each report lives in its own
module with a ``preview`` and a ``write`` function of the same shape. Reports only read:
they run in a read-only transaction and never change the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import School
from app.domain.context import ServiceContext
from app.jobs import Job
from app.reports.kinds import (
    DEFAULT_THRESHOLD,
    PREVIEW_ROWS,
    REPORTS,
    EmptyReport,
    ReportFilters,
    ReportInfo,
    ReportKind,
    ReportPreview,
    ReportSaved,
    report_info,
)
from app.reports.title import TitleBlock
from app.services.permissions import Permission, needs

__all__ = [
    "DEFAULT_THRESHOLD", "PREVIEW_ROWS", "REPORTS", "EmptyReport", "ReportFilters", "ReportInfo", "ReportKind", "ReportPreview",
    "ReportSaved", "preview_report", "report_info", "title_block", "write_report",
]  # fmt: skip


def _module(kind: ReportKind | str):
    # Imported here, not at the top: each report imports this module's title_block.
    # Named, not built from ReportInfo.module, so the desktop package's build finds them.
    from app.reports import (
        certificate_register,
        course_attendance,
        event_attendance,
        student_attendance,
    )

    modules = (course_attendance, student_attendance, event_attendance, certificate_register)
    return {m.__name__.rsplit(".", 1)[1]: m for m in modules}[report_info(kind).module]


@needs(Permission.VIEW)
def preview_report(session: Session, ctx: ServiceContext, kind: ReportKind | str,
                   filters: ReportFilters, limit: int = PREVIEW_ROWS) -> ReportPreview:  # fmt: skip
    """The first ``limit`` rows of the report's main sheet; EmptyReport when there are
    none."""
    filters.check()
    return _module(kind).preview(session, ctx, filters, limit)


@needs(Permission.EXPORT_REPORTS)
def write_report(session: Session, ctx: ServiceContext, job: Job, kind: ReportKind | str,
                 filters: ReportFilters, path: Path) -> ReportSaved:  # fmt: skip
    """Write the report to ``path`` (saved whole or not at all; Cancel through ``job``)."""
    filters.check()
    return _module(kind).write(session, ctx, job, filters, path)


@needs(Permission.VIEW)
def title_block(session: Session, ctx: ServiceContext, kind: ReportKind | str,
                filters: tuple[str, ...], notes: tuple[str, ...] = ()) -> TitleBlock:  # fmt: skip
    """The block above every sheet's header: school, report, filters, made when and by.
    ``kind`` is a report of the catalog, or the name of a list (File > Export)."""
    school = session.scalar(select(School.name).where(School.id == ctx.school_id)) or ""
    name = report_info(kind).title if isinstance(kind, ReportKind) else kind
    return TitleBlock(
        school=school, report=name, filters=filters,
        made_at=datetime.now(UTC), made_by=ctx.actor, notes=notes,
    )  # fmt: skip
