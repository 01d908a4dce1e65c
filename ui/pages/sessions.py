"""Sessions page: class sessions with their attendance counts, as a list or as a week
(List / Week, Ctrl+W switches); New sessions… (Ctrl+N) schedules one session or a
series; Take attendance… (Ctrl+T, a double-click on the course, or Enter in the week)
opens the highlighted session's register; Edit session… (Alt+Enter) its fields, for
it alone, it and the following sessions, or its whole series."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QButtonGroup, QPushButton

from app.domain.enums import SessionStatus
from app.domain.wording import counted
from app.services import courses, session_week
from app.services.class_sessions import SessionQuery
from app.services.permissions import Permission
from ui.models.sessions import SessionTableModel
from ui.ops import Op, error_text, hub
from ui.pages.list_page import ListPage
from ui.role import enable
from ui.widgets.week_view import WeekView

if TYPE_CHECKING:  # the dialogs load on first use: start-up stays quick
    from ui.dialogs.register_dialog import RegisterDialog
    from ui.dialogs.schedule_dialog import ScheduleDialog
    from ui.dialogs.session_dialog import SessionDialog

VIEW_SETTING = "sessions/view"
LIST, WEEK = "list", "week"
WeekWanted = tuple[date, uuid.UUID | None, str | None]  # the week's Monday, course, status


class _SessionsModel(SessionTableModel):
    """The list's model, saying when it refreshes: when the sessions, their marks or
    the courses changed anywhere (the hub's broadcast of its ``entities``), on F5 and on
    View > Refresh. The week shows the same data, so it reloads with it."""

    refreshed = Signal()

    def refresh(self) -> None:
        super().refresh()
        self.refreshed.emit()


class SessionsPage(ListPage):
    title = "Class sessions"
    menu_text = "&Class sessions"  # in the View menu
    noun = ("session", "sessions")

    def __init__(self, parent=None) -> None:
        super().__init__(_SessionsModel(), "sessions", parent)
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
        self.new_button = QPushButton("New sessions…")
        self.new_button.setToolTip("Schedule a session or a series of them (Ctrl+N)")
        self.new_button.clicked.connect(self.new_action.trigger)
        self.filter_bar.addWidget(self.new_button)
        self.register_action = QAction("&Take attendance…", self, shortcut=QKeySequence("Ctrl+T"))
        self.register_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.register_action.triggered.connect(self.open_register)
        self.addAction(self.register_action)
        self.register_button = QPushButton("Take attendance…")
        self.register_button.setToolTip("The highlighted session's register (Ctrl+T)")
        self.register_button.clicked.connect(self.register_action.trigger)
        self.filter_bar.addWidget(self.register_button)
        # Alt+Enter, as "Properties" is elsewhere: Enter and a double-click open the
        # register, what a teacher opens a session for most.
        self.edit_action = QAction("&Edit session…", self)
        self.edit_action.setShortcuts([QKeySequence("Alt+Return"), QKeySequence("Alt+Enter")])
        self.edit_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.edit_action.triggered.connect(self.edit_session)
        self.addAction(self.edit_action)
        self.edit_button = QPushButton("Edit session…")
        self.edit_button.setToolTip("Times, room, topics, status, reminder of the highlighted "
                                    "session, or of its series (Alt+Enter)")  # fmt: skip
        self.edit_button.clicked.connect(self.edit_action.trigger)
        self.filter_bar.insertWidget(self.filter_bar.indexOf(self.register_button),
                                     self.edit_button)  # fmt: skip
        # A double-click on a column that is not edited in place opens the register.
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.model.modelReset.connect(self._selection_changed)
        self._tips = {w: w.toolTip() for w in (self.new_button, self.edit_button)}
        self._build_week_view()
        self._selection_changed()
        hub().signed_in_changed.connect(self._selection_changed)

    # ------------------------------------------------------------ list or week
    def _build_week_view(self) -> None:
        self.week_view = WeekView(self)
        self.week_view.hide()
        self.body.addWidget(self.week_view)
        self.week_view.session_activated.connect(self.open_register_of)
        self.week_view.highlight_changed.connect(lambda _id: self._selection_changed())
        self.week_view.week_changed.connect(lambda _monday: self._week_needs_loading())
        self._week_op: Op | None = None
        self._week_loaded_for: WeekWanted | None = None  # what the week shows or will
        self.view_buttons = QButtonGroup(self)
        for name, text, tip in ((LIST, "&List", "The sessions as a list (Ctrl+W switches)"),
                                (WEEK, "&Week", "The sessions of a week by day and time "
                                 "(Ctrl+W switches)")):  # fmt: skip
            button = QPushButton(text)
            button.setCheckable(True)
            button.setToolTip(tip)
            button.clicked.connect(lambda _checked=False, n=name: self.show_view(n))
            self.view_buttons.addButton(button)
            self.heading_row.insertWidget(self.heading_row.count() - 1, button)
            setattr(self, f"{name}_button", button)
        self.heading_row.insertSpacing(self.heading_row.count() - 1, 12)
        # Ctrl+1 to Ctrl+6 choose the window's pages; Ctrl+W is free (Rollbook closes
        # nothing with it) and says Week.
        self.switch_view_action = QAction("Switch list/week", self, shortcut=QKeySequence("Ctrl+W"))
        self.switch_view_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.switch_view_action.triggered.connect(
            lambda: self.show_view(LIST if self.view == WEEK else WEEK)
        )
        self.addAction(self.switch_view_action)
        self.model.refreshed.connect(lambda: self._week_needs_loading(again=True))
        self.view = LIST
        self.show_view(WEEK if QSettings().value(VIEW_SETTING) == WEEK else LIST, remember=False)

    def show_view(self, view: str, *, remember: bool = True) -> None:
        """Show the list or the week, where the keyboard can go on at once."""
        self.view = view
        week = view == WEEK
        self.table.setVisible(not week)
        self.count_label.setVisible(not week)  # the week has its own count
        self.week_view.setVisible(week)
        self.list_button.setChecked(not week)
        self.week_button.setChecked(week)
        # The window focuses a page's table when it shows the page: in the week view,
        # that focus goes on to the week.
        self.table.setFocusProxy(self.week_view if week else None)
        if remember:
            QSettings().setValue(VIEW_SETTING, view)
            self.focus_view()
        if week:
            self._week_needs_loading()
        self._selection_changed()

    def focus_view(self) -> None:
        (self.week_view if self.view == WEEK else self.table).setFocus()

    # ------------------------------------------------------------ loading the week
    def _week_wanted(self) -> WeekWanted:
        return (self.week_view.monday, self.course_filter.currentData(),
                self.status_filter.currentData())  # fmt: skip

    def _week_needs_loading(self, *, again: bool = False) -> None:
        """Load the week shown, if it is shown and not loaded (or ``again``) with the
        filters as they are; a week left hidden loads when it is shown."""
        if again:
            self._week_loaded_for = None
        if self.view != WEEK or not self.isVisible():
            return
        if self._week_wanted() != self._week_loaded_for:
            self.load_week()

    def load_week(self) -> None:
        wanted = self._week_wanted()
        monday, course_id, status = wanted
        if self._week_op is not None:
            self._week_op.cancel()  # a newer week or filter replaces the one queued
        self._week_loaded_for = wanted
        self.week_view.show_loading()
        op = Op(self, lambda s, ctx, job: session_week.sessions_in_week(s, ctx, monday, course_id,
                                                                        status),
                show_progress=False, read_only=True)  # fmt: skip
        self._week_op = op
        op.success(lambda rows: self._week_loaded(op, monday, rows)).failure(
            lambda error: self._week_failed(op, error)).run()  # fmt: skip

    def _week_loaded(self, op: Op, monday: date, rows: list[session_week.WeekSession]) -> None:
        if op is self._week_op:  # a later load's answer is the one to show
            self._week_op = None
            self.week_view.set_sessions(monday, rows)

    def _week_failed(self, op: Op, error: BaseException) -> None:
        if op is self._week_op:
            self._week_op = None
            self._week_loaded_for = None  # try again on the next change or F5
            self.week_view.show_failure(error_text(error))

    def apply_filters(self) -> None:
        super().apply_filters()
        self._week_needs_loading()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._week_needs_loading()

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
        from ui.dialogs.schedule_dialog import ScheduleDialog

        dialog = ScheduleDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._scheduled(dialog))
        # Back to the list or week, where the keyboard left off, however it closed.
        dialog.finished.connect(lambda _result: self.focus_view())
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
        one = self._chosen_session() is not None
        for widget in (self.register_action, self.register_button):
            widget.setEnabled(one)
        # Scheduling and editing are the office's; staff take the registers.
        for widget, wanted in ((self.new_action, True), (self.edit_action, one)):
            enable(widget, wanted, Permission.SCHEDULE_SESSIONS, "")
        for widget, wanted in ((self.new_button, True), (self.edit_button, one)):
            enable(widget, wanted, Permission.SCHEDULE_SESSIONS, self._tips[widget])

    def _chosen_session(self) -> uuid.UUID | None:
        """The session Take attendance… opens: the one highlighted in the week, or the
        one row selected in the list."""
        if self.view == WEEK:
            highlighted = self.week_view.highlighted()
            return highlighted.id if highlighted else None
        rows = self.table.selected_rows()
        return rows[0].id if len(rows) == 1 else None

    def _double_clicked(self, index) -> None:
        if not (self.model.flags(index) & Qt.ItemFlag.ItemIsEditable):
            self.open_register()

    def open_register(self) -> RegisterDialog | None:
        session_id = self._chosen_session()
        return None if session_id is None else self.open_register_of(session_id)

    def open_register_of(self, session_id: uuid.UUID) -> RegisterDialog:
        from ui.dialogs.register_dialog import RegisterDialog

        dialog = RegisterDialog(session_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._register_closed(dialog))
        dialog.open()
        return dialog

    def edit_session(self) -> SessionDialog | None:
        from ui.dialogs.session_dialog import open_session_dialog

        session_id = self._chosen_session()
        if session_id is None:
            return None
        dialog = open_session_dialog(self, session_id)
        dialog.saved.connect(lambda done: self.status_message.emit(
            done.summary + (f" Reason: {done.reason}" if done.reason else "")))  # fmt: skip
        dialog.finished.connect(lambda _result: self.focus_view())
        return dialog

    def _register_closed(self, dialog: RegisterDialog) -> None:
        if dialog.saved_marks:
            self.status_message.emit(f"Saved {counted(dialog.saved_marks, 'mark')}.")
        self.focus_view()  # back where the keyboard left off
