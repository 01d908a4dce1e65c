"""Registration and certificate numbers: sequential per school and year, with no gaps
and no duplicates ("CERT-2026-00042").

Each kind and year has one ``number_sequence`` row. Taking numbers is one statement
that creates the row on first use or moves its ``next_value`` on, and returns the block
it moved past. The statement locks the row until the caller's transaction ends, so two
windows or two desktops issuing at the same moment take turns: the second waits and
continues after the first block. A transaction that rolls back puts the row back as it
was, so its numbers are handed out again rather than left as a gap.

A desktop that syncs with a school server does not count the sequence itself (two
desktops offline would issue the same numbers): it issues from blocks of numbers it
reserved from the server while online (``number_block``, app.sync.numbers), and says so
plainly when they run out offline.
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
    if _syncs(session, ctx):
        return _take_reserved(session, ctx, kind, year, count)
    prefix, first = session.execute(
        _TAKE,
        {"school": ctx.school_id, "name": sequence_name(kind, year),
         "prefix": sequence_prefix(kind, year), "count": count},
    ).one()  # fmt: skip
    return NumberBlock(prefix, int(first), count)


def _syncs(session: Session, ctx: ServiceContext) -> bool:
    return bool(session.execute(text("SELECT EXISTS (SELECT 1 FROM sync_state "
                                     "WHERE school_id = :s)"), {"s": ctx.school_id}).scalar())  # fmt: skip


def _take_reserved(session: Session, ctx: ServiceContext, kind: NumberKind, year: int,
                   count: int) -> NumberBlock:  # fmt: skip
    """``count`` numbers in a row from one of this desktop's reserved blocks, the
    lowest first. The blocks stay locked until the caller's transaction ends, as the
    sequence does."""
    name = sequence_name(kind, year)
    blocks = session.execute(text("""
        SELECT id, prefix, next_value, end_value FROM number_block
        WHERE school_id = :s AND name = :n AND next_value < end_value
        ORDER BY next_value FOR UPDATE"""), {"s": ctx.school_id, "n": name}).all()  # fmt: skip
    for block in blocks:
        if block.end_value - block.next_value >= count:
            session.execute(text("UPDATE number_block SET next_value = next_value + :c "
                                 "WHERE id = :i"), {"c": count, "i": block.id})  # fmt: skip
            return NumberBlock(block.prefix, int(block.next_value), count)
    left = sum(b.end_value - b.next_value for b in blocks)
    what = f"{kind.value} numbers for {year}"
    if not left:
        size = session.execute(text("SELECT number_block_size FROM sync_state "
                                    "WHERE school_id = :s"), {"s": ctx.school_id}).scalar()  # fmt: skip
        used = session.execute(text("SELECT EXISTS (SELECT 1 FROM number_block "
                                    "WHERE school_id = :s AND name = :n)"),
                               {"s": ctx.school_id, "n": name}).scalar()  # fmt: skip
        if used:
            raise ValidationError("number", f"This desktop has used its {size} reserved {what}; "
                                  "connect to the school network to get more.")  # fmt: skip
        raise ValidationError("number", f"This desktop has no {what} reserved yet; connect to "
                              "the school network and sync to get some.")  # fmt: skip
    if left < count:
        raise ValidationError("number", f"This needs {count} {what} and this desktop has "
                              f"{left} reserved; connect to the school network to get more.")  # fmt: skip
    raise ValidationError("number", f"This needs {count} {what} in a row and this desktop's "
                          f"{left} reserved ones are in smaller blocks; connect to the school "
                          "network, or reserve larger blocks (rollbook sync --number-block).")  # fmt: skip
