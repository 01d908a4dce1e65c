"""Every dialog, wizard page, main-window page and menu: no two controls share an
Alt+letter, and every menu item has one."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from mnemonics import (
    letters_used,
    menu_problems,
    mnemonic,
    screens,
    standard_buttons_as_on_gnome,
    subclasses_in,
    window_clashes,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMenu, QWidget, QWizard, QWizardPage

from app.config import Settings
from app.imports.service import prepare, run_import
from app.runs.history import run_report
from app.runtime import Database
from app.services.event_setup import EventSummary
from ui.about import about_box
from ui.dialogs.backups_dialog import BackupsDialog
from ui.dialogs.certificates_dialog import CertificatesDialog
from ui.dialogs.checkin_dialog import CheckInDialog
from ui.dialogs.event_dialog import EventDialog
from ui.dialogs.feedback_dialog import FeedbackDialog
from ui.dialogs.register_dialog import RegisterDialog
from ui.dialogs.registration_dialog import RegistrationDialog
from ui.dialogs.request_dialog import RequestDialog
from ui.dialogs.schedule_dialog import ScheduleDialog
from ui.dialogs.session_dialog import ScopeDialog, SessionDialog
from ui.dialogs.settings_dialog import SettingsDialog
from ui.dialogs.student_dialog import StudentDialog
from ui.dialogs.sync_conflicts_dialog import SyncConflictsDialog
from ui.dialogs.sync_settings import ChangeServerDialog
from ui.first_run import FirstRunDialog
from ui.main_window import MainWindow
from ui.pages.event_list import CancelEventQuestion
from ui.pages.sessions import SessionsPage
from ui.sign_in import SignInDialog
from ui.widgets.run_history import RunHistoryDialog, RunReportDialog
from ui.wizards.connect_server import ConnectServerWizard
from ui.wizards.csv_import import CsvImportWizard
from ui.wizards.maintenance import MaintenanceWizard
from ui.wizards.reinit_sync import ReinitWizard
from ui.wizards.repair_preview import RepairWizard


@dataclass(frozen=True)
class Setting:
    """What opening the dialogs takes: the test database and a small roster file."""

    db: Any  # tests/conftest.py's TestDatabase
    database: Database
    roster: Path
    data_dir: Path


def _run_report(setting: Setting) -> RunReportDialog:
    # A real import, so the report has every tab a run can have: summary and changes.
    prepared = prepare(setting.roster)
    with setting.db.sessions.begin() as s:
        outcome = run_import(s, setting.db.context(), prepared, commit=True)
    with setting.db.sessions.begin() as s:
        report = run_report(s, setting.db.context(), outcome.run_id)
    assert report.changes, "the import's report lists the students it created"
    return RunReportDialog(report)


def _cancel_question() -> ScopeDialog:
    """As Cancel session… asks it for a lesson of a series: every control at once."""
    return ScopeDialog(None, title="Cancel session", question="Cancel which sessions?",
                       confirm="&Cancel sessions", keep="&Keep them", following=4, series=6,
                       with_reason=True)  # fmt: skip


def _registration_for_a_team() -> RegistrationDialog:
    """In team mode, which shows every control the dialog has."""
    dialog = RegistrationDialog(None)
    dialog.team_mode.setChecked(True)
    return dialog


def _cancel_event_question() -> CancelEventQuestion:
    event = EventSummary(uuid.uuid4(), "Science Fair", None, date(2026, 10, 10),
                         date(2026, 10, 11), "open", 40, 12, 6, 2, 3, 1, (), (), None, 0)  # fmt: skip
    return CancelEventQuestion(event)


# Every dialog class in ui/ and how a person gets to see it. A new dialog class fails
# test_every_dialog_class_in_ui_is_walked until it is added here.
DIALOGS: dict[type[QDialog], Callable[[Setting], QDialog]] = {
    StudentDialog: lambda setting: StudentDialog(None),
    RequestDialog: lambda setting: RequestDialog(None),
    ScheduleDialog: lambda setting: ScheduleDialog(None),
    RegisterDialog: lambda setting: RegisterDialog(uuid.uuid4()),
    CheckInDialog: lambda setting: CheckInDialog(uuid.uuid4()),
    FeedbackDialog: lambda setting: FeedbackDialog("REG-2026-00001"),
    CertificatesDialog: lambda setting: CertificatesDialog(uuid.uuid4()),
    SessionDialog: lambda setting: SessionDialog(uuid.uuid4()),
    RegistrationDialog: lambda setting: _registration_for_a_team(),
    ScopeDialog: lambda setting: _cancel_question(),
    EventDialog: lambda setting: EventDialog(None),
    CancelEventQuestion: lambda setting: _cancel_event_question(),
    SettingsDialog: lambda setting: SettingsDialog(None),
    SyncConflictsDialog: lambda setting: SyncConflictsDialog(None),
    ChangeServerDialog: lambda setting: ChangeServerDialog(None),
    RunHistoryDialog: lambda setting: RunHistoryDialog(None),
    BackupsDialog: lambda setting: BackupsDialog(None, folder=setting.data_dir / "backups"),
    RunReportDialog: _run_report,
    FirstRunDialog: lambda setting: FirstRunDialog(
        Settings(data_dir=setting.data_dir, school_code="WALK")
    ),
    CsvImportWizard: lambda setting: CsvImportWizard(None, str(setting.roster)),
    MaintenanceWizard: lambda setting: MaintenanceWizard(),
    RepairWizard: lambda setting: RepairWizard(),
    ConnectServerWizard: lambda setting: ConnectServerWizard(),
    ReinitWizard: lambda setting: ReinitWizard(),
    SignInDialog: lambda setting: SignInDialog(None, suggested="alice"),
}
# Boxes Rollbook builds from Qt's own classes and fills with its own text.
BOXES: dict[str, Callable[[Setting], QDialog]] = {
    "About": lambda setting: about_box(None, setting.database),
}


def test_the_mnemonic_of_a_text():
    assert mnemonic("Cl&ass") == "a" and mnemonic("&Save") == "s"
    assert mnemonic("Tom && Jerry") is None and mnemonic("Plain") is None


def test_the_walk_sees_standard_buttons_as_gnome_names_them(qtbot):
    buttons = QDialogButtonBox.StandardButton
    with standard_buttons_as_on_gnome():
        box = QDialogButtonBox(buttons.Ok | buttons.Save | buttons.Cancel | buttons.Close)
        qtbot.addWidget(box)
        renamed = QDialogButtonBox(buttons.Cancel)
        qtbot.addWidget(renamed)
        renamed.button(buttons.Cancel).setText("Cancel")
        assert sorted(b.text() for b in box.buttons()) == ["&Cancel", "&Close", "&OK", "&Save"]
        assert renamed.button(buttons.Cancel).text() == "Cancel"


def test_every_dialog_class_in_ui_is_walked():
    assert subclasses_in("ui", QDialog) - set(DIALOGS) == set()


def test_no_dialog_or_wizard_page_has_two_controls_on_one_alt_letter(
    qtbot, ops_hub, db, database, tmp_path
):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_no,first_name,last_name\nS1,Ana,Peña\n", encoding="utf-8")
    setting = Setting(db, database, roster, tmp_path / "first-run")
    found = {}
    lettered = {}
    walked_pages: set[type] = set()
    with standard_buttons_as_on_gnome():
        for kind, build in [*DIALOGS.items(), *BOXES.items()]:
            dialog = build(setting)
            qtbot.addWidget(dialog)
            name = kind if isinstance(kind, str) else kind.__name__
            assert isinstance(kind, str) or type(dialog) is kind
            for screen, clashes in window_clashes(dialog).items():
                found[f"{name} / {screen}" if screen != name else name] = clashes
            # each has letters somewhere: a walk that saw none would pass anything
            lettered[name] = any(letters_used(w, e) for _s, w, e in screens(dialog))
            if isinstance(dialog, QWizard):
                walked_pages |= {cls for page_id in dialog.pageIds()
                                 for cls in type(dialog.page(page_id)).__mro__}  # fmt: skip
    assert found == {}
    assert all(lettered.values()), lettered
    # Wizard pages come from the wizards that show them: a page class no walked wizard
    # has would never be checked.
    assert subclasses_in("ui", QWizardPage) - walked_pages == set()


def _main_window(qtbot, database: Database) -> MainWindow:
    window = MainWindow(database)
    qtbot.addWidget(window)
    return window


def test_no_main_window_page_shares_a_letter_with_another_control_or_a_menu(
    qtbot, ops_hub, database
):
    window = _main_window(qtbot, database)
    titles = {mnemonic(action.text()) for action in window.menuBar().actions()}
    assert None not in titles
    walked = 0
    for _name, widget, extra in screens(window):
        walked += 1
        assert titles <= set(letters_used(widget, extra)), "the menu bar's letters are counted"
    assert walked == len(window.pages)
    assert window_clashes(window) == {}
    # The Sessions page's week view has buttons of its own: List / Week and the weeks'.
    sessions = next(page for page in window.pages if isinstance(page, SessionsPage))
    sessions.show_view("week")
    window.show_page(window.pages.index(sessions))
    assert {"l", "w", "p", "i", "n"} <= set(letters_used(window)), "the week's buttons count"
    assert window_clashes(window) == {}


def test_every_menu_item_has_a_letter_of_its_own(qtbot, ops_hub, database):
    window = _main_window(qtbot, database)
    menus = {"menu bar": window.menuBar().actions()}
    menus |= {menu.title(): menu.actions() for menu in window.findChildren(QMenu)}
    # A widget whose actions make its right-click menu
    menus |= {f"context menu of {type(w).__name__} {w.objectName()}": w.actions()
              for w in window.findChildren(QWidget)
              if w.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu}  # fmt: skip
    assert len(menus) > 4
    assert menu_problems(menus) == {}
