"""Setting up a plain PostgreSQL server as a school's sync server.

``init_server`` brings the server's schema to this Rollbook's (the same migrations as
every desktop, which also install the push and pull functions), adds what only the
server needs — an index on the change log's transaction ids, which every pull reads by
— and records the schema revisions a push may carry: this one and the one before, so a
desktop one upgrade behind keeps syncing while the school upgrades. ``add_device``
allows a desktop to sync one school. No replication slots, no server program of
Rollbook's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db import migrate
from app.db.engine import describe_url, make_engine
from app.domain.errors import ValidationError
from app.services.schools import ensure_school


@dataclass(frozen=True)
class ServerSetup:
    where: str
    revision: str
    accepted_revisions: list[str]
    school_code: str | None


@dataclass(frozen=True)
class DeviceRow:
    id: uuid.UUID
    name: str
    school_code: str


def accepted_revisions() -> list[str]:
    """This Rollbook's schema revision and the one before it."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    head = script.get_current_head()
    assert head is not None
    previous = script.get_revision(head).down_revision
    return [head] + ([previous] if isinstance(previous, str) else [])


def init_server(url: str, *, school_code: str | None = None,
                school_name: str | None = None) -> ServerSetup:  # fmt: skip
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        revisions = accepted_revisions()
        with engine.begin() as conn:
            conn.execute(text("CREATE INDEX IF NOT EXISTS ix_audit_log_txid ON audit_log (txid)"))
            conn.execute(text("""
                INSERT INTO sync_server (id, accepted_revisions) VALUES (true, :r)
                ON CONFLICT (id) DO UPDATE SET accepted_revisions = EXCLUDED.accepted_revisions
            """), {"r": revisions})  # fmt: skip
        if school_code:
            from sqlalchemy.orm import Session

            with Session(engine) as session, session.begin():
                ensure_school(session, school_code, school_name)
        return ServerSetup(describe_url(url), revisions[0], revisions,
                           school_code.upper() if school_code else None)  # fmt: skip
    finally:
        engine.dispose()


def add_device(url: str, *, school_code: str, name: str) -> DeviceRow:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("name", "a device name needs 1 to 100 characters")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            school = conn.execute(text("SELECT id, code FROM school WHERE code = :c"),
                                  {"c": school_code.strip().upper()}).first()  # fmt: skip
            if school is None:
                raise ValidationError(
                    "school", f"the server has no school {school_code.upper()}; create it with "
                    f"\"rollbook server init --school {school_code.upper()}\"")  # fmt: skip
            try:
                with conn.begin_nested():
                    device = conn.execute(text(
                        "INSERT INTO sync_device (school_id, name) VALUES (:s, :n) RETURNING id"
                    ), {"s": school.id, "n": name}).scalar_one()  # fmt: skip
            except IntegrityError:
                raise ValidationError(
                    "name", f'school {school.code} already has a device named "{name}"'
                ) from None
        return DeviceRow(device, name, school.code)
    finally:
        engine.dispose()
