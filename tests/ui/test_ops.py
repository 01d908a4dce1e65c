"""Background operations: off the GUI thread, progress with Cancel, readable failures."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QProgressDialog, QPushButton
from sqlalchemy import func, select, text

from app.db.models import Student
from app.domain.errors import Cancelled, Conflict
from app.services.students import StudentInput, create_student
from ui.ops import Op


def _students(db) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(Student))


def slow_import(session, ctx, job, batches: int = 200):
    """Writes a student first, then works through batches: a stand-in for any long
    write whose Cancel must roll back everything done so far."""
    create_student(session, ctx, StudentInput("S-LONG", "Long", "Operation"))
    for done in range(batches):
        job.check_cancel()
        job.progress(done, batches, f"Batch {done + 1} of {batches}")
        time.sleep(0.05)
    return batches


def test_a_read_only_operation_runs_each_statement_on_its_own(qtbot, ops_hub):
    from sqlalchemy import text

    def two_transactions(session, ctx, job):
        return [session.scalar(text("SELECT txid_current()")) for _ in range(2)]

    results = []
    with qtbot.waitSignal(ops_hub.busy_changed, timeout=5000, check_params_cb=lambda b: not b):
        Op(None, two_transactions, read_only=True).success(results.append).run()
    with qtbot.waitSignal(ops_hub.busy_changed, timeout=5000, check_params_cb=lambda b: not b):
        Op(None, two_transactions).success(results.append).run()
    (first, second), (third, fourth) = results
    assert first != second  # no transaction held open across a read
    assert third == fourth  # ordinary work is one transaction


def test_work_runs_off_the_gui_thread_and_reports_the_tables_it_wrote(qtbot, ops_hub):
    """What changed is what the transaction wrote, as the database captured it: the
    student and the course created here, not the enrollment a rolled-back savepoint
    tried."""
    from app.services.courses import find_or_create_course

    seen = {}

    def work(session, ctx, job):
        seen["thread"] = threading.current_thread()
        create_student(session, ctx, StudentInput("S-OPS", "Ops", "Test"))
        find_or_create_course(session, ctx, "Ceramics")
        try:
            with session.begin_nested():
                session.execute(text(
                    "INSERT INTO course_enrollment (id, school_id, course_id, student_id) "
                    "SELECT gen_random_uuid(), school_id, id, id FROM course"))  # fmt: skip
        except Exception:
            pass  # no such student: the savepoint is rolled back
        return 42

    with qtbot.waitSignal(ops_hub.changed, timeout=5000) as changed:
        results = []
        Op(None, work).success(results.append).run()
    assert results == [42]
    assert seen["thread"] is not threading.main_thread()
    assert changed.args[0] == frozenset({"student", "course"})


def test_work_that_writes_nothing_announces_nothing(qtbot, ops_hub, db):
    done = []
    with qtbot.assertNotEmitted(ops_hub.changed, wait=300):
        Op(None, lambda s, ctx, job: _count(s)).success(done.append).run()
        qtbot.waitUntil(lambda: bool(done), timeout=5000)


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Student))


def test_long_operation_shows_progress_and_cancel_changes_nothing(qtbot, ops_hub, db):
    before = _students(db)
    failures: list[BaseException] = []
    op = Op(None, slow_import, title="Importing…").failure(failures.append)
    op.run()
    qtbot.waitUntil(lambda: op._dialog is not None and op._dialog.isVisible(), timeout=5000)
    dialog = op._dialog
    assert isinstance(dialog, QProgressDialog)
    qtbot.waitUntil(lambda: dialog.value() > 0, timeout=5000)
    assert "Batch" in dialog.labelText()
    cancel_button = dialog.findChild(QPushButton)
    assert cancel_button.text() == "Cancel"
    qtbot.mouseClick(cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(failures), timeout=10_000)
    assert isinstance(failures[0], Cancelled)
    assert _students(db) == before  # the student written before Cancel was rolled back
    assert op._dialog is None


def test_quick_operation_shows_no_progress_dialog(qtbot, ops_hub):
    results = []
    Op(None, lambda s, ctx, job: "done").success(results.append).run()
    qtbot.waitUntil(lambda: results == ["done"], timeout=5000)
    assert not [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QProgressDialog) and w.isVisible()
    ]


def test_failure_shows_the_typed_error_text_not_a_traceback(qtbot, ops_hub):
    def refuse(session, ctx, job):
        raise Conflict("Student number S1 is already used by Anna Kowalska.")

    done = []
    Op(None, refuse).finally_(lambda: done.append(True)).run()
    qtbot.waitUntil(lambda: bool(done), timeout=5000)
    boxes = [
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    ]
    assert boxes and boxes[-1].text() == "Student number S1 is already used by Anna Kowalska."
    for box in boxes:
        box.close()


def test_a_cancelled_operation_that_has_not_started_never_runs(qtbot, ops_hub):
    released = threading.Event()
    Op(None, lambda s, ctx, job: released.wait(20), show_progress=False).run()  # the worker is busy
    ran, answers = [], []
    queued = Op(None, lambda s, ctx, job: ran.append("ran"), show_progress=False)
    queued.success(answers.append).failure(answers.append).run()
    queued.cancel()
    released.set()
    qtbot.waitUntil(lambda: not ops_hub.busy, timeout=5000)  # the dropped one counted off too
    assert ran == [] and answers == []  # never ran, and nobody is told it did


def test_cancelling_a_running_operation_sets_its_cancel_flag(qtbot, ops_hub):
    started = threading.Event()

    def work(session, ctx, job):
        started.set()
        while True:
            job.check_cancel()
            time.sleep(0.01)

    failures = []
    running = Op(None, work, show_progress=False).failure(failures.append).run()
    assert started.wait(5)
    running.cancel()
    qtbot.waitUntil(lambda: bool(failures), timeout=5000)
    assert isinstance(failures[0], Cancelled)
    qtbot.waitUntil(lambda: not ops_hub.busy, timeout=5000)


def test_an_op_asked_for_after_shutdown_is_dropped_quietly(qtbot, database):
    """A timer that fires while the window closes (a search's pause) asks for work after
    the workers stopped: nothing runs, nothing is reported, nothing raises."""
    from ui.ops import Op, install_hub

    hub = install_hub(database)
    hub.shutdown()
    outcomes = []
    op = Op(None, lambda s, ctx, job: 1, show_progress=False).success(outcomes.append)
    op.run()
    qtbot.waitUntil(lambda: not hub.busy, timeout=5_000)
    assert outcomes == []
