"""A student number field that also finds the student: typing part of a name, number
or e-mail lists the matching students under the field (as the new-request dialog's
search does), and picking one puts their student number in the field.

The search runs through ops (never on the GUI thread) a moment after the typing stops;
a newer search replaces the one still queued.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeyEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from app.domain.rows import StudentPage
from app.services.students import StudentQuery, list_students
from ui.ops import Op

MATCHES_SHOWN = 12
SEARCH_DELAY_MS = 250
NUMBER_ROLE = Qt.ItemDataRole.UserRole  # what picking a match puts in the field
_POPUP_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Tab,
               Qt.Key.Key_Backtab)  # fmt: skip


class StudentNumberEdit(QLineEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setClearButtonEnabled(True)
        self.setPlaceholderText("Student number, or part of a name to find it")
        self.matches = QStandardItemModel(self)
        self.completer_ = QCompleter(self.matches, self)
        self.completer_.setWidget(self)
        # The matches are the search's answer already: the popup shows them as they are.
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCompletionRole(NUMBER_ROLE)
        self.completer_.activated.connect(self._picked)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.search)
        self.textEdited.connect(lambda _text: self._timer.start())
        self._op: Op | None = None

    def student_no(self) -> str | None:
        return self.text().strip() or None

    def search(self) -> None:
        self._timer.stop()
        typed = self.text().strip()
        if self._op is not None:
            self._op.cancel()  # a newer search replaces the one queued
            self._op = None
        if not typed:
            self.completer_.popup().hide()
            return
        query = StudentQuery(search=typed, limit=MATCHES_SHOWN)
        op = Op(self, lambda s, ctx, job: list_students(s, ctx, query), show_progress=False,
                read_only=True)  # fmt: skip
        # A failed search only offers nothing: the report says what is wrong with the number.
        op.success(lambda page: self._found(op, typed, page)).failure(lambda _error: None)
        self._op = op
        op.run()

    def _found(self, op: Op, typed: str, page: StudentPage) -> None:
        if op is not self._op or typed != self.text().strip():
            return  # the answer to a search since replaced
        self._op = None
        self.matches.clear()
        for student in page.rows:
            label = f"{student.student_no} — {student.full_name}"
            if student.class_name:
                label += f", {student.class_name}"
            item = QStandardItem(label)
            item.setData(student.student_no, NUMBER_ROLE)
            item.setEditable(False)
            self.matches.appendRow(item)
        exact = len(page.rows) == 1 and page.rows[0].student_no == typed
        if page.rows and not exact and self.hasFocus():
            self.completer_.complete()
        else:
            self.completer_.popup().hide()

    def _picked(self, student_no: str) -> None:
        self._timer.stop()
        self.setText(student_no)
        self.completer_.popup().hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.completer_.popup().isVisible() and event.key() in _POPUP_KEYS:
            event.ignore()  # the popup's own: pick, close, move on
            return
        super().keyPressEvent(event)
