"""Sessions page: class sessions with their attendance counts; New sessions… (Ctrl+N)
schedules one session or a series; Take attendance… (Ctrl+T, or a double-click on the
course) opens the highlighted session's register."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QPushButton

from app.domain.enums import SessionStatus
from app.domain.wording import counted
from app.services import courses
from app.services.class_sessions import SessionQuery
from ui.dialogs.register_dialog import RegisterDialog
from ui.dialogs.schedule_dialog import ScheduleDialog
from ui.models.sessions import SessionTableModel
from ui.ops import Op
from ui.pages.list_page import ListPage


class SessionsPage(ListPage):
    title = "Class sessions"
    menu_text = "&Class sessions"  # in the View menu
    noun = ("session", "sessions")

    def __init__(self, parent=None) -> None:
        super().__init__(SessionTableModel(), "sessions", parent)
        self.course_filter = self.add_choice("Course", "All courses", [])
        self.status_filter = self.add_choice(
            "Status", "All statuses", [(s.value.capitalize(), s.value) for s in SessionStatus]
        )
        self.filter_bar.addStretch(1)
        self.new_action = QAction("&New sessions…", self, shortcut=QKeySequence.StandardKey.New)
        # Anywhere on the page, as on the Requests page.
        self.new_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.new_action.triggered.connect(self.new_sessions)
        self.addAction(self.new_action)
        new_button = QPushButton("New sessions…")
        new_button.setToolTip("Schedule a session or a series of them (Ctrl+N)")
        new_button.clicked.connect(self.new_action.trigger)
        self.filter_bar.addWidget(new_button)
        self.register_action = QAction("&Take attendance…", self, shortcut=QKeySequence("Ctrl+T"))
        self.register_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.register_action.triggered.connect(self.open_register)
        self.addAction(self.register_action)
        self.register_button = QPushButton("Take attendance…")
        self.register_button.setToolTip("The highlighted session's register (Ctrl+T)")
        self.register_button.clicked.connect(self.register_action.trigger)
        self.filter_bar.addWidget(self.register_button)
        # A double-click on a column that is not edited in place opens the register.
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.model.modelReset.connect(self._selection_changed)
        self._selection_changed()

    def query_from_filters(self, query: SessionQuery) -> SessionQuery:
        return replace(
            query,
            course_id=self.course_filter.currentData(),
            status=self.status_filter.currentData(),
        )

    def load_choices(self) -> None:
        Op(self, lambda s, ctx, job: courses.list_courses(s, ctx), show_progress=False).success(
            lambda rows: self.set_choices(self.course_filter, [(c.name, c.id) for c in rows])
        ).run()

    def new_sessions(self) -> ScheduleDialog:
        dialog = ScheduleDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._scheduled(dialog))
        # Back to the list, where the keyboard left off, however the dialog closed.
        dialog.finished.connect(lambda _result: self.table.setFocus())
        dialog.open()
        return dialog

    def _scheduled(self, dialog: ScheduleDialog) -> None:
        done = dialog.scheduled
        if done is not None:
            self.status_message.emit(
                f"Scheduled {counted(len(done.dates), 'session')} of {done.course_name}, "
                f"{done.dates[0]:%a %d %b %Y} to {done.dates[-1]:%a %d %b %Y}."
            )

    # ------------------------------------------------------------ the register
    def _selection_changed(self) -> None:
        one = len(self.table.selected_rows()) == 1
        self.register_action.setEnabled(one)
        self.register_button.setEnabled(one)

    def _double_clicked(self, index) -> None:
        if not (self.model.flags(index) & Qt.ItemFlag.ItemIsEditable):
            self.open_register()

    def open_register(self) -> RegisterDialog | None:
        rows = self.table.selected_rows()
        if len(rows) != 1:
            return None
        dialog = RegisterDialog(rows[0].id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._register_closed(dialog))
        dialog.open()
        return dialog

    def _register_closed(self, dialog: RegisterDialog) -> None:
        if dialog.saved_marks:
            self.status_message.emit(f"Saved {counted(dialog.saved_marks, 'mark')}.")
        self.table.setFocus()  # back to the list, where the keyboard left off
