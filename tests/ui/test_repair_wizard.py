"""Walking the consistency check wizard: check, choose, apply, summary, check again."""

from __future__ import annotations

from pathlib import Path

from consistency_data import build_school
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from sqlalchemy import select, text

from app.db.models import MaintenanceRun
from ui.main_window import MainWindow
from ui.wizards.repair_preview import RepairWizard

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def shot(wizard: QWizard, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wizard.grab().save(str(ARTIFACTS / f"repair_{name}.png"))


def test_wizard_end_to_end(qtbot, qtmodeltester, ops_hub, db, ctx, database, tmp_path):
    with db.sessions.begin() as s:
        ids = build_school(s, ctx)
    window = MainWindow(database)
    qtbot.addWidget(window)
    action = next(a for m in window.menuBar().actions() for a in m.menu().actions()
                  if a.text() == "&Consistency check…")  # fmt: skip
    assert action.isEnabled()
    action.trigger()
    wizard = window.repair_wizard
    assert isinstance(wizard, RepairWizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    shot(wizard, "1_choose")

    wizard.next()
    check = wizard.check_page
    qtbot.waitUntil(check.isComplete, timeout=15_000)
    assert "<b>8 inconsistencies</b> found" in check.label.text()
    assert check.counts.rowCount() == 8
    assert check.counts.item(0, 0).text() == "Approved request without enrollment"
    assert [check.counts.item(r, 1).text() for r in range(8)] == ["1"] * 8
    shot(wizard, "2_found")

    wizard.next()
    select_page = wizard.select_page
    model = select_page.model
    qtmodeltester.check(model)
    assert model.rowCount() == 8 and len(model.selected()) == 8
    assert wizard.button(QWizard.WizardButton.NextButton).text().replace("&", "") == "Apply"
    # Leave the team-size repair out: untick it with its kind box.
    box = select_page.kind_boxes["team-size"]
    box.click()
    assert len(model.selected()) == 7 and "7 of 8 repairs chosen" in select_page.count.text()
    row = next(r for r, item in enumerate(model.items) if item.kind == "progress-only")
    assert model.data(model.index(row, 1)) == "Zoë Müller (S1)"
    assert model.data(model.index(row, 3)) == "progress 35%, no enrollment → enrolled (active)"
    # A box per row too: clearing and ticking one keeps the kind box in step.
    model.setData(
        model.index(row, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole
    )
    assert select_page.kind_boxes["progress-only"].checkState() == Qt.CheckState.Unchecked
    model.setData(model.index(row, 0), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    # The long columns use the page: nothing scrolls sideways, each row wraps onto two
    # lines, and the reason of the example row fits in them.
    table = select_page.table
    assert table.horizontalScrollBar().maximum() == 0
    assert table.rowHeight(row) >= 2 * table.fontMetrics().lineSpacing()
    reason = model.data(model.index(row, 4))
    assert table.fontMetrics().horizontalAdvance(reason) < 2 * table.columnWidth(4)
    shot(wizard, "3_choose_repairs")

    # Someone changes the pending request between the preview and Apply.
    with db.sessions.begin() as s:
        s.execute(text("UPDATE enrollment_request SET note = 'phoned' WHERE id = :id"),
                  {"id": ids["pending"]})  # fmt: skip
    wizard.next()  # Apply
    qtbot.waitUntil(lambda: wizard.currentPage() is wizard.summary_page, timeout=15_000)
    summary = wizard.summary_page
    assert "6 repairs applied" in summary.text.text()
    assert "1 skipped" in summary.text.text()
    assert summary.skipped.rowCount() == 1
    assert summary.skipped.item(0, 3).text().startswith("Changed since the preview")
    shot(wizard, "4_summary")

    report = tmp_path / "report.csv"
    summary.save_report(path=str(report))
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 8 and lines[-1].startswith('skipped,"Pending request, already enrolled"')
    assert "Saved 7 rows" in summary.again.text()

    summary.check_again()
    qtbot.waitUntil(lambda: "remain" in summary.again.text(), timeout=15_000)
    assert "<b>2 inconsistencies</b> remain" in summary.again.text()  # team + the skipped one
    shot(wizard, "5_checked_again")
    with db.sessions.begin() as s:
        runs = s.execute(select(MaintenanceRun.kind, MaintenanceRun.status)
                         .order_by(MaintenanceRun.started_at)).all()  # fmt: skip
    assert [tuple(r) for r in runs] == [("consistency", "succeeded"), ("repair", "succeeded")]
    wizard.close()


def test_a_clean_school_ends_on_the_check_page(qtbot, ops_hub, db):
    wizard = RepairWizard()
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    qtbot.waitUntil(wizard.check_page.isComplete, timeout=15_000)
    assert "Everything is consistent" in wizard.check_page.label.text()
    assert wizard.button(QWizard.WizardButton.FinishButton).isVisible()
    # it offers no next step, so it does not mention one
    assert "Next" not in wizard.check_page.subTitle()
    assert not wizard.button(QWizard.WizardButton.NextButton).isVisible()
    shot(wizard, "6_clean")


def test_failed_apply_says_nothing_changed(qtbot, ops_hub, db, ctx):
    with db.sessions.begin() as s:
        build_school(s, ctx)
    wizard = RepairWizard()
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    qtbot.waitUntil(wizard.check_page.isComplete, timeout=15_000)
    wizard.next()
    with db.as_owner() as s:
        s.execute(text("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'certificate table is read-only today'; END $$;
            CREATE TRIGGER refuse BEFORE UPDATE ON certificate
            FOR EACH ROW EXECUTE FUNCTION refuse();"""))  # fmt: skip
    wizard.next()
    apply_page = wizard.apply_page
    qtbot.waitUntil(lambda: not apply_page.running, timeout=15_000)
    assert wizard.currentPage() is apply_page
    assert "Nothing was changed." in apply_page.label.text()
    assert "The failed run is in the run history." in apply_page.label.text()
    assert "certificate table is read-only today" in apply_page.label.text()
    shot(wizard, "7_failed")
    with db.sessions.begin() as s:
        statuses = s.scalars(select(MaintenanceRun.status).where(MaintenanceRun.kind == "repair"))
        assert list(statuses) == ["failed"]


def test_the_check_says_when_sync_conflicts_wait_and_opens_them(qtbot, ops_hub, db, ctx, database):
    from app.services.students import StudentInput, create_student
    from ui.dialogs.sync_conflicts_dialog import SyncConflictsDialog

    with db.sessions.begin() as s:
        student = create_student(s, ctx, StudentInput("S1", "Ann", "Lee"))
        s.execute(text("""
            INSERT INTO sync_conflict (school_id, op_id, kind, entity, entity_id, column_name,
                                       base, local, server)
            VALUES (:s, 'desk:1', 'column', 'student', :i, 'first_name', '"Ann"', '"Annie"',
                    '"Anna"')"""), {"s": ctx.school_id, "i": student.id})  # fmt: skip
    wizard = RepairWizard()
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()
    check = wizard.check_page
    qtbot.waitUntil(lambda: "1 sync conflict also waits" in check.sync_conflicts.text(),
                    timeout=15_000)  # fmt: skip
    check.sync_conflicts.linkActivated.emit("sync")
    dialog = check.sync_dialog
    assert isinstance(dialog, SyncConflictsDialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10_000)
    assert dialog.table.item(0, 2).text() == "student S1 Ann Lee"
