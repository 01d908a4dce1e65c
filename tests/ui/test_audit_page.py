"""The audit-log page on a real database: a student's History from their detail panel
opens it filtered to them, each change shows its fields before → after, and the
filters narrow it."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import wait_loaded
from PySide6.QtCore import Qt

from app.domain.enums import UserRole
from app.services.courses import create_course
from app.services.enrollments import enroll
from app.services.students import StudentInput, create_student, update_student
from ui.main_window import MainWindow

SHOTS = Path(os.environ["ROLLBOOK_SHOTS"]) if os.environ.get("ROLLBOOK_SHOTS") else None


def _shot(widget, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(SHOTS / f"{name}.png"))


def test_a_students_history_shows_every_change_to_their_records(db, database, ops_hub, qtbot):
    registrar = db.context(UserRole.REGISTRAR, actor="rita")
    with db.sessions(info={"actor": "alice"}) as s, s.begin():
        ann = create_student(s, db.context(actor="alice"), StudentInput("S1", "Ann", "Lee"))
        create_student(s, db.context(actor="alice"), StudentInput("S2", "Ben", "Ode"))
        course = create_course(s, db.context(actor="alice"), "Biology")
    with db.sessions(info={"actor": "rita"}) as s, s.begin():
        update_student(s, registrar, ann.id, {"first_name": "Anna", "class_name": "7B"})
        enroll(s, registrar, ann.id, course.id)

    window = MainWindow(database)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    students = window.pages[0]
    wait_loaded(qtbot, students.model)
    row = next(r for r in range(students.model.rowCount())
               if students.model.row_at(r).student_no == "S1")  # fmt: skip
    students.table.selectRow(row)
    detail = students.detail
    qtbot.waitUntil(lambda: detail.history_button.isEnabled(), timeout=10_000)
    qtbot.mouseClick(detail.history_button, Qt.MouseButton.LeftButton)

    page = window.current_page
    assert page.title == "Audit log" and window.stack.currentIndex() == 6  # Ctrl+7
    qtbot.waitUntil(lambda: page.model.query.student_id == ann.id, timeout=5_000)
    wait_loaded(qtbot, page.model)
    entries = [page.model.row_at(r) for r in range(page.model.rowCount())]
    assert {e.entity for e in entries} == {"student", "course_enrollment", "course_progress"}
    assert all("Ben" not in e.row for e in entries)
    assert page.student.text() == "S1"
    changed = next(r for r, e in enumerate(entries) if e.action == "changed")
    page.table.selectRow(changed)
    qtbot.waitUntil(lambda: "first name: Ann → Anna" in page.details.toPlainText(),
                    timeout=5_000)  # fmt: skip
    assert "rita changed student S1 Anna Lee" in page.details.toPlainText()
    assert "class name: (empty) → 7B" in page.details.toPlainText()
    _shot(window, "audit_log_student_history")

    # Everyone's changes again, then only alice's.
    page.show_student(None)
    qtbot.waitUntil(lambda: page.model.query.student_id is None, timeout=5_000)
    qtbot.waitUntil(lambda: page.actor_filter.count() > 1, timeout=5_000)
    page.actor_filter.setCurrentIndex(page.actor_filter.findText("alice"))
    qtbot.waitUntil(lambda: page.model.query.actor == "alice", timeout=5_000)
    wait_loaded(qtbot, page.model)
    assert page.model.rowCount() == 3
    assert {page.model.row_at(r).actor for r in range(3)} == {"alice"}
    assert page.count_label.text() == "3 changes"


def test_tools_audit_log_opens_everyones_changes(db, database, ops_hub, qtbot):
    window = MainWindow(database)
    qtbot.addWidget(window)
    window.show()
    action = next(a for a in window.menuBar().actions()[2].menu().actions()
                  if a.text() == "Audit &log")  # fmt: skip
    action.trigger()
    page = window.current_page
    assert page.title == "Audit log" and page.model.query.student_id is None
    wait_loaded(qtbot, page.model)
    assert page.model.rowCount() >= 1  # the school's own row, made by the fixture
