"""What every sheet of a report says about itself above its header row.

Kept apart from the Excel writer so the command line can describe reports without
loading openpyxl (half a second) for commands that never write one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LineRole(StrEnum):
    HEADING = "heading"
    SCHOOL = "school"
    DETAIL = "detail"
    STAMP = "stamp"


def excel_datetime(value: datetime) -> datetime:
    """A workbook has no time zones: an aware time becomes this computer's local time."""
    return value.astimezone().replace(tzinfo=None) if value.tzinfo is not None else value


@dataclass(frozen=True)
class TitleBlock:
    school: str
    report: str
    filters: tuple[str, ...]  # "Courses: Biology, Chemistry", "1 Sep 2026 – 30 Nov 2026"
    made_at: datetime
    made_by: str
    notes: tuple[str, ...] = ()  # e.g. the legend of the attendance codes

    def lines(self, sheet_title: str | None) -> list[tuple[str, LineRole]]:
        """The block's lines for a sheet: its heading names the sheet's subject."""
        heading = f"{self.report} — {sheet_title}" if sheet_title else self.report
        lines = [(heading, LineRole.HEADING), (self.school, LineRole.SCHOOL)]
        if self.filters:
            lines.append((" · ".join(self.filters), LineRole.DETAIL))
        lines.extend((note, LineRole.DETAIL) for note in self.notes)
        made = excel_datetime(self.made_at)
        stamp = f"Made {made:%-d %b %Y %H:%M}" + (f" by {self.made_by}" if self.made_by else "")
        lines.append((stamp, LineRole.STAMP))
        return lines
