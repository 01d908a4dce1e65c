"""Audit log page (Tools > Audit log, Ctrl+7): every change to the school's records, the
latest first, filtered by dates, person, kind of row, student and run; the entry chosen
shows each field before → after below the list. File > Export saves the list as an
Excel workbook, like every list. A student's History (their detail panel) opens it
filtered to them.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit

from app.services.audit import AuditQuery, AuditRow, audit_actors, audit_entities, words
from app.services.permissions import Permission
from app.services.students import find_student_by_number
from ui.models.audit import AuditTableModel
from ui.ops import Op
from ui.pages.list_page import ListPage
from ui.widgets.date_range import DateRange
from ui.widgets.student_number_edit import StudentNumberEdit


class AuditLogPage(ListPage):
    title = "Audit log"
    menu_text = "&Audit log"  # in the View menu
    nav_text = "Audit log"  # "Log" alone says too little
    permission = Permission.VIEW_AUDIT_LOG  # the window greys it out for other roles
    noun = ("change", "changes")

    def __init__(self, parent=None) -> None:
        super().__init__(AuditTableModel(), "audit_log", parent)
        today = date.today()
        self.dates = DateRange(today, today)
        self.dates.set_range(None, None)  # everything, until a range is chosen
        self.dates.changed.connect(self.apply_filters)
        self.filter_bar.addWidget(self.dates)
        self.actor_filter = self.add_choice("Who", "Everyone", [])
        self.entity_filter = self.add_choice("Kind of row", "Every kind of row", [])
        self.student = StudentNumberEdit(self)
        self.student.setAccessibleName("Student")
        self.student.setToolTip("The changes of one student: their own row, enrollments, "
                                "attendance, registrations, certificates …")  # fmt: skip
        self.student.setMinimumWidth(220)
        self.student.editingFinished.connect(self._student_typed)
        self.filter_bar.addWidget(self.student)
        self.run = QLineEdit(self)
        self.run.setPlaceholderText("Run id")
        self.run.setAccessibleName("Run")
        self.run.setToolTip("The changes of one import or maintenance run (Tools > Run history "
                            "shows their ids)")  # fmt: skip
        self.run.setClearButtonEnabled(True)
        self.run.editingFinished.connect(self.apply_filters)
        self.filter_bar.addWidget(self.run)
        self.filter_bar.addStretch(1)
        self.student_id: uuid.UUID | None = None
        self.problem = QLabel("")
        self.problem.setObjectName("auditFilterProblem")
        self.problem.setStyleSheet("color: #a61b1b")
        self.problem.hide()
        self.body.insertWidget(0, self.problem)
        self.details = QPlainTextEdit()
        self.details.setObjectName("auditDetails")
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(170)
        self.details.setPlaceholderText("The change chosen above, field by field.")
        self.body.addWidget(self.details)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_details())
        self.model.modelReset.connect(self._show_details)

    # ------------------------------------------------------------ filters
    def query_from_filters(self, query: AuditQuery) -> AuditQuery:
        first, last = self.dates.chosen()
        run_id = None
        typed = self.run.text().strip()
        self.problem.hide()
        if typed:
            try:
                run_id = uuid.UUID(typed)
            except ValueError:
                self.problem.setText(f"{typed!r} is not a run id; copy one from Tools > Run "
                                     "history.")  # fmt: skip
                self.problem.show()
                run_id = uuid.UUID(int=0)  # nothing matches, rather than everything
        return replace(query, date_from=first, date_to=last,
                       actor=self.actor_filter.currentData(),
                       entity=self.entity_filter.currentData(), student_id=self.student_id,
                       run_id=run_id)  # fmt: skip

    def load_choices(self) -> None:
        Op(self, lambda s, ctx, job: (audit_actors(s, ctx), audit_entities(s, ctx)),
           read_only=True, show_progress=False).success(self._choices).run()  # fmt: skip

    def _choices(self, found: tuple[list[str], list[str]]) -> None:
        actors, entities = found
        self.set_choices(self.actor_filter, [(a, a) for a in actors])
        self.set_choices(self.entity_filter, [(words(e).capitalize(), e) for e in entities])

    def _student_typed(self) -> None:
        number = self.student.text().strip()
        if not number:
            self.show_student(None)
            return
        Op(self, lambda s, ctx, job: find_student_by_number(s, ctx, number), read_only=True,
           show_progress=False).success(lambda row: self._student_found(number, row)).run()  # fmt: skip

    def _student_found(self, number: str, row) -> None:
        if row is None:
            self.problem.setText(f"No student has the number {number!r}.")
            self.problem.show()
            return
        self.show_student(row.id, row.student_no)

    def show_student(self, student_id: uuid.UUID | None, student_no: str = "") -> None:
        """Only this student's changes (None: everyone's) — a student's History."""
        self.student_id = student_id
        self.student.blockSignals(True)
        self.student.setText(student_no if student_id else "")
        self.student.blockSignals(False)
        self.apply_filters()

    # ------------------------------------------------------------ details
    def _show_details(self) -> None:
        index = self.table.currentIndex()
        entry: AuditRow | None = self.model.row_at(index.row()) if index.isValid() else None
        if entry is None:
            self.details.clear()
            return
        head = (f"{entry.at.astimezone():%Y-%m-%d %H:%M:%S}  {entry.actor} {entry.action} "
                f"{entry.row}" + (" (came with a sync)" if entry.origin == "sync" else "")
                + (f"  — run {entry.run_id}" if entry.run_id else ""))  # fmt: skip
        lines = [head, "", *entry.shown_fields]
        self.details.setPlainText("\n".join(lines))

    def focus_start(self) -> None:
        self.table.setFocus()
