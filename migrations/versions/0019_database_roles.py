"""database roles: the app connects as a role that owns nothing, and the audit log
takes only INSERT and SELECT from it

Revision ID: 0019_database_roles
Revises: 0018_accounts
Create Date: 2026-12-07

Migrations run as ``rollbook_owner`` (app.db.roles prepares the roles and hands the
schema to it before any revision runs); the window and the CLI connect as
``rollbook_app``. This revision gives the app role what it needs and no more:

- SELECT, INSERT, UPDATE and DELETE on the school's tables, and the use of their
  sequences; never TRUNCATE, and nothing that alters a table or its triggers (which
  only an owner may);
- on ``audit_log`` only INSERT (the capture trigger runs as the app) and SELECT:
  UPDATE, DELETE and TRUNCATE are refused, so the history cannot be rewritten;
- ``alembic_version`` read only;
- the same for tables later revisions create (default privileges of the owner; the
  audit log's revocation is explicit and stays);
- ``rollbook_analyze``: ANALYZE of one of the schema's tables. Only an owner may
  ANALYZE a table, and the bulk writers must, right after loading it (app.db.staging);
  this function does it for them, as the owner, and nothing else.

The downgrade takes the grants and the function away again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019_database_roles"
down_revision: str | None = "0018_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER = "rollbook_owner"
APP = "rollbook_app"

ANALYZE = """
CREATE FUNCTION public.rollbook_analyze(p_table text, p_columns text[] DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_columns text;
BEGIN
    -- Only the schema's own tables: a name elsewhere (a catalogue, another schema) is
    -- refused rather than analysed with the owner's rights.
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relname = p_table
                     AND c.relkind IN ('r', 'p')) THEN
        RAISE EXCEPTION 'rollbook_analyze: % is not one of Rollbook''s tables', p_table
            USING ERRCODE = '42P01';
    END IF;
    IF p_columns IS NULL OR cardinality(p_columns) = 0 THEN
        EXECUTE format('ANALYZE public.%I', p_table);
    ELSE
        SELECT string_agg(format('%I', c), ', ') INTO v_columns FROM unnest(p_columns) c;
        EXECUTE format('ANALYZE public.%I (%s)', p_table, v_columns);
    END IF;
END $$;
"""


def upgrade() -> None:
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP}")
    op.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {APP}")
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
               f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP}")  # fmt: skip
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
               f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {APP}")  # fmt: skip
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {APP}")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {APP}")
    op.execute(ANALYZE)
    op.execute("REVOKE EXECUTE ON FUNCTION public.rollbook_analyze(text, text[]) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION public.rollbook_analyze(text, text[]) TO {APP}")


def downgrade() -> None:
    op.execute("DROP FUNCTION public.rollbook_analyze(text, text[])")
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
               f"REVOKE USAGE, SELECT, UPDATE ON SEQUENCES FROM {APP}")  # fmt: skip
    op.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
               f"REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {APP}")  # fmt: skip
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP}")
