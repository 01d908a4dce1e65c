"""The streams behind File > Export: every row of a list, in the list's own order, read
through one server-side cursor in a single statement (no OFFSET paging)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import event, text

from app.demo_data import create_demo_data
from app.services import class_sessions, enrollments, events, requests, students
from app.services.class_sessions import SessionQuery
from app.services.enrollments import EnrollmentQuery
from app.services.events import RegistrationQuery
from app.services.requests import RequestQuery
from app.services.students import StudentQuery


@pytest.fixture
def school(db):
    with db.engine.begin() as conn:
        create_demo_data(conn.connection.driver_connection, db.school.id, students=200, seed=5)
    return db


def _paged_students(session, ctx, query, offset, limit):
    return students.list_students(session, ctx, replace(query, offset=offset, limit=limit))


# (list's page function, its stream function, a filtered query in a non-default order)
LISTS = {
    "students": (_paged_students, students.stream_students,
                 StudentQuery(status="active", sort="class_name", descending=True)),
    "students searched": (_paged_students, students.stream_students,
                          StudentQuery(search="a", sort="grade_level")),
    "enrollments": (enrollments.list_enrollments, enrollments.stream_enrollments,
                    EnrollmentQuery(active=True, sort="course", descending=True)),
    "sessions": (class_sessions.list_sessions, class_sessions.stream_sessions,
                 SessionQuery(status="completed", sort="location")),
    "registrations": (events.list_registrations, events.stream_registrations,
                      RegistrationQuery(status="registered", sort="days", descending=True)),
    "requests": (requests.list_requests, requests.stream_requests,
                 RequestQuery(status=None, sort="student")),
}  # fmt: skip


def _all_pages(page_of, session, ctx, query) -> list:
    rows, offset = [], 0
    while True:
        page = page_of(session, ctx, query, offset, 100)
        rows += page.rows
        offset += len(page.rows)
        if not page.has_more:
            return rows


@pytest.mark.parametrize("name", LISTS)
def test_a_stream_has_the_lists_rows_in_its_order(school, session, ctx, name):
    page_of, stream, query = LISTS[name]
    expected = _all_pages(page_of, session, ctx, query)
    assert len(expected) > 3, "too few rows in the demo school to show the order"
    batches = list(stream(session, ctx, query, 3))
    assert [len(b) for b in batches[:-1]] == [3] * (len(batches) - 1)
    assert [row for batch in batches for row in batch] == expected


def test_a_stream_reads_one_statement_through_a_server_side_cursor(school, session, ctx):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(school.engine, "before_cursor_execute", record)
    try:
        batches = students.stream_students(session, ctx, StudentQuery(sort="email"), 50)
        first = next(batches)
        open_cursors = session.execute(text("SELECT count(*) FROM pg_cursors")).scalar()
        rest = [row for batch in batches for row in batch]
    finally:
        event.remove(school.engine, "before_cursor_execute", record)
    assert len(first) == 50 and len(first) + len(rest) == 200
    assert open_cursors == 1  # the stream's own, declared on the server
    assert session.execute(text("SELECT count(*) FROM pg_cursors")).scalar() == 0
    reads = [s for s in statements if "FROM student" in s and "pg_cursors" not in s]
    assert len(reads) == 1
    assert "OFFSET" not in reads[0] and "LIMIT" not in reads[0]
