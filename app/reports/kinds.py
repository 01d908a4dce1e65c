"""The reports Rollbook makes and what they are asked for: names, filters, results.

Kept free of the database layer so the command line can list the reports and parse
their options without loading it; app.reports.catalog previews and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from app.domain.errors import RollbookError, ValidationError

PREVIEW_ROWS = 50
DEFAULT_THRESHOLD = 0.8


class ReportKind(StrEnum):
    COURSE_ATTENDANCE = "attendance"
    STUDENT_ATTENDANCE = "student-attendance"
    EVENT_ATTENDANCE = "event-attendance"
    CERTIFICATES = "certificates"


@dataclass(frozen=True)
class ReportInfo:
    kind: ReportKind
    title: str  # "Course attendance"
    description: str  # one line for the Reports page
    module: str  # app.reports.<module> with preview() and write()
    filters: tuple[str, ...]  # which ReportFilters fields it uses (the page shows those)
    suggested_name: str  # the file name offered when saving


REPORTS: dict[ReportKind, ReportInfo] = {
    info.kind: info
    for info in (
        ReportInfo(
            ReportKind.COURSE_ATTENDANCE, "Course attendance",
            "A sheet per course: students by session date with P/A/L/E, totals and rates; "
            "a summary with a chart, and the sessions.",
            "course_attendance", ("courses", "classes", "date_from", "date_to", "threshold"),
            "course-attendance.xlsx",
        ),
        ReportInfo(
            ReportKind.STUDENT_ATTENDANCE, "Student attendance",
            "One student, or a class, across all their courses: for parents' evenings.",
            "student_attendance", ("student_no", "classes", "date_from", "date_to", "threshold"),
            "student-attendance.xlsx",
        ),
        ReportInfo(
            ReportKind.EVENT_ATTENDANCE, "Event attendance",
            "Per event: registrations and teams, check-in per day, certificate eligibility "
            "and feedback.",
            "event_attendance", ("events",), "event-attendance.xlsx",
        ),
        ReportInfo(
            ReportKind.CERTIFICATES, "Certificate register",
            "Every certificate issued (and revoked) for the chosen events or dates, with "
            "counts by event and kind.",
            "certificate_register", ("events", "date_from", "date_to"),
            "certificate-register.xlsx",
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class ReportFilters:
    """What a report covers. Empty means "all"; each report uses the fields it lists."""

    courses: tuple[str, ...] = ()  # course names
    classes: tuple[str, ...] = ()  # class names ("7A")
    student_no: str | None = None
    events: tuple[str, ...] = ()  # event names or ids
    date_from: date | None = None
    date_to: date | None = None
    threshold: float = DEFAULT_THRESHOLD  # rates under it are highlighted

    def check(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError(
                "date", f"The range starts on {self.date_from:%-d %b %Y}, after it ends on "
                f"{self.date_to:%-d %b %Y}; swap the dates."
            )  # fmt: skip
        if not 0 < self.threshold <= 1:
            raise ValidationError(
                "threshold", f"The threshold is a rate between 0 and 1 (0.8 for 80%), "
                f"not {self.threshold:g}."
            )  # fmt: skip

    def range_text(self) -> str | None:
        """The date range in words, or None when the report covers all dates."""
        if self.date_from and self.date_to:
            return f"{self.date_from:%-d %b %Y} – {self.date_to:%-d %b %Y}"
        if self.date_from:
            return f"From {self.date_from:%-d %b %Y}"
        if self.date_to:
            return f"Up to {self.date_to:%-d %b %Y}"
        return None


@dataclass(frozen=True)
class ReportPreview:
    """The first rows of a report's main sheet, as the page shows them before saving."""

    kind: ReportKind
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]  # plain values: str, int, float, date, None
    total_rows: int  # rows the main sheet will have
    summary: str  # one line: "3 courses · 45 sessions · 812 students"


@dataclass(frozen=True)
class ReportSaved:
    path: Path
    sheets: tuple[str, ...]
    rows: int  # data rows written over all sheets
    summary: str


class EmptyReport(RollbookError):
    """The filters select nothing: said in one line, and no file is written."""


def report_info(kind: ReportKind | str) -> ReportInfo:
    return REPORTS[ReportKind(kind)]
