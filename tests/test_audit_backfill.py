"""Legacy group import, enrollment audit and backfill against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from course_setup import enroll_named
from sqlalchemy import func, select, text

from app.db.models import (
    AuditLog,
    Course,
    CourseEnrollment,
    CourseProgress,
    ImportRejectedRow,
    LegacyGroup,
    LegacyGroupMember,
    MaintenanceRun,
)
from app.domain.enums import RunStatus
from app.imports.legacy_groups import (
    apply_legacy_import,
    plan_legacy_import,
    read_legacy_file,
)
from app.imports.reading import UnreadableFile
from app.jobs import Job
from app.maintenance.backfill import apply_backfill, plan_backfill
from app.maintenance.consistency import plan_consistency
from app.maintenance.enrollment_audit import AuditVerdict, audit_enrollments
from app.runs.history import list_runs, report_lines, run_report
from app.services.enrollments import unenroll
from app.services.students import StudentInput, create_student

HEADER = "student_no,email,group_name,team_number,course,active\n"


def add_students(db, *numbers: str) -> dict[str, object]:
    ids = {}
    with db.sessions.begin() as s:
        for n in numbers:
            row = create_student(s, db.context(), StudentInput(n, f"First{n}", f"Last{n}",
                                                               f"s{n}@example.org"))  # fmt: skip
            ids[n] = row.id
    return ids


def load(db, tmp_path: Path, body: str, *, commit: bool = True, name: str = "groups.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    legacy = read_legacy_file(path)
    with db.sessions.begin() as s:
        if commit:
            return apply_legacy_import(s, db.context(), legacy)
        outcome = plan_legacy_import(s, db.context(), legacy)
        s.rollback()
        return outcome


def audit(db):
    with db.sessions.begin() as s:
        return audit_enrollments(s, db.context())


def backfill(db, job: Job | None = None):
    with db.sessions.begin() as s:
        return apply_backfill(s, db.context(), job=job)


def count(db, model, *where) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def enroll(db, student_id, course: str) -> None:
    with db.sessions.begin() as s:
        enroll_named(s, db.context(), student_id, course)


def test_empty_school_has_full_coverage_and_nothing_to_backfill(db):
    result = audit(db)
    assert (result.pairs, result.coverage_percent, result.verdict) == (0, 100.0, 0)
    planned = None
    with db.sessions.begin() as s:
        planned = plan_backfill(s, db.context())
    assert planned.counts.enrollments_created == 0 and planned.plan.items == []


def test_legacy_file_creates_groups_and_memberships_and_rejects_unknown_students(db, tmp_path):
    add_students(db, "1001", "1002")
    outcome = load(db, tmp_path,
                   "1001,,Group 3,3,Mathematics 101,yes\n"
                   ",s1002@example.org,Group 3,3,mathematics 101,1\n"
                   "1001,,Group 3,3,Mathematics 101,yes\n"  # identical: merged
                   "9999,,Group 3,3,Mathematics 101,yes\n"  # unknown student
                   "1002,,Choir,,Music,maybe\n")  # fmt: skip
    assert (outcome.groups_created, outcome.members_created) == (1, 2)
    assert outcome.merged_duplicates == 1
    assert [(r.line, r.column) for r in outcome.rejected] == [(5, "student_no"), (6, "active")]
    assert "No student with student number 9999" in outcome.rejected[0].message
    assert count(db, LegacyGroup) == 1 and count(db, LegacyGroupMember) == 2
    assert count(db, ImportRejectedRow, ImportRejectedRow.run_id == outcome.run_id) == 2
    assert count(db, AuditLog, AuditLog.run_id == outcome.run_id) == 3
    again = load(db, tmp_path, "1001,,Group 3,3,Mathematics 101,yes\n")
    assert (again.groups_created, again.members_created, again.members_unchanged) == (0, 0, 1)


def test_legacy_dry_run_changes_nothing(db, tmp_path):
    add_students(db, "1001")
    outcome = load(db, tmp_path, "1001,,Group 1,,Art,yes\n", commit=False)
    assert outcome.members_created == 1 and outcome.plan.items[0].kind == "create_member"
    assert count(db, LegacyGroup) == 0


def test_conflicting_duplicate_rows_are_rejected_with_both_lines(db, tmp_path):
    add_students(db, "1001")
    outcome = load(db, tmp_path, "1001,,Group 1,,Art,yes\n1001,,group 1,,art,no\n")
    assert [r.line for r in outcome.rejected] == [2, 3]
    assert "Lines 2, 3" in outcome.rejected[0].message


def test_file_without_group_column_is_unreadable(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("student_no,course\n1,Art\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="no group_name column"):
        read_legacy_file(path)


def test_windows_1252_semicolon_file_is_read(db, tmp_path):
    add_students(db, "0042")
    path = tmp_path / "excel.csv"
    path.write_bytes("student_no;group_name;course\r\n0042;Équipe 1;Français\r\n;;\r\n"
                     .encode("cp1252"))  # fmt: skip
    legacy = read_legacy_file(path)
    assert [(r.student_no, r.group_name, r.course) for r in legacy.records] == [
        ("0042", "Équipe 1", "Français")
    ]


def test_full_coverage(db, tmp_path):
    ids = add_students(db, "1", "2")
    load(db, tmp_path, "1,,G1,1,Art,yes\n2,,G1,1,Art,yes\n")
    enroll(db, ids["1"], "Art")
    enroll(db, ids["2"], "art")
    result = audit(db)
    assert (result.pairs, result.covered, result.coverage_percent) == (2, 2, 100.0)
    assert result.verdict is AuditVerdict.COMPLETE


def test_missing_and_inactive_enrollments_then_backfill_reaches_full_coverage(db, tmp_path):
    ids = add_students(db, "1", "2", "3")
    load(db, tmp_path, "1,,G1,1,Art,yes\n2,,G1,1,Art,yes\n3,,G1,1,Art,yes\n")
    enroll(db, ids["1"], "Art")
    enroll(db, ids["2"], "Art")
    with db.sessions.begin() as s:
        unenroll(s, db.context(), ids["2"], "Art")
    result = audit(db)
    assert (result.covered, result.inactive, result.missing) == (1, 1, 1)
    assert result.coverage_percent == pytest.approx(33.33)
    assert result.verdict is AuditVerdict.MISSING
    assert [s.student_no for s in result.lists["missing"]] == ["3"]
    assert [s.student_no for s in result.lists["inactive"]] == ["2"]

    with db.sessions.begin() as s:
        planned = plan_backfill(s, db.context())
    assert (planned.counts.enrollments_created, planned.counts.enrollments_reactivated) == (1, 1)
    assert {i.kind for i in planned.plan.items} == {"create_enrollment", "reactivate_enrollment"}

    run = backfill(db)
    assert run.status is RunStatus.SUCCEEDED
    # The new enrollment says where it came from; the re-enrolled one keeps its source.
    assert count(db, CourseEnrollment, CourseEnrollment.source == "backfill") == 1
    assert count(db, CourseEnrollment, CourseEnrollment.source == "manual") == 2
    assert count(db, CourseEnrollment, CourseEnrollment.active.is_(False)) == 0
    assert count(db, CourseProgress, CourseProgress.deleted_at.is_(None)) == 3
    with db.sessions.begin() as s:
        report = run_report(s, db.context(), run.run_id)
    # the group was loaded before the course existed: the run also maps it to the course
    assert sorted(c.what for c in report.changes) == [
        "enrolled", "legacy group changed", "progress record added", "progress record restored",
        "re-enrolled",
    ]  # fmt: skip
    assert audit(db).verdict is AuditVerdict.COMPLETE
    with db.sessions.begin() as s:
        assert sum(plan_consistency(s, db.context()).summary.values()) == 0  # no gaps left

    second = backfill(db)
    counts = second.value.counts
    assert counts.enrollments_created == 0 and counts.enrollments_reactivated == 0
    assert count(db, AuditLog, AuditLog.run_id == second.run_id) == 0


def test_only_inactive_gaps_are_a_warning(db, tmp_path):
    ids = add_students(db, "1")
    load(db, tmp_path, "1,,G1,1,Art,yes\n")
    enroll(db, ids["1"], "Art")
    with db.sessions.begin() as s:
        unenroll(s, db.context(), ids["1"], "Art")
    assert audit(db).verdict is AuditVerdict.INACTIVE_ONLY


def test_student_in_two_groups_of_one_course_counts_once(db, tmp_path):
    add_students(db, "1")
    load(db, tmp_path, "1,,G1,1,Art,yes\n1,,G2,2,Art,yes\n")
    result = audit(db)
    assert (result.memberships, result.pairs, result.missing) == (2, 1, 1)
    run = backfill(db)
    assert run.value.counts.enrollments_created == 1
    assert count(db, Course) == 1  # the course the groups name was created once


def test_student_in_two_courses_gets_two_enrollments(db, tmp_path):
    add_students(db, "1")
    load(db, tmp_path, "1,,G1,1,Art,yes\n1,,Band,,Music,yes\n")
    assert audit(db).pairs == 2
    assert backfill(db).value.counts.enrollments_created == 2
    assert count(db, CourseEnrollment) == 2 and count(db, CourseProgress) == 2


def test_inactive_membership_is_ignored(db, tmp_path):
    add_students(db, "1", "2")
    load(db, tmp_path, "1,,G1,1,Art,no\n2,,G1,1,Art,yes\n")
    result = audit(db)
    assert (result.memberships, result.pairs) == (1, 1)
    backfill(db)
    assert count(db, CourseEnrollment) == 1


def test_cancel_mid_apply_leaves_database_unchanged_and_run_cancelled(db, tmp_path):
    add_students(db, "1", "2")
    load(db, tmp_path, "1,,G1,1,Art,yes\n2,,G1,1,Art,yes\n")
    before = (count(db, Course), count(db, AuditLog))

    def cancel_after_courses(report) -> None:
        if report.done == 2:  # courses written, enrollments next
            job.cancel()

    job = Job(cancel_after_courses, min_interval_s=0)
    run = backfill(db, job)
    assert run.status is RunStatus.CANCELLED
    assert (count(db, Course), count(db, AuditLog)) == before
    assert count(db, CourseEnrollment) == 0
    assert count(db, MaintenanceRun, MaintenanceRun.id == run.run_id,
                 MaintenanceRun.status == "cancelled") == 1  # fmt: skip


def test_failure_mid_apply_leaves_database_unchanged_and_run_failed(db, tmp_path):
    add_students(db, "1", "2", "3")
    load(db, tmp_path, "1,,G1,1,Art,yes\n2,,G1,1,Art,yes\n3,,G1,1,Art,yes\n")
    with db.as_owner() as s:  # a fault injected behind the app's back
        s.execute(text("""
            CREATE FUNCTION fail_on_second() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT count(*) FROM course_progress) >= 1 THEN
                RAISE EXCEPTION 'injected failure on a progress row';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER fail_on_second BEFORE INSERT ON course_progress
              FOR EACH ROW EXECUTE FUNCTION fail_on_second();
        """))  # fmt: skip
    before = (count(db, Course), count(db, CourseEnrollment), count(db, AuditLog))
    run = backfill(db)
    assert run.status is RunStatus.FAILED
    assert "injected failure" in run.error
    assert (count(db, Course), count(db, CourseEnrollment), count(db, AuditLog)) == before
    with db.sessions.begin() as s:
        stored = s.get(MaintenanceRun, run.run_id)
        assert stored.status == "failed" and "injected failure" in stored.summary["error"]


def test_runs_are_listed_with_reports(db, tmp_path):
    add_students(db, "1")
    load(db, tmp_path, "1,,G1,1,Art,yes\n")
    audit(db)
    run = backfill(db)
    with db.sessions.begin() as s:
        runs = list_runs(s, db.context())
        report = run_report(s, db.context(), run.run_id)
    assert [r.kind for r in runs] == ["backfill", "audit", "import"]
    assert runs[1].summary["lists"]["missing"][0]["student_no"] == "1"
    assert "created 1 enrollment," in runs[0].headline
    # the course, the group mapped to it, the enrollment and its progress record
    assert report.change_count == 4
    assert {c.entity for c in report.changes} == {
        "course",
        "legacy_group",
        "course_enrollment",
        "course_progress",
    }
    # Every line names the student and the course and says what happened in words; the
    # ids stay in their own column.
    enrolled = next(c for c in report.changes if c.entity == "course_enrollment")
    assert (enrolled.what, enrolled.student, enrolled.course) == (
        "enrolled", "1 First1 Last1", "Art"
    )  # fmt: skip
    assert "active: yes" in enrolled.after and "student_id" not in enrolled.after
    assert "True" not in enrolled.after and str(enrolled.entity_id) not in enrolled.after
    progress = next(c for c in report.changes if c.entity == "course_progress")
    assert (progress.student, progress.course) == ("1 First1 Last1", "Art")
    lines = report_lines(report)
    header = lines.index(["changes", "what", "student", "course", "before", "after", "table",
                          "row id"])  # fmt: skip
    body = lines[header + 1 :]
    assert ["enrolled", "1 First1 Last1", "Art"] in [line[1:4] for line in body]
    assert not any("True" in cell or "False" in cell for line in body for cell in line[1:6])
