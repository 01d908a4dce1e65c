"""cheaper change capture: each row's JSON built from the table's recorded columns

Revision ID: 0005_cheaper_capture
Revises: 0004_change_capture
Create Date: 2026-12-02

rollbook_capture() (0004) turned every changed row into JSON whole (to_jsonb of the
row), then dropped the bookkeeping columns; on inserts it did so twice per row, because
the planner inlined the subquery that was meant to compute it once. On a bulk import
that was most of the capture's cost. The same function now reads the table's columns
from the catalog (so a column added later is captured without touching it), builds the
JSON of only the recorded ones, and on an update converts only the columns that
changed. The audit entries it writes are the same as before.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0005_cheaper_capture"
down_revision: str | None = "0004_change_capture"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE_CAPTURE = """
CREATE OR REPLACE FUNCTION public.rollbook_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_actor text := coalesce(nullif(current_setting('rollbook.actor', true), ''), session_user);
    v_run uuid := nullif(current_setting('rollbook.run_id', true), '')::uuid;
    v_origin text := coalesce(nullif(current_setting('rollbook.origin', true), ''), 'local');
    v_txid xid8 := pg_current_xact_id();
    -- The statement that writes this table's entries for this operation is built from
    -- the table's columns and kept for the session under those columns: a column
    -- added, dropped or renamed since makes it build the statement again.
    v_cache text := 'rollbook.capture_' || TG_RELID || '_' || lower(TG_OP);
    v_cached text := current_setting(v_cache, true);
    v_columns text;
    v_sql text;
    -- Bookkeeping columns change with every write and say nothing of their own;
    -- search_vector, sort_name and duration_minutes are generated from other columns.
    -- An insert or delete records neither the row's id nor its school (both are
    -- columns of the entry itself) nor when it was created (the entry's time).
    v_not_recorded text[] := CASE WHEN TG_OP = 'UPDATE'
        THEN '{updated_at,row_version,search_vector,sort_name,duration_minutes}'::text[]
        ELSE '{id,school_id,created_at,updated_at,row_version,search_vector,sort_name,duration_minutes}'::text[]
        END;
    v_school text;   -- the entry's school: the row's school_id, the school's own id
    v_recorded text; -- insert / delete: the row r's recorded columns as one JSON object
    v_changed_columns text;  -- update: one UNION ALL arm per column that o -> n changed
    v_tombstone text;        -- update: whether o -> n sets deleted_at
    v_captured bigint;
    v_changed text;
BEGIN
    SELECT string_agg(a.attname, ',' ORDER BY a.attnum) INTO v_columns
    FROM pg_attribute a WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped;
    IF v_cached IS NOT NULL AND split_part(v_cached, E'\\n', 1) = v_columns THEN
        v_sql := substr(v_cached, length(v_columns) + 2);
    ELSE
        v_school := CASE WHEN 'school_id' = ANY (string_to_array(v_columns, ','))
                         THEN 'coalesce(r.school_id, r.id)' ELSE 'r.id' END;
        v_tombstone := CASE WHEN 'deleted_at' = ANY (string_to_array(v_columns, ','))
                            THEN 'o.deleted_at IS NULL AND n.deleted_at IS NOT NULL'
                            ELSE 'false' END;
        IF TG_OP = 'UPDATE' THEN
            -- Each arm converts its column to JSON only when it changed.
            SELECT string_agg(format(
                       'SELECT %L AS key, to_jsonb(o.%I) AS before, to_jsonb(n.%I) AS after '
                       'WHERE o.%I IS DISTINCT FROM n.%I',
                       a.attname, a.attname, a.attname, a.attname, a.attname),
                   ' UNION ALL ' ORDER BY a.attnum)
            INTO v_changed_columns
            FROM pg_attribute a
            WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
              AND NOT a.attname = ANY (v_not_recorded);
            v_sql := format(
                'INSERT INTO public.audit_log'
                '    (school_id, actor, action, entity, entity_id, changes, run_id, txid, origin)'
                ' SELECT %s, $1, CASE WHEN %s THEN ''tombstone'' ELSE ''update'' END, $5, n.id,'
                '        c.changes, $2, $3, $4'
                ' FROM old_rows o JOIN new_rows n USING (id)'
                ' CROSS JOIN LATERAL ('
                '     SELECT jsonb_build_object(''before'', jsonb_object_agg(v.key, v.before),'
                '                               ''after'', jsonb_object_agg(v.key, v.after))'
                '            AS changes'
                '     FROM (%s) v HAVING count(*) > 0) c',
                replace(v_school, 'r.', 'n.'), v_tombstone,
                coalesce(v_changed_columns,
                         'SELECT NULL::text, NULL::jsonb, NULL::jsonb WHERE false'));
        ELSE
            -- jsonb_build_object takes at most 100 arguments: 40 columns per call.
            SELECT string_agg(part.object, ' || ' ORDER BY part.n)
            INTO v_recorded
            FROM (SELECT c.n, 'jsonb_build_object('
                              || string_agg(format('%L, r.%I', c.attname, c.attname), ', '
                                            ORDER BY c.attnum) || ')' AS object
                  FROM (SELECT a.attname, a.attnum,
                               (row_number() OVER (ORDER BY a.attnum) - 1) / 40 AS n
                        FROM pg_attribute a
                        WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
                          AND NOT a.attname = ANY (v_not_recorded)) c
                  GROUP BY c.n) part;
            v_sql := format(
                'INSERT INTO public.audit_log'
                '    (school_id, actor, action, entity, entity_id, changes, run_id, txid, origin)'
                ' SELECT %s, $1, %L, $5, r.id, jsonb_build_object(%L, jsonb_strip_nulls(%s)),'
                '        $2, $3, $4'
                ' FROM %s r',
                v_school,
                CASE WHEN TG_OP = 'INSERT' THEN 'insert' ELSE 'delete' END,
                CASE WHEN TG_OP = 'INSERT' THEN 'after' ELSE 'before' END,
                coalesce(v_recorded, '''{}''::jsonb'),
                CASE WHEN TG_OP = 'INSERT' THEN 'new_rows' ELSE 'old_rows' END);
        END IF;
        -- A session setting: gone with the session, and with this transaction if it
        -- rolls back.
        PERFORM set_config(v_cache, v_columns || E'\\n' || v_sql, false);
    END IF;
    EXECUTE v_sql USING v_actor, v_run, v_txid, v_origin, TG_TABLE_NAME;
    GET DIAGNOSTICS v_captured = ROW_COUNT;
    IF v_captured > 0 THEN
        v_changed := coalesce(current_setting('rollbook.changed', true), '');
        IF position(',' || TG_TABLE_NAME || ',' IN v_changed) = 0 THEN
            PERFORM set_config('rollbook.changed',
                               coalesce(nullif(v_changed, ''), ',') || TG_TABLE_NAME || ',',
                               true);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
"""


def _revision_0004() -> ModuleType:
    """The 0004 revision's module, for the function it created."""
    path = Path(__file__).with_name("0004_change_capture.py")
    spec = importlib.util.spec_from_file_location("rollbook_revision_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute(CREATE_CAPTURE)


def downgrade() -> None:
    op.execute(_revision_0004().CREATE_CAPTURE)
