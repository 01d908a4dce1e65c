"""Typing a search queues a query at every pause; a new one drops the queued fetches of
the queries it replaces, so the database worker only runs what will be shown."""

from __future__ import annotations

import threading
from collections import Counter

from conftest import open_students_page, wait_loaded
from sqlalchemy import event

from app.services.search import prefix_tsquery
from app.services.students import StudentQuery, list_students
from ui.ops import Op
from ui.pages.list_page import SEARCH_DEBOUNCE_MS


def _hold_the_worker() -> threading.Event:
    """Occupy the one database worker (as a slow statement would) until the event is set."""
    released = threading.Event()
    Op(None, lambda s, ctx, job: released.wait(20), show_progress=False, read_only=True).run()
    return released


def test_a_new_search_drops_the_fetches_of_the_searches_it_replaces(
    qtbot, ops_hub, demo_school, db
):
    page = open_students_page(qtbot, height=700)
    # A surname many students share, so the search has more than a page and asks for
    # its count.
    loaded = [page.model.row_at(row) for row in range(200)]
    surnames = Counter(row.last_name[:4] for row in loaded if row.last_name[:4].isascii())
    typed = surnames.most_common(1)[0][0]
    page.model.PAGE_SIZE = 5

    sent: list[tuple[str, dict]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, dict(parameters or {})))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        released = _hold_the_worker()
        # The list is refreshed (F5, or a save elsewhere): its count and pages are queued
        # behind the busy worker...
        page.model.refresh()
        qtbot.waitUntil(lambda: bool(page.model._state.pending), timeout=5000)
        # ...and then the person types, pausing after each letter long enough for the
        # search to start.
        page.search.setFocus()
        for length in range(1, len(typed) + 1):
            qtbot.keyClick(page.search, typed[length - 1])
            qtbot.waitUntil(lambda n=length: page.model.query.search == typed[:n], timeout=5000)
        released.set()
        qtbot.waitUntil(lambda: page.model.shows_latest_query, timeout=10_000)
        wait_loaded(qtbot, page.model)
        qtbot.waitUntil(lambda: not ops_hub.busy, timeout=5000)
        qtbot.wait(SEARCH_DEBOUNCE_MS)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    # The last search's rows are on screen.
    with db.sessions.begin() as session:
        expected = list_students(session, db.context(), StudentQuery(search=typed, limit=1000))
    assert page.model.rowCount() == len(expected.rows) > page.model.PAGE_SIZE
    shown = [page.model.row_at(row) for row in range(page.model.PAGE_SIZE)]
    assert [row.id for row in shown] == [row.id for row in expected.rows[: len(shown)]]

    # Only the last search ran: no page or count of the refreshed list, none of the
    # searches typed before it.
    searched = {params["search_tsquery"] for _sql, params in sent if "search_tsquery" in params}
    assert searched == {prefix_tsquery(typed)}
    counts = [params for sql, params in sent if sql.lstrip().startswith("SELECT count(")]
    assert [params.get("search_tsquery") for params in counts] == [prefix_tsquery(typed)]
    unsearched_pages = [
        params for _sql, params in sent if "page_limit" in params and "search_tsquery" not in params
    ]
    assert unsearched_pages == []
