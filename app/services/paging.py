"""Shared pieces of the paged, sorted, filtered list queries behind the UI tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.domain.errors import ValidationError
from app.domain.rows import Page

RowT = TypeVar("RowT")
MAX_PAGE = 1000


def order_by(
    stmt: Select, sort: str, descending: bool, columns: dict[str, Sequence[Any]], tiebreak: Any
) -> Select:
    if sort not in columns:
        raise ValidationError("sort", f"This list cannot be sorted by {sort!r}.")
    order = [*columns[sort], tiebreak]
    # PostgreSQL's defaults (ASC NULLS LAST, DESC NULLS FIRST) make a descending list
    # the exact mirror of the ascending one; the table models rely on that.
    return stmt.order_by(*[c.desc() if descending else c.asc() for c in order])


def fetch_page(
    session: Session,
    stmt: Select,
    offset: int,
    limit: int,
    build: Callable[[Any], RowT],
) -> Page[RowT]:
    """Run a sorted statement for one page; one extra row tells whether more follow."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    result = session.execute(stmt.offset(offset).limit(limit + 1)).all()
    return Page([build(r) for r in result[:limit]], offset, limit, len(result) > limit)


def count_rows(session: Session, filtered: Select) -> int:
    return session.scalar(select(func.count()).select_from(filtered.subquery())) or 0


STREAM_BATCH = 1000


def stream_batches(
    session: Session,
    stmt: Select,
    build: Callable[[Sequence[Any]], list[RowT]],
    batch_size: int = STREAM_BATCH,
) -> Iterator[list[RowT]]:
    """Every row of a sorted statement, in batches, through one server-side cursor.

    A whole list (an export of a million students) is read in a single pass: paging it
    with OFFSET would walk all earlier rows again for every page. The cursor needs the
    caller's transaction (a read outside one has no cursor to keep open).
    """
    result = session.execute(
        stmt, execution_options={"stream_results": True, "yield_per": max(1, batch_size)}
    )
    try:
        for batch in result.partitions():
            yield build(batch)
    finally:
        result.close()
