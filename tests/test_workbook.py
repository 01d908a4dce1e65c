"""The one Excel writer: typed cells, text that never turns into a formula, the title
block and print set-up, and a failed save that leaves nothing behind."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.reports.workbook import SAMPLE_ROWS, CellKind, Column, TitleBlock, report_workbook

TITLE = TitleBlock("Hill School", "Test report", ("All courses", "1 Sep 2026 – 30 Nov 2026"),
                   datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "office", ("P present",))  # fmt: skip
COLUMNS = [Column("Name"), Column("Born", CellKind.DATE), Column("At", CellKind.TIME),
           Column("Rate", CellKind.PERCENT), Column("Count", CellKind.NUMBER)]  # fmt: skip


def test_cells_keep_their_types_and_text_stays_text(tmp_path):
    path = tmp_path / "r.xlsx"
    names = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
             "Zoë\x0bBell"]  # fmt: skip
    with report_workbook(path, TITLE) as book:
        sheet = book.sheet("People/2026", COLUMNS)
        for name in names:
            sheet.append([name, date(2011, 5, 4), time(9, 5), 0.875, 3])
    ws = load_workbook(path)["People 2026"]
    header = 7  # heading, school, filters, one note, made, blank, then the header
    assert not any(c.value for c in ws[header - 1])
    assert [c.value for c in ws[header]] == ["Name", "Born", "At", "Rate", "Count"]
    assert all(c.font.b for c in ws[header])
    assert ws.freeze_panes == f"A{header + 1}" and ws.print_title_rows == f"${header}:${header}"
    assert ws.auto_filter.ref == f"A{header}:E{header + len(names)}"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    rows = list(ws.iter_rows(min_row=header + 1))
    assert [r[0].value for r in rows] == names[:4] + ["ZoëBell"]
    assert all(r[0].data_type == "s" for r in rows)  # never a formula
    born, at, rate = rows[0][1], rows[0][2], rows[0][3]
    assert (
        born.is_date and born.value == datetime(2011, 5, 4) and born.number_format == "d mmm yyyy"
    )
    assert at.value == time(9, 5) and at.number_format == "hh:mm"
    assert rate.value == 0.875 and rate.number_format == "0%"
    assert ws["A1"].value == "Test report" and ws["A2"].value == "Hill School"
    assert ws["A3"].value == "All courses · 1 Sep 2026 – 30 Nov 2026"
    assert ws["A5"].value.startswith("Made 1 Dec 2026") and ws["A5"].value.endswith("by office")


def test_widths_are_fitted_on_the_first_rows_only(tmp_path):
    path = tmp_path / "r.xlsx"
    with report_workbook(path, TITLE) as book:
        sheet = book.sheet("Wide", [Column("Name"), Column("Code", width=5)])
        for n in range(SAMPLE_ROWS):
            sheet.append([f"Student {n}", "P"])
        sheet.append(["A very long name that came after the sample " * 3, "P"])
    ws = load_workbook(path)["Wide"]
    assert 10 < ws.column_dimensions["A"].width < 20
    assert ws.column_dimensions["B"].width == 5


def test_a_failed_report_leaves_no_file_and_no_temporary_files(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"the earlier report")
    before = set(Path(tempfile.gettempdir()).iterdir())
    with pytest.raises(RuntimeError), report_workbook(path, TITLE) as book:
        sheet = book.sheet("Rows", COLUMNS)
        for _ in range(SAMPLE_ROWS + 10):
            sheet.append(["x", None, None, None, 1])
        raise RuntimeError("cancelled")
    assert path.read_bytes() == b"the earlier report"
    assert list(tmp_path.iterdir()) == [path]
    assert set(Path(tempfile.gettempdir()).iterdir()) <= before


def test_sheet_names_are_made_valid_and_unique(tmp_path):
    path = tmp_path / "r.xlsx"
    with report_workbook(path, TITLE) as book:
        for name in ["Biology: 7A?", "Biology  7A ", "A" * 40, "A" * 40]:
            book.sheet(name, [Column("Name")]).append(["x"])
    assert load_workbook(path).sheetnames == ["Biology  7A", "Biology  7A (2)", "A" * 31,
                                              "A" * 27 + " (2)"]  # fmt: skip


def test_a_folder_that_cannot_be_written_is_one_clear_error_and_leaves_nothing(tmp_path):
    from app.savefile import FileNotSaved

    before = set(Path(tempfile.gettempdir()).iterdir())
    missing = tmp_path / "missing" / "r.xlsx"
    with (pytest.raises(FileNotSaved, match="could not be saved in .*Choose another folder"),
          report_workbook(missing, TITLE) as book):  # fmt: skip
        book.sheet("Rows", COLUMNS).append(["x", None, None, None, 1])
    assert set(Path(tempfile.gettempdir()).iterdir()) <= before
