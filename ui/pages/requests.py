"""Enrollment requests page: pending requests first; approve or reject the selected ones.

Each approval is verified on its own: one that fails stays pending and its reason is
shown above the list, the others go through.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QPushButton

from app.domain.enums import RequestStatus
from app.domain.rows import RequestDecisions, RequestListRow
from app.domain.wording import counted, plural
from app.maintenance.request_decisions import decide_requests
from app.services import courses
from app.services.permissions import Permission
from app.services.requests import RequestQuery
from ui.dialogs.request_dialog import RequestDialog
from ui.models.requests import RequestTableModel
from ui.ops import Op, hub
from ui.pages.list_page import ListPage
from ui.role import enable


class RequestsPage(ListPage):
    title = "Enrollment requests"
    menu_text = "Enrollment re&quests"  # in the View menu
    noun = ("request", "requests")

    def __init__(self, parent=None) -> None:
        super().__init__(RequestTableModel(), "requests", parent)
        self.search = self.add_search("Student name, number or e-mail  (Ctrl+F)")
        self.status_filter = self.add_choice(
            "Status", "All statuses", [(s.value.capitalize(), s.value) for s in RequestStatus]
        )
        self.course_filter = self.add_choice("Course", "All courses", [])
        self.status_filter.blockSignals(True)
        self.status_filter.setCurrentIndex(1)  # Pending: what a registrar works through
        self.status_filter.blockSignals(False)
        self.filter_bar.addStretch(1)
        self.new_action = self._action("&New request…", QKeySequence.StandardKey.New,
                                       self.new_request)  # fmt: skip
        self.approve_action = self._action("&Approve", QKeySequence("Ctrl+Return"), self.approve)
        self.reject_action = self._action("&Reject…", QKeySequence("Ctrl+Backspace"), self.reject)
        self.buttons: list[QPushButton] = []
        new_button = QPushButton("New request…")
        new_button.setToolTip("Request a course on a student's behalf (Ctrl+N)")
        new_button.clicked.connect(self.new_action.trigger)
        self.filter_bar.addWidget(new_button)
        for action in (self.approve_action, self.reject_action):
            label = action.text().replace("&", "")
            button = QPushButton(label)
            button.setToolTip(f"{label} the selected requests ({action.shortcut().toString()})")
            button.clicked.connect(action.trigger)
            self.filter_bar.addWidget(button)
            self.buttons.append(button)
        self.problems = QLabel("")
        self.problems.setObjectName("requestProblems")
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems.setStyleSheet(
            "QLabel#requestProblems { color: #a61b1b; background: #fbe9eb; padding: 6px; }"
        )
        self.problems.hide()
        self.body.insertWidget(0, self.problems)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.model.modelReset.connect(self._update_actions)
        self.model.dataChanged.connect(lambda *_: self._update_actions())
        self._tips = {button: button.toolTip() for button in self.buttons}
        hub().signed_in_changed.connect(self._update_actions)
        self._update_actions()

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(shortcut)
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def query_from_filters(self, query: RequestQuery) -> RequestQuery:
        return replace(query, search=self.search.text(), status=self.status_filter.currentData(),
                       course_id=self.course_filter.currentData())  # fmt: skip

    def load_choices(self) -> None:
        Op(self, lambda s, ctx, job: courses.list_courses(s, ctx), show_progress=False).success(
            lambda rows: self.set_choices(self.course_filter, [(c.name, c.id) for c in rows])
        ).run()

    def new_request(self) -> RequestDialog:
        dialog = RequestDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.status_message.emit(
            f"Requested {dialog.created.course_name} for {dialog.created.student_name}."
            if dialog.created else "Request created."))  # fmt: skip
        # Back to the list, where the keyboard left off, however the dialog closed.
        dialog.finished.connect(lambda _result: self.table.setFocus())
        dialog.open()
        return dialog

    # ------------------------------------------------------------ decisions
    def selected_pending(self) -> list[RequestListRow]:
        return [r for r in self.table.selected_rows() if r.status == RequestStatus.PENDING.value]

    def _update_actions(self) -> None:
        enabled = bool(self.selected_pending())
        for action, button in zip((self.approve_action, self.reject_action), self.buttons,
                                  strict=True):  # fmt: skip
            enable(action, enabled, Permission.DECIDE_REQUESTS, "")
            enable(button, enabled, Permission.DECIDE_REQUESTS, self._tips[button])

    def approve(self) -> None:
        rows = self.selected_pending()
        if not rows:
            return
        Op(self, lambda s, ctx, job: decide_requests(s, ctx, rows, "approve", job=job)
           .value_or_raise(), title=f"Approving {counted(len(rows), 'request')}…"
           ).success(lambda result: self._decided(result, rows, "approved")).run()  # fmt: skip

    def reject(self, *, note: str | None = None) -> None:
        rows = self.selected_pending()
        if not rows:
            return
        if note is None:
            note, ok = QInputDialog.getText(
                self, "Reject requests",
                f"Reject {counted(len(rows), 'request')}. Reason (kept "
                "with the request, optional):", QLineEdit.EchoMode.Normal, "",
            )  # fmt: skip
            if not ok:
                return
        Op(self, lambda s, ctx, job: decide_requests(s, ctx, rows, "reject", note=note, job=job)
           .value_or_raise(), title="Rejecting…"
           ).success(lambda result: self._decided(result, rows, "rejected")).run()  # fmt: skip

    def _decided(self, result: RequestDecisions, rows: list[RequestListRow], verb: str) -> None:
        by_id = {r.id: r for r in rows}
        count = len(result.decided)
        self.status_message.emit(f"{verb.capitalize()} {counted(count, 'request')}.")
        if not result.failed:
            self.problems.hide()
            return
        lines = [
            f"<li><b>{by_id[i].student_name}</b> — {by_id[i].course_name}: {reason}</li>"
            for i, reason in result.failed.items()
            if i in by_id
        ]
        failed = len(result.failed)
        self.problems.setText(
            f"<b>{counted(failed, 'request')} {plural(failed, 'was')} not {verb} and "
            f"{plural(failed, 'is')} still pending:</b><ul style='margin:0'>"
            + "".join(lines) + "</ul>"
        )  # fmt: skip
        self.problems.show()
