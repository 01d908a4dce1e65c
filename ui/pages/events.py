"""Events page: registrations across events, with teams, attendance and certificates.

Register… (Ctrl+N) opens the desk's registration dialog for the event chosen in the
Event filter; Cancel registration… (Del) cancels the highlighted registration after a
question, and a second one when the registration has check-ins or certificates that
cancelling would undo. The status bar says what happened, including who moved up from
the waiting list; the list follows through the hub's change broadcast.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from app.domain.enums import RegistrationStatus
from app.domain.errors import RegistrationHasRecords
from app.domain.rows import RegistrationListRow
from app.domain.wording import counted
from app.services import events, registrations
from app.services.events import RegistrationQuery
from app.services.registrations import CancelResult
from ui.models.registrations import RegistrationTableModel
from ui.ops import Op, show_error
from ui.pages.list_page import ListPage

if TYPE_CHECKING:  # the dialogs load on first use: start-up stays quick
    from ui.dialogs.registration_dialog import RegistrationDialog


class EventsPage(ListPage):
    title = "Event registrations"
    menu_text = "E&vent registrations"  # in the View menu
    noun = ("registration", "registrations")

    def __init__(self, parent=None) -> None:
        super().__init__(RegistrationTableModel(), "registrations", parent)
        self.search = self.add_search("Name, number or e-mail  (Ctrl+F)")
        # Narrower than on Students: this page's three actions share the row, and the
        # window still fits a 1024 px screen.
        self.search.setMinimumWidth(240)
        self.event_filter = self.add_choice("Event", "All events", [])
        self.status_filter = self.add_choice(
            "Status", "All statuses", [(s.value.capitalize(), s.value) for s in RegistrationStatus]
        )
        self.filter_bar.addStretch(1)
        self.register_action = self._action("&Register…", QKeySequence.StandardKey.New,
                                            self.open_registration)  # fmt: skip
        self.cancel_action = self._action("&Cancel registration…", QKeySequence.StandardKey.Delete,
                                          self.cancel_registration)  # fmt: skip
        self.register_button = self._button("Register…", "Register students or a team for the "
                                            "event chosen, by student number (Ctrl+N)",
                                            self.register_action)  # fmt: skip
        self.cancel_button = self._button("Cancel registration…", "Cancel the highlighted "
                                          "registration; the first on the waiting list moves "
                                          "up (Del)", self.cancel_action)  # fmt: skip
        self.remove_action = QAction("Remove from &team…", self)
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.remove_action.triggered.connect(self.remove_from_team)
        self.addAction(self.remove_action)
        self.remove_button = self._button("Remove from team…", "Take the highlighted student "
                                          "out of their team; their registration is cancelled "
                                          "and the waiting list moves up", self.remove_action)  # fmt: skip
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.model.modelReset.connect(self._update_actions)
        self.model.dataChanged.connect(lambda *_: self._update_actions())
        self._update_actions()

    def _action(self, text: str, shortcut: QKeySequence.StandardKey, slot) -> QAction:
        action = QAction(text, self, shortcut=shortcut)
        # Anywhere on the page; a search field keeps Del for itself.
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _button(self, text: str, tip: str, action: QAction) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(action.trigger)
        self.filter_bar.addWidget(button)
        return button

    def query_from_filters(self, query: RegistrationQuery) -> RegistrationQuery:
        return replace(
            query,
            search=self.search.text(),
            event_id=self.event_filter.currentData(),
            status=self.status_filter.currentData(),
        )

    def load_choices(self) -> None:
        Op(self, lambda s, ctx, job: events.list_events(s, ctx), show_progress=False).success(
            lambda rows: self.set_choices(
                self.event_filter, [(f"{e.name} ({e.starts_on:%d %b %Y})", e.id) for e in rows]
            )
        ).run()

    # ------------------------------------------------------------ registering
    def open_registration(self) -> RegistrationDialog:
        from ui.dialogs.registration_dialog import RegistrationDialog

        dialog = RegistrationDialog(self.event_filter.currentData(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self._registration_closed(dialog))
        dialog.open()
        return dialog

    def _registration_closed(self, dialog: RegistrationDialog) -> None:
        done = []
        if dialog.registered:
            done.append(f"Registered {counted(dialog.registered, 'student')}")
        if dialog.waitlisted:
            done.append(f"put {counted(dialog.waitlisted, 'student')} on the waiting list")
        if done:
            text = "; ".join(done)
            self.status_message.emit(f"{text[0].upper()}{text[1:]}.")
        self.table.setFocus()  # back where the keyboard left off

    # ------------------------------------------------------------ cancelling
    def _chosen_registration(self) -> RegistrationListRow | None:
        rows = self.table.selected_rows()
        return rows[0] if len(rows) == 1 else None

    def _update_actions(self) -> None:
        row = self._chosen_registration()
        live = row is not None and row.status != RegistrationStatus.CANCELLED.value
        self.cancel_action.setEnabled(live)
        self.cancel_button.setEnabled(live)
        in_team = live and row is not None and row.team_name is not None
        self.remove_action.setEnabled(in_team)
        self.remove_button.setEnabled(in_team)

    def cancel_registration(self) -> None:
        row = self._chosen_registration()
        if row is None or row.status == RegistrationStatus.CANCELLED.value:
            self.status_message.emit("Highlight the one registration to cancel.")
            return
        after = ("The first student on the waiting list moves up into the place."
                 if row.status == RegistrationStatus.REGISTERED.value
                 else "They leave the waiting list.")  # fmt: skip
        question = (f"Cancel {row.registration_no} of {row.student_name} ({row.student_no}) "
                    f"for {row.event_name}?\n\nThe registration stays in the list, cancelled. "
                    f"{after}")  # fmt: skip
        if ask(self, "Cancel registration", question, "&Cancel registration",
               "&Keep the registration"):  # fmt: skip
            self._cancel(row.registration_no, revoke=False)

    def remove_from_team(self) -> None:
        row = self._chosen_registration()
        if row is None or row.team_name is None or row.status == RegistrationStatus.CANCELLED:
            self.status_message.emit("Highlight the one team member to take out.")
            return
        question = (f"Take {row.student_name} ({row.student_no}) out of team {row.team_name} "
                    f"for {row.event_name}?\n\nTheir registration {row.registration_no} stays "
                    "in the list, cancelled; the first student on the waiting list moves up.")  # fmt: skip
        if ask(self, "Remove from team", question, "&Remove from team", "&Keep them"):
            self._remove(row, revoke=False)

    def _remove(self, row: RegistrationListRow, *, revoke: bool) -> None:
        event_id, team, number = row.event_id, row.team_name or "", row.student_no
        Op(self, lambda s, ctx, job: registrations.remove_team_member(
            s, ctx, event_id, team, number, revoke_certificates=revoke), title="Removing…",
           ).success(self._cancelled).failure(
            lambda error: self._remove_refused(row, error)).run()  # fmt: skip

    def _remove_refused(self, row: RegistrationListRow, error: BaseException) -> None:
        if not isinstance(error, RegistrationHasRecords):
            show_error(self, error)
            return
        undo = ("Remove and &revoke certificates" if error.certificates
                else "Remove and &set check-ins aside")  # fmt: skip
        if ask(self, "Remove from team", error.message, undo, "&Keep them"):
            self._remove(row, revoke=True)

    def _cancel(self, registration_no: str, *, revoke: bool) -> None:
        Op(self, lambda s, ctx, job: registrations.cancel_registration(
            s, ctx, registration_no, revoke_certificates=revoke), title="Cancelling…",
           ).success(self._cancelled).failure(
            lambda error: self._cancel_refused(registration_no, error)).run()  # fmt: skip

    def _cancel_refused(self, registration_no: str, error: BaseException) -> None:
        if not isinstance(error, RegistrationHasRecords):
            show_error(self, error)
            return
        # The button says what cancelling undoes: certificates when there are any (their
        # check-ins go too, as the question's text says), otherwise the check-ins.
        undo = ("Cancel and &revoke certificates" if error.certificates
                else "Cancel and &set check-ins aside")  # fmt: skip
        if ask(self, "Cancel registration", error.message, undo, "&Keep the registration"):
            self._cancel(registration_no, revoke=True)

    def _cancelled(self, result: CancelResult) -> None:
        self.status_message.emit(result.summary)
        self.table.setFocus()


def ask(parent: QWidget, title: str, text: str, yes: str, no: str) -> bool:
    """A question whose buttons say what they do; Esc and Enter choose ``no``, the one
    that changes nothing."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no_button)
    box.setEscapeButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button
