"""The main window. Thin: it builds the pages, the menus and the status bar and wires
them together; pages, dialogs and actions live in their own modules.

At start-up it is built in two steps: the window first, on screen at once with what
is happening (starting the database), then its pages as soon as the database is open.
Nothing that needs the database layer is imported before that second step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.config import RunMode
from ui.about import app_icon, show_about

if TYPE_CHECKING:
    from app.runtime import Database
    from ui.pages.list_page import ListPage
    from ui.pages.reports import ReportsPage

    # A list page answers the window with its table and model (F5 reads the list again,
    # File > Export… saves it, the table takes the keyboard); a page that is no list
    # (Reports) has refresh(), export() and focus_start() of its own, used when there.
    Page = ListPage | ReportsPage


class OpeningPanel(QWidget):
    """What the window shows until the database is open."""

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel("Starting the database…")
        self.label.setObjectName("openingText")
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(320)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(64, 64))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(icon)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    #: the pages are built and the database is in use
    ready = Signal()

    def __init__(self, database: Database | None = None) -> None:
        super().__init__()
        self.database: Database | None = None
        self.pages: list[Page] = []
        self.setWindowTitle("Rollbook")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(900, 560)
        self.opening = OpeningPanel()
        self.setCentralWidget(self.opening)
        geometry = QSettings().value("main_window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 760)
        if database is not None:
            self.attach(database)

    def show_opening(self, text: str) -> None:
        self.opening.label.setText(text)

    def show_failure(self, text: str) -> None:
        self.opening.bar.hide()
        self.opening.label.setText(f"Rollbook cannot start.\n\n{text}")

    def attach(self, database: Database) -> None:
        """The database is open: build the pages, menus and status bar."""
        from ui.pages.audit_log import AuditLogPage
        from ui.pages.enrollments import EnrollmentsPage
        from ui.pages.event_list import EventListPage
        from ui.pages.events import EventsPage
        from ui.pages.reports import ReportsPage
        from ui.pages.requests import RequestsPage
        from ui.pages.sessions import SessionsPage
        from ui.pages.students import StudentsPage
        from ui.reminders import attach_notifications

        self.database = database
        self.setWindowTitle(f"Rollbook — {database.school.name}")
        self.pages = [
            StudentsPage(),
            EnrollmentsPage(),
            SessionsPage(),
            EventListPage(),
            EventsPage(),
            RequestsPage(),
            AuditLogPage(),
            ReportsPage(),
        ]
        # A student's History opens the audit log filtered to them.
        students = next(page for page in self.pages if isinstance(page, StudentsPage))
        students.detail.history_requested.connect(self.open_audit_log)
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setFixedWidth(170)
        self.navigation.setStyleSheet(
            "QListWidget#navigation { border: none; border-right: 1px solid palette(mid);"
            " font-size: 11pt; }"
            "QListWidget#navigation::item { padding: 10px 14px; }"
        )
        self.stack = QStackedWidget()
        for number, page in enumerate(self.pages, start=1):
            self.navigation.addItem(getattr(page, "nav_text", "")
                                    or page.title.split()[-1].capitalize())  # fmt: skip
            self.navigation.item(number - 1).setToolTip(f"{page.title} (Ctrl+{number})")
            self.stack.addWidget(page)
            page.status_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.navigation.currentRowChanged.connect(self.show_page)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.navigation)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)  # the opening panel goes
        self._build_menus()
        self._build_status_bar()
        self.reminders = attach_notifications(self)
        self.setAcceptDrops(True)
        self.show_page(int(QSettings().value("main_window/page", 0)))
        self.ready.emit()

    # ------------------------------------------------------------ pages
    def show_page(self, number: int) -> None:
        actions = getattr(self, "page_actions", [])
        if 0 <= number < len(actions) and not actions[number].isEnabled():
            # The role may not open it: stay, and say why (as the menu item does).
            self.navigation.setCurrentRow(self.stack.currentIndex())
            self.statusBar().showMessage(actions[number].toolTip(), 8000)
            return
        if 0 <= number < len(self.pages):
            self.stack.setCurrentIndex(number)
            if self.navigation.currentRow() != number:
                self.navigation.setCurrentRow(number)
            page = self.pages[number]
            (getattr(page, "focus_start", None) or page.table.setFocus)()

    @property
    def current_page(self) -> Page:
        return self.pages[self.stack.currentIndex()]

    # ------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.import_action = self._action(
            file_menu, "&Import roster…", QKeySequence("Ctrl+I"), lambda: self.open_import(),
            tip="Import students and enrollments from a CSV file (or drop the file here)",
        )  # fmt: skip
        self._action(file_menu, "&Export…", QKeySequence("Ctrl+E"), self.export_current,
                     tip="Save the list you are looking at (or the report) as an Excel "
                     "workbook or a CSV file")  # fmt: skip
        file_menu.addSeparator()
        from ui.sign_in import WindowLock

        self.window_lock = WindowLock(self, file_menu)
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        view_menu = self.menuBar().addMenu("&View")
        self.page_actions = [
            self._action(view_menu, page.menu_text or page.title, QKeySequence(f"Ctrl+{number}"),
                         lambda _=False, n=number - 1: self.show_page(n))
            for number, page in enumerate(self.pages, start=1)
        ]  # fmt: skip
        view_menu.addSeparator()
        self._action(view_menu, "&Refresh", QKeySequence.StandardKey.Refresh, self.refresh_current)
        self._action(view_menu, "&Notifications", None, lambda: self.reminders.area.toggle())

        tools = self.menuBar().addMenu("&Tools")
        maintenance = self._action(tools, "&Maintenance…", None, self.open_maintenance,
                                   tip="Legacy group audit and enrollment backfill, previewed "
                                   "first")  # fmt: skip
        self._action(tools, "Run &history…", None, self.open_run_history,
                     tip="Past imports and maintenance runs, with their reports")  # fmt: skip
        self._action(tools, "&Backups…", None, self.open_backups,
                     tip="Back the database up, or restore an earlier backup")  # fmt: skip
        consistency = self._action(tools, "&Consistency check…", None,
                                   self.open_consistency_check,
                                   tip="Find data that breaks Rollbook's rules and repair it")  # fmt: skip
        audit_log = self._action(tools, "Audit &log", None, lambda: self.open_audit_log(),
                                 tip="Every change to the school's records: who, when, before "
                                 "and after (Ctrl+7)")  # fmt: skip
        # What the signed-in person's role forbids is greyed, with the reason on hover.
        from app.services.permissions import Permission
        from ui.role import RoleGate

        self.role_gate = RoleGate(self)
        # A page the role may not open (the audit log, for staff): its menu item greyed.
        for page, action in zip(self.pages, self.page_actions, strict=True):
            if getattr(page, "permission", None) is not None:
                self.role_gate.guard(action, page.permission)
        for action, permission in ((self.import_action, Permission.IMPORT_ROSTERS),
                                   (maintenance, Permission.BACKFILL),
                                   (consistency, Permission.CHECK_CONSISTENCY),
                                   (audit_log, Permission.VIEW_AUDIT_LOG)):  # fmt: skip
            self.role_gate.guard(action, permission)
        self._build_sync_menu(tools)
        tools.addSeparator()
        self._action(tools, "Se&ttings…", QKeySequence("Ctrl+,"), self.open_settings)

        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Rollbook", None, self._show_about)

    def _build_sync_menu(self, tools) -> None:
        """Sync now (F9), Pause sync and the conflicts, live in replica mode; on an
        embedded database, Connect to a school server… makes it one."""
        assert self.database is not None
        self.sync_action = self._action(tools, "&Sync now", QKeySequence("F9"), self.sync_now,
                                        tip="Send this desktop's changes to the school "
                                        "server and bring the server's")  # fmt: skip
        self.pause_sync_action = self._action(tools, "&Pause sync", None,
                                              tip="Stop syncing in the background until "
                                              "this is unticked")  # fmt: skip
        self.pause_sync_action.setCheckable(True)
        self.conflicts_action = self._action(tools, "Sync con&flicts…", None,
                                             self.open_sync_conflicts,
                                             tip="Changes the school server could not merge, "
                                             "to decide side by side")  # fmt: skip
        self.reinit_action = self._action(tools, "Re-&initialise from the server…", None,
                                          self.open_reinit,
                                          tip="Replace this desktop's copy with a fresh one "
                                          "from the school server (after a long absence); "
                                          "its waiting changes are sent first")  # fmt: skip
        mode = self.database.target.mode
        self.connect_action = self._action(
            tools, "Connect to a school ser&ver…", None,
            self.open_connect_server if mode is RunMode.EMBEDDED else None,
            tip="Make this desktop a copy of the school's central database that works "
            "offline and syncs" if mode is RunMode.EMBEDDED
            else "This desktop already works on a server or syncs with one")  # fmt: skip
        if mode is not RunMode.REPLICA:
            for action in self._sync_actions():
                action.setEnabled(False)
                action.setToolTip("Only a desktop connected to a school server syncs "
                                  "(Tools > Connect to a school server…).")  # fmt: skip

    def _sync_actions(self) -> tuple[QAction, ...]:
        return (self.sync_action, self.pause_sync_action, self.conflicts_action,
                self.reinit_action)  # fmt: skip

    def _start_syncing(self) -> None:
        """Replica mode: the sync controller, its status bar words, its menu items."""
        from ui.sync_status import SyncController, SyncStatusLabel

        assert self.database is not None
        self.sync = SyncController(self.database, self)
        self.pause_sync_action.setChecked(self.sync.paused)
        self.pause_sync_action.toggled.connect(self.sync.set_paused)
        for action in self._sync_actions():
            action.setEnabled(True)
            action.setToolTip(action.statusTip())
        self.connect_action.setEnabled(False)
        self.sync_label = SyncStatusLabel(self.sync, self.open_sync_conflicts, self.open_reinit)
        self.statusBar().insertPermanentWidget(1, self.sync_label)
        self.sync.start()

    def set_server_url(self, url: str) -> None:
        """A new address or password for the school's server, from the next sync on."""
        self._replace_settings(server_url=url)

    def set_sync_interval(self, seconds: int) -> None:
        """How often the background sync runs, from the next one on."""
        self._replace_settings(sync_interval_s=seconds)
        if (
            hasattr(self, "sync")
            and self.sync.timer.isActive()
            and (self.sync.last is None or self.sync.last.ok)
        ):
            self.sync.timer.start(seconds * 1000)

    def _replace_settings(self, **changes) -> None:
        from dataclasses import replace

        from ui.ops import hub

        assert self.database is not None
        self.database = replace(self.database, settings=replace(self.database.settings, **changes))
        hub().database = self.database
        if hasattr(self, "sync"):
            self.sync.database = self.database

    def sync_now(self) -> None:
        if hasattr(self, "sync"):
            self.sync.sync_now()

    def open_connect_server(self) -> None:
        from ui.wizards.connect_server import ConnectServerWizard

        wizard = ConnectServerWizard(self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.accepted.connect(lambda: self._connected(wizard.connected()))
        wizard.open()
        self.connect_wizard = wizard

    def _connected(self, connected) -> None:
        """The wizard connected this desktop: from now on the window shows the school's
        copy and syncs it."""
        from dataclasses import replace

        from app.db.models import Base
        from ui.ops import hub

        if connected is None or self.database is None:
            return
        settings, school = connected
        target = replace(self.database.target, mode=RunMode.REPLICA)
        self.database = replace(self.database, settings=settings, target=target, school=school)
        hub().database = self.database
        self.setWindowTitle(f"Rollbook — {school.name}")
        self.mode_label.setText(f"{target.mode.value.capitalize()} database: {target.location}")
        hub().changed.emit(frozenset(Base.metadata.tables))  # every page reads its school again
        self._start_syncing()

    def open_sync_conflicts(self) -> None:
        from ui.dialogs.sync_conflicts_dialog import SyncConflictsDialog

        dialog = SyncConflictsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if hasattr(self, "sync"):
            dialog.decided.connect(self.sync.refresh_counts)
        dialog.open()
        self.sync_conflicts_dialog = dialog

    def _audit_page(self):
        from ui.pages.audit_log import AuditLogPage

        return next(page for page in self.pages if isinstance(page, AuditLogPage))

    def open_audit_log(self, student_id=None, student_no: str = "") -> None:
        """The audit log page; with a student, only their changes (a student's History)."""
        page = self._audit_page()
        self.show_page(self.pages.index(page))
        if student_id is not None:
            page.show_student(student_id, student_no)

    def open_reinit(self) -> None:
        from ui.wizards.reinit_sync import ReinitWizard

        wizard = ReinitWizard(self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.finished.connect(lambda _result: self._reinitialised(wizard))
        wizard.open()
        self.reinit_wizard = wizard

    def _reinitialised(self, wizard) -> None:
        """Pages show the fresh copy; the status bar asks the server again."""
        from app.sync.tables import SYNCED_TABLES
        from ui.ops import hub

        if wizard.reinit_page.report is None:
            return
        hub().changed.emit(frozenset(SYNCED_TABLES))
        if hasattr(self, "sync"):
            self.sync.sync_now()

    def _action(self, menu, text: str, shortcut, slot=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if slot is None:
            action.setEnabled(False)
        else:
            action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def open_import(self, path: str | None = None) -> None:
        from ui.wizards.csv_import import CsvImportWizard

        wizard = CsvImportWizard(self, path)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.open()
        self.import_wizard = wizard

    def open_maintenance(self) -> None:
        from ui.wizards.maintenance import MaintenanceWizard

        wizard = MaintenanceWizard(self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.open()
        self.maintenance_wizard = wizard

    def open_settings(self) -> None:
        from ui.dialogs.settings_dialog import open_settings  # the services load on first use

        open_settings(self)

    def open_backups(self) -> None:
        from ui.dialogs.backups_dialog import BackupsDialog

        BackupsDialog(self).open()

    def open_run_history(self) -> None:
        from ui.widgets.run_history import RunHistoryDialog

        RunHistoryDialog(self).open()

    def open_consistency_check(self) -> None:
        from ui.wizards.repair_preview import RepairWizard

        self.repair_wizard = RepairWizard(self)
        self.repair_wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.repair_wizard.open()

    # Dropping a CSV file on the window opens the import wizard on it.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if _dropped_csv(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = _dropped_csv(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.open_import(path)

    def refresh_current(self) -> None:
        page = self.current_page
        (getattr(page, "refresh", None) or page.model.refresh)()

    def export_current(self) -> None:
        from ui.actions.export_list import export_current_list

        page = self.current_page
        if hasattr(page, "export"):  # a page that saves something else than a list
            page.export()
            return
        export_current_list(
            self, page.model, page.title, lambda text: self.statusBar().showMessage(text, 8000)
        )

    def _show_about(self) -> None:
        assert self.database is not None
        show_about(self, self.database)

    # ------------------------------------------------------------ status bar
    def _build_status_bar(self) -> None:
        from ui.ops import hub

        assert self.database is not None
        target = self.database.target
        self.mode_label = QLabel(f"{target.mode.value.capitalize()} database: {target.location}")
        self.mode_label.setObjectName("databaseMode")
        self.mode_label.setToolTip(f"Data folder: {self.database.settings.data_dir}")
        self.statusBar().addPermanentWidget(self.mode_label)
        self.busy_label = QLabel("")
        self.statusBar().addPermanentWidget(self.busy_label)
        hub().busy_changed.connect(lambda busy: self.busy_label.setText("Working…" if busy else ""))
        if target.mode is RunMode.REPLICA:
            self._start_syncing()

    # ------------------------------------------------------------ persistence
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        settings = QSettings()
        settings.setValue("main_window/geometry", self.saveGeometry())
        if self.pages:
            settings.setValue("main_window/page", self.stack.currentIndex())
        for page in self.pages:
            if hasattr(page, "model"):  # a list's column widths and order
                page.table.save_state()
        super().closeEvent(event)


def _dropped_csv(mime: QMimeData) -> str | None:
    for url in mime.urls():
        if url.isLocalFile() and url.toLocalFile().lower().endswith((".csv", ".txt")):
            return url.toLocalFile()
    return None
