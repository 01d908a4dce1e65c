"""Deciding a sync conflict: what a person chose becomes local changes that sync like any
other, and the conflict is closed.

The choices, per kind of conflict (``take``):

- ``column`` (the same column changed here and on the server): ``server`` keeps the
  server's value, which this desktop already shows; ``local`` writes this desktop's
  value again, ``value`` an edited one — an ordinary change of that column, pushed at
  the next sync and merged there like any other.
- ``edit_delete`` (changed here, deleted on the server): ``server`` keeps it deleted;
  ``local`` restores the row with this desktop's change.
- ``delete_edit`` (deleted here, changed on the server): ``server`` keeps the server's
  row; ``local`` deletes it after all.
- ``duplicate_key`` (the same student number or e-mail made here and elsewhere):
  ``server`` merges this desktop's row into the server's — everything hanging off it
  (enrollments, progress, requests, attendance marks, registrations, certificates) is
  moved to the existing row, and what the existing row already has (the same course,
  the same event, a mark for the same lesson) is kept as the server has it and listed;
  ``value`` gives this desktop's row a new number or e-mail and sends it again.
- ``missing_row`` and ``refused`` (the server does not have the row, or would not take
  it): ``server`` removes this desktop's row (and what hangs off it) to match the
  server; ``local`` sends it again as it is now.
- a server row a pull could not write here (``pull:`` conflicts): ``server`` writes it
  — merging this desktop's duplicate into it, for a duplicate key — and ``value`` gives
  the duplicate here another key. Never dropped: that would leave the desktop unlike
  the server for good.

Rows the server never received are sent again as new inserts: they are removed as the
sync removes rows (captured with origin ``sync``, never pushed) and inserted again as
this person's (origin ``local``), so the push carries them like any new row. A dry run
does the same inside a savepoint and undoes it: the preview is what applying would do.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from app.db.capture import ORIGIN_SETTING
from app.domain.context import ServiceContext
from app.domain.errors import NotFound, ValidationError
from app.services.permissions import Permission, needs
from app.sync.conflicts import ConflictRow as Conflict
from app.sync.tables import SYNCED_TABLES, write_rows

TAKES = ("local", "server", "value")
_GENERATED = ("search_vector", "sort_name", "duration_minutes")
_NOT_EDITABLE = {"id", "school_id", "row_version", "updated_at", "created_at", *_GENERATED}
# The column a duplicate key is about, by the unique index the server named.
_KEY_COLUMNS = {"uq_student_no_per_school": "student_no", "uq_student_email_per_school": "email"}


@dataclass
class Resolution:
    conflict_id: uuid.UUID
    kind: str
    entity: str
    entity_id: uuid.UUID
    take: str
    dry_run: bool
    changes: list[str] = field(default_factory=list)  # what was (or would be) done, in words
    kept_existing: list[str] = field(default_factory=list)  # rows the server's side kept
    resolved: int = 0  # conflicts closed, this one and those it settles with it


@needs(Permission.SYNC_CONFLICTS)
def resolve_conflict(session: Session, ctx: ServiceContext, conflict_id: uuid.UUID | str, take: str,
                     value: Any = None, *, dry_run: bool = False) -> Resolution:  # fmt: skip
    """Decide one open conflict (see the module's docstring for the choices)."""
    if take not in TAKES:
        raise ValidationError("take", f"take must be one of {', '.join(TAKES)}, not {take!r}.")
    conflict = _open_conflict(session, ctx, conflict_id)
    outcome = Resolution(conflict.id, conflict.kind, conflict.entity, conflict.entity_id, take,
                         dry_run)  # fmt: skip
    decisions = _PULL_DECISIONS if conflict.from_pull else _DECISIONS
    decide, _words = decisions.get((conflict.kind, take), (None, ""))
    if decide is None:
        offered = [t for k, t in decisions if k == conflict.kind]
        article = "an" if conflict.kind[0] in "aeiou" else "a"
        raise ValidationError("take", f"{article} {conflict.kind.replace('_', '-')} conflict is "
                              f"decided with {' or '.join(offered)}, not {take}.")  # fmt: skip
    if take == "value" and value is None:
        raise ValidationError("value", "give the value to keep: value=…")
    savepoint = session.begin_nested()
    try:
        closed = decide(session, ctx, conflict, outcome, value)
        # Server rows a pull could not write before may fit now (the duplicate that held
        # their key is gone): written, and their conflicts closed too.
        closed += _write_pulled_again(session, ctx)
        outcome.resolved = session.execute(text("""
            UPDATE sync_conflict SET resolved_at = now(), resolution = :take
            WHERE school_id = :s AND resolved_at IS NULL AND id = ANY (:ids)"""),
            {"take": take if take != "value" else f"value={value}", "s": ctx.school_id,
             "ids": [conflict.id, *closed]}).rowcount  # fmt: skip
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return outcome


@needs(Permission.SYNC_CONFLICTS)
def resolve_many(session: Session, ctx: ServiceContext, conflict_ids: list[uuid.UUID], take: str,
                 *, dry_run: bool = False) -> list[Resolution]:  # fmt: skip
    """The same choice for several conflicts ("the server's version for all of these"),
    in one transaction; one settled by an earlier one of them is skipped."""
    decided: list[Resolution] = []
    for conflict_id in conflict_ids:
        still_open = session.execute(text(
            "SELECT resolved_at IS NULL FROM sync_conflict WHERE school_id = :s AND id = :i"
        ), {"s": ctx.school_id, "i": conflict_id}).scalar()  # fmt: skip
        if still_open:
            decided.append(resolve_conflict(session, ctx, conflict_id, take, dry_run=dry_run))
    return decided


def _open_conflict(session: Session, ctx: ServiceContext, conflict_id: uuid.UUID | str
                   ) -> Conflict:  # fmt: skip
    """The conflict by its id or the first characters of it (as ``sync conflicts`` lists)."""
    wanted = str(conflict_id).strip().lower()
    rows = session.execute(text("""
        SELECT id, kind, entity, entity_id, column_name, base, local, server, existing_id,
               detail, created_at, op_id LIKE 'pull:%' AS from_pull, resolved_at
        FROM sync_conflict WHERE school_id = :s AND CAST(id AS text) LIKE :prefix
        ORDER BY resolved_at NULLS FIRST LIMIT 2"""),
        {"s": ctx.school_id, "prefix": wanted.replace("%", "").replace("_", "") + "%"}).all()  # fmt: skip
    if not wanted or not rows:
        raise NotFound(f"There is no sync conflict {wanted or '(none given)'}; `rollbook sync "
                       "conflicts` lists the open ones.")  # fmt: skip
    if len(rows) > 1:
        raise ValidationError("conflict", f"More than one sync conflict starts with {wanted}; "
                              "give more of its id.")  # fmt: skip
    row = rows[0]
    if row.resolved_at is not None:
        raise ValidationError("conflict", f"The sync conflict {str(row.id)[:8]} was already "
                              "decided.")  # fmt: skip
    return Conflict(*row[:12])


def _set_origin(session: Session, origin: str) -> None:
    session.execute(text(f"SELECT set_config('{ORIGIN_SETTING}', :o, true)"), {"o": origin})


def _row(session: Session, table: str, row_id: uuid.UUID | str) -> dict | None:
    drop = " - ".join(f"'{c}'" for c in _GENERATED)
    return session.execute(text(f"SELECT to_jsonb(t) - {drop} FROM {table} t WHERE t.id = :i"),
                           {"i": row_id}).scalar()  # fmt: skip


# How a row is named to a person; rows of other tables by kind and the start of their id.
_LABELS = {
    "student": lambda r: f"student {r.get('student_no')} {r.get('first_name')} "
                         f"{r.get('last_name')}",
    "course": lambda r: f"course {r.get('name')}",
    "event": lambda r: f"event {r.get('name')}",
    "class_session": lambda r: f"session of {r.get('session_date')} {r.get('start_time')}",
    "event_registration": lambda r: f"registration {r.get('registration_no')}",
    "certificate": lambda r: f"certificate {r.get('certificate_no')}",
}  # fmt: skip


def _describe(table: str, row: dict) -> str:
    label = _LABELS.get(table)
    return label(row) if label else f"{table.replace('_', ' ')} {str(row.get('id'))[:8]}"


def _update(session: Session, table: str, row_id: uuid.UUID, values: dict[str, Any]) -> dict:
    """Change ``values`` of one row as this person (origin local): pushed like any edit."""
    if not values:
        return {}
    unknown = set(values) & _NOT_EDITABLE
    if unknown:
        raise ValidationError("column", f"{sorted(unknown)[0]} is kept by Rollbook itself.")
    before = _row(session, table, row_id)
    if before is None:
        raise NotFound(f"This desktop no longer has the {table.replace('_', ' ')} of the "
                       "conflict; sync, then look at it again.")  # fmt: skip
    _set_origin(session, "local")
    names = ", ".join(f'"{c}"' for c in values)
    picked = ", ".join(f'r."{c}"' for c in values)
    try:
        with session.begin_nested():
            session.execute(text(
                f"UPDATE {table} t SET ({names}) = (SELECT {picked} FROM "
                f"jsonb_populate_record(t, CAST(:v AS jsonb)) r) WHERE t.id = :i"
            ), {"v": json.dumps(values), "i": row_id})  # fmt: skip
    except (IntegrityError, DataError) as exc:  # a key taken, a value the type cannot take
        raise ValidationError("value", _first_line(exc)) from None
    return before


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]


# --- the decisions -------------------------------------------------------------------
# Each returns the ids of other conflicts it settles too.


def _column_server(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    outcome.changes.append(f"{conflict.entity} {conflict.column}: keeps the server's "
                           f"{conflict.server!r}")  # fmt: skip
    return []


def _column_mine(session, ctx, conflict: Conflict, outcome: Resolution, value) -> list:
    new = conflict.local if outcome.take == "local" else value
    before = _update(session, conflict.entity, conflict.entity_id, {conflict.column: new})
    outcome.changes.append(f"{_describe(conflict.entity, before)}: {conflict.column} "
                           f"{before.get(conflict.column)!r} → {new!r}")  # fmt: skip
    return []


def _keep_deleted(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    outcome.changes.append(f"{conflict.entity}: stays deleted as on the server")
    return []


def _restore_with_edit(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    edit = {k: v for k, v in (conflict.local or {}).items() if k not in _NOT_EDITABLE}
    edit["deleted_at"] = None
    before = _update(session, conflict.entity, conflict.entity_id, edit)
    outcome.changes.append(
        f"{_describe(conflict.entity, before)}: restored with this "
        f"desktop's change ({', '.join(sorted(set(edit) - {'deleted_at'}))})"
    )
    return []


def _keep_servers_row(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    outcome.changes.append(f"{conflict.entity}: keeps the server's version")
    return []


def _delete_after_all(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    row = _row(session, conflict.entity, conflict.entity_id)
    if row is None or row.get("deleted_at"):
        outcome.changes.append(f"{conflict.entity}: already deleted here")
        return []
    if "deleted_at" in row:
        _update(
            session,
            conflict.entity,
            conflict.entity_id,
            {"deleted_at": session.execute(text("SELECT now()")).scalar().isoformat()},
        )
    else:
        _set_origin(session, "local")
        session.execute(text(f"DELETE FROM {conflict.entity} WHERE id = :i"),
                        {"i": conflict.entity_id})  # fmt: skip
    outcome.changes.append(f"{_describe(conflict.entity, row)}: deleted")
    return []


def _merge_into_existing(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    mine_id, existing_id, pulled = _duplicate_pair(session, ctx, conflict)
    mine = _row(session, conflict.entity, mine_id)
    if mine is None:
        raise NotFound("This desktop no longer has the row of the conflict.")
    existing = _row(session, conflict.entity, existing_id)
    if existing is None and pulled is None:
        raise NotFound(f"The existing {conflict.entity} has not reached this desktop yet; sync, "
                       "then decide this conflict.")  # fmt: skip
    tree = _dependent_rows(session, conflict.entity, mine_id)
    _remove(session, [*tree, (conflict.entity, mine)])
    closed = _write_pulled_again(session, ctx)  # the existing row among them
    if existing is None:
        existing = _row(session, conflict.entity, existing_id)
        if existing is None:
            raise NotFound(f"The existing {conflict.entity} could not be written here; sync, "
                           "then decide this conflict.")  # fmt: skip
    outcome.changes.append(f"{_describe(conflict.entity, mine)} merged into "
                           f"{_describe(conflict.entity, existing)}")  # fmt: skip
    _send_again(session, tree, {str(mine_id): str(existing_id)}, outcome)
    return closed + _conflicts_of(session, ctx, [str(mine_id), *(r["id"] for _t, r in tree)])


def _duplicate_pair(session, ctx, conflict: Conflict) -> tuple[str, str, tuple | None]:
    """(this desktop's row, the server's row, the server's row as a pull kept it if it
    has not been written here). A push's conflict names both rows; a pull's conflict
    holds the server's row, and this desktop's is the one with its key here."""
    if conflict.existing_id is not None:
        mine, existing = str(conflict.entity_id), str(conflict.existing_id)
        return mine, existing, _pulled_copy(session, ctx, existing)
    if conflict.server:
        mine = session.execute(text(
            "SELECT rollbook_sync_duplicate_of(CAST(:t AS regclass), :c, CAST(:r AS jsonb))"
        ), {"t": f"public.{conflict.entity}", "c": _constraint(conflict),
            "r": json.dumps(conflict.server)}).scalar()  # fmt: skip
        if mine is not None:
            return str(mine), str(conflict.entity_id), (conflict.id, conflict.server)
    raise ValidationError("take", "Rollbook cannot tell which rows share this key; edit the "
                          "key instead (take value=…).")  # fmt: skip


def _new_key(session, ctx, conflict: Conflict, outcome: Resolution, value) -> list:
    column = _KEY_COLUMNS.get(_constraint(conflict)) or conflict.column
    if not column:
        raise ValidationError("take", "This conflict is not about a number or an e-mail; merge "
                              "it into the existing row instead (take server).")  # fmt: skip
    mine_id = (
        _duplicate_pair(session, ctx, conflict)[0] if conflict.from_pull else conflict.entity_id
    )
    mine = _row(session, conflict.entity, mine_id)
    if mine is None:
        raise NotFound("This desktop no longer has the row of the conflict.")
    tree = _dependent_rows(session, conflict.entity, mine_id)
    _remove(session, [*tree, (conflict.entity, mine)])
    outcome.changes.append(f"{_describe(conflict.entity, mine)}: {column} "
                           f"{mine.get(column)!r} → {value!r}, sent again")  # fmt: skip
    _send_again(session, [(conflict.entity, {**mine, column: value}), *tree], {}, outcome,
                strict=True)  # fmt: skip
    return _conflicts_of(session, ctx, [r["id"] for _t, r in tree])


def _remove_here(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    row = _row(session, conflict.entity, conflict.entity_id)
    if row is None:
        outcome.changes.append(f"{conflict.entity}: not on this desktop either")
        return []
    tree = _dependent_rows(session, conflict.entity, conflict.entity_id)
    _remove(session, [*tree, (conflict.entity, row)])
    outcome.changes.append(f"{_describe(conflict.entity, row)}: removed here, as the server "
                           f"does not have it{_and_dependents(tree)}")  # fmt: skip
    return _conflicts_of(session, ctx, [r["id"] for _t, r in tree])


def _send_row_again(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    row = _row(session, conflict.entity, conflict.entity_id)
    if row is None:
        raise NotFound("This desktop no longer has the row of the conflict.")
    tree = _dependent_rows(session, conflict.entity, conflict.entity_id)
    _remove(session, [*tree, (conflict.entity, row)])
    _send_again(session, [(conflict.entity, row), *tree], {}, outcome, strict=True)
    return _conflicts_of(session, ctx, [r["id"] for _t, r in tree])


def _take_servers_row(session, ctx, conflict: Conflict, outcome: Resolution, _value) -> list:
    _set_origin(session, "sync")
    written = write_rows(session, conflict.entity, [conflict.server], school_id=ctx.school_id,
                         push_floor=2**62)  # fmt: skip
    if written.refused:
        raise ValidationError("take", f"This desktop still cannot take the server's "
                              f"{conflict.entity.replace('_', ' ')}: {written.refused[0][2]}")  # fmt: skip
    outcome.changes.append(f"{_describe(conflict.entity, conflict.server)}: the server's row "
                           "written here")  # fmt: skip
    return []


# (kind, take): how it is done, and what the choice is called where a person picks it.
_DECISIONS = {
    ("column", "server"): (_column_server, "Keep the server's value"),
    ("column", "local"): (_column_mine, "Keep this desktop's value"),
    ("column", "value"): (_column_mine, "Use another value:"),
    ("edit_delete", "server"): (_keep_deleted, "Keep it deleted"),
    ("edit_delete", "local"): (_restore_with_edit, "Restore it, with this desktop's change"),
    ("delete_edit", "server"): (_keep_servers_row, "Keep the server's version"),
    ("delete_edit", "local"): (_delete_after_all, "Delete it after all"),
    ("duplicate_key", "server"): (_merge_into_existing,
                                  "Merge this desktop's one into the existing one"),
    ("duplicate_key", "value"): (_new_key, "Give this desktop's one another number or e-mail:"),
    ("missing_row", "server"): (_remove_here, "Remove it here, as the server does not have it"),
    ("missing_row", "local"): (_send_row_again, "Send it to the server again"),
    ("refused", "server"): (_remove_here, "Remove it here, as the server refused it"),
    ("refused", "local"): (_send_row_again, "Send it to the server again"),
}  # fmt: skip
# A server row a pull could not write here: this desktop takes it (merging its own
# duplicate into it, or giving its duplicate another key), never drops it.
_PULL_DECISIONS = {
    ("duplicate_key", "server"): (_merge_into_existing,
                                  "Merge this desktop's one into the server's"),
    ("duplicate_key", "value"): (_new_key, "Give this desktop's one another number or e-mail:"),
    ("refused", "server"): (_take_servers_row, "Write the server's row here"),
}  # fmt: skip


def choices(kind: str, from_pull: bool = False) -> list[tuple[str, str]]:
    """(take, words) of every choice a conflict of ``kind`` offers, the server's first."""
    decisions = _PULL_DECISIONS if from_pull else _DECISIONS
    return [(take, words) for (k, take), (_d, words) in decisions.items() if k == kind]


def describe_conflict_row(session: Session, entity: str, entity_id: uuid.UUID,
                          kept: dict | None = None) -> str:  # fmt: skip
    """The row a conflict is about in words ("student S100 Anne Leigh"): as this desktop
    has it, else as the conflict kept it."""
    row = _row(session, entity, entity_id) or kept or {"id": str(entity_id)}
    return _describe(entity, row)


# --- rows the server never received --------------------------------------------------


def _constraint(conflict: Conflict) -> str:
    """The unique index a duplicate-key conflict's message names."""
    for name in _KEY_COLUMNS:
        if conflict.detail and name in conflict.detail:
            return name
    return ""


def _references(session: Session) -> dict[str, list[tuple[str, str]]]:
    """For each synced table, the (table, column) pairs referring to its ids."""
    cache = session.info.setdefault("sync_references", {})
    if not cache:
        for child, column, parent in session.execute(text("""
            SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
            ORDER BY 1, 2""")):  # fmt: skip
            if child in SYNCED_TABLES and parent in SYNCED_TABLES:
                cache.setdefault(parent, []).append((child, column))
    return cache


def _dependent_rows(session: Session, table: str, row_id) -> list[tuple[str, dict]]:
    """Every row referring to the row, directly or through others, parents first."""
    found: list[tuple[str, dict]] = []
    frontier = [(table, str(row_id))]
    seen = {str(row_id)}
    drop = " - ".join(f"'{c}'" for c in _GENERATED)
    while frontier:
        parent, parent_id = frontier.pop(0)
        for child, column in _references(session).get(parent, []):
            for (row,) in session.execute(text(
                f"SELECT to_jsonb(t) - {drop} FROM {child} t WHERE t.{column} = :p ORDER BY t.id"
            ), {"p": parent_id}):  # fmt: skip
                if row["id"] not in seen:
                    seen.add(row["id"])
                    found.append((child, row))
                    frontier.append((child, row["id"]))
    order = {t: n for n, t in enumerate(SYNCED_TABLES)}
    return sorted(found, key=lambda item: order[item[0]])


def _remove(session: Session, rows: list[tuple[str, dict]]) -> None:
    """Rows removed here as the sync removes them: not a change to push (the server never
    had them)."""
    _set_origin(session, "sync")
    order = {t: n for n, t in enumerate(SYNCED_TABLES)}
    for table, row in sorted(rows, key=lambda item: -order[item[0]]):
        session.execute(text(f"DELETE FROM {table} WHERE id = :i"), {"i": row["id"]})


def _send_again(session: Session, rows: list[tuple[str, dict]], remap: dict[str, str],
                outcome: Resolution, *, strict: bool = False) -> None:  # fmt: skip
    """Insert ``rows`` again as this person's new rows (pushed at the next sync), with
    every reference in ``remap`` pointed at its new row. A row whose key the new parent
    already holds (the existing student is already in that course) is not inserted: the
    existing one stays, and what hung off this one moves to it. ``strict``: such a row is
    an error instead."""
    references = _references(session)
    columns_referring = {
        (child, column) for pairs in references.values() for child, column in pairs
    }
    _set_origin(session, "local")
    for table, row in rows:
        moved = {k: remap.get(v, v) if (table, k) in columns_referring and isinstance(v, str)
                 else v for k, v in row.items()}  # fmt: skip
        label = _describe(table, row) if any(moved[k] != row[k] for k in row) else None
        names = [c for c in moved if c not in ("row_version", "updated_at")]
        quoted = ", ".join(f'"{c}"' for c in names)
        try:
            with session.begin_nested():
                session.execute(text(
                    f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM "
                    f"jsonb_populate_record(NULL::{table}, CAST(:r AS jsonb))"
                ), {"r": json.dumps(moved)})  # fmt: skip
        except IntegrityError as exc:
            if strict:
                raise ValidationError("value", _first_line(exc)) from None
            twin = _occupant(session, table, exc, moved)
            if twin is None:
                raise ValidationError("take", f"{_describe(table, row)} cannot be moved: "
                                      f"{_first_line(exc)}") from None  # fmt: skip
            remap[row["id"]] = twin
            outcome.kept_existing.append(f"{_describe(table, row)}: the existing row already "
                                         "has one; kept as the server has it")  # fmt: skip
            continue
        if label:
            outcome.changes.append(f"{label}: moved")


def _occupant(session: Session, table: str, exc: IntegrityError, row: dict) -> str | None:
    """The row holding the unique key ``row`` collided with."""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if not constraint:
        return None
    found = session.execute(text(
        "SELECT rollbook_sync_duplicate_of(CAST(:t AS regclass), :c, CAST(:r AS jsonb))"
    ), {"t": f"public.{table}", "c": constraint, "r": json.dumps(row)}).scalar()  # fmt: skip
    return str(found) if found else None


def _pulled_copy(session: Session, ctx: ServiceContext, row_id) -> tuple[uuid.UUID, dict] | None:
    """A server row a pull could not write here (this desktop's duplicate held its key):
    the pull kept it whole in its conflict."""
    found = session.execute(text("""
        SELECT id, server FROM sync_conflict
        WHERE school_id = :s AND op_id = :op AND resolved_at IS NULL"""),
        {"s": ctx.school_id, "op": f"pull:{row_id}"}).first()  # fmt: skip
    return (found.id, found.server) if found else None


def _write_pulled_again(session: Session, ctx: ServiceContext) -> list:
    """Server rows earlier pulls could not write here, written now (parents first): the
    duplicate that held a key is gone, so the server's row and what hangs off it fit.
    The conflicts of those written are closed; the others stay."""
    kept = session.execute(text("""
        SELECT id, entity, server FROM sync_conflict
        WHERE school_id = :s AND op_id LIKE 'pull:%' AND resolved_at IS NULL
          AND server IS NOT NULL"""), {"s": ctx.school_id}).all()  # fmt: skip
    order = {t: n for n, t in enumerate(SYNCED_TABLES)}
    _set_origin(session, "sync")
    closed = []
    for conflict_id, table, row in sorted(kept, key=lambda k: order.get(k.entity, len(order))):
        written = write_rows(session, table, [row], school_id=ctx.school_id, push_floor=2**62)
        if not written.refused:
            closed.append(conflict_id)
    return closed


def _conflicts_of(session: Session, ctx: ServiceContext, row_ids: list[str]) -> list:
    """Open conflicts about rows a decision has settled with it (a child the server
    refused because its parent was the duplicate)."""
    if not row_ids:
        return []
    return list(session.execute(text(
        "SELECT id FROM sync_conflict WHERE school_id = :s AND resolved_at IS NULL "
        "AND entity_id = ANY (CAST(:ids AS uuid[]))"
    ), {"s": ctx.school_id, "ids": row_ids}).scalars())  # fmt: skip


def _and_dependents(tree: list) -> str:
    return f", with {len(tree)} row{'s' if len(tree) != 1 else ''} depending on it" if tree else ""
