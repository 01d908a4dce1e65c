"""Search text -> tsquery: any text a person types is safe and means word prefixes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.services.search import prefix_tsquery, search_terms


def test_terms_split_like_the_stored_words():
    assert search_terms("Anne-Marie  O'Brien") == ["anne", "marie", "o", "brien"]
    assert search_terms("zoe+art@Example.org") == ["zoe+art@example.org"]
    assert search_terms("@NewSchool.org") == ["newschool", "org"]  # a domain: its words
    assert search_terms("2024-00123") == ["2024", "00123"]
    assert search_terms("ann ANN ann") == ["ann"]
    assert search_terms(" \t ") == []


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.text(max_size=40))
def test_any_text_gives_a_valid_query(db, typed):
    query = prefix_tsquery(typed)
    if query is None:
        assert search_terms(typed) == []
        return
    with db.engine.connect() as conn:
        parsed = conn.execute(
            text("SELECT CAST(rollbook_fold(:q) AS tsquery)::text"), {"q": query}
        ).scalar()
    assert parsed is not None
