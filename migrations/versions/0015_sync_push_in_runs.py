"""sync push: runs of like operations applied in one statement each

Revision ID: 0015_sync_push_in_runs
Revises: 0014_sync_engine
Create Date: 2026-12-07

0014's ``rollbook_sync_push`` applied every operation on its own: a savepoint, four
statements planned afresh and the change capture's statement triggers, per row — about
a millisecond an operation, so a morning's 10,000 offline changes took ten seconds.
Local transactions are mostly runs of like operations (one UPDATE of 700 students is 700
update operations in a row), so this revision applies such a run at once:

``rollbook_sync_apply_run`` takes consecutive inserts, or consecutive updates, of one
table by one person, each of a different row. It locks the rows and merges every
column of every operation in one statement, with the same rules as
``rollbook_sync_apply_op``; when every operation would apply cleanly it writes them
with one INSERT or one UPDATE. When any of them would not — a conflict, a row missing,
deleted or already there, a key taken, a constraint refused — it changes nothing and
answers NULL, and the push applies that run one operation at a time as before, so every
conflict is still recorded exactly as 0014 recorded it.

The downgrade puts 0014's push back and drops the run function.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0015_sync_push_in_runs"
down_revision: str | None = "0014_sync_engine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns the merge never compares: the row's identity, what the server keeps itself,
# and generated columns. The same list as rollbook_sync_apply_op's.
UNCOMPARED = ("'id', 'school_id', 'row_version', 'updated_at', 'created_at', "
              "'search_vector', 'sort_name', 'duration_minutes'")  # fmt: skip

APPLY_RUN = """
CREATE FUNCTION public.rollbook_sync_apply_run(p_school uuid, p_ops jsonb) RETURNS jsonb[]
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_action text := p_ops->0->>'action';
    v_table regclass := ('public.' || quote_ident(p_ops->0->>'entity'))::regclass;
    v_ids uuid[];
    v_found boolean;
    v_clean boolean;
    v_plan jsonb;
    v_columns text;
    v_values text;
BEGIN
    SELECT array_agg((o->>'id')::uuid) INTO v_ids FROM jsonb_array_elements(p_ops) o;
    IF cardinality(v_ids) <> (SELECT count(DISTINCT i) FROM unnest(v_ids) i) THEN
        RETURN NULL;  -- one row changed twice: its operations depend on each other's order
    END IF;
    PERFORM set_config('rollbook.actor', coalesce(p_ops->0->>'actor', 'sync'), true);
    BEGIN
        IF v_action = 'insert' THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE id = ANY ($1))', v_table)
                INTO v_found USING v_ids;
            IF v_found THEN
                RETURN NULL;  -- already there: compared column by column, one at a time
            END IF;
            -- The run's rows name the same columns (the push groups them so).
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_columns
            FROM pg_attribute a
            WHERE a.attrelid = v_table AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attgenerated = ''
              AND ((p_ops->0->'row') ? a.attname OR a.attname = 'school_id')
              AND a.attname NOT IN ('row_version', 'updated_at');
            EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_recordset(NULL::%s, $1)',
                           v_table, v_columns, v_columns, v_table)
                USING (SELECT jsonb_agg(o->'row' || jsonb_build_object('school_id', p_school))
                       FROM jsonb_array_elements(p_ops) o);
            RETURN ARRAY(SELECT jsonb_build_object('op_id', o->>'op_id', 'status', 'applied')
                         FROM jsonb_array_elements(p_ops) WITH ORDINALITY x(o, n) ORDER BY n);
        END IF;

        -- Updates: every operation merged against its locked row, column by column, each
        -- side in the server's own spelling of each type (as rollbook_sync_apply_op).
        EXECUTE format($q$
            WITH o AS (SELECT x.op, x.n FROM jsonb_array_elements($1) WITH ORDINALITY x(op, n)),
            s AS (SELECT t.id, to_jsonb(t) AS server FROM %1$s t WHERE t.id = ANY ($2) FOR UPDATE),
            m AS (SELECT o.n, o.op, s.server,
                         to_jsonb(jsonb_populate_record(NULL::%1$s, coalesce(o.op->'before', '{}'))) AS before,
                         to_jsonb(jsonb_populate_record(NULL::%1$s, coalesce(o.op->'after', '{}'))) AS after
                  FROM o LEFT JOIN s ON s.id = (o.op->>'id')::uuid)
            SELECT coalesce(bool_and(
                       m.server IS NOT NULL
                       AND (m.server->>'school_id')::uuid = $3
                       AND (m.server->>'deleted_at' IS NULL OR (m.op->'after') ? 'deleted_at')
                       AND NOT c.conflict), false),
                   jsonb_agg(jsonb_build_object('id', m.op->>'id', 'op_id', m.op->>'op_id',
                                                'apply', c.apply) ORDER BY m.n)
            FROM m CROSS JOIN LATERAL (
                SELECT coalesce(jsonb_object_agg(k, m.after->k) FILTER (
                           WHERE (m.server->k) IS DISTINCT FROM (m.after->k)
                             AND (m.server->k) IS NOT DISTINCT FROM (m.before->k)), '{}') AS apply,
                       coalesce(bool_or((m.server->k) IS DISTINCT FROM (m.after->k)
                                        AND (m.server->k) IS DISTINCT FROM (m.before->k)),
                                false) AS conflict
                FROM jsonb_object_keys(coalesce(m.op->'after', '{}')) k
                WHERE k NOT IN (%2$s)) c
        $q$, v_table, '{UNCOMPARED}')
            INTO v_clean, v_plan USING p_ops, v_ids, p_school;
        IF NOT v_clean THEN
            RETURN NULL;
        END IF;
        SELECT string_agg(quote_ident(k), ', '), string_agg('r.' || quote_ident(k), ', ')
        INTO v_columns, v_values
        FROM (SELECT DISTINCT jsonb_object_keys(p->'apply') k
              FROM jsonb_array_elements(v_plan) p) keys;
        IF v_columns IS NOT NULL THEN
            -- Each row keeps the columns its operation does not change: the record the
            -- new values are laid over is the row itself.
            EXECUTE format('UPDATE %s t SET (%s) = (SELECT %s FROM jsonb_populate_record(t, p.apply) r) '
                           'FROM jsonb_to_recordset($1) AS p(id uuid, apply jsonb) '
                           'WHERE t.id = p.id AND p.apply <> ''{}''::jsonb',
                           v_table, v_columns, v_values)
                USING v_plan;
        END IF;
        RETURN ARRAY(SELECT jsonb_build_object(
                         'op_id', p->>'op_id',
                         'status', CASE WHEN p->'apply' = '{}'::jsonb THEN 'unchanged' ELSE 'applied' END,
                         'conflicts', '[]'::jsonb)
                     FROM jsonb_array_elements(v_plan) WITH ORDINALITY x(p, n) ORDER BY n);
    EXCEPTION
        WHEN unique_violation OR foreign_key_violation OR check_violation
             OR not_null_violation OR exclusion_violation THEN
            RETURN NULL;  -- undone; one at a time, each refusal is answered for its operation
    END;
END
$$;
""".replace("{UNCOMPARED}", UNCOMPARED.replace("'", "''"))

PUSH = """
CREATE OR REPLACE FUNCTION public.rollbook_sync_push(p_device uuid, p_revision text, p_ops jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_school uuid;
    v_accepted text[];
    v_run record;
    v_op jsonb;
    v_result jsonb;
    v_batch jsonb[];
    -- Arrays, not a growing JSON value: appending to jsonb copies it every time.
    v_results jsonb[] := '{}';
    v_constraint text;
    v_message text;
    v_row jsonb;
    v_answered jsonb;
    v_new_ids text[] := '{}';
    v_new_results jsonb[] := '{}';
BEGIN
    v_school := rollbook_sync_school_of(p_device);
    SELECT accepted_revisions INTO v_accepted FROM sync_server;
    IF NOT p_revision = ANY (coalesce(v_accepted, '{}')) THEN
        RAISE EXCEPTION 'upgrade required: the school server takes database version %, '
                        'this desktop has %', array_to_string(v_accepted, ' or '), p_revision
            USING ERRCODE = 'RB002';
    END IF;
    -- One push per device at a time: a second one (a retry racing the first) waits, then
    -- finds the first one's answers below instead of applying the same operations again.
    PERFORM pg_advisory_xact_lock(hashtext('rollbook_sync_push'), hashtext(p_device::text));
    UPDATE sync_device SET last_seen_at = now() WHERE id = p_device;
    PERFORM set_config('rollbook.origin', 'local', true);
    -- A retry after a lost answer gets the stored results, nothing applied twice. Looked
    -- up in one statement: one lookup per operation would be planned for whatever the
    -- table's statistics last said (a seq scan each, if they were taken while it was empty).
    SELECT jsonb_object_agg(a.op_id, a.result) INTO v_answered
    FROM sync_applied_op a
    WHERE a.op_id IN (SELECT o->>'op_id' FROM jsonb_array_elements(p_ops) o);
    -- Runs of consecutive operations alike enough to apply at once: inserts or updates of
    -- one table by one person (inserts naming the same columns). Everything else, and
    -- every operation of a push already answered, is a run of its own.
    FOR v_run IN
        WITH o AS (
            SELECT x.op, x.n, x.op->>'entity' AS entity, x.op->>'action' AS action,
                   x.op->>'actor' AS actor,
                   CASE WHEN x.op->>'action' = 'insert' THEN
                       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(x.op->'row') k)
                   END AS columns,
                   v_answered IS NULL AND x.op->>'action' IN ('insert', 'update')
                       AND x.op->>'entity' <> 'school' AS alike
            FROM jsonb_array_elements(p_ops) WITH ORDINALITY x(op, n)),
        starts AS (
            SELECT o.*, CASE WHEN alike AND lag(alike) OVER w AND entity = lag(entity) OVER w
                                  AND action = lag(action) OVER w
                                  AND actor IS NOT DISTINCT FROM lag(actor) OVER w
                                  AND columns IS NOT DISTINCT FROM lag(columns) OVER w
                             THEN 0 ELSE 1 END AS starts
            FROM o WINDOW w AS (ORDER BY n)),
        runs AS (SELECT s.*, sum(starts) OVER (ORDER BY n) AS run FROM starts s)
        SELECT run, bool_and(alike) AND count(*) > 1 AS together, jsonb_agg(op ORDER BY n) AS ops
        FROM runs GROUP BY run ORDER BY run
    LOOP
        v_batch := NULL;
        IF v_run.together THEN
            v_batch := rollbook_sync_apply_run(v_school, v_run.ops);
        END IF;
        IF v_batch IS NOT NULL THEN
            v_new_ids := v_new_ids || ARRAY(SELECT o->>'op_id' FROM jsonb_array_elements(v_run.ops)
                                            WITH ORDINALITY x(o, n) ORDER BY n);
            v_new_results := v_new_results || v_batch;
            v_results := v_results || v_batch;
            CONTINUE;
        END IF;
        FOR v_op IN SELECT value FROM jsonb_array_elements(v_run.ops) LOOP
            v_result := v_answered -> (v_op->>'op_id');
            IF v_result IS NOT NULL THEN
                v_results := array_append(v_results, v_result);
                CONTINUE;
            END IF;
            BEGIN
                v_result := rollbook_sync_apply_op(v_school, v_op);
            EXCEPTION
                WHEN unique_violation THEN
                    GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME, v_message = MESSAGE_TEXT;
                    v_row := coalesce(v_op->'row', '{}'::jsonb) || coalesce(v_op->'local_row', '{}'::jsonb)
                             || coalesce(v_op->'after', '{}'::jsonb)
                             || jsonb_build_object('id', v_op->>'id', 'school_id', v_school);
                    v_result := jsonb_build_object('op_id', v_op->>'op_id', 'status', 'conflict',
                        'conflicts', jsonb_build_array(jsonb_build_object(
                            'kind', 'duplicate_key', 'constraint', v_constraint,
                            'message', v_message, 'local', v_row,
                            'existing_id', rollbook_sync_duplicate_of(
                                ('public.' || quote_ident(v_op->>'entity'))::regclass,
                                v_constraint, v_row))));
                WHEN foreign_key_violation OR check_violation OR not_null_violation THEN
                    GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME, v_message = MESSAGE_TEXT;
                    v_result := jsonb_build_object('op_id', v_op->>'op_id', 'status', 'conflict',
                        'conflicts', jsonb_build_array(jsonb_build_object(
                            'kind', 'refused', 'constraint', v_constraint, 'message', v_message,
                            'local', coalesce(v_op->'row', v_op->'after'))));
            END;
            v_new_ids := array_append(v_new_ids, v_op->>'op_id');
            v_new_results := array_append(v_new_results, v_result);
            v_results := array_append(v_results, v_result);
        END LOOP;
    END LOOP;
    INSERT INTO sync_applied_op (op_id, device_id, result)
    SELECT i, p_device, r FROM unnest(v_new_ids, v_new_results) AS u(i, r)
    ON CONFLICT (op_id) DO NOTHING;
    RETURN to_jsonb(v_results);
END
$$;
"""


def _revision_0014() -> ModuleType:
    """The 0014 revision's module, for the push function it created."""
    path = Path(__file__).with_name("0014_sync_engine.py")
    spec = importlib.util.spec_from_file_location("rollbook_revision_0014", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute(APPLY_RUN)
    # Like apply_op it takes a school as an argument: only the push calls it.
    op.execute("REVOKE EXECUTE ON FUNCTION public.rollbook_sync_apply_run(uuid, jsonb) FROM PUBLIC")
    op.execute(PUSH)


def downgrade() -> None:
    op.execute(_revision_0014().PUSH.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP FUNCTION public.rollbook_sync_apply_run(uuid, jsonb)")
