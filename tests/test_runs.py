"""The one run recorder: every apply leaves a run in the history — succeeded, failed with
its reason, cancelled, or interrupted when its program died — and every planned run
applies only what its preview showed and has not changed since."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from course_setup import enroll_named
from sqlalchemy import func, select, text

from app.db.models import CourseEnrollment, MaintenanceRun, Student
from app.domain.enums import RunKind, RunStatus
from app.domain.errors import Cancelled
from app.imports.legacy_groups import apply_legacy_import, plan_legacy_import, read_legacy_file
from app.imports.service import prepare, run_import
from app.jobs import Job
from app.maintenance.backfill import apply_backfill, plan_backfill
from app.maintenance.request_decisions import decide_requests
from app.runs.history import list_runs
from app.runs.recorder import RunFailed, apply_recorded
from app.services.courses import find_or_create_course
from app.services.requests import RequestQuery, create_request, list_requests
from app.services.students import StudentInput, create_student

ROOT = Path(__file__).resolve().parent.parent
ROSTER = "student_no,first_name,last_name,email,course\n"


def count(db, model, *where) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def runs(db) -> list[tuple[str, str]]:
    with db.sessions.begin() as s:
        return [(r.kind, r.status) for r in list_runs(s, db.context())]


def roster(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER + body, encoding="utf-8")
    return path


# ---------------------------------------------------------------- always a run


def test_a_failed_import_changes_nothing_and_is_recorded_with_the_reason(db, tmp_path):
    with db.as_owner() as conn:  # a fault injected behind the app's back
        conn.execute(text("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the disk is full'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON course_progress
            FOR EACH ROW EXECUTE FUNCTION refuse();"""))  # fmt: skip
    prepared = prepare(roster(tmp_path, "S1,Anna,Kowalska,anna@example.org,Art\n"))
    with pytest.raises(RunFailed, match="the disk is full"), db.sessions.begin() as s:
        run_import(s, db.context(), prepared, commit=True)
    assert count(db, Student) == 0 and count(db, CourseEnrollment) == 0
    with db.sessions.begin() as s:
        run = s.scalars(select(MaintenanceRun)).one()
    assert (run.kind, run.status, run.dry_run) == ("import", "failed", False)
    assert "the disk is full" in run.summary["error"] and run.finished_at is not None


def test_a_cancelled_backfill_is_recorded_as_cancelled(db, tmp_path):
    with db.sessions.begin() as s:
        create_student(s, db.context(), StudentInput("1", "Anna", "Kowalska"))
    groups = tmp_path / "groups.csv"
    groups.write_text("student_no,group_name,course\n1,G1,Art\n", encoding="utf-8")
    with db.sessions.begin() as s:
        apply_legacy_import(s, db.context(), read_legacy_file(groups))
    job = Job()
    job.cancel()
    with db.sessions.begin() as s:
        run = apply_backfill(s, db.context(), job=job)
    assert run.status is RunStatus.CANCELLED and isinstance(run.cause, Cancelled)
    assert count(db, CourseEnrollment) == 0
    assert runs(db)[0] == ("backfill", "cancelled")


WORKER = """
import sys, time, warnings
warnings.filterwarnings("ignore")
from app.db.engine import make_engine, make_session_factory
from app.domain.context import ServiceContext
from app.domain.enums import RunKind
from app.runs.recorder import apply_recorded

engine = make_engine(sys.argv[1])
sessions = make_session_factory(engine, "night-job")

def work(scope):
    print("working", flush=True)
    time.sleep(120)

with sessions.begin() as session:
    apply_recorded(session, ServiceContext(school_id=sys.argv[2], actor="night-job"),
                   RunKind.IMPORT, {"file": "huge.csv"}, work)
"""


def test_a_run_whose_program_died_is_shown_as_interrupted(db):
    worker = subprocess.Popen([sys.executable, "-c", WORKER, db.url, str(db.school.id)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    try:
        assert worker.stdout.readline().strip() == "working", worker.stderr.read()
        assert runs(db) == [("import", "running")]
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    deadline = time.monotonic() + 20
    while runs(db) == [("import", "running")] and time.monotonic() < deadline:
        time.sleep(0.2)  # the server notices the dead connection and ends its transaction
    assert runs(db) == [("import", "interrupted")]
    with db.sessions.begin() as s:
        (row,) = list_runs(s, db.context())
    assert row.headline.startswith("Interrupted before it finished")


def test_a_run_that_raises_something_unexpected_is_still_recorded(db):
    def work(scope):
        raise KeyError("a bug")

    with pytest.raises(KeyError), db.sessions.begin() as s:
        apply_recorded(s, db.context(), RunKind.REPAIR, {}, work)
    assert runs(db) == [("repair", "failed")]


# ---------------------------------------------------------------- stale plans


def test_import_leaves_alone_what_changed_since_its_preview(db, tmp_path):
    with db.sessions.begin() as s:
        create_student(s, db.context(), StudentInput("S1", "Anna", "Kowalska", "anna@example.org"))
        create_student(s, db.context(), StudentInput("S2", "Ben", "Nowak", "ben@example.org"))
    prepared = prepare(roster(tmp_path, "S1,Anna,Kowalska,anna@example.org,Art\n"
                                        "S2,Ben,Nowak,ben@example.org,Art\n"
                                        "S3,Cleo,Ortiz,cleo@example.org,Art\n"))  # fmt: skip
    with db.sessions.begin() as s:
        preview = run_import(s, db.context(), prepared, commit=False)
        s.rollback()
    assert preview.enrollments_created == 3
    with db.engine.begin() as conn:  # someone else renames Ben meanwhile
        conn.execute(text("UPDATE student SET last_name = 'Nowak-Lee' WHERE student_no = 'S2'"))
    with db.sessions.begin() as s:
        done = run_import(s, db.context(), prepared, commit=True, plan=preview.plan)
    assert [item.label for item in done.stale] == ["S2 Ben Nowak"]
    assert done.created == 1 and done.enrollments_created == 2
    with db.sessions.begin() as s:
        assert s.scalar(select(Student.last_name).where(Student.student_no == "S2")) == "Nowak-Lee"
        enrolled = s.scalars(select(Student.student_no).join(
            CourseEnrollment, CourseEnrollment.student_id == Student.id)).all()  # fmt: skip
    assert sorted(enrolled) == ["S1", "S3"]
    with db.sessions.begin() as s:
        assert s.scalars(select(MaintenanceRun.summary)).one()["stale"] == 1


def test_legacy_groups_leave_alone_a_membership_changed_since_the_preview(db, tmp_path):
    with db.sessions.begin() as s:
        for n in ("1", "2"):
            create_student(s, db.context(), StudentInput(n, f"First{n}", f"Last{n}"))
    path = tmp_path / "groups.csv"
    path.write_text("student_no,group_name,course,active\n1,G1,Art,yes\n2,G1,Art,yes\n",
                    encoding="utf-8")  # fmt: skip
    with db.sessions.begin() as s:
        apply_legacy_import(s, db.context(), read_legacy_file(path))
    path.write_text("student_no,group_name,course,active\n1,G1,Art,no\n2,G1,Art,no\n",
                    encoding="utf-8")  # fmt: skip
    legacy = read_legacy_file(path)
    with db.sessions.begin() as s:
        preview = plan_legacy_import(s, db.context(), legacy)
        s.rollback()
    assert preview.members_updated == 2
    with db.engine.begin() as conn:  # student 2's membership is ended by hand meanwhile
        conn.execute(text("UPDATE legacy_group_member SET deleted_at = now() WHERE student_id = "
                          "(SELECT id FROM student WHERE student_no = '2')"))  # fmt: skip
    with db.sessions.begin() as s:
        done = apply_legacy_import(s, db.context(), legacy, plan=preview.plan)
    assert [item.label for item in done.stale] == ["2 G1 (Art)"]
    assert done.members_updated == 1


def test_backfill_applies_only_its_preview(db, tmp_path):
    with db.sessions.begin() as s:
        for n in ("1", "2", "3"):
            create_student(s, db.context(), StudentInput(n, f"First{n}", f"Last{n}"))
    path = tmp_path / "groups.csv"
    path.write_text("student_no,group_name,course\n1,G1,Art\n2,G1,Art\n", encoding="utf-8")
    with db.sessions.begin() as s:
        apply_legacy_import(s, db.context(), read_legacy_file(path))
    with db.sessions.begin() as s:
        preview = plan_backfill(s, db.context())
    assert preview.counts.enrollments_created == 2
    with db.sessions.begin() as s:
        # Meanwhile: student 1 is enrolled by hand, and student 3 joins a group.
        enroll_named(s, db.context(), s.scalar(
            select(Student.id).where(Student.student_no == "1")), "Art")  # fmt: skip
    path.write_text("student_no,group_name,course\n3,G1,Art\n", encoding="utf-8")
    with db.sessions.begin() as s:
        apply_legacy_import(s, db.context(), read_legacy_file(path))
    with db.sessions.begin() as s:
        run = apply_backfill(s, db.context(), plan=preview.plan)
    result = run.value_or_raise()
    assert [item.label for item in run.stale] == ["1 First1 Last1 → Art"]
    assert result.counts.enrollments_created == 1 and result.counts.new_since_plan == 1
    assert count(db, CourseEnrollment) == 2  # student 1 by hand, student 2 by the backfill


def test_request_decisions_leave_alone_a_request_changed_since_it_was_selected(db):
    ctx = db.context()
    with db.sessions.begin() as s:
        art = find_or_create_course(s, ctx, "Art")[0]
        for n in ("1", "2"):
            student = create_student(s, ctx, StudentInput(n, f"First{n}", f"Last{n}"))
            create_request(s, ctx, student.id, art.id)
        selected = list_requests(s, ctx, RequestQuery()).rows
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE enrollment_request SET note = 'call the parents' "
                          "WHERE student_id = :id"), {"id": selected[0].student_id})  # fmt: skip
    with db.sessions.begin() as s:
        run = decide_requests(s, ctx, selected, "approve")
    decisions = run.value_or_raise()
    assert decisions.decided == [selected[1].id]
    assert "changed this request since you selected it" in decisions.failed[selected[0].id]
    changed = selected[0]
    assert run.stale[0].label == f"{changed.student_no} {changed.student_name} → Art"
    assert runs(db) == [("requests", "succeeded")]
