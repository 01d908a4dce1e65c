"""Approving or rejecting enrollment requests in bulk, as a recorded run.

The person picks requests from the list as it was when they looked; each is checked
against its version then (a request someone changed meanwhile is left as it is and
reported), the rest are decided by the request service (each approval verified in its
own savepoint, rejections in one statement), and the whole batch is recorded in the run
history with every change the database captured.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RunKind
from app.domain.rows import RequestDecisions, RequestListRow
from app.jobs import Job
from app.runs.plan import Fingerprint
from app.runs.recorder import RecordedRun, RunScope, apply_recorded, recheck
from app.services.permissions import Permission, needs
from app.services.requests import approve_requests, reject_requests

Decision = Literal["approve", "reject"]

_CURRENT_SQL = """
SELECT 'enrollment_request' AS entity, f.key, r.row_version AS version
FROM run_fingerprint f JOIN enrollment_request r ON r.id = f.key::uuid
"""
CHANGED = "Someone changed this request since you selected it; refresh the list and decide again."


@needs(Permission.DECIDE_REQUESTS)
def decide_requests(
    session: Session, ctx: ServiceContext, selected: list[RequestListRow], decision: Decision,
    *, note: str | None = None, job: Job | None = None,
) -> RecordedRun[RequestDecisions]:  # fmt: skip
    """Approve or reject the ``selected`` requests (as the list showed them)."""
    job = job or Job()
    prints = [Fingerprint("enrollment_request", str(row.id), row.row_version,
                          f"{row.student_no} {row.student_name} → {row.course_name}")
              for row in selected]  # fmt: skip
    conn = session.connection().connection.driver_connection

    def work(scope: RunScope) -> tuple[RequestDecisions, dict[str, Any]]:
        stale = recheck(conn, prints, _CURRENT_SQL)
        scope.stale.extend(stale)
        changed = {uuid.UUID(item.key) for item in stale}
        ids = [row.id for row in selected if row.id not in changed]
        if decision == "approve":
            decided = approve_requests(session, ctx, ids, job=job)
        else:
            decided = reject_requests(session, ctx, ids, note)
        failed = {**decided.failed, **{request_id: CHANGED for request_id in changed}}
        result = RequestDecisions(decided.decided, failed)
        verb = "approved" if decision == "approve" else "rejected"
        return result, {"decision": verb, "decided": len(result.decided),
                        "failed": len(result.failed), "selected": len(selected)}  # fmt: skip

    return apply_recorded(
        session, ctx, RunKind.REQUESTS, {"decision": decision, "requests": len(selected)}, work
    )
