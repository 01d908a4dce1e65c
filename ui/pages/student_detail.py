"""The panel beside the Students table: the selected student's enrollments (enroll and
unenroll here), their attendance per course and their event registrations."""

from __future__ import annotations

import uuid

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import NotFound
from app.domain.rows import AttendanceSummaryRow, EnrollmentRow, RegistrationListRow, StudentRow
from app.services import attendance, courses, enrollments, events, students
from app.services.events import RegistrationQuery
from ui.ops import Op, hub, show_error
from ui.widgets.course_picker import CoursePicker, CourseSuggestions
from ui.widgets.readonly_table import readonly_table

# The tables whose rows the panel shows: a change to any of them, from this panel or
# anywhere else (an inline edit, a dialog, an import), reloads it.
SHOWN_TABLES = frozenset({
    "student", "course", "course_enrollment", "course_progress", "class_session",
    "session_attendance", "event", "event_team", "event_registration", "event_attendance",
})  # fmt: skip

DetailData = tuple[
    StudentRow, list[EnrollmentRow], list[AttendanceSummaryRow], list[RegistrationListRow]
]


def _load_detail(session, ctx, student_id: uuid.UUID) -> DetailData:
    student = students.get_student(session, ctx, student_id)
    return (
        student,
        enrollments.list_student_enrollments(session, ctx, student_id),
        attendance.course_attendance_summary(session, ctx, student_id),
        events.list_registrations(
            session, ctx, RegistrationQuery(student_id=student_id), limit=200
        ).rows,
    )


def _small_table(headers: list[str]) -> QTableWidget:
    table = readonly_table(headers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    # In a narrow panel a long course name ends in "…": wrapped onto a second line it
    # would be cut off at the bottom of its row.
    table.setWordWrap(False)
    table.horizontalHeader().setStretchLastSection(False)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in range(1, len(headers)):
        table.horizontalHeader().setSectionResizeMode(
            column, QHeaderView.ResizeMode.ResizeToContents
        )
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            if c > 0 and value.replace("%", "").isdigit():
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class StudentDetailPanel(QWidget):
    status_message = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.student_id: uuid.UUID | None = None
        self._enrollments: list[EnrollmentRow] = []
        # Its tables still read at this width, and beside it the Students list keeps
        # every column on a 1024 px screen.
        self.setMinimumWidth(300)
        self.heading = QLabel("Select a student to see their courses, attendance and events.")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)

        self.enrollment_table = _small_table(["Course", "Active", "Progress"])
        self.enrollment_table.itemSelectionChanged.connect(self._update_buttons)
        # When the selected course was taken: "enrolled 3 Aug–14 Oct, again since 1 Dec".
        self.period_label = QLabel("")
        self.period_label.setObjectName("enrollmentPeriods")
        self.period_label.setWordWrap(True)
        self.course_box = CoursePicker()
        self.course_box.lineEdit().returnPressed.connect(self.enroll)
        self.course_box.currentTextChanged.connect(lambda _text: self.suggestions.clear())
        self.enroll_button = QPushButton("&Enroll")
        self.enroll_button.clicked.connect(self.enroll)
        self.unenroll_button = QPushButton("&Unenroll")
        self.unenroll_button.clicked.connect(self.unenroll)
        self.suggestions = CourseSuggestions(offer_create=True)
        self.suggestions.picked.connect(self._suggestion_picked)
        self.suggestions.create_requested.connect(self.create_course)
        enroll_row = QHBoxLayout()
        enroll_row.addWidget(self.course_box, 1)
        enroll_row.addWidget(self.enroll_button)
        enroll_row.addWidget(self.unenroll_button)

        self.attendance_table = _small_table(["Course", "Held", "P", "A", "L", "E", "Rate"])
        self.registration_table = _small_table(["Event", "Reg. no", "Team", "Status", "Days"])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(QLabel("<b>Course enrollments</b>"))
        layout.addWidget(self.enrollment_table, 2)
        layout.addWidget(self.period_label)
        layout.addLayout(enroll_row)
        layout.addWidget(self.suggestions)
        layout.addWidget(QLabel("<b>Session attendance</b>"))
        layout.addWidget(self.attendance_table, 1)
        layout.addWidget(QLabel("<b>Event registrations</b>"))
        layout.addWidget(self.registration_table, 1)
        self._set_enabled(False)
        hub().changed.connect(self._on_tables_changed)

    def _on_tables_changed(self, changed: frozenset[str]) -> None:
        if "course" in changed:  # created or renamed here or anywhere else
            self.load_courses()
        if self.student_id is not None and changed & SHOWN_TABLES:
            self.refresh()

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.course_box, self.enroll_button, self.enrollment_table):
            widget.setEnabled(enabled)
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.enrollment_table.currentRow()
        selected = self._enrollments[row] if 0 <= row < len(self._enrollments) else None
        self.unenroll_button.setEnabled(bool(selected and selected.active))
        self.period_label.setText(
            f"{selected.course_name}: {selected.period_text}" if selected else ""
        )

    def load_courses(self) -> None:
        Op(self, lambda s, ctx, job: courses.list_courses(s, ctx), show_progress=False).success(
            self._courses_loaded
        ).run()

    def _courses_loaded(self, rows) -> None:
        self.course_box.set_courses(rows)

    def show_student(self, student_id: uuid.UUID | None) -> None:
        if student_id != self.student_id:  # what was typed for someone else goes
            self.course_box.setEditText("")
            self.suggestions.clear()
        self.student_id = student_id
        if student_id is None:
            self.heading.setText("Select a student to see their courses, attendance and events.")
            for table in (self.enrollment_table, self.attendance_table, self.registration_table):
                table.setRowCount(0)
            self._enrollments = []
            self._set_enabled(False)
            return
        Op(self, lambda s, ctx, job: _load_detail(s, ctx, student_id), show_progress=False).success(
            lambda data: self._show(student_id, data)
        ).failure(self._load_failed).run()

    def _load_failed(self, error: BaseException) -> None:
        self.show_student(None)
        if not isinstance(error, NotFound):  # a student deleted meanwhile just clears
            show_error(self, error)

    def refresh(self) -> None:
        self.show_student(self.student_id)

    def _show(self, student_id: uuid.UUID, data: DetailData) -> None:
        if student_id != self.student_id:
            return  # the selection moved on while this loaded
        student, enrolled, attendance, registrations = data
        details = " · ".join(
            part for part in (student.student_no, student.class_name, student.status,
                              student.email) if part
        )  # fmt: skip
        self.heading.setText(f"<h3 style='margin:0'>{student.full_name}</h3>{details}")
        self._enrollments = enrolled
        _fill(self.enrollment_table, [
            [e.course_name, "Yes" if e.active else "No",
             "" if e.progress_percent is None else f"{e.progress_percent:.0f}%"]
            for e in enrolled
        ])  # fmt: skip
        for row, enrollment in enumerate(enrolled):
            self.enrollment_table.item(row, 0).setToolTip(enrollment.period_text.capitalize())
        if enrolled:  # its periods show below the table
            self.enrollment_table.setCurrentCell(0, 0)
        self._update_buttons()
        _fill(self.attendance_table, [
            [a.course_name, str(a.sessions_held), str(a.present), str(a.absent), str(a.late),
             str(a.excused), "" if a.rate is None else f"{a.rate:.0%}"]
            for a in attendance
        ])  # fmt: skip
        for row, summary in enumerate(attendance):
            self.attendance_table.item(row, 1).setToolTip(
                f"{summary.sessions_held} sessions held since enrollment, "
                f"{summary.not_marked} of them not marked"
            )
        _fill(self.registration_table, [
            [r.event_name, r.registration_no, r.team_name or "", r.status, str(r.days_attended)]
            for r in registrations
        ])  # fmt: skip
        self._set_enabled(True)

    def enroll(self) -> None:
        student_id, typed = self.student_id, self.course_box.typed()
        if student_id is None:
            return
        if not typed:
            self.status_message.emit("Type or pick a course to enroll the student in.")
            self.course_box.setFocus()
            return
        course = self.course_box.chosen()
        if course is None:  # a typo is never taken for a new course
            self.suggestions.show_for(typed, self.course_box.suggestions())
            return
        self.suggestions.clear()
        Op(
            self,
            lambda s, ctx, job: enrollments.enroll(s, ctx, student_id, course.id),
            title="Enrolling…",
        ).success(self._enrolled).run()

    def _enrolled(self, result) -> None:
        outcome = {"created": "Enrolled in", "reactivated": "Re-enrolled in",
                   "unchanged": "Already enrolled in"}.get(result.outcome.value, "Enrolled in")  # fmt: skip
        self.status_message.emit(f"{outcome} {result.enrollment.course_name}.")
        self.course_box.setEditText("")

    def _suggestion_picked(self, name: str) -> None:
        self.course_box.pick(name)
        self.suggestions.clear()
        self.enroll_button.setFocus()

    def create_course(self, typed: str = "") -> None:
        """Creating a course is its own action: the name is confirmed in a dialog that
        says the course will appear in every course list."""
        name, ok = QInputDialog.getText(
            self, "Create course",
            "Name of the new course. It will appear in every course list\n"
            "(enrolling, requests, sessions, reports):",
            QLineEdit.EchoMode.Normal, typed or self.course_box.typed(),
        )  # fmt: skip
        if not ok or not name.strip():
            return
        Op(self, lambda s, ctx, job: courses.create_course(s, ctx, name), title="Creating…"
           ).success(self._course_created).run()  # fmt: skip

    def _course_created(self, course) -> None:
        self.suggestions.clear()
        self.status_message.emit(f"Created the course {course.name}. Press Enroll to enroll.")
        self.course_box.setEditText(course.name)
        self.enroll_button.setFocus()

    def unenroll(self) -> None:
        row = self.enrollment_table.currentRow()
        if self.student_id is None or not 0 <= row < len(self._enrollments):
            return
        student_id, course_name = self.student_id, self._enrollments[row].course_name
        Op(
            self,
            lambda s, ctx, job: enrollments.unenroll(s, ctx, student_id, course_name),
            title="Unenrolling…",
        ).success(lambda _r: self.status_message.emit(f"Unenrolled from {course_name}.")).run()
