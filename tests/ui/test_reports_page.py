"""The Reports page: the four reports with the filters each uses, a preview of the first
rows, a calm line for an empty report, Export… to a workbook with progress and Cancel,
and the bar that opens what was saved."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from attendance_setup import build_school
from event_setup import FAIR_DAYS, add_event, attend, register
from mnemonics import letters_used, mnemonic_clashes
from openpyxl import load_workbook
from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QPushButton
from sqlalchemy import text

from app.reports import catalog
from app.reports.catalog import ReportKind
from app.services.attendance import Mark, save_marks
from ui.main_window import MainWindow
from ui.ops import Op
from ui.pages.reports import ReportsPage

AUTUMN = (date(2026, 9, 1), date(2026, 12, 31))  # the small school's lessons and fair
FILTERS_SHOWN = {
    ReportKind.COURSE_ATTENDANCE: ["courses", "classes", "dates", "threshold"],
    ReportKind.STUDENT_ATTENDANCE: ["classes", "student_no", "dates", "threshold"],
    ReportKind.EVENT_ATTENDANCE: ["events"],
    ReportKind.CERTIFICATES: ["events", "dates"],
}


@pytest.fixture
def small_school(db) -> dict:
    """attendance_setup's Biology class of 7A with a few marks, and a Science Fair three
    of them registered for: two came both days, and Ada holds a certificate."""
    ctx = db.context()
    with db.sessions.begin() as s:
        built = build_school(s, ctx)
        enrolled = built["enrollments"]
        save_marks(s, ctx, built["september"], [Mark(enrolled["S1"], "present"),
                                                Mark(enrolled["S3"], "late", minutes_late=5)])  # fmt: skip
        save_marks(s, ctx, built["november"], [Mark(enrolled["S1"], "absent")])
        student = dict(s.execute(text("SELECT student_no, id FROM student")).all())
        fair = add_event(s, ctx, "Science Fair", *FAIR_DAYS, min_days=2)
        for n, number in enumerate(("S1", "S2", "S3"), start=1):
            registration = register(s, ctx, fair, student[number], f"REG-2026-{n:05d}")
            if number != "S2":
                attend(s, ctx, registration, *FAIR_DAYS)
            if number == "S1":
                s.execute(text("INSERT INTO certificate (id, school_id, registration_id, kind, "
                               "certificate_no) VALUES (gen_random_uuid(), :s, :r, "
                               "'participation', 'CERT-2026-00001')"),
                          {"s": ctx.school_id, "r": registration})  # fmt: skip
    return built


def open_page(qtbot, width: int = 1280, height: int = 720) -> ReportsPage:
    page = ReportsPage()
    qtbot.addWidget(page)
    page.resize(width, height)
    page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: page.report_list.count() == len(catalog.REPORTS), timeout=10_000)
    return page


def settle(qtbot, page: ReportsPage) -> None:
    """Until the preview for the filters as they are is on the page."""
    qtbot.waitUntil(lambda: not page.preview_pending(), timeout=15_000)


def choose(qtbot, page: ReportsPage, kind: ReportKind, **fields: str) -> None:
    """Pick the report, fill the fields named (the rest as they are), and wait for the
    preview."""
    assert page.report_list.choose(kind.value)
    for name, value in fields.items():
        getattr(page, name).setText(value)
    page.preview(force=True)
    settle(qtbot, page)


def shown_rows(page: ReportsPage) -> list[list[str]]:
    table = page.table
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]  # fmt: skip


def headers(page: ReportsPage) -> list[str]:
    table = page.table
    return [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]


def hold_the_worker() -> threading.Event:
    """Occupy the one database worker (as a slow report would) until the event is set."""
    released = threading.Event()
    Op(None, lambda s, ctx, job: released.wait(20), show_progress=False, read_only=True).run()
    return released


# ---------------------------------------------------------------- the reports and filters
def test_each_report_shows_the_filters_it_uses_with_a_letter_each(qtbot, ops_hub):
    page = open_page(qtbot)
    titles = [page.report_list.item(r).text() for r in range(page.report_list.count())]
    assert titles == [info.title for info in catalog.REPORTS.values()]
    letters: dict[str, set[str]] = {}
    for kind, expected in FILTERS_SHOWN.items():
        assert page.report_list.choose(kind.value)
        assert page.shown_filters() == expected, kind
        assert mnemonic_clashes(page) == {}, kind
        letters[kind] = set(letters_used(page))
    # Every letter a filter label uses is its own across the reports too (the window's
    # menus take F, V, T and H).
    assert not set().union(*letters.values()) & {"f", "v", "t", "h"}
    # The report chosen last is chosen again next time.
    assert QSettings().value("reports/report") == ReportKind.CERTIFICATES.value
    again = open_page(qtbot)
    assert again.report_list.chosen() == ReportKind.CERTIFICATES.value


def test_the_threshold_is_a_percent_and_remembered(qtbot, ops_hub):
    page = open_page(qtbot)
    assert page.threshold.value() == 80 and page.threshold.suffix() == " %"
    page.threshold.setValue(75)
    assert open_page(qtbot).threshold.value() == 75


def test_the_dates_default_to_the_school_year_so_far_and_all_dates_sets_them_aside(qtbot, ops_hub):
    page = open_page(qtbot)
    first, last = page.dates.chosen()
    today = date.today()
    assert last == today and first.month == 9 and first.day == 1 and 0 < (today - first).days < 366
    page.dates.all_dates.setChecked(True)
    assert page.dates.chosen() == (None, None)
    assert not page.dates.date_from.isEnabled() and not page.dates.date_to.isEnabled()
    page.dates.all_dates.setChecked(False)
    assert page.dates.chosen() == (first, last)


# ---------------------------------------------------------------- preview
def test_the_preview_shows_the_first_rows_of_each_report(qtbot, ops_hub, small_school):
    page = open_page(qtbot)
    page.dates.set_range(*AUTUMN)

    choose(qtbot, page, ReportKind.COURSE_ATTENDANCE)
    assert headers(page)[:3] == ["Course", "Class", "Sessions held"]
    assert [row[0] for row in shown_rows(page)] == ["Biology"]
    assert "1 course" in page.summary.text() and page.export_button.isEnabled()
    page.grab().save("/tmp/reports_page_1.png")

    choose(qtbot, page, ReportKind.STUDENT_ATTENDANCE, classes="7A")
    assert headers(page)[:4] == ["Student no", "Name", "Class", "Course"]
    assert {row[0] for row in shown_rows(page)} >= {"S1", "S3"}
    rates = [row[headers(page).index("Rate")] for row in shown_rows(page)]
    assert all(rate.endswith("%") for rate in rates if rate)  # rates read as percent
    page.grab().save("/tmp/reports_page_2.png")

    choose(qtbot, page, ReportKind.EVENT_ATTENDANCE, events="Science Fair")
    assert [row[1] for row in shown_rows(page)] == ["S1", "S2", "S3"]
    assert page.table.isVisible() and not page.message.isVisible()
    page.grab().save("/tmp/reports_page_3.png")
    page.preview_limit = 2
    page.preview(force=True)
    settle(qtbot, page)
    assert [row[1] for row in shown_rows(page)] == ["S1", "S2"]
    assert page.summary.text().endswith(" — showing the first 2 of 3 rows")

    page.dates.all_dates.setChecked(True)
    choose(qtbot, page, ReportKind.CERTIFICATES, events="Science Fair")
    assert [row[0] for row in shown_rows(page)] == ["CERT-2026-00001"]
    assert page.summary.text() == "1 certificate · 1 event"

    page.grab().save("/tmp/reports_page_4.png")


def test_the_preview_follows_the_filters_a_moment_after_they_change(qtbot, ops_hub, small_school):
    page = open_page(qtbot)
    page.dates.set_range(*AUTUMN)
    choose(qtbot, page, ReportKind.EVENT_ATTENDANCE, events="")
    assert "Choose the event" in page.problem.text()
    page.events.setFocus()
    qtbot.keyClicks(page.events, "Science Fair")
    assert page.preview_pending()  # waiting for the typing to pause
    settle(qtbot, page)
    assert not page.problem.isVisible()
    assert len(shown_rows(page)) == 3


def test_an_empty_report_says_so_calmly_and_export_waits(qtbot, ops_hub, small_school):
    page = open_page(qtbot)
    page.dates.set_range(date(2020, 1, 1), date(2020, 6, 30))
    choose(qtbot, page, ReportKind.COURSE_ATTENDANCE)
    assert page.message.isVisible() and not page.table.isVisible()
    assert "nothing to export" in page.message.text()
    assert not page.problem.isVisible()  # not an error: the filters are fine
    assert not page.export_button.isEnabled()
    page.grab().save("/tmp/reports_page_empty.png")
    # Ctrl+E (the window's Export) says why instead of asking for a file.
    said: list[str] = []
    page.status_message.connect(said.append)
    page.export()
    assert said and "nothing to export" in said[0]


def test_a_filter_the_report_cannot_use_is_said_in_one_red_line(qtbot, ops_hub, small_school):
    page = open_page(qtbot)
    page.dates.set_range(*AUTUMN)
    choose(qtbot, page, ReportKind.COURSE_ATTENDANCE, courses="Biologie")
    assert page.problem.isVisible() and "Biologie" in page.problem.text()
    assert "Biology" in page.problem.text()  # the closest name
    assert not page.export_button.isEnabled()
    page.grab().save("/tmp/reports_page_problem.png")
    choose(qtbot, page, ReportKind.COURSE_ATTENDANCE, courses="biology")  # any case
    assert not page.problem.isVisible() and page.export_button.isEnabled()


def test_a_newer_preview_replaces_the_one_queued(qtbot, ops_hub, small_school, monkeypatch):
    page = open_page(qtbot)
    page.dates.set_range(*AUTUMN)
    choose(qtbot, page, ReportKind.EVENT_ATTENDANCE, events="Science Fair")
    asked: list[tuple[str, ...]] = []
    real = catalog.preview_report

    def watched(session, ctx, kind, filters, limit=catalog.PREVIEW_ROWS):
        asked.append(filters.events)
        return real(session, ctx, kind, filters, limit)

    monkeypatch.setattr(catalog, "preview_report", watched)
    released = hold_the_worker()
    for typed in ("Sci", "Science", "Science Fair, "):
        page.events.setText(typed)
        page.preview()
    released.set()
    settle(qtbot, page)
    assert asked == [("Science Fair",)]  # the two before it never ran
    assert len(shown_rows(page)) == 3


# ---------------------------------------------------------------- completion
def test_names_complete_one_after_another(qtbot, ops_hub, small_school):
    page = open_page(qtbot)
    assert page.report_list.choose(ReportKind.COURSE_ATTENDANCE.value)
    qtbot.waitUntil(lambda: page.courses.names() == ["Biology"], timeout=10_000)
    assert page.classes.names() == ["7A"]
    page.courses.setFocus()
    qtbot.keyClicks(page.courses, "iol")  # any part of the name
    popup = page.courses.completer_.popup()
    qtbot.waitUntil(popup.isVisible, timeout=5000)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert page.courses.text() == "Biology, "
    assert page.courses.values() == ("Biology",)
    # A listed name with a comma in it is one name; other names are kept as typed.
    page.courses.set_names(["Art, Design & Technology", "Biology"])
    page.courses.setText("biology, Art, Design & Technology, Chemistry,")
    assert page.courses.values() == ("Biology", "Art, Design & Technology", "Chemistry")


def test_a_student_is_found_by_name_and_picked_by_number(qtbot, ops_hub, small_school):
    page = open_page(qtbot)
    assert page.report_list.choose(ReportKind.STUDENT_ATTENDANCE.value)
    page.student.setFocus()
    qtbot.keyClicks(page.student, "Cleo")
    popup = page.student.completer_.popup()
    qtbot.waitUntil(popup.isVisible, timeout=10_000)
    assert page.student.matches.item(0).text() == "S3 — Cleo Marsh, 7A"
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert page.student.text() == "S3"
    page.dates.set_range(*AUTUMN)
    page.preview(force=True)
    settle(qtbot, page)
    assert {row[0] for row in shown_rows(page)} == {"S3"}


def test_events_sharing_a_name_are_told_apart_by_their_date(qtbot, ops_hub, small_school, db):
    with db.sessions.begin() as s:
        earlier = add_event(s, db.context(), "Science Fair", date(2025, 10, 11))
    page = open_page(qtbot)
    assert page.report_list.choose(ReportKind.EVENT_ATTENDANCE.value)
    qtbot.waitUntil(lambda: len(page.events.names()) == 2, timeout=10_000)
    assert sorted(page.events.names()) == ["Science Fair (10 Oct 2026)",
                                           "Science Fair (11 Oct 2025)"]  # fmt: skip
    page.events.setText("Science Fair (11 Oct 2025)")
    assert page.events.values() == (str(earlier),)


# ---------------------------------------------------------------- export
def _answer_save_dialog(monkeypatch, chosen: Path) -> list[str]:
    """The save dialog answers ``chosen``; the returned list gets the name it offered."""
    offered: list[str] = []

    def dialog(_parent, _title, suggested, *_args, **_kwargs):
        offered.append(suggested)
        return str(chosen), "Excel workbooks (*.xlsx)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    return offered


def test_export_writes_a_workbook_and_the_bar_opens_it(
    qtbot, ops_hub, small_school, tmp_path, monkeypatch
):
    page = open_page(qtbot)
    page.dates.set_range(*AUTUMN)
    choose(qtbot, page, ReportKind.COURSE_ATTENDANCE)
    offered = _answer_save_dialog(monkeypatch, tmp_path / "autumn")  # typed without .xlsx
    page.export_button.click()
    qtbot.waitUntil(page.result_bar.isVisible, timeout=20_000)

    saved = tmp_path / "autumn.xlsx"
    assert offered == [str(Path.home() / "course-attendance.xlsx")]
    book = load_workbook(saved, read_only=True)
    sheets = book.sheetnames
    book.close()
    assert len(sheets) >= 2 and any("Biology" in name for name in sheets)
    text_shown = page.result_bar.text.text()
    assert text_shown.startswith(f"Saved autumn.xlsx ({len(sheets)} sheets, ")
    assert text_shown.endswith(" rows)")
    assert page.result_bar.outcome() == "saved"
    assert page.export_button.isEnabled()
    assert QSettings().value("folders/reports") == str(tmp_path)
    page.grab().save("/tmp/reports_page_saved.png")

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    page.result_bar.open_button.click()
    page.result_bar.folder_button.click()
    assert [url.toLocalFile() for url in opened] == [str(saved), str(tmp_path)]

    # The next save starts in the folder used, with the report's own name.
    assert page.report_list.choose(ReportKind.EVENT_ATTENDANCE.value)
    assert not page.result_bar.isVisible()  # it was about the report left
    choose(qtbot, page, ReportKind.EVENT_ATTENDANCE, events="Science Fair")
    offered = _answer_save_dialog(monkeypatch, tmp_path / "fair.xlsx")
    page.export()
    qtbot.waitUntil(page.result_bar.isVisible, timeout=20_000)
    assert offered == [str(tmp_path / "event-attendance.xlsx")]
    assert (tmp_path / "fair.xlsx").exists()


def test_a_corrected_name_that_exists_is_asked_about_first(
    qtbot, ops_hub, small_school, tmp_path, monkeypatch
):
    page = open_page(qtbot)
    page.dates.set_range(*AUTUMN)
    choose(qtbot, page, ReportKind.COURSE_ATTENDANCE)
    existing = tmp_path / "autumn.xlsx"
    existing.write_bytes(b"keep me")
    _answer_save_dialog(monkeypatch, tmp_path / "autumn.csv")
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda _parent, _title, question, *a, **k:
                        asked.append(question) or QMessageBox.StandardButton.No)  # fmt: skip
    page.export()
    assert asked and "autumn.xlsx already exists" in asked[0]
    assert existing.read_bytes() == b"keep me"
    assert not page.export_running() and not page.result_bar.isVisible()


def test_cancel_leaves_no_file_and_says_so(qtbot, ops_hub, small_school, tmp_path, monkeypatch):
    page = open_page(qtbot)
    page.dates.set_range(*AUTUMN)
    choose(qtbot, page, ReportKind.COURSE_ATTENDANCE)
    _answer_save_dialog(monkeypatch, tmp_path / "autumn.xlsx")
    released = hold_the_worker()  # the save waits behind it, long enough to be cancelled
    page.export()
    assert page.export_running() and not page.export_button.isEnabled()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in page.findChildren(QProgressDialog)),
                    timeout=5000)  # fmt: skip
    progress = next(d for d in page.findChildren(QProgressDialog) if d.isVisible())
    assert progress.labelText() == "Saving autumn.xlsx…"
    cancel = next(b for b in progress.findChildren(QPushButton) if b.text() == "Cancel")
    cancel.click()
    released.set()
    qtbot.waitUntil(page.result_bar.isVisible, timeout=20_000)
    assert page.result_bar.text.text() == "Cancelled; nothing was saved."
    assert page.result_bar.outcome() == "not-saved"
    assert not page.result_bar.open_button.isVisible()
    assert list(tmp_path.iterdir()) == []  # no file, no half-written temporary either
    assert page.export_button.isEnabled()
    page.grab().save("/tmp/reports_page_cancelled.png")


# ---------------------------------------------------------------- in the window
def test_the_window_shows_the_page_and_hands_it_f5_and_ctrl_e(qtbot, ops_hub, database):
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)  # or Ctrl+8 goes nowhere
    page = next(p for p in window.pages if isinstance(p, ReportsPage))
    number = window.pages.index(page) + 1
    assert number == 8  # after the Audit log, Ctrl+7
    view = next(a for a in window.menuBar().actions() if a.text() == "&View").menu()
    item = next(a for a in view.actions() if a.text() == "Re&ports")
    assert item.shortcut().toString() == f"Ctrl+{number}"
    qtbot.keyClick(window, Qt.Key(Qt.Key.Key_0 + number), Qt.KeyboardModifier.ControlModifier)
    assert window.current_page is page
    qtbot.waitUntil(page.report_list.hasFocus, timeout=5000)
    qtbot.waitUntil(lambda: page.report_list.count() == len(catalog.REPORTS), timeout=10_000)
    called: list[str] = []
    page.refresh = lambda: called.append("refresh")
    page.export = lambda: called.append("export")
    qtbot.keyClick(page.report_list, Qt.Key.Key_F5)
    qtbot.keyClick(page.report_list, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert called == ["refresh", "export"]
    window.close()  # the page has no list whose columns are remembered: closing is fine


def test_a_change_made_elsewhere_is_in_the_preview_when_the_page_is_shown_again(
    qtbot, ops_hub, small_school, db
):
    page = open_page(qtbot)
    choose(qtbot, page, ReportKind.EVENT_ATTENDANCE, events="Science Fair")
    assert "2 attended" in page.summary.text()
    page.hide()  # another page is shown, where Ben is checked in for the first day
    ben = text("SELECT r.id FROM event_registration r WHERE r.registration_no = 'REG-2026-00002'")
    done: list[bool] = []
    Op(None, lambda s, ctx, job: attend(s, ctx, s.scalar(ben), FAIR_DAYS[0]),
       show_progress=False).success(lambda _r: done.append(True)).run()  # fmt: skip
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)
    assert "2 attended" in page.summary.text()  # nobody reads a hidden page's preview
    page.show()
    qtbot.waitUntil(lambda: "3 attended" in page.summary.text(), timeout=10_000)
    assert shown_rows(page)[1][6] == "Yes"  # Ben's first day


def test_the_keyboard_goes_from_the_reports_through_the_filters(qtbot, ops_hub):
    page = open_page(qtbot)
    assert page.report_list.choose(ReportKind.EVENT_ATTENDANCE.value)
    page.activateWindow()
    page.focus_start()
    qtbot.waitUntil(page.report_list.hasFocus, timeout=5000)
    qtbot.keyClick(page.report_list, Qt.Key.Key_Down)  # the arrows choose the report
    assert page.report_list.chosen() == ReportKind.CERTIFICATES.value
    assert page.shown_filters() == ["events", "dates"]
    qtbot.keyClick(page.report_list, Qt.Key.Key_Tab)
    assert page.events.hasFocus()
    qtbot.keyClick(page.events, Qt.Key.Key_Tab)
    assert page.dates.date_from.hasFocus()
    qtbot.keyClick(page.dates.date_from, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    assert page.dates.date_from.hasFocus()  # Alt+D: the first date of the range
    qtbot.keyClick(page.dates.date_from, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    assert page.report_list.hasFocus()  # Alt+R: back to the reports
