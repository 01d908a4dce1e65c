"""Consistency check and repair: every kind found once, repaired once, then clean;
a failing apply changes nothing; a stale plan skips what changed."""

from __future__ import annotations

import pytest
from consistency_data import build_school
from course_setup import enroll_named
from sqlalchemy import select, text

from app.db.models import MaintenanceRun
from app.domain.enums import UserRole
from app.domain.errors import PermissionDenied, ValidationError
from app.maintenance.consistency import KIND_NAMES, plan_consistency, record_check
from app.maintenance.repair import apply_repair, write_report
from app.services.enrollments import unenroll

ONE_OF_EACH = {name: 1 for name in KIND_NAMES}


@pytest.fixture
def school(db, ctx):
    with db.sessions.begin() as s:
        return build_school(s, ctx)


def snapshot(session) -> dict[str, str]:
    """Every school-data table, row for row (maintenance runs excepted)."""
    tables = session.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename NOT IN ('maintenance_run', 'alembic_version') ORDER BY 1"
    )).all()  # fmt: skip
    return {
        t: session.scalar(text(f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"))
        for t in tables
    }  # fmt: skip


def test_each_kind_is_found_exactly_once_with_its_reason(db, ctx, school):
    with db.sessions.begin() as s:
        plan = plan_consistency(s, ctx)
    assert plan.summary == ONE_OF_EACH
    assert not plan.items_truncated
    found = {item.kind: item for item in plan.items}
    assert sorted(found) == sorted(KIND_NAMES)
    assert found["progress-only"].action == "create-enrollment"
    assert found["progress-only"].student == "Zoë Müller (S1)"
    assert found["progress-only"].target == "Chemistry"
    assert found["enrollment-only"].before_text == "no progress record"
    assert "approved by ines" in found["approved-no-enrollment"].reason
    assert found["pending-but-enrolled"].after_text == "request withdrawn (with a note)"
    assert "outside the enrollment (enrolled since" in found["attendance-not-enrolled"].reason
    assert "R-6 is cancelled" in found["event-attendance-cancelled"].reason
    assert "Attended 1 of the 2 days" in found["certificate-ineligible"].reason
    assert found["certificate-ineligible"].student == "Aoife Kelly (S7)"
    assert "Lone Wolves has 1 member; the event allows 2-3" in found["team-size"].reason


def test_repair_fixes_each_once_and_a_second_check_is_clean(db, ctx, school, tmp_path):
    with db.sessions.begin() as s:
        plan = plan_consistency(s, ctx)
    with db.sessions.begin() as s:
        outcome = apply_repair(s, ctx, plan.items).value_or_raise()
    assert outcome.applied_counts == ONE_OF_EACH and outcome.skipped == []
    with db.sessions.begin() as s:
        assert plan_consistency(s, ctx).summary == {name: 0 for name in KIND_NAMES}
        row = lambda sql, **v: s.execute(text(sql), v).one()  # noqa: E731
        assert row("SELECT active, source FROM course_enrollment WHERE student_id = :st "
                   "AND course_id = :c", st=school["S1"], c=school["chem"]) == (True, "backfill")  # fmt: skip
        assert row("SELECT active, source FROM course_enrollment WHERE student_id = :st "
                   "AND course_id = :c", st=school["S3"], c=school["chem"]) == (True, "request")  # fmt: skip
        status, reason = row("SELECT status, decision_note FROM enrollment_request "
                             "WHERE id = :id", id=school["pending"])  # fmt: skip
        assert status == "withdrawn" and "already enrolled" in reason
        assert row("SELECT deleted_at IS NOT NULL FROM session_attendance WHERE id = :id",
                   id=school["early_attendance"]) == (True,)  # fmt: skip
        flagged = row("SELECT revoked_at, revocation_flag_reason FROM certificate WHERE id = :id",
                      id=school["cert_7"])  # fmt: skip
        assert flagged == (None, "Attended 1 of the 2 days the event requires.")
        assert row("SELECT team_id, status FROM event_registration WHERE id = :id",
                   id=school["quiz_1"]) == (None, "registered")  # fmt: skip
        # Nothing was hard-deleted; every change is in the audit log with the run.
        assert row("SELECT count(*) FROM event_attendance") == (4,)
        assert row("SELECT count(*) FROM audit_log WHERE run_id = :r", r=outcome.run_id)[0] >= 8
        run = s.get(MaintenanceRun, outcome.run_id)
        assert (run.kind, run.status, run.dry_run) == ("repair", "succeeded", False)
        assert run.summary["applied"] == 8
    report = tmp_path / "repair.csv"
    assert write_report(report, outcome) == 8
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("outcome,kind,student") and len(lines) == 9
    assert any("Zoë Müller (S1)" in line for line in lines)


def test_ordinary_unenrolling_and_reenrolling_stays_consistent(db, ctx):
    from app.services.students import StudentInput, create_student

    with db.sessions.begin() as s:
        anna = create_student(s, ctx, StudentInput("S1", "Anna", "Kowalska"))
        enroll_named(s, ctx, anna.id, "Art")
        unenroll(s, ctx, anna.id, "Art")
        enroll_named(s, ctx, anna.id, "Biology")
        assert sum(plan_consistency(s, ctx).summary.values()) == 0
        enroll_named(s, ctx, anna.id, "Art")
        assert sum(plan_consistency(s, ctx).summary.values()) == 0


def test_progress_on_an_ended_enrollment_is_set_aside_not_reenrolled(db, ctx, school):
    with db.sessions.begin() as s:
        s.execute(text("UPDATE course_enrollment SET active = false, ended_on = current_date "
                       "WHERE id = :e"), {"e": school["art_6"]})  # fmt: skip
        plan = plan_consistency(s, ctx, kinds=["progress-only"])
    item = next(i for i in plan.items if i.student.endswith("(S6)"))
    assert item.action == "set-aside-progress" and "ended" in item.before_text
    with db.sessions.begin() as s:
        apply_repair(s, ctx, [item])
        active = s.execute(text("SELECT active FROM course_enrollment WHERE id = :e"),
                           {"e": school["art_6"]}).scalar()  # fmt: skip
        assert active is False
        assert plan_consistency(s, ctx, kinds=["progress-only"]).summary["progress-only"] == 1


def test_failure_halfway_through_changes_nothing_and_is_recorded(db, ctx, school):
    with db.sessions.begin() as s:
        plan = plan_consistency(s, ctx)
    with db.as_owner() as s:
        # The 4th audit entry the repair writes fails, as a full disk would.
        s.execute(text("""
            CREATE SEQUENCE repair_rows;
            CREATE FUNCTION fail_on_fourth() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.run_id IS NOT NULL AND nextval('repair_rows') = 4 THEN
                RAISE EXCEPTION 'could not extend file: No space left on device';
              END IF;
              RETURN NEW;
            END $$;
            CREATE TRIGGER fail_on_fourth BEFORE INSERT ON audit_log
            FOR EACH ROW EXECUTE FUNCTION fail_on_fourth();"""))  # fmt: skip
    with db.sessions.begin() as s:
        before = snapshot(s)
    with db.sessions.begin() as s:
        run = apply_repair(s, ctx, plan.items)
    assert run.status.value == "failed" and "No space left on device" in run.error
    with db.sessions.begin() as s:
        assert snapshot(s) == before
        runs = s.scalars(select(MaintenanceRun).where(MaintenanceRun.kind == "repair")).all()
        assert [(r.status, r.dry_run) for r in runs] == [("failed", False)]
        assert "No space left on device" in runs[0].summary["error"]
        assert plan_consistency(s, ctx).summary == ONE_OF_EACH


def test_stale_items_are_skipped_and_reported_the_others_apply(db, ctx, school):
    with db.sessions.begin() as s:
        plan = plan_consistency(s, ctx)
    with db.sessions.begin() as s:
        # Someone edits the pending request's note, and someone else restores S2's
        # progress row by hand, between the preview and the apply.
        s.execute(text("UPDATE enrollment_request SET note = 'call parents' WHERE id = :id"),
                  {"id": school["pending"]})  # fmt: skip
        s.execute(text("INSERT INTO course_progress (id, school_id, student_id, course_id) "
                       "VALUES (gen_random_uuid(), :s, :st, :c)"),
                  {"s": ctx.school_id, "st": school["S2"], "c": school["art"]})  # fmt: skip
    with db.sessions.begin() as s:
        outcome = apply_repair(s, ctx, plan.items).value_or_raise()
    skipped = {item.finding.kind: item.why for item in outcome.skipped}
    assert skipped.keys() == {"pending-but-enrolled", "enrollment-only"}
    assert skipped["pending-but-enrolled"].startswith("Changed since the preview")
    assert skipped["enrollment-only"].startswith("No longer inconsistent")
    assert outcome.applied_total == 6
    with db.sessions.begin() as s:
        summary = plan_consistency(s, ctx).summary
        assert summary == {**{name: 0 for name in KIND_NAMES}, "pending-but-enrolled": 1}


def test_listing_is_capped_but_counts_are_complete(db, ctx, school):
    with db.sessions.begin() as s:
        s.execute(text("DELETE FROM course_progress"))  # 7 more enrollment-only + 1 progress
        plan = plan_consistency(s, ctx, max_listed=4)
        run_id = record_check(s, ctx, plan)
        assert plan.summary["enrollment-only"] == 8 and plan.items_truncated
        assert len(plan.items) == 4
        assert len({item.kind for item in plan.items}) == 4  # shared between the kinds
        run = s.get(MaintenanceRun, run_id)
        assert (run.kind, run.dry_run, run.summary["total"]) == ("consistency", True, 14)


def test_permissions_and_unknown_kinds(db, ctx):
    staff = ctx.__class__(ctx.school_id, "desk", UserRole.STAFF)
    with db.sessions.begin() as s:
        with pytest.raises(PermissionDenied):
            plan_consistency(s, staff)
        with pytest.raises(ValidationError, match="Unknown finding kind orphans"):
            plan_consistency(s, ctx, kinds=["orphans"])


def test_the_demo_school_is_consistent_and_has_requests(db, ctx):
    from app.demo_data import create_demo_data

    with db.engine.begin() as conn:
        summary = create_demo_data(conn.connection.driver_connection, db.school.id,
                                   students=600, seed=5)  # fmt: skip
    assert summary.requests > 0
    with db.sessions.begin() as s:
        plan = plan_consistency(s, ctx)
        statuses = set(s.scalars(text("SELECT DISTINCT status FROM enrollment_request")))
    assert plan.summary == {name: 0 for name in KIND_NAMES}, plan.items[:5]
    assert "pending" in statuses and "approved" in statuses
