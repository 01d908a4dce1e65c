"""File > Export: the list as shown (filters, order) to CSV, read by the database worker
from a plain description of the list, never from the Qt model."""

from __future__ import annotations

import csv
import threading
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import wait_loaded
from PySide6.QtWidgets import QFileDialog

from app.domain.errors import Cancelled
from app.jobs import Job
from app.services.enrollments import EnrollmentQuery
from app.services.students import StudentQuery, list_students
from ui.actions.export_list import (
    ListExport,
    describe_export,
    export_current_list,
    start_export,
    write_export,
)
from ui.models.enrollments import EnrollmentTableModel
from ui.models.paged import display_text
from ui.models.students import StudentTableModel, student_columns
from ui.ops import Op


class WatchedStudentModel(StudentTableModel):
    """Notes every attribute read from a thread other than the GUI thread."""

    worker_reads: ClassVar[list[str]] = []

    def __getattribute__(self, name: str):
        if threading.current_thread() is not threading.main_thread():
            WatchedStudentModel.worker_reads.append(name)
        return super().__getattribute__(name)


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _expected_students(db, query: StudentQuery) -> list[list[str]]:
    with db.sessions.begin() as session:
        page = list_students(session, db.context(), replace(query, offset=0, limit=1000))
    assert not page.has_more
    return [[display_text(c.value(row)) for c in student_columns()] for row in page.rows]


def test_export_writes_the_filtered_list_in_its_order_without_touching_the_model(
    qtbot, ops_hub, demo_school, db, tmp_path
):
    model = WatchedStudentModel()
    query = StudentQuery(status="active", sort="class_name", descending=True,
                         limit=model.PAGE_SIZE)  # fmt: skip
    model.set_query(query)
    wait_loaded(qtbot, model)
    WatchedStudentModel.worker_reads.clear()  # the model's own page loads are done
    path = tmp_path / "students.csv"
    done: list[str] = []

    start_export(None, describe_export(model), path, done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=20_000)

    assert WatchedStudentModel.worker_reads == []
    lines = _read_csv(path)
    assert lines[0] == [c.title for c in student_columns()]
    expected = _expected_students(db, query)
    assert 0 < len(expected) < 450  # the status filter left some students out
    assert lines[1:] == expected
    assert done == [f"Exported {len(expected):,} rows to students.csv."]
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel needs the BOM


def test_file_export_exports_the_enrollments_shown(qtbot, ops_hub, demo_school, tmp_path,
                                                   monkeypatch):  # fmt: skip
    model = EnrollmentTableModel()
    model.set_query(EnrollmentQuery(active=True, sort="progress", descending=True))
    wait_loaded(qtbot, model)
    target = tmp_path / "enrollments.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    done: list[str] = []

    export_current_list(None, model, "enrollments", done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=20_000)

    rows = _read_csv(target)[1:]
    assert len(rows) == model.rowCount()
    assert {row[2] for row in rows} == {"True"}  # only active enrollments
    progress = [int(row[5]) for row in rows]
    assert progress == sorted(progress, reverse=True)


def test_a_cancelled_export_leaves_no_file(qtbot, ops_hub, demo_school, tmp_path):
    model = StudentTableModel()
    model.reload()
    wait_loaded(qtbot, model)
    path = tmp_path / "students.csv"
    # Hold the worker so that Cancel is pressed before the export gets to run.
    release = threading.Event()
    Op(None, lambda s, ctx, job: release.wait(10), show_progress=False).run()
    op = start_export(None, describe_export(model), path, lambda _text: None)
    op.job.cancel()  # what the progress dialog's Cancel button does
    release.set()
    qtbot.waitUntil(lambda: not ops_hub.busy, timeout=20_000)
    assert list(tmp_path.iterdir()) == []


def test_cancel_between_batches_removes_the_partly_written_file(db, demo_school, tmp_path):
    columns = student_columns()
    export = ListExport(StudentQuery(), tuple(c.title for c in columns),
                        tuple(c.value for c in columns), StudentTableModel.source)  # fmt: skip
    path = tmp_path / "students.csv"
    reports = []

    def cancel_after_first_batch(report) -> None:
        reports.append(report)
        job.cancel()

    job = Job(cancel_after_first_batch, min_interval_s=0)
    with pytest.raises(Cancelled), db.sessions.begin() as session:
        write_export(session, db.context(), job, export, path, batch_size=50)
    assert [(r.done, r.total) for r in reports] == [(50, 450)]
    assert list(tmp_path.iterdir()) == []


def test_file_export_saves_a_workbook_with_the_lists_own_values(
    qtbot, ops_hub, demo_school, db, tmp_path, monkeypatch
):
    """File > Export offers an Excel workbook first: dates stay dates, numbers numbers,
    the header is frozen and filtered, and the title block names the school, the list
    and its filters."""
    from openpyxl import load_workbook

    model = EnrollmentTableModel()
    model.set_query(EnrollmentQuery(active=True, sort="progress", descending=True))
    wait_loaded(qtbot, model)
    offered: list[tuple] = []

    def dialog(*args, **kwargs):
        offered.append(args)
        return str(tmp_path / "enrollments"), args[3].split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    done: list[str] = []
    export_current_list(None, model, "Enrollments", done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=20_000)

    assert offered[0][3] == "Excel workbooks (*.xlsx);;CSV files (*.csv)"
    assert offered[0][2].endswith("enrollments.xlsx")
    sheet = load_workbook(tmp_path / "enrollments.xlsx")["Enrollments"]
    header = sheet.freeze_panes and int(sheet.freeze_panes[1:]) - 1
    assert [c.value for c in sheet[header]] == [c.title for c in model.columns]
    assert sheet.auto_filter.ref == f"A{header}:{chr(64 + len(model.columns))}{sheet.max_row}"
    assert sheet.max_row - header == model.rowCount()
    titles = [row[0].value for row in sheet.iter_rows(max_row=header - 1) if row[0].value]
    assert titles[0] == "Enrollments" and "Active: True · Sorted by progress (descending)" in titles
    first = [c.value for c in sheet[header + 1]]
    enrolled_on = [c.title for c in model.columns].index("Enrolled on")
    assert sheet.cell(header + 1, enrolled_on + 1).is_date
    assert first[2] == "Yes"  # active, in words
    progress = [row[5].value for row in sheet.iter_rows(min_row=header + 1)]
    assert all(isinstance(p, int | float) for p in progress)  # numbers, not text
    assert progress == sorted(progress, reverse=True)


def test_a_name_with_another_extension_gets_the_chosen_formats_and_asks_before_replacing(
    qtbot, tmp_path, monkeypatch
):
    """A CSV-only save (rejected rows, reports): "rejected.xlsx" is saved as
    "rejected.csv", never CSV text under an Excel name, and replacing an existing
    rejected.csv is asked first (the dialog only asked about the name typed)."""
    from PySide6.QtWidgets import QMessageBox

    from ui.actions.save_file import ask_save_path

    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "rejected.xlsx"), a[3]))  # fmt: skip
    assert ask_save_path(None, "Save", "rejected", folder_key="test/folder") == (
        tmp_path / "rejected.csv"
    )
    (tmp_path / "rejected.csv").write_text("kept")
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _parent, _title, text, *a, **k:
                        asked.append(text) or QMessageBox.StandardButton.No)  # fmt: skip
    assert ask_save_path(None, "Save", "rejected", folder_key="test/folder") is None
    assert "rejected.csv already exists" in asked[0]
    assert (tmp_path / "rejected.csv").read_text() == "kept"


def test_a_saved_export_gets_the_users_normal_permissions(
    qtbot, ops_hub, demo_school, tmp_path, monkeypatch
):
    import os

    model = EnrollmentTableModel()
    model.set_query(EnrollmentQuery(active=True))
    wait_loaded(qtbot, model)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(tmp_path / "registrations.csv"), ""))  # fmt: skip
    done: list[str] = []
    export_current_list(None, model, "Registrations", done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=20_000)
    assert done == [f"Exported {model.rowCount():,} rows to registrations.csv."]
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "registrations.csv").stat().st_mode & 0o777 == 0o666 & ~mask
