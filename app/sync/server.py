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

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db import migrate, roles
from app.db.engine import describe_url, make_engine
from app.db.roles import APP_ROLE, DEVICE_GROUP
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
    login: str = ""  # the desktop's own database login (shown once, with its password)
    password: str = ""
    url: str = ""  # the server's URL with that login, without the password


@dataclass(frozen=True)
class ServerLoginRow:
    """A person's database login to the server, kept to one school (server mode)."""

    login: str
    school_code: str
    password: str
    url: str


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
            roles.act_as_owner(conn)
            conn.execute(text("CREATE INDEX IF NOT EXISTS ix_audit_log_txid ON audit_log (txid)"))
            conn.execute(text("""
                INSERT INTO sync_server (id, accepted_revisions) VALUES (true, :r)
                ON CONFLICT (id) DO UPDATE SET accepted_revisions = EXCLUDED.accepted_revisions
            """), {"r": revisions})  # fmt: skip
            roles.secure_if_server(conn)  # row-level security from now on
            roles.act_as_self(conn)
        if school_code:
            from sqlalchemy.orm import Session

            with Session(engine) as session, session.begin():
                ensure_school(session, school_code, school_name)
        return ServerSetup(describe_url(url), revisions[0], revisions,
                           school_code.upper() if school_code else None)  # fmt: skip
    finally:
        engine.dispose()


@dataclass(frozen=True)
class NumberBlockRow:
    device: str
    sequence: str  # "registration-2027"
    first: str  # the block's first and last number, as issued ("REG-2027-00051")
    last: str
    size: int
    issued: int  # of the block's numbers, how many the server has on a row
    reserved_at: datetime

    @property
    def unissued(self) -> int:
        return self.size - self.issued


# Issued numbers are found through the unique indexes on (school, number): a block's
# numbers, all of one length, sort as text in the order they count.
_BLOCKS = text("""
WITH blocks AS (
    SELECT b.*, d.name AS device, q.prefix,
           q.prefix || lpad(CAST(b.first_value AS text), :digits, '0') AS first_no,
           q.prefix || lpad(CAST(b.end_value - 1 AS text), :digits, '0') AS last_no
    FROM sync_number_block b
    JOIN sync_device d ON d.id = b.device_id
    JOIN school s ON s.id = b.school_id
    JOIN number_sequence q ON q.school_id = b.school_id AND q.name = b.name
    WHERE s.code = :code)
SELECT device, name, first_no, last_no, end_value - first_value, reserved_at,
       (SELECT count(*) FROM event_registration r
        WHERE r.school_id = blocks.school_id AND r.registration_no BETWEEN first_no AND last_no
          AND length(r.registration_no) = length(first_no))
       + (SELECT count(*) FROM certificate c
          WHERE c.school_id = blocks.school_id AND c.certificate_no BETWEEN first_no AND last_no
            AND length(c.certificate_no) = length(first_no))
FROM blocks ORDER BY name, first_value""")


def number_blocks(url: str, *, school_code: str) -> list[NumberBlockRow]:
    """Every block of numbers the server handed to a desktop, with how many of them are
    issued: the rest are numbers that desktop still holds — gaps, if it never issues
    them (a desktop given up, reinstalled)."""
    from app.domain.numbers import DIGITS

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(_BLOCKS, {"code": school_code.strip().upper(),
                                          "digits": DIGITS}).all()  # fmt: skip
        return [NumberBlockRow(device, name, first, last, int(size), int(issued), at)
                for device, name, first, last, size, at, issued in rows]  # fmt: skip
    finally:
        engine.dispose()


def add_device(url: str, *, school_code: str, name: str) -> DeviceRow:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("name", "a device name needs 1 to 100 characters")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            school = _school(conn, school_code)
            try:
                with conn.begin_nested():
                    device = conn.execute(text(
                        "INSERT INTO sync_device (school_id, name) VALUES (:s, :n) RETURNING id"
                    ), {"s": school.id, "n": name}).scalar_one()  # fmt: skip
            except IntegrityError:
                raise ValidationError(
                    "name", f'school {school.code} already has a device named "{name}"'
                ) from None
            login = f"{DEVICE_LOGIN_PREFIX}{device.hex[:12]}"
            password = _create_login(conn, login, school.id, kind="device", device=device)
        return DeviceRow(device, name, school.code, login, password, _login_url(url, login))
    finally:
        engine.dispose()


def device_login(url: str, *, school_code: str, name: str) -> DeviceRow:
    """A new password for a desktop's own login — made now for a device added before
    desktops had logins, or given again when the password is lost (the old one stops
    working)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            school = _school(conn, school_code)
            device = conn.execute(text(
                "SELECT d.id, d.name, l.role_name FROM sync_device d "
                "LEFT JOIN server_login l ON l.device_id = d.id "
                "WHERE d.school_id = :s AND lower(d.name) = lower(:n) AND d.active"
            ), {"s": school.id, "n": name.strip()}).first()  # fmt: skip
            if device is None:
                raise ValidationError(
                    "name", f'school {school.code} has no device "{name.strip()}"; add it '
                    f'with "rollbook server add-device {name.strip()}"')  # fmt: skip
            if device.role_name is None:
                login = f"{DEVICE_LOGIN_PREFIX}{device.id.hex[:12]}"
                password = _create_login(conn, login, school.id, kind="device", device=device.id)
            else:
                login = device.role_name
                password = _new_password(conn, login)
        return DeviceRow(device.id, device.name, school.code, login, password,
                         _login_url(url, login))  # fmt: skip
    finally:
        engine.dispose()


DEVICE_LOGIN_PREFIX = "rollbook_device_"
_LOGIN_NAME = re.compile(r"^[a-z][a-z0-9_]{2,40}$")


def add_login(url: str, *, school_code: str, login: str) -> ServerLoginRow:
    """A database login for a person who works on the server directly (server mode):
    a member of the app's role, and row-level security keeps it to ``school_code``."""
    login = login.strip().lower()
    if not _LOGIN_NAME.match(login) or login.startswith(("rollbook_", "pg_")):
        raise ValidationError(
            "login", "a login name is 3 to 41 lower-case letters, digits or _, starting with a "
            "letter, and not starting with rollbook_ or pg_")  # fmt: skip
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            school = _school(conn, school_code)
            password = _create_login(conn, login, school.id, kind="person", device=None)
        return ServerLoginRow(login, school.code, password, _login_url(url, login))
    finally:
        engine.dispose()


def _school(conn, school_code: str):
    school = conn.execute(text("SELECT id, code FROM school WHERE code = :c"),
                          {"c": school_code.strip().upper()}).first()  # fmt: skip
    if school is None:
        raise ValidationError(
            "school", f"the server has no school {school_code.upper()}; create it with "
            f"\"rollbook server init --school {school_code.upper()}\"")  # fmt: skip
    return school


def _create_login(conn, login: str, school_id: uuid.UUID, *, kind: str,
                  device: uuid.UUID | None) -> str:  # fmt: skip
    """A new PostgreSQL login with a generated password, kept to one school (migration
    0020); returns the password."""
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": login}).first()
    if exists:
        raise ValidationError("login", f"the server already has a database role {login}")
    raw = conn.connection.driver_connection  # the same transaction, psycopg's quoting
    group = DEVICE_GROUP if kind == "device" else APP_ROLE
    raw.execute(
        sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
            sql.Identifier(login), sql.Identifier(group)
        )
    )
    password = _new_password(conn, login)
    conn.execute(text(
        "INSERT INTO server_login (role_name, school_id, kind, device_id, person) "
        "VALUES (:r, :s, :k, :d, :p)"
    ), {"r": login, "s": school_id, "k": kind, "d": device,
        "p": login if kind == "person" else None})  # fmt: skip
    return password


def _new_password(conn, login: str) -> str:
    """A generated password for ``login``. Only its SCRAM verifier is sent to the server,
    so the password is in no server log, whatever the server logs."""
    password = secrets.token_urlsafe(24)
    raw = conn.connection.driver_connection
    verifier = raw.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256")
    raw.execute(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(login), sql.Literal(verifier.decode())
        )
    )
    return password


def _login_url(url: str, login: str) -> str:
    """The server's URL as ``login`` connects with it (no password: that is given apart)."""
    from sqlalchemy.engine import make_url

    from app.school_server import split_password

    # URL.set() leaves a password alone when given None: the admin's is split off after.
    plain = make_url(url).set(drivername="postgresql", username=login)
    return split_password(plain.render_as_string(hide_password=False))[0]
