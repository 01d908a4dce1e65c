"""Registration and certificate numbers: sequential per school and year, with no gaps
and no duplicates ("CERT-2026-00042").

Each kind and year has one ``number_sequence`` row. Taking numbers is one statement
that creates the row on first use or moves its ``next_value`` on, and returns the block
it moved past. The statement locks the row until the caller's transaction ends, so two
windows or two desktops issuing at the same moment take turns: the second waits and
continues after the first block. A transaction that rolls back puts the row back as it
was, so its numbers are handed out again rather than left as a gap.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.errors import ValidationError
from app.domain.numbers import (  # noqa: F401 - the kinds and format, re-exported
    DIGITS,
    PREFIXES,
    NumberKind,
    format_number,
    sequence_name,
    sequence_prefix,
)


@dataclass(frozen=True)
class NumberBlock:
    """``count`` consecutive numbers from ``first``: ``prefix`` + the value, padded."""

    prefix: str
    first: int
    count: int

    def number(self, nth: int) -> str:
        """The ``nth`` number of the block, from 0."""
        if not 0 <= nth < self.count:
            raise IndexError(nth)
        return format_number(self.prefix, self.first + nth)

    def all(self) -> list[str]:
        return [self.number(n) for n in range(self.count)]


_TAKE = text("""
INSERT INTO number_sequence (id, school_id, name, prefix, next_value)
VALUES (gen_random_uuid(), :school, :name, :prefix, 1 + :count)
ON CONFLICT ON CONSTRAINT uq_number_sequence_name
DO UPDATE SET next_value = number_sequence.next_value + :count
RETURNING prefix, next_value - :count
""")


def take_numbers(
    session: Session, ctx: ServiceContext, kind: NumberKind, year: int, count: int = 1
) -> NumberBlock:
    """The next ``count`` numbers of ``kind`` for ``year``, in the caller's transaction
    (which holds the sequence until it ends: keep it short after this call)."""
    if count < 1:
        raise ValidationError("count", "Ask for at least one number.")
    prefix, first = session.execute(
        _TAKE,
        {"school": ctx.school_id, "name": sequence_name(kind, year),
         "prefix": sequence_prefix(kind, year), "count": count},
    ).one()  # fmt: skip
    return NumberBlock(prefix, int(first), count)
