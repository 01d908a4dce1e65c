"""Rollbook's database roles: the schema's owner, the application's login, and on a
school server the desktops' logins.

Rollbook's own connections do not run as a database superuser:

- ``rollbook_owner`` (no login) owns every table, function and sequence. Migrations,
  restores and the school server's set-up act as it (``SET ROLE``) from the cluster
  admin's connection; nothing else does.
- ``rollbook_app`` (login) is what the window and the CLI connect as. It reads and
  writes school data, but owns nothing: it cannot drop or alter a table, disable a
  trigger or truncate. The audit log takes INSERT and SELECT only from it (migration
  0019), so the history the database writes cannot be rewritten or emptied by the
  application, whatever SQL it is made to run.

On a school server, each desktop logs in as a role of its own in ``rollbook_device``,
and row-level security keeps every login to its school (migration 0020).

Roles belong to the whole PostgreSQL cluster; :func:`prepare` creates them when they
are missing and gives this database's objects to the owner. On the embedded cluster the
admin is its ``postgres`` superuser and the app logs in over the cluster's own socket
(no password: the socket is in the data folder, which only its user can reach).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from app.domain.errors import DatabaseUnavailable

OWNER_ROLE = "rollbook_owner"
APP_ROLE = "rollbook_app"
# On a school server: the group of every desktop's own login (app.sync.server).
DEVICE_GROUP = "rollbook_device"


# Creating a role twice at once (two databases of one cluster migrating together) fails
# on the catalogue's unique index rather than with duplicate_object: both are caught.
def _create_role(name: str, attributes: str) -> str:
    return f"""
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
        BEGIN
            CREATE ROLE {name} {attributes};
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;"""


CREATE_ROLES = f"""
DO $$
BEGIN{_create_role(OWNER_ROLE, "NOLOGIN")}{_create_role(APP_ROLE, "LOGIN")}{
    _create_role(DEVICE_GROUP, "NOLOGIN")
}
    IF NOT pg_has_role(current_user, '{OWNER_ROLE}', 'MEMBER') THEN
        EXECUTE format('GRANT {OWNER_ROLE} TO %I', current_user);
    END IF;
END $$"""

# Everything of Rollbook's schema that another role owns (a database from before 0019,
# or restored by hand) is given to the owner; the extension-owned objects are left.
_OWNED_BY_OTHERS = f"""
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                      WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
       format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
  AND c.relowner <> '{OWNER_ROLE}'::regrole
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
           WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0))
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
       format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public' AND p.proowner <> '{OWNER_ROLE}'::regrole
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'TYPE', format('%I.%I', n.nspname, t.typname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c')
  AND t.typowner <> '{OWNER_ROLE}'::regrole
  AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')"""


class SchemaOwnerRequired(DatabaseUnavailable):
    """The login may work on the data but not change the schema (the app's role, a
    person's login to a server)."""


def prepare(conn: Connection) -> None:
    """As the cluster's admin, before migrating: both roles exist, the admin may act as
    the owner, and the owner owns the ``public`` schema and all that is in it."""
    try:
        with conn.begin_nested():
            conn.execute(text(CREATE_ROLES))
    except ProgrammingError as exc:
        if not isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
            raise
        user = conn.execute(text("SELECT current_user")).scalar()
        raise SchemaOwnerRequired(
            f"The login {user} may not change the database's tables: use the database "
            "administrator's URL for `rollbook db`, `rollbook server init` and restores. "
            "Nothing was changed."
        ) from None
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO {APP_ROLE}'))
    schema_owner = conn.execute(
        text("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public'")
    ).scalar_one()
    if schema_owner != OWNER_ROLE:
        conn.execute(text(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}"))
    for kind, name in conn.execute(text(_OWNED_BY_OTHERS)).all():
        conn.execute(text(f"ALTER {kind} {name} OWNER TO {OWNER_ROLE}"))


def secure_if_server(conn: Connection) -> bool:
    """On a school server (``sync_server`` has its row), row-level security on every
    school table, a table a migration just added included (migration 0020); True when
    this is a server. Acting as the owner."""
    found = conn.execute(text(
        "SELECT to_regproc('public.rollbook_secure_server') IS NOT NULL"
        "   AND to_regclass('public.sync_server') IS NOT NULL"
    )).scalar()  # fmt: skip
    if not found or not conn.execute(text("SELECT EXISTS (SELECT FROM sync_server)")).scalar():
        return False
    conn.execute(text("SELECT rollbook_secure_server()"))
    return True


def act_as_owner(conn: Connection) -> None:
    """What the connection creates from now on belongs to the owner role."""
    conn.execute(text(f"SET ROLE {OWNER_ROLE}"))


def act_as_self(conn: Connection) -> None:
    conn.execute(text("RESET ROLE"))


def app_url(admin_url: str) -> str:
    """The embedded cluster's URL for the application: the same socket and database,
    logged in as the app role."""
    return (
        make_url(admin_url)
        .set(username=APP_ROLE, password=None)
        .render_as_string(hide_password=False)
    )


@contextmanager
def owner_connection(admin_url: str, actor: str | None) -> Iterator[psycopg.Connection]:
    """One transaction as the schema's owner, committed when the block ends (rolled
    back when it raises), its changes captured as ``actor``'s. For setting a school up
    with demo data: its loader drops and re-adds the big tables' foreign keys, which
    only an owner may, and saves 40% of a million-student load that way."""
    from app.db.capture import ACTOR_SETTING
    from app.db.engine import SESSION_OPTIONS

    libpq = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, application_name="rollbook", options=SESSION_OPTIONS) as conn:
        # A login that may not act as the owner (a person's, on a server) loads as
        # itself: the loader then checks the foreign keys row by row.
        member = conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')",
                              (OWNER_ROLE,)).fetchone()  # fmt: skip
        if member and member[0]:
            conn.execute(f"SET LOCAL ROLE {OWNER_ROLE}")
        if actor:
            conn.execute("SELECT set_config(%s, %s, true)", (ACTOR_SETTING, actor))
        yield conn
