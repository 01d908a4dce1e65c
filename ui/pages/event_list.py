"""Events page: every event, newest first, with what its organiser looks at —
registrations on their own and in teams, the waiting list, check-ins per event day
(a small bar chart, the numbers in its tooltip), certificates by kind, the average
rating.

New event… (Ctrl+N) and Edit event… (Enter, or a double-click) open the event dialog.
The status buttons move the highlighted event on — Open registration, Close
registration, Mark held, Cancel event… (asked first) — each enabled only when the
event's status flow allows that step; a refusal (someone moved the event on
meanwhile) is shown in the status bar and a message box. Check in… and Certificates…
open the highlighted event's check-in desk and certificates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton, QWidget

from app.domain.enums import EventStatus
from app.domain.wording import counted, plural
from app.services import event_setup
from app.services.event_setup import EventDetails, EventSummary
from app.services.permissions import Permission
from ui.models.event_list import ATTENDANCE, BARS_ROLE, DATES, EventListModel, can_become
from ui.ops import Op, error_text, hub, show_error
from ui.pages.list_page import ListPage
from ui.role import enable
from ui.widgets.day_bars import DayBarsDelegate

if TYPE_CHECKING:  # the dialogs load on first use: start-up stays quick
    from ui.dialogs.event_dialog import EventDialog


@dataclass(frozen=True)
class Step:
    """A move along the status flow, as a button says it and the status bar reports it."""

    status: EventStatus
    text: str
    tip: str
    done: str  # "{name}" is the event's


STEPS = (
    Step(EventStatus.OPEN, "&Open registration", "Take registrations for the highlighted "
         "event (within its registration window, if it has one)",
         "Registration for {name} is open."),
    Step(EventStatus.CLOSED, "C&lose registration", "Stop taking registrations for the "
         "highlighted event", "Registration for {name} is closed."),
    Step(EventStatus.COMPLETED, "&Mark held", "The highlighted event has been held: "
         "its details can no longer be changed", "{name} is marked as held."),
    Step(EventStatus.CANCELLED, "C&ancel event…", "Cancel the highlighted event (asked "
         "first); its registrations are kept", "{name} is cancelled."),
)  # fmt: skip


class CancelEventQuestion(QMessageBox):
    """Cancel event…'s question. Enter and Esc keep the event: a cancelled event cannot
    be opened again, so cancelling takes a deliberate key (its letter, or Tab to it)."""

    def __init__(self, event: EventSummary, parent: QWidget | None = None) -> None:
        people = event.registered + event.waitlisted
        kept = (f" Its {counted(people, 'registration')} {plural(people, 'is', 'are')} kept."
                if people else "")  # fmt: skip
        super().__init__(QMessageBox.Icon.Warning, "Cancel event",
                         f"Cancel {event.name}? It will take no more registrations or "
                         f"check-ins and give no certificates.{kept} A cancelled event "
                         "cannot be opened again.", parent=parent)  # fmt: skip
        self.confirm = self.addButton("C&ancel event", QMessageBox.ButtonRole.DestructiveRole)
        self.keep = self.addButton("&Keep it", QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.keep)
        self.setEscapeButton(self.keep)
        self.setWindowModality(Qt.WindowModality.WindowModal)

    def confirmed(self) -> bool:
        return self.clickedButton() is self.confirm


class EventListPage(ListPage):
    title = "Events"
    # "E" is Course enrollments' letter in the View menu, "v" Event registrations'.
    menu_text = "Even&ts"
    noun = ("event", "events")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(EventListModel(), "event_list", parent)
        self.table.setItemDelegateForColumn(ATTENDANCE, DayBarsDelegate(BARS_ROLE, self.table))
        self._show_order()
        # A click on a header is answered by the table ("cannot be sorted by …"); the
        # indicator goes back to the order the list has.
        self.table.horizontalHeader().sortIndicatorChanged.connect(lambda *_: self._show_order())
        self.new_action = QAction("&New event…", self, shortcut=QKeySequence.StandardKey.New)
        # Anywhere on the page, as on the other pages.
        self.new_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.new_action.triggered.connect(self.new_event)
        self.addAction(self.new_action)
        self.edit_action = QAction("&Edit event…", self)
        self.edit_action.setShortcuts([QKeySequence(Qt.Key.Key_Return),
                                       QKeySequence(Qt.Key.Key_Enter)])  # fmt: skip
        # Only while the list has focus: Enter must still press the focused button.
        self.edit_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.edit_action.triggered.connect(self.edit_event)
        self.table.addAction(self.edit_action)
        self.table.doubleClicked.connect(lambda _index: self.edit_action.trigger())

        self.new_button = self._button("&New event…", "A new event, as a draft (Ctrl+N)",
                                       self.new_action.trigger)  # fmt: skip
        self.edit_button = self._button("&Edit event…", "The highlighted event's details "
                                        "(Enter)", self.edit_action.trigger)  # fmt: skip
        self.filter_bar.addSpacing(12)
        self.step_buttons: dict[EventStatus, QPushButton] = {}
        for step in STEPS:
            self.step_buttons[step.status] = self._button(
                step.text, step.tip, lambda _=False, s=step: self.move_on(s)
            )
        self.filter_bar.addStretch(1)
        self.check_in_button = self._button("Check &in…", "The highlighted event's check-in "
                                            "desk", self.open_check_in)  # fmt: skip
        self.certificates_button = self._button("Ce&rtificates…", "Issue and revoke the "
                                                "highlighted event's certificates",
                                                self.open_certificates)  # fmt: skip
        self._tips = {button: button.toolTip() for button in (self.new_button, self.edit_button,
                                                              *self.step_buttons.values())}
        hub().signed_in_changed.connect(self._selection_changed)
        self._moving = False  # a status change is on its way: the steps wait for it
        self._select_when_loaded: uuid.UUID | None = None

        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.model.modelReset.connect(self._selection_changed)
        self.model.dataChanged.connect(lambda *_: self._selection_changed())
        self.model.page_loaded.connect(lambda _page: self._select_saved())
        self._selection_changed()

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        self.filter_bar.addWidget(button)
        return button

    def _show_order(self) -> None:
        # The list's one order, newest first, shown on the Dates header; the header's
        # signals stay quiet, or the table would take it for a sort asked for.
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        header.setSortIndicator(DATES, Qt.SortOrder.DescendingOrder)
        header.blockSignals(False)

    # ------------------------------------------------------------ the highlighted event
    def chosen(self) -> EventSummary | None:
        rows = self.table.selected_rows()
        return rows[0] if len(rows) == 1 else None

    def _selection_changed(self) -> None:
        event = self.chosen()
        for widget in (self.check_in_button, self.certificates_button):
            widget.setEnabled(event is not None)
        # Setting events up and moving them on is the office's; the desk is everyone's.
        enable(self.new_action, True, Permission.MANAGE_EVENTS, "")
        enable(self.new_button, True, Permission.MANAGE_EVENTS, self._tips[self.new_button])
        enable(self.edit_action, event is not None, Permission.MANAGE_EVENTS, "")
        enable(self.edit_button, event is not None, Permission.MANAGE_EVENTS,
               self._tips[self.edit_button])  # fmt: skip
        for status, button in self.step_buttons.items():
            enable(button, event is not None and not self._moving and can_become(event, status),
                   Permission.MANAGE_EVENTS, self._tips[button])  # fmt: skip

    def _select_saved(self) -> None:
        """After a save, highlight the event saved once the list shows it."""
        if self._select_when_loaded is None:
            return
        row = self.model.row_of(self._select_when_loaded)
        if row >= 0:
            self._select_when_loaded = None
            self.table.selectRow(row)

    # ------------------------------------------------------------ new and edit
    def new_event(self) -> EventDialog:
        return self._open_dialog(None)

    def edit_event(self) -> EventDialog | None:
        event = self.chosen()
        return None if event is None else self._open_dialog(event.id)

    def _open_dialog(self, event_id: uuid.UUID | None) -> EventDialog:
        from ui.dialogs.event_dialog import open_event_dialog

        dialog = open_event_dialog(self, event_id)
        dialog.saved.connect(self._saved)
        # Back to the list, where the keyboard left off, however the dialog closed.
        dialog.finished.connect(lambda _result: self.table.setFocus())
        return dialog

    def _saved(self, said: str, event_id: uuid.UUID) -> None:
        self.status_message.emit(said)
        self._select_when_loaded = event_id  # the list refreshes on the hub's broadcast

    # ------------------------------------------------------------ status
    def move_on(self, step: Step) -> None:
        event = self.chosen()
        if event is None or not can_become(event, step.status):
            return
        if step.status is not EventStatus.CANCELLED:
            self._set_status(event, step)
            return
        box = CancelEventQuestion(event, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self._answered(box, event, step))
        box.open()

    def _answered(self, box: CancelEventQuestion, event: EventSummary, step: Step) -> None:
        if box.confirmed():
            self._set_status(event, step)
        self.table.setFocus()

    def _set_status(self, event: EventSummary, step: Step) -> None:
        event_id, status = event.id, step.status.value
        self._moving = True
        self._selection_changed()
        Op(self, lambda s, ctx, job: event_setup.set_event_status(s, ctx, event_id, status),
           title=f"{step.text.replace('&', '').rstrip('…')}…").success(
            lambda details: self._moved(details, step)).failure(self._refused).finally_(
            self._move_done).run()  # fmt: skip

    def _moved(self, details: EventDetails, step: Step) -> None:
        self.status_message.emit(step.done.format(name=details.name))

    def _refused(self, error: BaseException) -> None:
        self.status_message.emit(error_text(error))
        show_error(self, error)
        # What the list shows is out of date (someone moved the event on meanwhile).
        self.model.refresh()

    def _move_done(self) -> None:
        self._moving = False
        self._selection_changed()

    # ------------------------------------------------------------ the event's desks
    def open_check_in(self) -> QDialog | None:
        event = self.chosen()
        if event is None:
            return None
        # Imported when first opened, as the window does with its wizards: the page
        # does not load the desk until someone uses it.
        from ui.dialogs.checkin_dialog import CheckInDialog

        return self._open_desk(CheckInDialog(event.id, self))

    def open_certificates(self) -> QDialog | None:
        event = self.chosen()
        if event is None:
            return None
        from ui.dialogs.certificates_dialog import CertificatesDialog

        return self._open_desk(CertificatesDialog(event.id, self))

    def _open_desk(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self.table.setFocus())
        dialog.open()
        return dialog
