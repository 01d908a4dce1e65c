"""New / Edit student dialog. Saves through the student service; a refused value is
shown next to its field and the dialog stays open."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.enums import StudentStatus
from app.domain.errors import ValidationError
from app.domain.rows import StudentRow
from app.domain.text_limits import STUDENT_TEXT_LIMITS
from app.services import students as student_service
from app.services.students import StudentInput
from ui.dialogs.parts import refusal_label
from ui.models.students import grade_text
from ui.ops import Op, error_text

GRADES = ["", "PK", "K", *[str(n) for n in range(1, 14)]]


class StudentDialog(QDialog):
    def __init__(self, parent: QWidget | None, student: StudentRow | None = None) -> None:
        super().__init__(parent)
        self.student = student
        self.saved: StudentRow | None = None
        self.setWindowTitle("Edit student" if student else "New student")
        self.setMinimumWidth(460)
        self.fields: dict[str, QWidget] = {}

        form = QFormLayout()
        self.student_no = self._line("student_no", "Student &number*", "e.g. S0001234", form)
        self.first_name = self._line("first_name", "&First name", "", form)
        self.last_name = self._line("last_name", "&Last name", "", form)
        self.email = self._line("email", "&E-mail", "name@school.example", form)
        self.class_name = self._line("class_name", "Cl&ass", "e.g. 7A", form)
        self.grade = QComboBox()
        self.grade.addItems(GRADES)
        self.fields["grade_level"] = self.grade
        form.addRow("&Grade", self.grade)
        self.birth_date = self._line("birth_date", "&Birth date", "YYYY-MM-DD", form)
        self.status = QComboBox()
        self.status.addItems([s.value for s in StudentStatus])
        self.fields["status"] = self.status
        form.addRow("S&tatus", self.status)

        self.error = refusal_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        # Alt+S saves (the labels above leave S to it); Esc cancels.
        self.save_button.setText("&Save")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Cancel")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        if student:
            self._fill(student)
        else:
            self.status.setCurrentText(StudentStatus.ACTIVE.value)

    def _line(self, name: str, label: str, placeholder: str, form: QFormLayout) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        if name in STUDENT_TEXT_LIMITS:  # the most the service and the schema keep
            edit.setMaxLength(STUDENT_TEXT_LIMITS[name])
        self.fields[name] = edit
        form.addRow(label, edit)  # the label carries its Alt+letter
        return edit

    def _fill(self, student: StudentRow) -> None:
        # A value stored before the limits were kept is shown whole, never cut without a
        # word: saving it names the field and the limit.
        for name, limit in STUDENT_TEXT_LIMITS.items():
            edit = self.fields.get(name)
            if isinstance(edit, QLineEdit):
                edit.setMaxLength(max(limit, len(getattr(student, name) or "")))
        self.student_no.setText(student.student_no)
        self.first_name.setText(student.first_name)
        self.last_name.setText(student.last_name)
        self.email.setText(student.email or "")
        self.class_name.setText(student.class_name or "")
        self.grade.setCurrentText(grade_text(student.grade_level) or "")
        self.birth_date.setText(student.birth_date.isoformat() if student.birth_date else "")
        self.status.setCurrentText(student.status)

    def values(self) -> dict[str, object]:
        return {
            "student_no": self.student_no.text(),
            "first_name": self.first_name.text(),
            "last_name": self.last_name.text(),
            "email": self.email.text() or None,
            "class_name": self.class_name.text() or None,
            "grade_level": self.grade.currentText() or None,
            "birth_date": self.birth_date.text().strip() or None,
            "status": self.status.currentText(),
        }

    def save(self) -> None:
        values = self.values()
        student = self.student
        self._clear_marks()
        self.save_button.setEnabled(False)
        if student is None:
            work = lambda s, ctx, job: student_service.create_student(  # noqa: E731
                s,
                ctx,
                StudentInput(**values),  # type: ignore[arg-type]
            )
        else:
            work = lambda s, ctx, job: student_service.update_student(  # noqa: E731
                s, ctx, student.id, values, expected_version=student.row_version
            )
        Op(self, work, title="Saving student…").success(self._saved).failure(
            self._refused
        ).finally_(lambda: self.save_button.setEnabled(True)).run()

    def _saved(self, row: StudentRow) -> None:
        self.saved = row
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self.error.setText(error_text(error))
        if isinstance(error, ValidationError) and error.field in self.fields:
            widget = self.fields[error.field]
            widget.setStyleSheet("border: 1px solid #a61b1b;")
            widget.setFocus()

    def _clear_marks(self) -> None:
        self.error.setText("")
        for widget in self.fields.values():
            widget.setStyleSheet("")
