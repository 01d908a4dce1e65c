"""Every dialog and every wizard page: no two controls share an Alt+letter."""

from __future__ import annotations

from mnemonics import mnemonic, mnemonic_clashes, wizard_button_texts
from PySide6.QtWidgets import QWizard

from ui.dialogs.request_dialog import RequestDialog
from ui.dialogs.student_dialog import StudentDialog
from ui.widgets.run_history import RunHistoryDialog
from ui.wizards.csv_import import CsvImportWizard
from ui.wizards.maintenance import MaintenanceWizard
from ui.wizards.repair_preview import RepairWizard


def test_the_mnemonic_of_a_text():
    assert mnemonic("Cl&ass") == "a" and mnemonic("&Save") == "s"
    assert mnemonic("Tom && Jerry") is None and mnemonic("Plain") is None


def _wizard_clashes(wizard: QWizard) -> dict[str, dict[str, list[str]]]:
    found = {}
    for page_id in wizard.pageIds():
        page = wizard.page(page_id)
        clashes = mnemonic_clashes(page, wizard_button_texts(page))
        if clashes:
            found[type(page).__name__] = clashes
    return found


def test_no_dialog_or_wizard_page_has_two_controls_on_one_alt_letter(
    qtbot, ops_hub, demo_school, tmp_path
):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_no,first_name,last_name\nS1,Ana,Peña\n", encoding="utf-8")
    dialogs = {
        "new student": StudentDialog(None),
        "new request": RequestDialog(None),
        "run history": RunHistoryDialog(None),
    }
    wizards = {
        "roster import": CsvImportWizard(None, str(roster)),
        "maintenance": MaintenanceWizard(),
        "repair": RepairWizard(),
    }
    found = {}
    for name, dialog in dialogs.items():
        qtbot.addWidget(dialog)
        if clashes := mnemonic_clashes(dialog):
            found[name] = clashes
    for name, wizard in wizards.items():
        qtbot.addWidget(wizard)
        if clashes := _wizard_clashes(wizard):
            found[name] = clashes
    assert found == {}
