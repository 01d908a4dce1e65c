"""Walking the maintenance wizard: load legacy groups, audit, preview, apply, audit again."""

from __future__ import annotations

import threading
from pathlib import Path

from course_setup import enroll_named
from PySide6.QtWidgets import QWizard
from sqlalchemy import func, select

from app.db.models import CourseEnrollment, LegacyGroupMember, MaintenanceRun
from app.services.enrollments import unenroll
from app.services.students import StudentInput, create_student
from ui.ops import Op
from ui.widgets.run_history import RunHistoryDialog, RunReportDialog
from ui.wizards.maintenance import MaintenanceWizard

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LEGACY = (
    "Student No;Group;Team;Course;Active\r\n"
    "1001;Group 3;3;Mathematics 101;yes\r\n"
    "1002;Group 3;3;Mathematics 101;yes\r\n"
    "1002;Group 4;4;Mathematics 101;yes\r\n"  # two groups of one course: one pair
    "1003;Choir;;Music;yes\r\n"
    "1004;Choir;;Music;no\r\n"  # inactive membership: never backfilled
    "9999;Choir;;Music;yes\r\n"  # unknown student: rejected
)


def shot(widget, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    widget.grab().save(str(ARTIFACTS / f"maintenance_{name}.png"))


def school(db) -> None:
    with db.sessions.begin() as s:
        ctx = db.context()
        ids = {n: create_student(s, ctx, StudentInput(n, f"Ann{n}", f"Émile{n}", class_name="7A")).id
               for n in ("1001", "1002", "1003", "1004")}  # fmt: skip
        enroll_named(s, ctx, ids["1001"], "Mathematics 101")
        enroll_named(s, ctx, ids["1002"], "Mathematics 101")
        unenroll(s, ctx, ids["1002"], "Mathematics 101")


def count(db, model, *where) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def next_page(qtbot, wizard, page) -> None:
    wizard.next()
    assert wizard.currentPage() is page
    qtbot.waitUntil(page.isComplete, timeout=10_000)


def test_wizard_loads_audits_backfills_and_reaches_full_coverage(qtbot, ops_hub, db, tmp_path):
    school(db)
    path = tmp_path / "old-groups.csv"
    path.write_bytes(LEGACY.encode("windows-1252"))
    wizard = MaintenanceWizard()
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    choose = wizard.choose_page
    choose.backfill_choice.setChecked(True)
    choose.load_file.setChecked(True)
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()  # no file yet
    choose.path_edit.setText(str(path))
    shot(wizard, "1_choose")

    next_page(qtbot, wizard, wizard.legacy_page)
    outcome = wizard.state.legacy_outcome
    assert (outcome.groups_created, outcome.members_created, len(outcome.rejected)) == (3, 5, 1)
    assert "No student with student number 9999" in wizard.legacy_page.rejected.item(0, 2).text()
    assert count(db, LegacyGroupMember) == 0  # nothing loaded before Load
    shot(wizard, "2_legacy_file")

    wizard.next()  # Load: runs in the background, then moves on by itself
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.audit_page, timeout=10_000)
    qtbot.waitUntil(wizard.audit_page.isComplete, timeout=10_000)
    assert count(db, LegacyGroupMember) == 5
    audit = wizard.state.audit
    assert (audit.pairs, audit.covered, audit.inactive, audit.missing) == (3, 1, 1, 1)
    assert wizard.audit_page.coverage.text() == "33.33% covered"
    assert "No enrollment: 1" in wizard.audit_page.tabs.tabText(0)
    shot(wizard, "3_coverage")

    next_page(qtbot, wizard, wizard.preview_page)
    assert wizard.button(QWizard.WizardButton.NextButton).text().replace("&", "") == "Apply"
    assert wizard.preview_page.changes.rowCount() == 2
    assert count(db, CourseEnrollment, CourseEnrollment.source == "backfill") == 0
    shot(wizard, "4_preview")

    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=10_000)
    assert "Backfill applied" in wizard.summary_page.text.text()
    # one created by the backfill; the re-activated one keeps the source it began with
    assert count(db, CourseEnrollment, CourseEnrollment.source == "backfill") == 1
    assert count(db, CourseEnrollment, CourseEnrollment.active.is_(False)) == 0
    history = wizard.summary_page.history
    qtbot.waitUntil(lambda: history.table.rowCount() >= 4, timeout=10_000)
    shot(wizard, "5_summary")

    wizard.summary_page.audit_again.click()
    qtbot.waitUntil(lambda: "Audit again: <b>100%" in wizard.summary_page.text.text(),
                    timeout=10_000)  # fmt: skip


def test_cancel_during_apply_changes_nothing(qtbot, ops_hub, db, tmp_path):
    school(db)
    path = tmp_path / "groups.csv"
    path.write_text(LEGACY, encoding="utf-8")
    wizard = MaintenanceWizard()
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.choose_page.backfill_choice.setChecked(True)
    wizard.choose_page.load_file.setChecked(True)
    wizard.choose_page.path_edit.setText(str(path))
    next_page(qtbot, wizard, wizard.legacy_page)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.audit_page.isComplete(), timeout=10_000)
    next_page(qtbot, wizard, wizard.preview_page)
    before = count(db, CourseEnrollment)
    # Hold the database worker so Cancel is pressed before the apply starts, as a person
    # pressing Cancel during a long run would be.
    release = threading.Event()
    Op(None, lambda s, ctx, job: release.wait(10), show_progress=False).run()
    wizard.next()
    wizard.apply_page.cancel()
    release.set()
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=10_000)
    assert "cancelled; nothing was changed" in wizard.summary_page.text.text()
    shot(wizard, "6_cancelled")
    assert count(db, CourseEnrollment) == before
    assert count(db, MaintenanceRun, MaintenanceRun.status == "cancelled") == 1


def test_run_history_opens_a_report(qtbot, ops_hub, db, tmp_path):
    school(db)
    path = tmp_path / "groups.csv"
    path.write_text(LEGACY, encoding="utf-8")
    wizard = MaintenanceWizard()
    qtbot.addWidget(wizard)
    wizard.show()
    next_page(qtbot, wizard, wizard.audit_page)  # an audit, recorded in the history
    dialog = RunHistoryDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.view.table.rowCount() == 1, timeout=10_000)
    assert dialog.view.table.item(0, 1).text() == "Audit"
    shot(dialog, "7_history")
    with qtbot.waitSignal(ops_hub._finished, timeout=10_000):
        dialog.view.open_selected()
    qtbot.waitUntil(lambda: bool(dialog.findChildren(RunReportDialog)), timeout=10_000)
    report = dialog.findChildren(RunReportDialog)[0]
    shot(report, "8_report")
    saved = report.save_csv(str(tmp_path / "report.csv"))
    assert "coverage percent" in saved.read_text(encoding="utf-8-sig")
