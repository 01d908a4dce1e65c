"""The school server's retention: tombstones older than it are removed for good, and
desktops not seen within it are asked to re-initialise.

A deleted row stays on the server as a tombstone (``deleted_at``) so that every desktop
learns of the delete at its next pull. After the retention (180 days unless the server
was given another) nobody needs it any more — except a desktop away all that time, which
``rollbook server prune`` therefore marks: its next sync asks it to re-initialise
(app.sync.reinit), which sends its waiting changes first and then takes a fresh copy.

A tombstone still referred to by a row that stays (a deleted class session with a live
attendance mark, say) stays too: removing it would break the reference, or take the
live row with it where the reference cascades. Children go before their parents, so a
deleted student goes together with its deleted enrollments. The prune runs in one
transaction; the dry run is that transaction rolled back, so its counts are exactly
what committing would remove. The removals are captured in the audit log like any
change, as the prune's, and travel to desktops as deletes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, text

from app.db.capture import ACTOR_SETTING
from app.db.engine import describe_url, make_engine
from app.domain.errors import ValidationError
from app.sync.tables import SYNCED_TABLES

PRUNE_ACTOR = "rollbook server prune"
MAX_RETENTION_DAYS = 36_500


@dataclass(frozen=True)
class AwayDevice:
    name: str
    school_code: str
    last_seen_at: datetime


@dataclass(frozen=True)
class PruneReport:
    where: str
    retention_days: int
    cutoff: datetime  # tombstones from before this are removed
    removed: dict[str, int]  # table -> rows removed for good
    kept_referred: dict[str, int]  # table -> old tombstones kept: a remaining row refers to them
    devices: list[AwayDevice] = field(default_factory=list)  # asked to re-initialise
    committed: bool = False

    @property
    def removed_rows(self) -> int:
        return sum(self.removed.values())


def _referrers(conn: Connection, table: str) -> list[tuple[str, str]]:
    """Every (table, column) with a foreign key to ``table``'s id."""
    return [(child, column) for child, column in conn.execute(text("""
        SELECT c.conrelid::regclass::text, a.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
          AND c.confrelid = CAST(:t AS regclass)
        ORDER BY 1, 2"""), {"t": f"public.{table}"})]  # fmt: skip


def _unreferred(conn: Connection, table: str) -> str:
    clauses = [f"NOT EXISTS (SELECT 1 FROM {child} r WHERE r.{column} = t.id)"
               for child, column in _referrers(conn, table)]  # fmt: skip
    return " AND ".join(clauses) or "true"


def prune_tombstones(url: str, *, retention_days: int | None = None, commit: bool = False
                     ) -> PruneReport:  # fmt: skip
    """Remove the server's tombstones older than the retention (``retention_days``, kept
    as the server's when committed; else the server's own) and mark the desktops not
    seen since. Without ``commit`` nothing changes."""
    if retention_days is not None and not 0 < retention_days <= MAX_RETENTION_DAYS:
        raise ValidationError("retention_days", f"the retention is 1 to {MAX_RETENTION_DAYS:,} "
                              "days")  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                report = _prune(conn, describe_url(url), retention_days, commit)
            except BaseException:
                transaction.rollback()
                raise
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
            return report
    finally:
        engine.dispose()


def _prune(conn: Connection, where: str, retention_days: int | None, commit: bool
           ) -> PruneReport:  # fmt: skip
    kept = conn.execute(text("SELECT retention_days FROM sync_server")).scalar()
    if kept is None:
        raise ValidationError("url", f"the server at {where} is not set up for Rollbook's sync; "
                              "run \"rollbook server init\" there first")  # fmt: skip
    days = retention_days or kept
    conn.execute(text(f"SELECT set_config('{ACTOR_SETTING}', :a, true)"), {"a": PRUNE_ACTOR})
    cutoff = conn.execute(
        text("SELECT now() - make_interval(days => :d)"), {"d": days}
    ).scalar_one()
    removed: dict[str, int] = {}
    kept_referred: dict[str, int] = {}
    # Children first: a parent's old tombstone goes once its old children have gone.
    for table in reversed(SYNCED_TABLES):
        if table == "school":
            continue  # a school is closed on the server by its administrators, not pruned
        unreferred = _unreferred(conn, table)
        gone = conn.execute(text(
            f"DELETE FROM {table} t WHERE t.deleted_at < :cutoff AND {unreferred}"
        ), {"cutoff": cutoff}).rowcount  # fmt: skip
        left = conn.execute(text(f"SELECT count(*) FROM {table} t WHERE t.deleted_at < :cutoff"),
                            {"cutoff": cutoff}).scalar_one()  # fmt: skip
        if gone:
            removed[table] = gone
        if left:
            kept_referred[table] = left
    devices = [AwayDevice(name, code, seen) for name, code, seen in conn.execute(text("""
        UPDATE sync_device d SET reinit_required = true
        FROM school s
        WHERE s.id = d.school_id AND d.active AND d.last_seen_at < :cutoff
        RETURNING d.name, s.code, d.last_seen_at"""), {"cutoff": cutoff})]  # fmt: skip
    conn.execute(text("UPDATE sync_server SET retention_days = :d, pruned_at = now()"),
                 {"d": days})  # fmt: skip
    devices.sort(key=lambda d: (d.school_code, d.name.lower()))
    return PruneReport(where, days, cutoff, removed, kept_referred, devices, committed=commit)


__all__ = ["AwayDevice", "PruneReport", "prune_tombstones"]
