"""Blocks of registration and certificate numbers reserved from the school server, so
that this desktop can issue numbers offline that no other desktop issues
(app.services.numbering issues from them).

After every sync each sequence this desktop may need — this year's, and the years of
events not long over — is topped up: when fewer than half a block is left, another
block (``sync_state.number_block_size``, 50 unless changed) is reserved. The server
records every block; numbers of a block a desktop never issues are the only gaps, and
``reserved_left`` says how many are still unused here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from app.domain.numbers import NumberKind, sequence_name, sequence_prefix
from app.sync.link import ServerLink

# Certificates are issued after an event, often weeks after: its year's numbers stay
# stocked this long after it ends.
CERTIFICATES_AFTER_DAYS = 120
MAX_BLOCK = 10_000


@dataclass(frozen=True)
class ReservedLeft:
    name: str  # "registration-2027"
    left: int


def wanted_sequences(session: Session, school_id: uuid.UUID) -> list[tuple[str, str]]:
    """(name, prefix) of every sequence this desktop should hold numbers of."""
    years = session.execute(text("""
        SELECT DISTINCT y FROM (
            SELECT CAST(extract(year FROM current_date) AS integer) AS y
            UNION ALL
            SELECT CAST(extract(year FROM starts_on) AS integer) FROM event
            WHERE school_id = :s AND deleted_at IS NULL AND status <> 'cancelled'
              AND ends_on >= current_date - :days) years
        ORDER BY y"""), {"s": school_id, "days": CERTIFICATES_AFTER_DAYS}).scalars().all()  # fmt: skip
    return [(sequence_name(kind, year), sequence_prefix(kind, year))
            for year in years for kind in NumberKind]  # fmt: skip


def reserved_left(session: Session, school_id: uuid.UUID) -> list[ReservedLeft]:
    rows = session.execute(text("""
        SELECT name, sum(end_value - next_value) FROM number_block WHERE school_id = :s
        GROUP BY name ORDER BY name"""), {"s": school_id}).all()  # fmt: skip
    return [ReservedLeft(name, int(left)) for name, left in rows]


def top_up(sessions: sessionmaker[Session], link: ServerLink, *, school_id: uuid.UUID,
           device_id: uuid.UUID) -> int:  # fmt: skip
    """Reserve a block for every wanted sequence running low; the numbers reserved."""
    with sessions.begin() as s:
        size = s.execute(text("SELECT number_block_size FROM sync_state WHERE school_id = :s"),
                         {"s": school_id}).scalar_one()  # fmt: skip
        wanted = wanted_sequences(s, school_id)
        left = {r.name: r.left for r in reserved_left(s, school_id)}
    reserved = 0
    for name, prefix in wanted:
        if left.get(name, 0) * 2 >= size:
            continue
        # Reserved on the server first: a block recorded here but lost there could be
        # handed to another desktop too. One lost the other way is a reported gap.
        first = link.call("rollbook_sync_reserve_numbers", str(device_id), name, prefix, size)
        with sessions.begin() as s:
            s.execute(text("""
                INSERT INTO number_block (school_id, name, prefix, next_value, end_value)
                VALUES (:s, :n, :p, :f, :e)"""),
                      {"s": school_id, "n": name, "p": prefix, "f": first, "e": first + size})  # fmt: skip
        reserved += size
    return reserved


def set_block_size(session: Session, school_id: uuid.UUID, size: int) -> None:
    from app.domain.errors import ValidationError

    if not 1 <= size <= MAX_BLOCK:
        raise ValidationError("number_block", f"A block of numbers holds 1 to {MAX_BLOCK:,}, "
                              f"not {size}.")  # fmt: skip
    session.execute(text("UPDATE sync_state SET number_block_size = :n WHERE school_id = :s"),
                    {"n": size, "s": school_id})  # fmt: skip
