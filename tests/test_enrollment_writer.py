"""One enrollment writer: the same enrollment made through every path that enrolls —
the student panel, a roster import, the backfill, request approval and the repair —
leaves the same rows and the same audit entries, re-activates the same way (keeping the
earlier period), and refuses a student who is not active in the same words."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from app.domain.errors import Conflict
from app.imports.legacy_groups import apply_legacy_import, read_legacy_file
from app.imports.service import prepare, run_import
from app.maintenance.backfill import apply_backfill
from app.maintenance.repair import apply_repair
from app.services.courses import find_or_create_course
from app.services.enrollments import enroll
from app.services.requests import approve_request, create_request
from app.services.students import StudentInput, create_student, update_student

PATHS = ("panel", "import", "backfill", "request", "repair")
# What differs by path on purpose: ids, and how the enrollment first came to be.
IGNORED = {"id", "school_id", "created_at", "updated_at", "source", "student_id", "course_id"}


def enroll_by(path: str, db, student_no: str, tmp_path: Path) -> object:
    """Enroll student ``student_no`` in Biology through ``path``; returns what it says
    about students it did not enroll (or raises, for the panel)."""
    ctx = db.context()
    with db.sessions.begin() as s:
        student_id = s.execute(text("SELECT id FROM student WHERE student_no = :n"),
                               {"n": student_no}).scalar_one()  # fmt: skip
        biology = find_or_create_course(s, ctx, "Biology")[0]
    if path == "panel":
        with db.sessions.begin() as s:
            return enroll(s, ctx, student_id, biology.id)
    if path == "import":
        roster = tmp_path / f"roster-{student_no}.csv"
        n = student_no[1:]
        roster.write_text(f"student_no,first_name,last_name,course\n"
                          f"{student_no},First{n},Last{n},Biology\n", encoding="utf-8")  # fmt: skip
        with db.sessions.begin() as s:
            return run_import(s, ctx, prepare(roster), commit=True).skipped
    if path == "backfill":
        groups = tmp_path / f"groups-{student_no}.csv"
        groups.write_text(f"student_no,group_name,course\n{student_no},G-{student_no},Biology\n",
                          encoding="utf-8")  # fmt: skip
        with db.sessions.begin() as s:
            apply_legacy_import(s, ctx, read_legacy_file(groups))
        with db.sessions.begin() as s:
            return apply_backfill(s, ctx).value_or_raise().skipped
    if path == "request":
        with db.sessions.begin() as s:
            request = create_request(s, ctx, student_id, biology.id)
            return approve_request(s, ctx, request.id)
    if path == "repair":  # an approval that left no enrollment behind
        with db.sessions.begin() as s:
            s.execute(text(
                "INSERT INTO enrollment_request (id, school_id, student_id, course_id, status, "
                "decided_at, decided_by) VALUES (:id, :school, :student, :course, 'approved', "
                "now(), 'someone')"), {"id": uuid.uuid4(), "school": ctx.school_id,
                                        "student": student_id, "course": biology.id})  # fmt: skip
        with db.sessions.begin() as s:
            return apply_repair(s, ctx, None, kinds=["approved-no-enrollment"]).value_or_raise()
    raise AssertionError(path)


def written(db, student_no: str) -> dict:
    """The student's enrollment and progress row, and their audit entries, without what
    differs by path on purpose."""
    with db.engine.connect() as conn:
        enrollment = conn.execute(text(
            "SELECT e.id, e.active, e.enrolled_on, e.ended_on, e.periods::text, "
            "e.deleted_at IS NULL FROM course_enrollment e JOIN student s ON s.id = e.student_id "
            "WHERE s.student_no = :n"), {"n": student_no}).one()  # fmt: skip
        progress = conn.execute(text(
            "SELECT p.id, p.percent, p.deleted_at IS NULL FROM course_progress p "
            "JOIN student s ON s.id = p.student_id WHERE s.student_no = :n"),
            {"n": student_no}).one()  # fmt: skip
        entries = conn.execute(text(
            "SELECT entity, action, changes FROM audit_log WHERE entity_id IN (:e, :p) "
            "ORDER BY id"), {"e": enrollment[0], "p": progress[0]}).all()  # fmt: skip
    return {
        "enrollment": tuple(enrollment[1:]),
        "progress": tuple(progress[1:]),
        "audit": [
            (
                entity,
                action,
                {
                    side: {k: v for k, v in values.items() if k not in IGNORED}
                    for side, values in changes.items()
                },
            )
            for entity, action, changes in entries
        ],  # fmt: skip
    }


@pytest.fixture
def students(db):
    with db.sessions.begin() as s:
        for n in range(len(PATHS)):
            create_student(s, db.context(), StudentInput(f"S{n}", f"First{n}", f"Last{n}"))
    return {path: f"S{n}" for n, path in enumerate(PATHS)}


def test_every_path_enrolls_the_same_way(db, students, tmp_path):
    results = {}
    for path, student_no in students.items():
        enroll_by(path, db, student_no, tmp_path)
        results[path] = written(db, student_no)
    first = results["panel"]
    assert first["enrollment"][0] is True and first["progress"] == (0, True)
    assert [(entity, action) for entity, action, _ in first["audit"]] == [
        ("course_enrollment", "insert"), ("course_progress", "insert")]  # fmt: skip
    for path in PATHS[1:]:
        assert results[path] == first, path


def test_every_path_reenrolls_keeping_the_earlier_period(db, students, tmp_path):
    today = date.today()
    started, ended = today - timedelta(days=120), today - timedelta(days=40)
    for student_no in students.values():  # enrolled in the autumn, ended since
        enroll_by("panel", db, student_no, tmp_path)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE course_enrollment SET active = false, enrolled_on = :start, ended_on = :end, "
                "periods = datemultirange(daterange(:start, :end))"
            ),
            {"start": started, "end": ended},
        )
        conn.execute(text("UPDATE course_progress SET deleted_at = now(), percent = 40"))
    results = {}
    for path, student_no in students.items():
        enroll_by(path, db, student_no, tmp_path)
        results[path] = written(db, student_no)
    first = results["panel"]
    active, enrolled_on, ended_on, periods, live = first["enrollment"]
    assert (active, enrolled_on, ended_on, live) == (True, started, None, True)
    assert periods == f"{{[{started},{ended}),[{today},)}}"
    assert first["progress"] == (40, True)  # the progress set aside comes back, kept
    reactivation, restore = first["audit"][-2:]
    assert reactivation[:2] == ("course_enrollment", "update")
    assert reactivation[2]["before"]["active"] is False and reactivation[2]["after"]["active"]
    assert restore[:2] == ("course_progress", "update")
    assert restore[2]["after"] == {"deleted_at": None}
    for path in PATHS[1:]:
        assert results[path]["enrollment"] == first["enrollment"], path
        assert results[path]["progress"] == first["progress"], path
        assert results[path]["audit"][-2:] == first["audit"][-2:], path


def test_no_path_enrolls_a_student_who_is_not_active(db, students, tmp_path):
    with db.sessions.begin() as s:
        ids = s.execute(text("SELECT student_no, id FROM student")).all()
        for _no, student_id in ids:
            update_student(s, db.context(), student_id, {"status": "withdrawn"})
    said = {}
    for path, student_no in students.items():
        if path in ("panel", "request"):
            with pytest.raises(Conflict, match="is withdrawn, so Rollbook does not enroll"):
                enroll_by(path, db, student_no, tmp_path)
        else:
            said[path] = enroll_by(path, db, student_no, tmp_path)
    assert said["import"] == ["S1 → Biology: the student is withdrawn"]
    assert said["backfill"] == ["S2 First2 Last2 → Biology: the student is withdrawn"]
    # the consistency check does not propose enrolling a withdrawn student at all
    assert said["repair"].applied_total == 0
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM course_enrollment")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM course_progress")).scalar() == 0
