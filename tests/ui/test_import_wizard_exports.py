"""The import wizard on other systems' exports: columns it will not import are named,
a mapping is remembered per header layout, month-first dates are worked out, and a
School Data Sync folder imports like OneRoster."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWizard
from sqlalchemy import func, select

from app.db.models import CourseEnrollment, Student
from ui.wizards.csv_import import CsvImportWizard

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DATA = Path(__file__).resolve().parents[1] / "data"

# A Moodle "upload users" file: the courses are in course1/course2, with group1 beside.
MOODLE = (
    "username,firstname,lastname,email,idnumber,course1,group1,course2,auth\n"
    "ann.lee,Ann,Lee,ann@school.example,M001,math102,7A,art101,manual\n"
    "ben.ode,Ben,Ode,ben@school.example,M002,math102,7B,,manual\n"
)


def open_wizard(qtbot, path: Path) -> CsvImportWizard:
    wizard = CsvImportWizard(None, str(path))
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


def to_columns(qtbot, wizard: CsvImportWizard) -> None:
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.format_page, timeout=10_000)
    wizard.next()
    qtbot.waitUntil(wizard.mapping_page.isComplete, timeout=20_000)


def shot(wizard: QWizard, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wizard.grab().save(str(ARTIFACTS / f"import_exports_{name}.png"))


def combo_for(wizard: CsvImportWizard, column: str):
    header = list(wizard.state.table.header)
    return wizard.mapping_page.combos[header.index(column)]


def test_moodle_columns_not_imported_are_named_and_every_course_column_enrolls(
    qtbot, ops_hub, db, tmp_path
):
    path = tmp_path / "moodle-users.csv"
    path.write_text(MOODLE, encoding="utf-8")
    wizard = open_wizard(qtbot, path)
    to_columns(qtbot, wizard)
    page = wizard.mapping_page
    assert combo_for(wizard, "idnumber").currentText() == "Student number"
    assert combo_for(wizard, "course1").currentText() == "Course"
    assert combo_for(wizard, "course2").currentText() == "Course"
    assert page.not_imported.text().startswith("Not imported: username, group1, auth")
    shot(wizard, "1_moodle_columns")
    # Choosing what a column holds takes it off the list at once.
    group = combo_for(wizard, "group1")
    group.setCurrentIndex(group.findText("Class"))
    assert "group1" not in page.not_imported.text()
    group.setCurrentIndex(0)  # Ignore again

    wizard.next()
    qtbot.waitUntil(wizard.validation_page.isComplete, timeout=20_000)
    assert "Columns not imported: <b>username, group1, auth</b>" in (
        wizard.validation_page.counts.text()
    )
    wizard.next()
    qtbot.waitUntil(wizard.plan_page.isComplete, timeout=20_000)
    outcome = wizard.state.plan
    assert (outcome.created, outcome.enrollments_created, outcome.courses_created) == (2, 3, 2)
    assert "username, group1, auth" in wizard.plan_page.counts.text()
    shot(wizard, "2_moodle_preview")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=15_000)
    assert "Columns not imported" in wizard.summary_page.text.text()
    with db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(CourseEnrollment)) == 3


def test_the_mapping_chosen_for_a_layout_is_offered_again_for_that_layout_only(
    qtbot, ops_hub, db, tmp_path
):
    first = tmp_path / "export-1.csv"
    first.write_text("Pupil,Surname,Tutor code\nP1,Lee,7A\n", encoding="utf-8")
    wizard = open_wizard(qtbot, first)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.format_page, timeout=10_000)
    wizard.next()
    qtbot.waitUntil(lambda: len(wizard.mapping_page.combos) == 3, timeout=20_000)
    for column, label in (("Pupil", "Student number"), ("Tutor code", "Class")):
        combo = combo_for(wizard, column)
        combo.setCurrentIndex(combo.findText(label))
    assert wizard.mapping_page.isComplete()
    assert not wizard.mapping_page.remembered_note.isVisibleTo(wizard.mapping_page)
    wizard.next()  # remembers the choice
    qtbot.waitUntil(wizard.validation_page.isComplete, timeout=20_000)
    wizard.close()

    # Next term's file has the same columns: the choice is offered again.
    again = tmp_path / "export-2.csv"
    again.write_text("Pupil,Surname,Tutor code\nP2,Ode,7B\n", encoding="utf-8")
    second = open_wizard(qtbot, again)
    to_columns(qtbot, second)
    assert [c.currentText() for c in second.mapping_page.combos] == [
        "Student number", "Last name", "Class"]  # fmt: skip
    assert second.mapping_page.remembered_note.isVisibleTo(second.mapping_page)
    shot(second, "3_remembered_mapping")
    second.close()

    # Another layout is matched by the names Rollbook knows, not by that choice.
    other = tmp_path / "other.csv"
    other.write_text("Pupil,Surname,Tutor code,E-mail\nP3,Kim,7C,k@school.example\n",
                     encoding="utf-8")  # fmt: skip
    third = open_wizard(qtbot, other)
    to_columns(qtbot, third)
    assert combo_for(third, "Pupil").currentText() == "Ignore"
    assert not third.mapping_page.remembered_note.isVisibleTo(third.mapping_page)


def test_month_first_dates_are_worked_out_from_the_file(qtbot, ops_hub, db, tmp_path):
    path = tmp_path / "powerschool.csv"
    path.write_text(
        "Student_Number,First_Name,Last_Name,DOB\n"
        "1001,Ann,Lee,12/19/2011\n1002,Ben,Ode,03/04/2012\n",
        encoding="utf-8",
    )
    wizard = open_wizard(qtbot, path)
    to_columns(qtbot, wizard)
    assert wizard.mapping_page.date_format.currentText() == (
        "Work it out from the file (month first)"
    )
    wizard.next()
    qtbot.waitUntil(wizard.validation_page.isComplete, timeout=20_000)
    assert "Dates were read month first" in wizard.validation_page.counts.text()
    assert wizard.state.prepared.validation.rejections == []
    wizard.next()
    qtbot.waitUntil(wizard.plan_page.isComplete, timeout=20_000)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=15_000)
    with db.sessions.begin() as s:
        born = dict(s.execute(select(Student.student_no, Student.birth_date)).all())
    assert str(born["1002"]) == "2012-03-04"


def test_a_school_data_sync_folder_imports_through_the_wizard(qtbot, ops_hub, db):
    wizard = open_wizard(qtbot, DATA / "sds_v1")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.plan_page, timeout=10_000)
    qtbot.waitUntil(wizard.plan_page.isComplete, timeout=10_000)
    assert "Read as School Data Sync v1" in wizard.plan_page.counts.text()
    planned = wizard.state.plan.created
    assert planned > 0
    shot(wizard, "4_sds_preview")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=15_000)
    with db.sessions.begin() as s:
        assert s.scalar(select(func.count()).select_from(Student)) == planned


def test_when_no_date_settles_the_order_the_wizard_says_where_to_choose_it(
    qtbot, ops_hub, db, tmp_path
):
    path = tmp_path / "ambiguous.csv"
    path.write_text("student_no,name,birth_date\nS1,Ann Lee,03/04/2012\n", encoding="utf-8")
    wizard = open_wizard(qtbot, path)
    to_columns(qtbot, wizard)
    wizard.next()
    qtbot.waitUntil(wizard.validation_page.isComplete, timeout=20_000)
    assert "choose the order under <i>Dates in the file</i>" in (
        wizard.validation_page.counts.text()
    )
    wizard.back()
    page = wizard.mapping_page
    page.date_format.setCurrentIndex(page.date_format.findText("Day first (23/04/2011)"))
    wizard.next()
    qtbot.waitUntil(wizard.validation_page.isComplete, timeout=20_000)
    assert wizard.state.prepared.validation.rejections == []
    assert str(wizard.state.prepared.validation.records[0].birth_date) == "2012-04-03"
