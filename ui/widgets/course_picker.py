"""Choosing a course by name, the one way: an editable box that completes any part of
a course's name as you type, where only an existing course counts. A name that matches
none is answered with the closest names ("Did you mean Underwater Basket Weaving?") and,
where courses may be created, a "New course…" button — never with a new course.

Used by the student panel's Enroll box and the new-request dialog.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.rows import CourseRow
from app.domain.text_limits import COURSE_TEXT_LIMITS
from app.services.courses import closest_course_names


class CoursePicker(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.lineEdit().setPlaceholderText("Type or pick a course")
        self.lineEdit().setMaxLength(COURSE_TEXT_LIMITS["name"])
        self.setToolTip("Type any part of a course name and pick it from the list")
        completer = QCompleter(self.model(), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self._courses: list[CourseRow] = []

    def set_courses(self, rows: list[CourseRow]) -> None:
        typed = self.currentText()
        self._courses = list(rows)
        # A name stored before the limit was kept must still fit whole when picked.
        longest = max((len(row.name) for row in rows), default=0)
        self.lineEdit().setMaxLength(max(COURSE_TEXT_LIMITS["name"], longest))
        self.blockSignals(True)
        self.clear()
        for row in rows:
            self.addItem(row.name, row.id)
        self.setCurrentIndex(-1)
        self.setEditText(typed)
        self.blockSignals(False)

    def typed(self) -> str:
        return " ".join(self.currentText().split())

    def chosen(self) -> CourseRow | None:
        """The course the box names (any case, any spacing); None for a name of none."""
        wanted = self.typed().lower()
        return next((row for row in self._courses if row.name.lower() == wanted), None)

    def suggestions(self) -> list[str]:
        return closest_course_names([row.name for row in self._courses], self.typed())

    def pick(self, name: str) -> None:
        index = self.findText(name, Qt.MatchFlag.MatchFixedString)
        if index >= 0:
            self.setCurrentIndex(index)
        else:
            self.setEditText(name)


class CourseSuggestions(QWidget):
    """Shown under a course box whose name matches no course: the closest names as
    buttons and, with ``offer_create``, a button to create the course."""

    picked = Signal(str)
    create_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, offer_create: bool) -> None:
        super().__init__(parent)
        self.setObjectName("courseSuggestions")
        self.offer_create = offer_create
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #a61b1b;")
        self.create_button = QPushButton("Create course…")
        self.create_button.clicked.connect(lambda: self.create_requested.emit(self._typed))
        self.create_button.setVisible(offer_create)
        self._choices = QVBoxLayout()
        self._choices.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addLayout(self._choices)
        create_row = QHBoxLayout()
        create_row.addStretch(1)
        create_row.addWidget(self.create_button)
        layout.addLayout(create_row)
        self.buttons: list[QPushButton] = []
        self._typed = ""
        self.hide()

    def show_for(self, typed: str, suggestions: list[str]) -> None:
        for button in self.buttons:
            self._choices.removeWidget(button)
            button.deleteLater()
        self.buttons = []
        self._typed = typed
        if suggestions:
            text = f"No course is named “{typed}”. Did you mean:"
        elif self.offer_create:
            text = f"No course is named “{typed}”. Check the spelling, or create the course."
        else:
            text = f"No course is named “{typed}”. Pick one from the list."
        self.message.setText(text)
        for name in suggestions:
            button = QPushButton(name.replace("&", "&&"))  # "Music & Movement" is no mnemonic
            button.setToolTip(f"Use {name}")
            button.setStyleSheet("text-align: left; padding: 2px 8px;")
            button.clicked.connect(lambda _checked=False, n=name: self.picked.emit(n))
            self._choices.addWidget(button)
            button.show()  # now, not when the layout gets round to it: it takes the focus
            self.buttons.append(button)
        self.show()
        (self.buttons[0] if self.buttons else self.create_button).setFocus()

    def clear(self) -> None:
        self.hide()
        self._typed = ""
