"""A session's register (Sessions page: Take attendance…, Ctrl+T, or double-click the
course): take attendance with the keyboard.

P, A, L and E mark the highlighted student present, absent, late or excused and move
to the next one; Space switches between present and absent; N edits the note; M the
minutes a late student was late; Mark all present (Ctrl+Shift+P) first, then correct
the exceptions. Where the school asks for a reason with every excused absence, E opens
the note for it straight away. Save (Ctrl+S) records every
mark in one transaction; closing with marks not saved asks first. "Not on the
register?" answers in one line why a student someone expected is missing.
"""

from __future__ import annotations

import uuid
import zlib

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import AttendanceStatus
from app.domain.errors import ValidationError
from app.domain.wording import counted
from app.services import attendance
from app.services.attendance import Mark, Register
from ui.dialogs.parts import refusal_label
from ui.ops import Op, error_text

COLUMNS = ("", "Student no", "Name", "Class", "Mark", "Min late", "Note")
INITIALS, NUMBER, NAME, CLASS, MARK, LATE, NOTE = range(len(COLUMNS))
LATE_MARK = AttendanceStatus.LATE.value
KEY_MARKS = {
    Qt.Key.Key_P: AttendanceStatus.PRESENT.value,
    Qt.Key.Key_A: AttendanceStatus.ABSENT.value,
    Qt.Key.Key_L: AttendanceStatus.LATE.value,
    Qt.Key.Key_E: AttendanceStatus.EXCUSED.value,
}


class RegisterTable(QTableWidget):
    """The register's rows; the mark keys act on the highlighted row."""

    def __init__(self, dialog: RegisterDialog) -> None:
        super().__init__(0, len(COLUMNS))
        self.dialog = dialog
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Only the note is typed into (N, F2 or a double-click); marks come from keys.
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.DoubleClicked)  # fmt: skip
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(NOTE, QHeaderView.ResizeMode.Stretch)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        row = self.currentRow()
        no_modifier = event.modifiers() in (Qt.KeyboardModifier.NoModifier,
                                            Qt.KeyboardModifier.KeypadModifier)  # fmt: skip
        if row >= 0 and no_modifier and self.state() != QAbstractItemView.State.EditingState:
            if event.key() in KEY_MARKS:
                self.dialog.set_mark(row, KEY_MARKS[event.key()])
                if self.dialog.needs_reason(row):
                    self.edit_cell(row, NOTE)  # the reason first, then on to the next
                    return
                self.selectRow(min(row + 1, self.rowCount() - 1))
                return
            if event.key() == Qt.Key.Key_Space:
                present = self.dialog.mark_of(row) == AttendanceStatus.PRESENT.value
                self.dialog.set_mark(row, AttendanceStatus.ABSENT.value if present
                                     else AttendanceStatus.PRESENT.value)  # fmt: skip
                return
            if event.key() == Qt.Key.Key_N:
                self.edit_cell(row, NOTE)
                return
            if event.key() == Qt.Key.Key_M and self.dialog.mark_of(row) == LATE_MARK:
                self.edit_cell(row, LATE)
                return
        super().keyPressEvent(event)

    def edit_cell(self, row: int, column: int) -> None:
        self.setCurrentCell(row, column)
        self.editItem(self.item(row, column))


class RegisterDialog(QDialog):
    def __init__(self, session_id: uuid.UUID, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session_id = session_id
        self.register: Register | None = None
        self.saved_marks = 0
        self._close_when_saved = False
        self._saved: dict[uuid.UUID, tuple[str | None, str | None, str | None]] = {}
        self.setWindowTitle("Register")
        self.resize(760, 560)
        self.heading = QLabel("Loading the register…")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.table = RegisterTable(self)
        self.table.itemChanged.connect(lambda _item: self._update_summary())
        self.summary = QLabel("")
        self.keys = QLabel("P present · A absent · L late · E excused · Space present/absent · "
                           "N note · M minutes late · Ctrl+Shift+P all present")  # fmt: skip
        self.keys.setStyleSheet("color: palette(mid);")
        self.mark_all_button = QPushButton("Mark all &present")
        self.mark_all_button.setToolTip("Then correct the exceptions (Ctrl+Shift+P)")
        self.mark_all_button.clicked.connect(self.mark_all_present)
        QShortcut(QKeySequence("Ctrl+Shift+P"), self, self.mark_all_present)
        self.missing = QLineEdit()
        self.missing.setPlaceholderText("Student number")
        self.missing.returnPressed.connect(self.explain_missing)
        ask = QPushButton("&Why not listed?")
        ask.clicked.connect(self.explain_missing)
        self.answer = QLabel("")
        self.answer.setWordWrap(True)
        self.message = refusal_label()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText("Close")
        # An action, not the accept button: the button box would make an accept button
        # the default, which Enter in any field presses.
        self.save_button = self.buttons.addButton("&Save", QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        marks_row = QHBoxLayout()
        marks_row.addWidget(self.summary, 1)
        marks_row.addWidget(self.mark_all_button)
        layout.addLayout(marks_row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.keys)
        missing_row = QHBoxLayout()
        missing_label = QLabel("&Not on the register?")
        missing_label.setBuddy(self.missing)
        missing_row.addWidget(missing_label)
        missing_row.addWidget(self.missing)
        missing_row.addWidget(ask)
        layout.addLayout(missing_row)
        layout.addWidget(self.answer)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        # Enter answers the question typed, or ends a note: it never saves (or marks
        # everyone present) by being the dialog's default button. Save is Ctrl+S.
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        self.load()

    # ------------------------------------------------------------ loading
    def load(self) -> None:
        session_id = self.session_id
        Op(self, lambda s, ctx, job: attendance.session_register(s, ctx, session_id),
           show_progress=False).success(self._loaded).failure(
            lambda error: self.message.setText(error_text(error))).run()  # fmt: skip

    def _loaded(self, register: Register) -> None:
        self.register = register
        self.setWindowTitle(f"Register — {register.group_name}, {register.session_date:%d %b %Y}")
        self.heading.setText(
            f"<b>{register.group_name}</b>, {register.session_date:%A %d %B %Y}, "
            f"{register.start_time:%H:%M}–{register.end_time:%H:%M} ({register.session_status})"
        )
        self.table.blockSignals(True)
        self.table.setRowCount(len(register.rows))
        for number, row in enumerate(register.rows):
            values = (initials(row.name), row.student_no, row.name, row.class_name or "",
                      row.status or "", str(row.minutes_late or ""), row.note or "")  # fmt: skip
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column not in (NOTE, LATE):
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(number, column, item)
            _paint_initials(self.table.item(number, INITIALS), row.name)
            self._late_editable(number)
        self.table.blockSignals(False)
        for column in (INITIALS, NUMBER, CLASS, LATE):
            self.table.resizeColumnToContents(column)
        self.table.setColumnWidth(MARK, self.table.fontMetrics().horizontalAdvance("excused") + 24)
        self._saved = self._on_screen()
        if register.rows:
            self.table.selectRow(0)
        self.table.setFocus()
        self._update_summary()

    # ------------------------------------------------------------ marking
    def mark_of(self, row: int) -> str | None:
        return self.table.item(row, MARK).text() or None

    def set_mark(self, row: int, status: str) -> None:
        self.table.item(row, MARK).setText(status)
        if status != LATE_MARK:
            self.table.item(row, LATE).setText("")  # minutes late go with late only
        self._late_editable(row)

    def _late_editable(self, row: int) -> None:
        item = self.table.item(row, LATE)
        editable = Qt.ItemFlag.ItemIsEditable
        late = self.mark_of(row) == LATE_MARK
        item.setFlags(item.flags() | editable if late else item.flags() & ~editable)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setToolTip("Minutes late (M)" if late else "")

    def needs_reason(self, row: int) -> bool:
        """Excused without a reason where the school asks for one."""
        return bool(
            self.register is not None and self.register.excused_needs_reason
            and self.mark_of(row) == AttendanceStatus.EXCUSED.value
            and not self.table.item(row, NOTE).text().strip()
        )  # fmt: skip

    def mark_all_present(self) -> None:
        for row in range(self.table.rowCount()):
            self.set_mark(row, AttendanceStatus.PRESENT.value)

    def marks(self) -> list[Mark]:
        """The marks on screen (students not marked yet are left out). Minutes late that
        that are not a whole number are refused here, in words (ValidationError)."""
        return [Mark(enrollment_id, status, note, _minutes(late))
                for enrollment_id, (status, note, late) in self._on_screen().items()
                if status]  # fmt: skip

    def _on_screen(self) -> dict[uuid.UUID, tuple[str | None, str | None, str | None]]:
        """Every student's mark, note and minutes late as shown (None where none)."""
        if self.register is None:
            return {}
        return {row.enrollment_id: (self.mark_of(number),
                                    self.table.item(number, NOTE).text().strip() or None,
                                    self.table.item(number, LATE).text().strip() or None)
                for number, row in enumerate(self.register.rows)}  # fmt: skip

    def unsaved(self) -> bool:
        return self._on_screen() != self._saved

    def _update_summary(self) -> None:
        if self.register is None:
            return
        counts = {status.value: 0 for status in AttendanceStatus}
        for row in range(self.table.rowCount()):
            if mark := self.mark_of(row):
                counts[mark] += 1
        unmarked = self.table.rowCount() - sum(counts.values())
        parts = [f"{count} {status}" for status, count in counts.items()]
        self.summary.setText(f"{counted(self.table.rowCount(), 'student')}: {', '.join(parts)}"
                             f", {unmarked} not marked")  # fmt: skip

    # ------------------------------------------------------------ saving
    def save(self) -> None:
        try:
            marks = self.marks()
        except ValidationError as error:
            self._save_refused(error)
            return
        session_id = self.session_id
        self.buttons.setEnabled(False)
        Op(self, lambda s, ctx, job: attendance.save_marks(s, ctx, session_id, marks),
           show_progress=False).success(self._saved_now).failure(
            self._save_refused).finally_(lambda: self.buttons.setEnabled(True)).run()  # fmt: skip

    def _save_refused(self, error: BaseException) -> None:
        self._close_when_saved = False  # stay open: the marks are still to be saved
        self.message.setText(error_text(error))

    def _saved_now(self, changed: int) -> None:
        self.saved_marks += changed
        self._saved = self._on_screen()
        self.message.setText("")
        self.answer.setText(f"Saved: {counted(changed, 'mark')} changed.")
        if self._close_when_saved:
            self.accept()

    def explain_missing(self) -> None:
        number, session_id = self.missing.text().strip(), self.session_id
        if not number:
            return
        Op(self, lambda s, ctx, job: attendance.why_not_on_register(s, ctx, session_id, number),
           show_progress=False).success(lambda reason: self.answer.setText(
            reason or f"{number} is on the register.")).run()  # fmt: skip

    def done(self, result: int) -> None:
        """Every way of closing (Close, Esc, the window's ×) comes here: marks not saved
        are not lost without a question."""
        if self.unsaved():
            answer = QMessageBox.question(
                self, "Unsaved marks", "Save the marks before closing?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save,
            )  # fmt: skip
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer == QMessageBox.StandardButton.Save:
                self._close_when_saved = True  # closes once the save is done
                self.save()
                return
        super().done(result)


def initials(name: str) -> str:
    """ "Zoë Müller" -> "ZM": the register's photo-free face of a student."""
    words = [w for w in name.replace("-", " ").split() if w[:1].isalpha()]
    return "".join(w[0] for w in (words[:1] + words[-1:] if len(words) > 1 else words)).upper()


def _paint_initials(item: QTableWidgetItem, name: str) -> None:
    # A soft colour per name, the same every time, so a face is found again at a glance.
    hue = zlib.crc32(name.encode()) % 360
    item.setBackground(QColor.fromHsl(hue, 120, 215))
    item.setForeground(QColor.fromHsl(hue, 140, 60))
    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    font = QFont(item.font())
    font.setBold(True)
    item.setFont(font)


def _minutes(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise ValidationError(
            "minutes_late", f"Minutes late must be a whole number of minutes, not {text!r}."
        )
    return int(text)
