"""Walking the import wizard end to end on a messy, Excel-saved roster."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QWizard
from sqlalchemy import func, select

from app.db.models import CourseEnrollment, Student
from ui.main_window import MainWindow
from ui.wizards.csv_import import CsvImportWizard

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Windows-1252, semicolons, a BOM-less header with odd spacing, a blank line, trailing
# empty columns, an Excel-mangled number and a bad e-mail.
MESSY = (
    "Enrollment No ; First Name;Last Name;E-mail;Class;Course Name;Status;;\r\n"
    "000201;Zoë;Müller;zoe@example.org;7A;Art & Design;active;;\r\n"
    "000202;François;Dupré;francois@example.org;7B;Art & Design;active;;\r\n"
    "\r\n"
    "000202;François;Dupré;francois@example.org;7B;Biology;active;;\r\n"
    "2.2E+11;Ann;Lost;ann@example.org;7B;Biology;active;;\r\n"
    "000204;Seán;O'Neill;sean-at-example;7C;Biology;active;;\r\n"
)


def shot(wizard: QWizard, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wizard.grab().save(str(ARTIFACTS / f"import_{name}.png"))


def walk_to_validation(qtbot, wizard: CsvImportWizard) -> None:
    """File, format and columns, each page as it finishes reading."""
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.format_page, timeout=10_000)
    wizard.next()
    qtbot.waitUntil(wizard.mapping_page.isComplete, timeout=20_000)
    wizard.next()
    qtbot.waitUntil(wizard.validation_page.isComplete, timeout=20_000)


def test_wizard_end_to_end(qtbot, ops_hub, db, tmp_path):
    path = tmp_path / "messy-roster.csv"
    path.write_bytes(MESSY.encode("windows-1252"))
    wizard = CsvImportWizard(None, str(path))
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    shot(wizard, "1_file")

    wizard.next()  # the file is read on the file worker; the wizard moves on when it is
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.format_page, timeout=10_000)
    qtbot.waitUntil(lambda: wizard.format_page.columns.rowCount() > 0, timeout=10_000)
    assert wizard.format_page.encoding.currentText() == "windows-1252"
    assert wizard.format_page.delimiter.currentData() == ";"
    assert "Windows-1252" in wizard.format_page.warning.text()
    assert "Zoë" in wizard.format_page.raw.toPlainText()
    shot(wizard, "2_format")

    wizard.next()
    assert wizard.currentPage() is wizard.mapping_page
    qtbot.waitUntil(wizard.mapping_page.isComplete, timeout=10_000)
    chosen = [c.currentText() for c in wizard.mapping_page.combos]
    assert chosen == ["Student number", "First name", "Last name", "E-mail", "Class", "Course",
                      "Status"]  # fmt: skip
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    shot(wizard, "3_columns")

    wizard.next()
    page = wizard.validation_page
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    assert "rejected" in page.counts.text()
    problems = [
        page.rows.item(r, page.rows.columnCount() - 1).text() for r in range(page.rows.rowCount())
    ]
    assert any("scientific notation" in p for p in problems)
    assert any("not a valid e-mail" in p for p in problems)
    shot(wizard, "4_validation")

    wizard.next()
    plan = wizard.plan_page
    qtbot.waitUntil(plan.isComplete, timeout=10_000)
    assert wizard.button(QWizard.WizardButton.NextButton).text().replace("&", "") == "Import"
    outcome = wizard.state.plan
    assert (outcome.created, outcome.enrollments_created, outcome.courses_created) == (2, 3, 2)
    with db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 0  # still nothing written
    shot(wizard, "5_preview")

    wizard.next()  # Import
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=15_000)
    summary = wizard.summary_page
    assert "2 students created" in summary.text.text()
    assert summary.save_button.isVisible()
    shot(wizard, "6_summary")
    rejected = tmp_path / "rejected.csv"
    summary.save_rejected(path=str(rejected))
    lines = rejected.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 3 and lines[0].endswith("line,error")

    with db.sessions.begin() as s:
        assert set(s.scalars(select(Student.student_no))) == {"000201", "000202"}
        assert s.scalar(select(func.count()).select_from(CourseEnrollment)) == 3


def test_cancel_during_import_changes_nothing(qtbot, ops_hub, db, tmp_path):
    rows = "".join(f"S{n:05d},Student {n},s{n}@example.org,Course {n % 7}\n" for n in range(20_000))
    path = tmp_path / "big.csv"
    path.write_text("student_no,name,email,course\n" + rows)
    wizard = CsvImportWizard(None, str(path))
    qtbot.addWidget(wizard)
    wizard.show()
    walk_to_validation(qtbot, wizard)
    wizard.next()
    qtbot.waitUntil(wizard.plan_page.isComplete, timeout=30_000)
    wizard.next()
    wizard.apply_page.cancel()
    qtbot.waitUntil(lambda: wizard.apply_page._done, timeout=30_000)
    assert "Nothing was imported" in wizard.apply_page.label.text()
    with db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 0


def test_dropping_a_csv_on_the_window_opens_the_wizard(qtbot, ops_hub, database, tmp_path):
    path = tmp_path / "dropped.csv"
    path.write_text("student_no,name\nS1,Anna Kowalska\n")
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    window.dropEvent(event)
    wizard = window.import_wizard
    assert isinstance(wizard, CsvImportWizard)
    assert wizard.pick.path_edit.text() == str(path)
    wizard.close()
    QApplication.processEvents()


def test_wizard_imports_a_oneroster_zip(qtbot, ops_hub, db, tmp_path):
    import zipfile

    from test_import_oneroster import FILES

    zipped = tmp_path / "oneroster.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for name, text in FILES.items():
            archive.writestr(name, text)
    wizard = CsvImportWizard(None, str(zipped))
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    # no format or column steps
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.plan_page, timeout=10_000)
    qtbot.waitUntil(wizard.plan_page.isComplete, timeout=10_000)
    assert wizard.state.plan.created == 3
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=15_000)
    with db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == 3


def test_the_wizard_never_touches_the_file_on_the_window_thread(qtbot, ops_hub, db, tmp_path):
    """Opening, sniffing, the format preview, reading and validating a roster all run on
    the file worker: the window's thread never opens the file (Python's audit hook sees
    every open, whoever makes it)."""
    import sys
    import threading

    path = tmp_path / "watched-roster.csv"
    path.write_bytes(MESSY.encode("windows-1252"))
    opened: list[str] = []
    watching = [True]

    def audit(event: str, args: tuple) -> None:
        if watching[0] and event == "open" and str(args[0]) == str(path):
            opened.append(threading.current_thread().name)

    sys.addaudithook(audit)  # hooks cannot be removed; ``watching`` switches it off
    try:
        wizard = CsvImportWizard(None, str(path))
        qtbot.addWidget(wizard)
        wizard.show()
        walk_to_validation(qtbot, wizard)
        wizard.format_page.encoding.setCurrentText("latin-1")  # a new preview, read again
        wizard.back()
        wizard.back()
        qtbot.waitUntil(lambda: wizard.currentPage() is wizard.format_page, timeout=5000)
        wizard.format_page.encoding.setCurrentText("utf-8")
        qtbot.wait(300)
    finally:
        watching[0] = False
    assert opened, "the roster was never read at all"
    assert threading.main_thread().name not in opened
    assert set(opened) == {name for name in opened if name.startswith("rollbook-files")}
