"""server row security: on a school server, a desktop's or a person's database login
reads and writes its own school's rows only

Revision ID: 0020_server_row_security
Revises: 0019_database_roles
Create Date: 2026-12-07

- ``server_login``: which PostgreSQL login belongs to which school — a desktop's
  (``device``, with its ``sync_device``) or a person's working on the server directly
  (``person``, a member of ``rollbook_app``). On a server only the owner reads it
  (``rollbook_secure_server`` takes it from the app role; a desktop's is empty).
- ``rollbook_login_school()``: the school of the session's login (NULL for any other
  role). Row-level security policies compare each row's school with it.
- ``rollbook_secure_server()``: turns row-level security on for every table with a
  ``school_id`` (and ``school`` itself), with one policy: the row's school is the
  login's. It gives desktops' logins (the ``rollbook_device`` group) SELECT on the
  tables the sync copies, and takes from the app role the tables that have no school.
  ``rollbook server init`` calls it, and every later migration of a school server
  (app.db.migrate), so a table a later revision adds is covered too. A desktop's own
  database never has row-level security: it is one school's, and its queries pay
  nothing for it.
  The owner (the migrations, the sync functions, which are SECURITY DEFINER) is not
  subject to the policies; every other role is, and a role the server does not know
  sees no row at all.
- ``rollbook_sync_duplicate_of`` may be called by the app role on a desktop (deciding a
  duplicate there looks for the row the desktop has), never on a server.
- The sync functions a desktop calls are no longer open to PUBLIC: ``rollbook_device``
  may call them, and a desktop's login only for its own device
  (``rollbook_sync_school_of`` and ``rollbook_sync_hello`` check), so a device of one
  school cannot pull another's rows by naming another device.

The downgrade turns row-level security off, drops the policies, the functions and
``server_login``, and gives the functions back to PUBLIC.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020_server_row_security"
down_revision: str | None = "0019_database_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEVICE_GROUP = "rollbook_device"
APP = "rollbook_app"
POLICY = "rollbook_own_school"

# What a desktop calls (app.sync); the inner functions stay the owner's.
DESKTOP_FUNCTIONS = (
    "rollbook_sync_hello(text, text)",
    "rollbook_sync_snapshot_count(uuid, text)",
    "rollbook_sync_snapshot_page(uuid, text, uuid, int)",
    "rollbook_sync_pull(uuid, xid8, int, uuid, int)",
    "rollbook_sync_push(uuid, text, jsonb)",
    "rollbook_sync_reserve_numbers(uuid, text, text, int)",
    "rollbook_sync_reinitialised(uuid)",
)


def _revision(name: str) -> ModuleType:
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"rollbook_revision_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The tables the sync copies: a desktop's login reads them (its school's rows).
SYNCED_TABLES = _revision("0014_sync_engine").SYNCED_TABLES

DUPLICATE_OF = "public.rollbook_sync_duplicate_of(regclass, text, jsonb)"

LOGIN_SCHOOL = """
CREATE FUNCTION public.rollbook_login_school() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT school_id FROM server_login WHERE role_name = session_user
$$;
"""

SECURE = f"""
CREATE FUNCTION public.rollbook_secure_server() RETURNS int
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_table text;
    v_column text;
    v_count int := 0;
BEGIN
    FOR v_table, v_column IN
        SELECT c.relname, CASE WHEN c.relname = 'school' THEN 'id' ELSE 'school_id' END
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND (c.relname = 'school' OR EXISTS (
               SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                 AND a.attname = 'school_id' AND NOT a.attisdropped))
          AND c.relname <> 'server_login'
        ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', v_table);
        EXECUTE format('DROP POLICY IF EXISTS {POLICY} ON public.%I', v_table);
        EXECUTE format('CREATE POLICY {POLICY} ON public.%I '
                       'USING (%I = (SELECT rollbook_login_school())) '
                       'WITH CHECK (%I = (SELECT rollbook_login_school()))',
                       v_table, v_column, v_column);
        v_count := v_count + 1;
    END LOOP;
    -- Tables of no school (the server's own bookkeeping) are not the app's on a server.
    FOR v_table IN
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
          AND c.relname <> 'alembic_version'
    LOOP
        EXECUTE format('REVOKE ALL ON public.%I FROM {APP}', v_table);
    END LOOP;
    EXECUTE 'REVOKE EXECUTE ON FUNCTION {DUPLICATE_OF} FROM {APP}';
    FOREACH v_table IN ARRAY ARRAY{list(SYNCED_TABLES)!r}::text[] LOOP
        EXECUTE format('GRANT SELECT ON public.%I TO {DEVICE_GROUP}', v_table);
    END LOOP;
    RETURN v_count;
END
$$;
"""

_CALLER_CHECK = """
    -- A desktop's own login speaks for its own device only.
    IF EXISTS (SELECT 1 FROM server_login WHERE role_name = session_user)
       AND NOT EXISTS (SELECT 1 FROM server_login WHERE role_name = session_user
                       AND device_id IS NOT DISTINCT FROM p_device AND kind = 'device') THEN
        RAISE EXCEPTION 'this login belongs to another desktop of the school server'
            USING ERRCODE = 'RB001';
    END IF;
"""



def _hello(checked: bool) -> str:
    """0017's hello; checked, it refuses a desktop's login asking for another device."""
    sql = _revision("0017_sync_retention").HELLO
    if not checked:
        return sql
    anchor = "    UPDATE sync_device SET last_seen_at = now() WHERE id = v_device;\n"
    assert sql.count(anchor) == 1
    check = _CALLER_CHECK.replace("p_device", "v_device")
    return sql.replace(anchor, check + anchor)


def _school_of(checked: bool) -> str:
    """0014's school of a device; checked, it refuses a desktop's login asking for
    another device (every desktop-facing function but hello asks it first)."""
    sql = _revision("0014_sync_engine").SCHOOL_OF
    sql = sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    if not checked:
        return sql
    anchor = "BEGIN\n"
    assert sql.count(anchor) == 1
    return sql.replace(anchor, anchor + _CALLER_CHECK)


def upgrade() -> None:
    op.create_table(
        "server_login",
        sa.Column("role_name", sa.Text(), primary_key=True),
        sa.Column(
            "school_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("school.id", name="fk_server_login_school_id_school"),
            nullable=False,
        ),  # fmt: skip
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column(
            "device_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey(
                "sync_device.id", name="fk_server_login_device_id_sync_device", ondelete="CASCADE"
            ),
        ),  # fmt: skip
        sa.Column("person", sa.Text()),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),  # fmt: skip
        sa.CheckConstraint("kind IN ('device', 'person')", name="ck_server_login_kind"),
        sa.CheckConstraint(
            "(kind = 'device') = (device_id IS NOT NULL)", name="ck_server_login_device"
        ),  # fmt: skip
    )
    op.execute(LOGIN_SCHOOL)
    op.execute(SECURE)
    op.execute("REVOKE EXECUTE ON FUNCTION public.rollbook_secure_server() FROM PUBLIC")
    op.execute(_school_of(checked=True))
    op.execute(_hello(checked=True))
    op.execute("REVOKE EXECUTE ON FUNCTION public.rollbook_sync_school_of(uuid) FROM PUBLIC")
    # A desktop deciding a duplicate looks for the row its own database already has
    # (app.sync.resolve); a school server takes it back (rollbook_secure_server).
    op.execute(f"GRANT EXECUTE ON FUNCTION {DUPLICATE_OF} TO {APP}")
    for function in DESKTOP_FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION public.{function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION public.{function} TO {DEVICE_GROUP}")


def downgrade() -> None:
    op.execute("""
        DO $$
        DECLARE v_table text;
        BEGIN
            FOR v_table IN SELECT c.relname FROM pg_class c
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = 'public' AND c.relrowsecurity LOOP
                EXECUTE format('DROP POLICY IF EXISTS rollbook_own_school ON public.%I',
                               v_table);
                EXECUTE format('ALTER TABLE public.%I DISABLE ROW LEVEL SECURITY', v_table);
            END LOOP;
        END $$""")  # fmt: skip
    # 0019's grants, as they were before rollbook_secure_server changed them.
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {DEVICE_GROUP}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {APP}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {APP}")
    for function in DESKTOP_FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION public.{function} FROM {DEVICE_GROUP}")
        op.execute(f"GRANT EXECUTE ON FUNCTION public.{function} TO PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION public.rollbook_sync_school_of(uuid) TO PUBLIC")
    op.execute(f"REVOKE EXECUTE ON FUNCTION {DUPLICATE_OF} FROM {APP}")
    op.execute(_hello(checked=False))
    op.execute(_school_of(checked=False))
    op.execute("DROP FUNCTION public.rollbook_secure_server()")
    op.execute("DROP FUNCTION public.rollbook_login_school()")
    op.drop_table("server_login")  # its grants go with it
