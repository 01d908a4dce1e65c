"""The window half of ``rollbook --self-test`` (the database half is app/self_test.py).

Opens the real main window (offscreen unless a Qt platform was chosen), types a search
into the Students page as a person would, exports the result as a small CSV report
through the same code as File > Export, and closes everything again.
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QSettings
from PySide6.QtWidgets import QApplication

from app.runtime import Database
from app.self_test import SampleStudent, SelfTest, StepFailed
from ui.actions.export_list import describe_export, write_export
from ui.ops import Op, install_hub

WAIT_S = 60.0


def window_steps(test: SelfTest, database: Database, sample: SampleStudent) -> None:
    assert test.workdir is not None
    app = hub = window = None
    try:
        with test.step("open main window"):
            app = _application(test.workdir)
            hub = install_hub(database, app)
            from ui.main_window import MainWindow

            window = MainWindow(database)
            window.show()
            page = window.pages[0]
            _wait_until(lambda: window.isVisible() and _settled(page.model), "the student list")
            test.check(not window.windowIcon().isNull(), "the window has no icon")
            everyone = page.model.rowCount()
            test.check(everyone > 0, "the student list is empty")
        with test.step("search"):
            window.show_page(0)
            page.search.setFocus()
            page.search.setText(sample.last_name)  # the page searches after a short pause
            _wait_until(lambda: page.model.query.search == sample.last_name
                        and _settled(page.model), "the search result")  # fmt: skip
            rows = [page.model.row_at(r) for r in range(page.model.rowCount())]
            found = {row.student_no for row in rows if row is not None}
            test.check(sample.student_no in found,
                       f"searching '{sample.last_name}' did not find {sample.full_name}")  # fmt: skip
            test.check(len(found) < everyone,
                       f"searching '{sample.last_name}' still lists all {everyone} students")  # fmt: skip
        with test.step("export report"):
            report = test.workdir / "students-report.csv"
            _export(window, page, report)
            with report.open(encoding="utf-8-sig", newline="") as handle:
                lines = list(csv.reader(handle))
            titles = [column.title for column in page.model.columns]
            test.check(lines[:1] == [titles], f"the report's header is {lines[:1]}")
            test.check(len(lines) - 1 == len(found),
                       f"the report has {len(lines) - 1} rows, the list {len(found)}")  # fmt: skip
            test.check(any(sample.student_no in line for line in lines[1:]),
                       f"{sample.full_name} is missing from the report")  # fmt: skip
    finally:
        with test.step("close window"):
            if window is not None:
                window.close()
                window.deleteLater()
            if hub is not None:
                hub.shutdown()
            if app is not None:
                QCoreApplication.sendPostedEvents()
                app.processEvents()


def _application(workdir: Path) -> QApplication:
    # Settings the window saves (geometry, column widths) go to the throwaway folder,
    # never to the person's own.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(workdir / "qt"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Rollbook")
    app.setApplicationName("Rollbook self-test")
    return app  # type: ignore[return-value]


def _settled(model) -> bool:
    return not model.is_loading and model.row_count_is_final


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    app = QCoreApplication.instance()
    while not condition():
        if time.monotonic() > deadline:
            raise StepFailed(f"{what} did not appear within {WAIT_S:.0f} s")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def _export(window, page, path: Path) -> None:
    outcome: dict[str, object] = {}
    export = describe_export(page.model)
    Op(
        window,
        lambda s, ctx, job: write_export(s, ctx, job, export, path),
        title="Exporting…",
    ).success(lambda count: outcome.setdefault("rows", count)).failure(
        lambda error: outcome.setdefault("error", error)
    ).run()
    _wait_until(lambda: bool(outcome), "the export")
    if "error" in outcome:
        raise StepFailed(f"the export failed: {outcome['error']}")
