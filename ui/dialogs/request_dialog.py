"""New enrollment request, made by staff on a student's behalf (Requests page, Ctrl+N).

The person types part of the student's name, number or e-mail and picks from the
matches, chooses the course and may add a note. The service refuses a second pending
request for the same course or a course the student already takes; its message is
shown in the dialog, which stays open so the choice can be corrected.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.rows import RequestListRow
from app.services import courses, requests
from app.services.students import StudentQuery, list_students
from ui.dialogs.parts import refusal_label, submit_buttons
from ui.ops import Op, error_text
from ui.widgets.course_picker import CoursePicker, CourseSuggestions

MATCHES_SHOWN = 20
SEARCH_DELAY_MS = 250


class RequestDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New enrollment request")
        self.setMinimumWidth(520)
        self.created: RequestListRow | None = None
        self.search = QLineEdit()
        self.search.setPlaceholderText("Part of the name, student number or e-mail")
        self.matches = QListWidget()
        self.matches.setMinimumHeight(160)
        self.course = CoursePicker()
        self.course.lineEdit().setPlaceholderText("Loading courses…")
        self.course_suggestions = CourseSuggestions(offer_create=False)
        self.course_suggestions.picked.connect(self._suggestion_picked)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Optional, kept with the request")
        self.message = refusal_label()
        self.buttons = submit_buttons(self, "&Request", self.submit)
        form = QFormLayout()
        form.addRow("&Student:", self.search)
        form.addRow("", self.matches)
        form.addRow("&Course:", self.course)
        form.addRow("", self.course_suggestions)
        form.addRow("&Note:", self.note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.find_students)
        self.search.textChanged.connect(lambda _text: self._timer.start())
        self.search.returnPressed.connect(self.find_students)
        self.matches.currentItemChanged.connect(lambda *_: self._update_ok())
        self.course.currentTextChanged.connect(self._course_typed)
        self._update_ok()
        Op(
            self,
            lambda s, ctx, job: courses.list_courses(s, ctx, active_only=True),
            show_progress=False,
        ).success(self._courses_loaded).run()

    def _courses_loaded(self, rows) -> None:
        self.course.lineEdit().setPlaceholderText("Type or pick a course")
        self.course.set_courses(rows)

    def _course_typed(self, _text: str) -> None:
        self.course_suggestions.clear()
        self._update_ok()

    def _suggestion_picked(self, name: str) -> None:
        self.course.pick(name)
        self.course_suggestions.clear()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setFocus()

    def find_students(self) -> None:
        text = self.search.text().strip()
        if not text:
            self.matches.clear()
            return
        query = StudentQuery(search=text, limit=MATCHES_SHOWN)
        Op(self, lambda s, ctx, job: list_students(s, ctx, query), show_progress=False).success(
            self._students_found
        ).run()

    def _students_found(self, page) -> None:
        self.matches.clear()
        for student in page.rows:
            label = f"{student.full_name} ({student.student_no})"
            if student.class_name:
                label += f", class {student.class_name}"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, student.id)
            self.matches.addItem(item)
        if page.rows:
            self.matches.setCurrentRow(0)
        self.message.setText("" if page.rows else "No student matches; try fewer letters.")

    def _update_ok(self) -> None:
        ready = self.matches.currentItem() is not None and bool(self.course.typed())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ready)

    def submit(self) -> None:
        item = self.matches.currentItem()
        course = self.course.chosen()
        if item is not None and course is None and self.course.typed():
            # the same rule as enrolling: a name that matches no course is a question
            self.course_suggestions.show_for(self.course.typed(), self.course.suggestions())
            return
        if item is None or course is None:
            return
        course_id = course.id
        student_id = item.data(Qt.ItemDataRole.UserRole)
        note = self.note.text().strip() or None
        self.buttons.setEnabled(False)
        Op(self, lambda s, ctx, job: requests.create_request(s, ctx, student_id, course_id,
                                                              note=note),
           show_progress=False
           ).success(self._created).failure(self._refused).finally_(
            lambda: self.buttons.setEnabled(True)).run()  # fmt: skip

    def _created(self, row: RequestListRow) -> None:
        self.created = row
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self.message.setText(error_text(error))
