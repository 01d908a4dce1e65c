"""Students page: search and filter, inline edits, New/Edit/Deactivate, and a detail
panel that can be hidden (Ctrl+D) to give the list the whole width."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QSplitter

from app.domain.enums import StudentStatus
from app.domain.wording import counted
from app.services import courses, students
from app.services.permissions import Permission
from app.services.students import StudentQuery
from ui.dialogs.student_dialog import StudentDialog
from ui.models.students import LONG_TEXT_COLUMNS, StudentTableModel
from ui.ops import Op, hub
from ui.pages.list_page import ListPage
from ui.pages.student_detail import StudentDetailPanel
from ui.role import allowed, why_not
from ui.widgets.column_fitter import ColumnFitter

# Until the user drags the divider, the detail panel gets this share of the page's
# width, at least its minimum and at most DETAIL_MAX_WIDTH: on a 1024 px screen that
# is its minimum, which leaves the list room for every column.
DETAIL_SHARE = 0.3
DETAIL_MAX_WIDTH = 420


class StudentsPage(ListPage):
    title = "Students"
    menu_text = "&Students"  # in the View menu
    noun = ("student", "students")

    def __init__(self, parent=None) -> None:
        super().__init__(StudentTableModel(), "students", parent)
        self.search = self.add_search("Search name, student number or e-mail  (Ctrl+F)")
        # Beside three filters and three buttons the search box gives way first, so
        # the page still fits a 1024 px screen; on a wider one it grows back.
        self.search.setMinimumWidth(200)
        self.search.setMaximumWidth(360)
        self.status_filter = self.add_choice(
            "Status", "All statuses", [(s.value.capitalize(), s.value) for s in StudentStatus]
        )
        self.class_filter = self.add_choice("Class", "All classes", [])
        self.course_filter = self.add_choice("Course", "All courses", [])
        self.filter_bar.setStretchFactor(self.search, 3)  # it grows first, up to its maximum
        self.filter_bar.addStretch(1)
        self.new_action = self._action(
            "&New student…", QKeySequence.StandardKey.New, self.new_student
        )
        self.edit_action = self._action("&Edit student…", None, self.edit_student)
        self.edit_action.setShortcuts(
            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)]
        )
        self.deactivate_action = self._action(
            "&Deactivate", QKeySequence.StandardKey.Delete, self.deactivate_students
        )
        self.buttons: dict[QAction, QPushButton] = {}
        for action in (self.new_action, self.edit_action, self.deactivate_action):
            button = QPushButton(action.text().replace("&", ""))
            button.setToolTip(f"{action.text().replace('&', '')} ({action.shortcut().toString()})")
            button.clicked.connect(action.trigger)
            self.filter_bar.addWidget(button)
            self.buttons[action] = button
        self._tips = {action: button.toolTip() for action, button in self.buttons.items()}

        self.detail = StudentDetailPanel(self)
        self.detail.status_message.connect(self.status_message)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.body.removeWidget(self.table)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        # The list takes whatever width the window gains or loses; the panel keeps the
        # width it was given, giving way down to its own minimum only where the list
        # would otherwise be narrower than its columns' minimum.
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.body.addWidget(self.splitter)
        state = QSettings().value("students/splitter")
        self._divider_chosen = state is not None and self.splitter.restoreState(state)
        # Earlier versions kept a panel dragged shut at no width, with nothing to bring
        # it back but the divider: that is a hidden panel now, reopening at its minimum.
        was_shut = self._divider_chosen and self.splitter.sizes()[1] == 0
        if was_shut:
            self.splitter.setSizes([900, self.detail.minimumWidth()])
        # The panel can be dragged shut (that hides it, as Ctrl+D does); the list cannot.
        self.splitter.setCollapsible(0, False)
        self.splitter.splitterMoved.connect(self._divider_moved)
        # The open panel's last width: it reopens at it after being dragged shut.
        self._detail_width = self.detail.minimumWidth()
        self.column_fitter = ColumnFitter(self.table, LONG_TEXT_COLUMNS)

        self.details_action = QAction(self)
        # Ctrl+D, for "details" (F9 is the usual key for "sync now" in office tools).
        self.details_action.setShortcut(QKeySequence("Ctrl+D"))
        self.details_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.details_action.triggered.connect(lambda: self.show_details(self.detail.isHidden()))
        self.addAction(self.details_action)
        self.details_button = QPushButton()
        self.details_button.clicked.connect(self.details_action.trigger)
        # Top right, above the panel it shows and hides: the heading row has room at
        # any width, the filter bar has none left at 1024 px.
        self.heading_row.addWidget(self.details_button)
        self.show_details(QSettings().value("students/details_shown", not was_shut, type=bool))
        # Actions and the detail panel follow the highlighted rows, never a current cell
        # that is not highlighted: with nothing selected there is nothing to edit.
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.table.doubleClicked.connect(self._double_clicked)
        self.model.modelReset.connect(self._selection_changed)
        self.model.dataChanged.connect(lambda *_: self._selection_changed())
        self._selection_changed()
        hub().signed_in_changed.connect(self._selection_changed)

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        # Only while the table has focus: Enter and Del must keep working in the editors.
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(slot)
        self.table.addAction(action)
        return action

    def query_from_filters(self, query: StudentQuery) -> StudentQuery:
        return replace(
            query,
            search=self.search.text(),
            status=self.status_filter.currentData(),
            class_name=self.chosen_text(self.class_filter),
            course_id=self.course_filter.currentData(),
        )

    def load_choices(self) -> None:
        Op(
            self,
            lambda s, ctx, job: (students.list_class_names(s, ctx), courses.list_courses(s, ctx)),
            show_progress=False,
        ).success(self._choices_loaded).run()
        self.detail.load_courses()

    def _choices_loaded(self, loaded) -> None:
        class_names, course_rows = loaded
        self.set_text_choices(self.class_filter, class_names)
        self.set_choices(self.course_filter, [(c.name, c.id) for c in course_rows])

    # ------------------------------------------------------------ actions
    def _selected_student(self):
        """The one highlighted student; None when none or several are highlighted."""
        rows = self.table.selected_rows()
        return rows[0] if len(rows) == 1 else None

    def _selection_changed(self) -> None:
        rows = self.table.selected_rows()
        if len(rows) < len(self.table.selectionModel().selectedRows()):
            return  # highlighted rows are being reloaded (after a change): wait for them
        may_change = allowed(Permission.MANAGE_STUDENTS)
        self.new_action.setEnabled(may_change)
        self.edit_action.setEnabled(may_change and len(rows) == 1)
        self.deactivate_action.setEnabled(
            may_change and any(r.status == StudentStatus.ACTIVE.value for r in rows))  # fmt: skip
        for action, button in self.buttons.items():
            button.setEnabled(action.isEnabled())
            button.setToolTip(self._tips[action] if may_change
                              else why_not(Permission.MANAGE_STUDENTS))  # fmt: skip
        if self.detail.isHidden():
            return  # a hidden panel reads nothing; showing it shows the selection
        shown = rows[0].id if len(rows) == 1 else None
        if shown != self.detail.student_id:
            self.detail.show_student(shown)

    # ------------------------------------------------------------ detail panel
    def show_details(self, shown: bool) -> None:
        """Show or hide the detail panel (Ctrl+D); the list takes the width it leaves.
        Remembered across restarts."""
        if not shown and self.detail.isAncestorOf(QApplication.focusWidget()):
            self.table.setFocus()  # not left on a control that is going away
        # The splitter keeps a hidden panel's width and gives it back when it shows.
        self.detail.setVisible(shown)
        if shown and not self._divider_chosen and self.isVisible():
            self._split_by_default()  # the page may have changed size meanwhile
        text = "Hide details" if shown else "Show details"
        self.details_action.setText(text)
        self.details_button.setText(text)
        self.details_button.setToolTip(
            f"{text} of the selected student ({self.details_action.shortcut().toString()})"
        )
        QSettings().setValue("students/details_shown", shown)
        if shown:
            self._selection_changed()
        else:
            self.detail.show_student(None)  # nor does it reload after changes

    def _split_by_default(self) -> None:
        total = self.splitter.width() - self.splitter.handleWidth()
        width = max(self.detail.minimumWidth(), min(int(total * DETAIL_SHARE), DETAIL_MAX_WIDTH))
        self.splitter.setSizes([total - width, width])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        # The page's layout has resized the splitter by now.
        super().resizeEvent(event)
        if not self._divider_chosen and not self.detail.isHidden():
            self._split_by_default()

    def _divider_moved(self) -> None:
        self._divider_chosen = True
        table_width, detail_width = self.splitter.sizes()
        if detail_width:
            self._detail_width = detail_width
        elif not self.detail.isHidden():
            # Dragged shut: hidden, as Ctrl+D hides it, and it reopens at the width it had
            # rather than as a sliver.
            width = max(self._detail_width, self.detail.minimumWidth())
            self.splitter.setSizes([table_width - width, width])
            self.show_details(False)
        QSettings().setValue("students/splitter", self.splitter.saveState())

    def _double_clicked(self, index) -> None:
        if not (self.model.flags(index) & Qt.ItemFlag.ItemIsEditable):
            self.edit_student()

    def new_student(self) -> None:
        dialog = StudentDialog(self)
        if dialog.exec() and dialog.saved:
            self.status_message.emit(f"Added {dialog.saved.full_name}.")
        self.table.setFocus()  # back to the list, where the keyboard left off

    def edit_student(self) -> None:
        row = self._selected_student()
        if row is None:
            self.status_message.emit("Select one student to edit.")
            return
        dialog = StudentDialog(self, row)
        if dialog.exec() and dialog.saved:
            self.status_message.emit(f"Saved {dialog.saved.full_name}.")
        self.table.setFocus()

    def deactivate_students(self) -> None:
        rows = [r for r in self.table.selected_rows() if r.status == StudentStatus.ACTIVE.value]
        if not rows:
            self.status_message.emit("Select one or more active students to deactivate.")
            return
        names = ", ".join(r.full_name for r in rows[:5]) + (" …" if len(rows) > 5 else "")
        answer = QMessageBox.question(
            self,
            "Deactivate students",
            f"Mark {counted(len(rows), 'student')} inactive?\n\n{names}\n\n"
            "Their enrollments and history are kept; you can set them active again.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        ids = [r.id for r in rows]
        Op(
            self,
            lambda s, ctx, job: [students.deactivate_student(s, ctx, i) for i in ids],
            title="Deactivating…",
        ).success(
            lambda done: self.status_message.emit(f"Deactivated {counted(len(done), 'student')}.")
        ).run()
