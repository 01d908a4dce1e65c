"""The panel beside the Students table: the selected student's enrollments (enroll and
unenroll here), their attendance per course and their event registrations."""

from __future__ import annotations

import uuid
from datetime import date

from PySide6.QtCore import QEvent, QObject, Qt, Signal
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
from app.domain.rows import EnrollmentRow
from app.services import courses, enrollments
from app.services.lookup import CertificateEntry, RegistrationEntry, StudentLookup, lookup_student
from app.services.permissions import Permission
from ui.ops import Op, hub, show_error
from ui.role import allowed, why_not
from ui.widgets.column_fitter import _cut_widest_first
from ui.widgets.course_picker import CoursePicker, CourseSuggestions
from ui.widgets.readonly_table import readonly_table

# The tables whose rows the panel shows: a change to any of them, from this panel or
# anywhere else (an inline edit, a dialog, an import), reloads it.
SHOWN_TABLES = frozenset({
    "student", "course", "course_enrollment", "course_progress", "class_session",
    "session_attendance", "event", "event_team", "event_registration", "event_attendance",
    "event_feedback", "certificate",
})  # fmt: skip


def _load_detail(session, ctx, student_id: uuid.UUID) -> StudentLookup:
    # The universal lookup: the whole panel in three statements, whatever the history.
    return lookup_student(session, ctx, student_id)


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def _certificate_cell(certificates: tuple[CertificateEntry, ...]) -> str:
    """One line each, a live certificate by its number alone; a revoked or flagged one
    with its state on the line below ("CERT-2026-00041", "  revoked", "CERT-2026-00042").
    Lines, not commas or a suffix: the column needs the width of one number only, as
    narrow as the panel gets."""
    lines: list[str] = []
    for c in certificates:
        lines.append(c.certificate_no)
        if c.status != "live":
            lines.append(f"  {c.status}")
    return "\n".join(lines)


def _certificate_tip(c: CertificateEntry) -> str:
    line = f"{c.certificate_no}: {c.kind}, issued {_day(c.issued_at)}"
    if c.revoked_at is not None:
        return f"{line}; revoked {_day(c.revoked_at)}: {c.revoke_reason}"
    if c.flagged_at is not None:
        return f"{line}; flagged for revoking: {c.flag_reason}"
    return line


REGISTRATION_COLUMNS = ["Event", "Team", "Days", "★", "Certificates"]
REGISTRATION_HEADER_TIPS = {2: "Days attended", 3: "Feedback rating, 1 to 5"}


def _registration_cells(r: RegistrationEntry) -> list[tuple[str, str]]:
    """(text, tooltip) per column: the table is narrow, the tooltips say it in full. The
    status shows beside the event only when it is not the usual "registered"."""
    dates = _day(r.starts_on) if r.starts_on == r.ends_on else (
        f"{_day(r.starts_on)} – {_day(r.ends_on)}")  # fmt: skip
    shown_status = "" if r.status == "registered" else f" ({r.status})"
    days = ", ".join(_day(d) for d in r.days_attended)
    if r.days_attended:
        days_cell = (str(len(r.days_attended)), f"Attended {days}")
    elif r.starts_on > date.today():
        days_cell = ("", f"The event starts on {_day(r.starts_on)}")
    else:
        days_cell = ("0", "Did not attend")
    if r.feedback_rating is None:
        rating, said = "", "No feedback given"
    else:
        rating = f"{r.feedback_rating}/5"
        said = f"Feedback {rating}" + (f": “{r.feedback_comments}”" if r.feedback_comments
                                       else "")  # fmt: skip
    return [
        (r.event_name + shown_status,
         f"{r.event_name}, {dates}\nRegistration {r.registration_no}, {r.status}"),
        (r.team_name or "", f"Team {r.team_name}" if r.team_name else "Not in a team"),
        days_cell,
        (rating, said),
        (_certificate_cell(r.certificates),
         "\n".join(_certificate_tip(c) for c in r.certificates)),
    ]  # fmt: skip


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


class _NarrowColumns(QObject):
    """Shares a panel table's width among its columns, so that none runs off the side.

    Each column wants its header and its widest value. The spare width goes to the
    first column; when there is too little, the ``give_first`` columns (names: their
    start still reads, the tooltip has the rest) give up width before the
    ``give_last`` ones (numbers: a number cut short is no number), widest first.
    """

    def __init__(self, table: QTableWidget, give_first: tuple[int, ...],
                 give_last: tuple[int, ...]) -> None:  # fmt: skip
        super().__init__(table)
        self.table, self.give_first, self.give_last = table, give_first, give_last
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._cells_area = table.viewport()
        self._cells_area.installEventFilter(self)

    def fit(self) -> None:
        table, header = self.table, self.table.horizontalHeader()
        widths = {
            column: max(table.sizeHintForColumn(column), header.sectionSizeHint(column))
            for column in range(table.columnCount())
        }
        spare = self._cells_area.width() - sum(widths.values())
        if spare > 0:
            widths[0] += spare
        # Down to a few characters, enough to tell one name or number from another.
        floor = table.fontMetrics().averageCharWidth() * 6
        for columns in (self.give_first, self.give_last):
            if spare < 0:
                floors = {column: min(widths[column], floor) for column in columns}
                spare += _cut_widest_first(widths, floors, -spare)
        for column, width in widths.items():
            header.resizeSection(column, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self._cells_area and event.type() == QEvent.Type.Resize:
            self.fit()
        return False


class StudentDetailPanel(QWidget):
    status_message = Signal(str)
    #: History: the audit log of this student (id, student number)
    history_requested = Signal(object, str)

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
        self.history_button = QPushButton("Histor&y")
        self.history_button.setToolTip("Every change to this student's records, who made it "
                                       "and when (the audit log)")  # fmt: skip
        self.history_button.clicked.connect(
            lambda: self.student_id and self.history_requested.emit(self.student_id,
                                                                    self._student_no))  # fmt: skip
        self._student_no = ""
        self._enabled = False

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
        self.registration_table = _small_table(REGISTRATION_COLUMNS)
        for column, tip in REGISTRATION_HEADER_TIPS.items():
            self.registration_table.horizontalHeaderItem(column).setToolTip(tip)
        self.registration_columns = _NarrowColumns(
            self.registration_table, give_first=(0, 1), give_last=(4,)
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 0, 0, 0)
        heading_row = QHBoxLayout()
        heading_row.addWidget(self.heading, 1)
        heading_row.addWidget(self.history_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(heading_row)
        layout.addWidget(QLabel("<b>Course enrollments</b>"))
        layout.addWidget(self.enrollment_table, 1)
        layout.addWidget(self.period_label)
        layout.addLayout(enroll_row)
        layout.addWidget(self.suggestions)
        layout.addWidget(QLabel("<b>Session attendance</b>"))
        layout.addWidget(self.attendance_table, 1)
        layout.addWidget(QLabel("<b>Event registrations</b>"))
        layout.addWidget(self.registration_table, 1)
        self._set_enabled(False)
        hub().changed.connect(self._on_tables_changed)
        hub().signed_in_changed.connect(lambda: self._set_enabled(self._enabled))

    def _on_tables_changed(self, changed: frozenset[str]) -> None:
        if "course" in changed:  # created or renamed here or anywhere else
            self.load_courses()
        if self.student_id is not None and changed & SHOWN_TABLES:
            self.refresh()

    def _set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        may_enroll = allowed(Permission.MANAGE_ENROLLMENTS)
        for widget in (self.enrollment_table, self.history_button):
            widget.setEnabled(enabled)
        for widget in (self.course_box, self.enroll_button):
            widget.setEnabled(enabled and may_enroll)
            widget.setToolTip("" if may_enroll else why_not(Permission.MANAGE_ENROLLMENTS))
        self.history_button.setVisible(allowed(Permission.VIEW_AUDIT_LOG))
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.enrollment_table.currentRow()
        selected = self._enrollments[row] if 0 <= row < len(self._enrollments) else None
        self.unenroll_button.setEnabled(bool(selected and selected.active)
                                        and allowed(Permission.MANAGE_ENROLLMENTS))  # fmt: skip
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

    def _show(self, student_id: uuid.UUID, data: StudentLookup) -> None:
        if student_id != self.student_id:
            return  # the selection moved on while this loaded
        student, enrolled, attendance = data.student, data.enrollments, data.attendance
        details = " · ".join(
            part for part in (student.student_no, student.class_name, student.status,
                              student.email) if part
        )  # fmt: skip
        self.heading.setText(f"<h3 style='margin:0'>{student.full_name}</h3>{details}")
        self._student_no = student.student_no
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
        cells = [_registration_cells(r) for r in data.registrations]
        _fill(self.registration_table, [[text for text, _tip in row] for row in cells])
        for row, values in enumerate(cells):
            for column, (_text, tip) in enumerate(values):
                self.registration_table.item(row, column).setToolTip(tip)
        for row, registration in enumerate(data.registrations):
            if len(registration.certificates) > 1:  # a line per certificate
                self.registration_table.resizeRowToContents(row)
        self.registration_columns.fit()
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
