"""Enrollment requests: create, approve (verified, all or nothing), reject, withdraw, bulk."""

from __future__ import annotations

import pytest
from course_setup import enroll_named
from sqlalchemy import func, select, text

from app.db.models import AuditLog, CourseEnrollment, CourseProgress, EnrollmentRequest
from app.domain.enums import UserRole
from app.domain.errors import Conflict, PermissionDenied, ValidationError
from app.services.courses import find_or_create_course
from app.services.enrollments import unenroll
from app.services.requests import (
    RequestQuery,
    approve_request,
    approve_requests,
    count_requests,
    create_request,
    get_request,
    list_requests,
    reject_request,
    reject_requests,
    withdraw_request,
)
from app.services.students import StudentInput, create_student


@pytest.fixture
def anna(session, ctx):
    return create_student(session, ctx, StudentInput("S1", "Anna", "Kowalska"))


@pytest.fixture
def biology(session, ctx):
    return find_or_create_course(session, ctx, "Biology")[0]


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_approval_enrolls_creates_progress_and_records_who_and_when(session, ctx, anna, biology):
    staff = ctx.__class__(ctx.school_id, "desk", UserRole.STAFF)
    request = create_request(session, staff, anna.id, biology.id, note="Wants to be a vet")
    assert request.status == "pending" and request.course_name == "Biology"
    approved = approve_request(session, ctx, request.id)
    assert approved.status == "approved" and approved.decided_by == "tester"
    assert approved.decided_at is not None and approved.note == "Wants to be a vet"
    enrollment = session.scalars(select(CourseEnrollment)).one()
    assert enrollment.active and enrollment.source == "request"
    assert count(session, CourseProgress, CourseProgress.deleted_at.is_(None)) == 1
    entries = session.execute(
        select(AuditLog.entity, AuditLog.action, AuditLog.actor).order_by(AuditLog.id)
    ).all()  # fmt: skip
    assert entries[-4:] == [
        ("enrollment_request", "insert", "tester"),
        ("course_enrollment", "insert", "tester"),
        ("course_progress", "insert", "tester"),
        ("enrollment_request", "update", "tester"),
    ]


def test_approval_reactivates_an_ended_enrollment(session, ctx, anna, biology):
    enroll_named(session, ctx, anna.id, "Biology")
    unenroll(session, ctx, anna.id, "Biology")
    assert count(session, CourseProgress, CourseProgress.deleted_at.is_(None)) == 0
    request = create_request(session, ctx, anna.id, biology.id)
    approve_request(session, ctx, request.id)
    assert count(session, CourseEnrollment, CourseEnrollment.active) == 1
    assert count(session, CourseProgress, CourseProgress.deleted_at.is_(None)) == 1


def test_duplicate_pending_and_already_enrolled_requests_are_refused(session, ctx, anna, biology):
    create_request(session, ctx, anna.id, biology.id)
    with pytest.raises(Conflict, match="Anna Kowalska already has a pending request for Biology"):
        create_request(session, ctx, anna.id, biology.id)
    enroll_named(session, ctx, anna.id, "Art")
    art = find_or_create_course(session, ctx, "Art")[0]
    with pytest.raises(Conflict, match="already enrolled in Art"):
        create_request(session, ctx, anna.id, art.id)
    session.execute(text("UPDATE course SET active = false WHERE name = 'Art'"))
    with pytest.raises(ValidationError, match="Art is closed"):
        create_request(session, ctx, anna.id, art.id)
    assert count(session, EnrollmentRequest) == 1


def test_deciding_twice_and_staff_approving_are_refused(session, ctx, anna, biology):
    request = create_request(session, ctx, anna.id, biology.id)
    reject_request(session, ctx, request.id, "Course is full")
    with pytest.raises(Conflict, match="already rejected by tester"):
        approve_request(session, ctx, request.id)
    again = create_request(session, ctx, anna.id, biology.id)  # a new request is allowed
    staff = ctx.__class__(ctx.school_id, "desk", UserRole.STAFF)
    with pytest.raises(PermissionDenied, match="may not approve"):
        approve_request(session, staff, again.id)
    withdrawn = withdraw_request(session, staff, again.id, "Changed her mind")
    assert (withdrawn.status, withdrawn.decision_note) == ("withdrawn", "Changed her mind")


def test_a_rejection_keeps_the_requests_own_note_beside_its_reason(session, ctx, anna, biology):
    one = create_request(session, ctx, anna.id, biology.id, note="Asked at the front desk")
    rejected = reject_request(session, ctx, one.id, "Course is full")
    assert (rejected.note, rejected.decision_note) == ("Asked at the front desk", "Course is full")
    assert (rejected.decided_by, rejected.status) == ("tester", "rejected")
    art = find_or_create_course(session, ctx, "Art")[0]
    two = create_request(session, ctx, anna.id, art.id, note="Her tutor suggested it")
    reject_requests(session, ctx, [two.id], "  No places left ")  # the bulk path
    row = get_request(session, ctx, two.id)
    assert (row.note, row.decision_note) == ("Her tutor suggested it", "No places left")


def test_failure_after_the_enrollment_insert_leaves_the_request_pending(db, ctx):
    with db.sessions.begin() as s:
        anna = create_student(s, ctx, StudentInput("S1", "Anna", "Kowalska"))
        biology = find_or_create_course(s, ctx, "Biology")[0]
        request = create_request(s, ctx, anna.id, biology.id)
    with db.as_owner() as s:  # a fault injected behind the app's back
        s.execute(
            text("""
            CREATE FUNCTION fail_progress() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'disk quota exceeded'; END $$;
            CREATE TRIGGER fail_progress BEFORE INSERT ON course_progress
            FOR EACH ROW EXECUTE FUNCTION fail_progress();""")
        )
    with db.sessions.begin() as s:
        result = approve_requests(s, ctx, [request.id])
    assert result.decided == []
    assert "disk quota exceeded" in result.failed[request.id]
    assert "still pending" in result.failed[request.id]
    with db.sessions.begin() as s:
        assert s.scalar(select(EnrollmentRequest.status)) == "pending"
        assert count(s, CourseEnrollment) == 0


def test_verify_step_refuses_an_approval_whose_progress_row_vanished(
    db, session, ctx, anna, biology
):
    # A trigger that silently drops the progress row: nothing raises, only the
    # verification notices, and the approval is undone.
    with db.as_owner() as owner:
        owner.execute(
            text("""
            CREATE FUNCTION drop_progress() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RETURN NULL; END $$;
            CREATE TRIGGER drop_progress BEFORE INSERT ON course_progress
            FOR EACH ROW EXECUTE FUNCTION drop_progress();""")
        )
    request = create_request(session, ctx, anna.id, biology.id)
    with pytest.raises(Conflict, match="could not confirm the enrollment"):
        approve_request(session, ctx, request.id)
    assert session.scalar(select(EnrollmentRequest.status)) == "pending"
    assert count(session, CourseEnrollment) == 0


def test_bulk_approve_keeps_going_and_bulk_reject_is_one_statement(session, ctx, biology):
    students = [
        create_student(session, ctx, StudentInput(f"S{n}", f"Student{n}", "Test")) for n in range(5)
    ]
    requests = [create_request(session, ctx, s.id, biology.id) for s in students]
    reject_request(session, ctx, requests[0].id)
    result = approve_requests(session, ctx, [r.id for r in requests[:3]])
    assert result.decided == [requests[1].id, requests[2].id]
    assert "already rejected" in result.failed[requests[0].id]
    rejected = reject_requests(session, ctx, [r.id for r in requests[2:]], "Full")
    assert rejected.decided == [r.id for r in requests[3:]] or set(rejected.decided) == {
        r.id for r in requests[3:]
    }
    assert list(rejected.failed) == [requests[2].id]
    by_status = {
        status: count_requests(session, ctx, RequestQuery(status=status))
        for status in ("pending", "approved", "rejected")
    }
    assert by_status == {"pending": 0, "approved": 2, "rejected": 3}
    rejected_entries = session.scalars(
        select(AuditLog.changes).where(AuditLog.entity == "enrollment_request",
                                       AuditLog.action == "update")
    ).all()  # fmt: skip
    assert sum(c["after"].get("status") == "rejected" for c in rejected_entries) == 3


def test_list_filters_sorts_and_searches(session, ctx, anna, biology):
    ben = create_student(session, ctx, StudentInput("S2", "Ben", "Nowak"))
    art = find_or_create_course(session, ctx, "Art")[0]
    create_request(session, ctx, anna.id, biology.id)
    create_request(session, ctx, ben.id, art.id)
    rows = list_requests(session, ctx, RequestQuery(sort="course")).rows
    assert [(r.student_name, r.course_name) for r in rows] == [
        ("Ben Nowak", "Art"), ("Anna Kowalska", "Biology"),
    ]  # fmt: skip
    found = list_requests(session, ctx, RequestQuery(search="kowal")).rows
    assert [r.student_no for r in found] == ["S1"]
    assert list_requests(session, ctx, RequestQuery(status="approved")).rows == []
    assert count_requests(session, ctx, RequestQuery(status=None, course_id=art.id)) == 1
