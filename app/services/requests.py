"""Enrollment requests: a student (or staff on their behalf) asks for a course; a
registrar approves or rejects it.

Approving is all or nothing: in one savepoint the enrollment is created or reactivated
and its progress row ensured (by the one enrollment writer), the request marked
approved, then both rows are read back; if either is missing, or anything fails, the savepoint rolls
back and the request stays pending. A request is never lost and never approved
without an enrollment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import psycopg
from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.models import (
    Course,
    CourseEnrollment,
    CourseProgress,
    EnrollmentRequest,
    Student,
    natural_order,
)
from app.domain.context import ServiceContext
from app.domain.enums import EnrollmentSource, RequestStatus
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.rows import Page, RequestDecisions, RequestListRow
from app.jobs import Job
from app.services.courses import get_course
from app.services.enrollments import enroll
from app.services.paging import STREAM_BATCH, count_rows, fetch_page, order_by, stream_batches
from app.services.permissions import Permission, needs
from app.services.student_search import student_search_predicate
from app.services.students import get_student

RequestSort = Literal["requested_at", "student", "course", "status", "decided_at"]


@dataclass(frozen=True)
class RequestQuery:
    status: str | None = RequestStatus.PENDING.value
    course_id: uuid.UUID | None = None
    search: str = ""  # word prefixes of the student's name / number / e-mail
    sort: RequestSort = "requested_at"
    descending: bool = False


# ---------------------------------------------------------------- reading


def _list_select(ctx: ServiceContext) -> Select:
    return (
        select(
            EnrollmentRequest.id,
            EnrollmentRequest.student_id,
            Student.student_no,
            func.btrim(Student.first_name + " " + Student.last_name).label("student_name"),
            EnrollmentRequest.course_id,
            Course.name.label("course_name"),
            EnrollmentRequest.status,
            EnrollmentRequest.requested_at,
            EnrollmentRequest.decided_at,
            EnrollmentRequest.decided_by,
            EnrollmentRequest.note,
            EnrollmentRequest.decision_note,
            EnrollmentRequest.row_version,
        )  # fmt: skip
        .select_from(EnrollmentRequest)
        .join(Student, Student.id == EnrollmentRequest.student_id)
        .join(Course, Course.id == EnrollmentRequest.course_id)
        .where(
            EnrollmentRequest.school_id == ctx.school_id,
            EnrollmentRequest.deleted_at.is_(None),
            Student.deleted_at.is_(None),
            Course.deleted_at.is_(None),
        )
    )


def _filtered(ctx: ServiceContext, query: RequestQuery) -> Select:
    stmt = _list_select(ctx)
    if query.status:
        stmt = stmt.where(EnrollmentRequest.status == query.status)
    if query.course_id is not None:
        stmt = stmt.where(EnrollmentRequest.course_id == query.course_id)
    if query.search.strip():
        stmt = stmt.where(student_search_predicate(query.search))
    return stmt


@needs(Permission.VIEW)
def list_requests(
    session: Session, ctx: ServiceContext, query: RequestQuery, offset: int = 0,
    limit: int = 200,
) -> Page[RequestListRow]:  # fmt: skip
    """One page of requests with student and course, sorted and filtered in SQL."""
    stmt = _sorted_requests(ctx, query)
    return fetch_page(session, stmt, offset, limit, lambda r: RequestListRow(*r))


@needs(Permission.VIEW)
def stream_requests(
    session: Session, ctx: ServiceContext, query: RequestQuery, batch_size: int = STREAM_BATCH
) -> Iterator[list[RequestListRow]]:
    """Every request of the list, in list order, in batches (File > Export)."""
    stmt = _sorted_requests(ctx, query)
    return stream_batches(session, stmt, lambda rows: [RequestListRow(*r) for r in rows],
                          batch_size)  # fmt: skip


def _sorted_requests(ctx: ServiceContext, query: RequestQuery) -> Select:
    name, course = Student.sort_name, natural_order(Course.name)
    return order_by(
        _filtered(ctx, query), query.sort, query.descending,
        {
            "requested_at": [EnrollmentRequest.requested_at],
            "student": [name, course],
            "course": [course, name],
            "status": [EnrollmentRequest.status, EnrollmentRequest.requested_at],
            "decided_at": [EnrollmentRequest.decided_at],
        },
        EnrollmentRequest.id,
    )  # fmt: skip


@needs(Permission.VIEW)
def count_requests(session: Session, ctx: ServiceContext, query: RequestQuery) -> int:
    return count_rows(session, _filtered(ctx, query))


@needs(Permission.VIEW)
def get_request(session: Session, ctx: ServiceContext, request_id: uuid.UUID) -> RequestListRow:
    row = session.execute(_list_select(ctx).where(EnrollmentRequest.id == request_id)).first()
    if row is None:
        raise NotFound("That enrollment request no longer exists; refresh the list.")
    return RequestListRow(*row)


# ---------------------------------------------------------------- writing


def _actively_enrolled(student_id: uuid.UUID, course_id: uuid.UUID):
    return exists().where(
        CourseEnrollment.student_id == student_id,
        CourseEnrollment.course_id == course_id,
        CourseEnrollment.active,
        CourseEnrollment.deleted_at.is_(None),
    )


@needs(Permission.REQUEST_COURSES)
def create_request(
    session: Session, ctx: ServiceContext, student_id: uuid.UUID, course_id: uuid.UUID, *,
    note: str | None = None,
) -> RequestListRow:  # fmt: skip
    """Ask for a course on a student's behalf. Refused when the student already has a
    pending request for it or is already enrolled in it."""
    student = get_student(session, ctx, student_id)
    course = get_course(session, ctx, course_id)
    if not course.active:
        raise ValidationError(
            "course", f"{course.name} is closed and takes no requests. Choose another course."
        )
    if session.scalar(select(_actively_enrolled(student_id, course_id))):
        raise Conflict(
            f"{student.full_name} is already enrolled in {course.name}; there is nothing to "
            "request."
        )
    request_id = session.execute(
        insert(EnrollmentRequest)
        .values(
            id=new_id(),
            school_id=ctx.school_id,
            student_id=student_id,
            course_id=course_id,
            note=(note or "").strip() or None,
        )  # fmt: skip
        .on_conflict_do_nothing(
            index_elements=[EnrollmentRequest.student_id, EnrollmentRequest.course_id],
            index_where=and_(
                EnrollmentRequest.status == RequestStatus.PENDING.value,
                EnrollmentRequest.deleted_at.is_(None),
            ),
        )
        .returning(EnrollmentRequest.id)
    ).scalar()
    if request_id is None:
        pending = session.scalar(
            select(EnrollmentRequest.requested_at).where(
                EnrollmentRequest.student_id == student_id,
                EnrollmentRequest.course_id == course_id,
                EnrollmentRequest.status == RequestStatus.PENDING.value,
                EnrollmentRequest.deleted_at.is_(None),
            )
        )
        when = f" (made {pending:%d %b %Y})" if pending else ""
        raise Conflict(
            f"{student.full_name} already has a pending request for {course.name}{when}. "
            "Approve or reject that one instead of making another."
        )
    return get_request(session, ctx, request_id)


def _lock_pending(
    session: Session, ctx: ServiceContext, request_id: uuid.UUID
) -> EnrollmentRequest:
    request = session.scalar(
        select(EnrollmentRequest)
        .where(
            EnrollmentRequest.id == request_id,
            EnrollmentRequest.school_id == ctx.school_id,
            EnrollmentRequest.deleted_at.is_(None),
        )
        .with_for_update()
    )
    if request is None:
        raise NotFound("That enrollment request no longer exists; refresh the list.")
    if request.status != RequestStatus.PENDING.value:
        decided = f" by {request.decided_by}" if request.decided_by else ""
        when = f" on {request.decided_at:%d %b %Y}" if request.decided_at else ""
        raise Conflict(f"This request was already {request.status}{decided}{when}; refresh "
                       "the list.")  # fmt: skip
    return request


def _decide(session: Session, ctx: ServiceContext, request: EnrollmentRequest,
            status: RequestStatus, note: str | None) -> None:  # fmt: skip
    request.status = status.value
    request.decided_at = func.now()
    request.decided_by = ctx.actor
    # The reason is kept beside the request's own note, never over it.
    request.decision_note = (note or "").strip() or None
    session.flush()


def _verify_enrolled(session: Session, student_id: uuid.UUID, course_id: uuid.UUID) -> bool:
    progress = exists().where(
        CourseProgress.student_id == student_id,
        CourseProgress.course_id == course_id,
        CourseProgress.deleted_at.is_(None),
    )
    return bool(session.scalar(select(and_(_actively_enrolled(student_id, course_id), progress))))


@needs(Permission.DECIDE_REQUESTS)
def approve_request(session: Session, ctx: ServiceContext, request_id: uuid.UUID) -> RequestListRow:
    """Enroll the student and mark the request approved, all in one savepoint that is
    verified before it is kept. On any failure nothing changes and the error says why."""
    with session.begin_nested():
        request = _lock_pending(session, ctx, request_id)
        student_id, course_id = request.student_id, request.course_id
        enroll(session, ctx, student_id, course_id, source=EnrollmentSource.REQUEST)
        _decide(session, ctx, request, RequestStatus.APPROVED, None)
        if not _verify_enrolled(session, student_id, course_id):
            # Raising inside the savepoint rolls back the enrollment and the decision.
            raise Conflict(
                "The request was not approved: Rollbook could not confirm the enrollment "
                "and its progress record afterwards, so nothing was changed. Try again; if "
                "it keeps failing, run Tools > Consistency check."
            )
    return get_request(session, ctx, request_id)


@needs(Permission.DECIDE_REQUESTS)
def reject_request(
    session: Session, ctx: ServiceContext, request_id: uuid.UUID, note: str | None = None
) -> RequestListRow:
    request = _lock_pending(session, ctx, request_id)
    _decide(session, ctx, request, RequestStatus.REJECTED, note)
    return get_request(session, ctx, request_id)


@needs(Permission.REQUEST_COURSES)
def withdraw_request(
    session: Session, ctx: ServiceContext, request_id: uuid.UUID, note: str | None = None
) -> RequestListRow:
    """The student no longer wants the course (staff withdraw it on their behalf)."""
    request = _lock_pending(session, ctx, request_id)
    _decide(session, ctx, request, RequestStatus.WITHDRAWN, note)
    return get_request(session, ctx, request_id)


def failure_text(error: BaseException) -> str:
    """A registrar-readable reason a single approval failed (database errors included)."""
    if isinstance(error, DBAPIError | psycopg.Error):
        first = str(getattr(error, "orig", error)).strip().splitlines()
        detail = first[0] if first else type(error).__name__
        return f"The database refused the change ({detail}); the request is still pending."
    return str(error)


@needs(Permission.DECIDE_REQUESTS)
def approve_requests(
    session: Session, ctx: ServiceContext, request_ids: list[uuid.UUID], *,
    job: Job | None = None,
) -> RequestDecisions:  # fmt: skip
    """Approve each request in its own verified savepoint: one that fails stays pending
    with its reason, the others are approved. Cancel undoes the whole batch."""
    job = job or Job()
    decided: list[uuid.UUID] = []
    failed: dict[uuid.UUID, str] = {}
    for done, request_id in enumerate(request_ids):
        job.check_cancel()
        job.progress(
            done, len(request_ids), f"Approving requests ({done:,} of {len(request_ids):,})"
        )
        try:
            approve_request(session, ctx, request_id)
        except (Conflict, NotFound, ValidationError, DBAPIError, psycopg.Error) as error:
            failed[request_id] = failure_text(error)
        else:
            decided.append(request_id)
    job.progress(len(request_ids), len(request_ids), "Approved")
    return RequestDecisions(decided, failed)


@needs(Permission.DECIDE_REQUESTS)
def reject_requests(
    session: Session, ctx: ServiceContext, request_ids: list[uuid.UUID],
    note: str | None = None,
) -> RequestDecisions:  # fmt: skip
    """Reject many pending requests in one statement; the others are reported."""
    note = (note or "").strip() or None
    rejected = (
        session.execute(
            update(EnrollmentRequest)
            .where(
                EnrollmentRequest.id.in_(request_ids),
                EnrollmentRequest.school_id == ctx.school_id,
                EnrollmentRequest.status == RequestStatus.PENDING.value,
                EnrollmentRequest.deleted_at.is_(None),
            )
            .values(
                status=RequestStatus.REJECTED.value,
                decided_at=func.now(),
                decided_by=ctx.actor,
                decision_note=note,
            )  # fmt: skip
            .returning(EnrollmentRequest.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    done = set(rejected)
    failed = {
        request_id: "This request is no longer pending (someone decided it already); refresh "
        "the list."
        for request_id in request_ids
        if request_id not in done
    }
    return RequestDecisions(list(rejected), failed)
