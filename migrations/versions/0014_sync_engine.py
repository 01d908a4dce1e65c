"""offline sync: the desktop's sync state and conflicts, the server's devices, applied
operations and the push and pull functions

Revision ID: 0014_sync_engine
Revises: 0013_text_limits
Create Date: 2026-12-07

Every Rollbook database gets the same schema, desktop or school server (app/sync):

- desktop side: ``sync_state`` (one row per school: the device, how far local changes
  were pushed, the pull cursor, the initial sync's progress, the retry back-off) and
  ``sync_pushed_tx`` (local transactions pushed since the push floor), and
  ``sync_conflict`` (what a push could not apply, per column, for a person to decide);
- server side: ``sync_device`` (the desktops allowed to sync a school),
  ``sync_applied_op`` (every pushed operation's id with its result, so a retry after a
  lost answer applies nothing twice) and ``sync_server`` (the schema revisions a push
  may carry), with ``rollbook_sync_push`` and ``rollbook_sync_pull`` (SECURITY
  DEFINER: a device needs only EXECUTE on them).

``rollbook_touch_row`` changes in one way: a statement applied by the sync (origin
``sync``) keeps the row version and time it sets — those are the server's — instead of
bumping them. The downgrade restores the 0001 function and drops the rest; sync state
and conflicts go with it (nothing of the school's data does).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_sync_engine"
down_revision: str | None = "0013_text_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOUCH_ROW_0001 = """
CREATE OR REPLACE FUNCTION public.rollbook_touch_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- An UPDATE that changes nothing keeps its version: sync and re-imports rely on it.
    -- Generated columns are not computed yet in a BEFORE trigger, so they are left out.
    IF (to_jsonb(NEW) - 'updated_at' - 'row_version' - 'search_vector' - 'sort_name'
        - 'duration_minutes')
       = (to_jsonb(OLD) - 'updated_at' - 'row_version' - 'search_vector' - 'sort_name'
        - 'duration_minutes')
    THEN
        RETURN NEW;
    END IF;
    NEW.updated_at := pg_catalog.now();
    NEW.row_version := OLD.row_version + 1;
    RETURN NEW;
END
$$;
"""

# The same function with one rule first: the sync copies the server's rows, whose
# version and time are the server's; counting them again here would make every
# desktop's numbers drift apart.
TOUCH_ROW = TOUCH_ROW_0001.replace(
    "BEGIN\n",
    "BEGIN\n"
    "    IF current_setting('rollbook.origin', true) = 'sync' THEN\n"
    "        RETURN NEW;\n"
    "    END IF;\n",
    1,
)

# The tables a desktop and the server keep in step, parents before children. Frozen here
# as at this revision (app/sync/tables.py has the same list and a test compares them).
# app_user is left out: accounts and their passwords are not the sync's to copy.
SYNCED_TABLES = (
    "school", "course", "event", "number_sequence", "student", "class_session",
    "course_enrollment", "course_progress", "enrollment_request", "event_team",
    "legacy_group", "event_registration", "legacy_group_member", "session_attendance",
    "certificate", "event_attendance", "event_feedback",
)  # fmt: skip

# The school a registered, active device syncs; every other answer is a refusal.
SCHOOL_OF = """
CREATE FUNCTION public.rollbook_sync_school_of(p_device uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_school uuid;
BEGIN
    SELECT school_id INTO v_school FROM sync_device WHERE id = p_device AND active;
    IF v_school IS NULL THEN
        RAISE EXCEPTION 'this desktop is not registered with the school server'
            USING ERRCODE = 'RB001';
    END IF;
    RETURN v_school;
END
$$;
"""

# One operation, inside its own savepoint (the caller's EXCEPTION block). Values are
# compared as the server's own types see them (each side's JSON goes through
# jsonb_populate_record of the table), so "2026-12-07T10:00:00+01:00" and
# "2026-12-07T09:00:00+00:00" are the same time, whatever each session's time zone.
APPLY_OP = """
CREATE FUNCTION public.rollbook_sync_apply_op(p_school uuid, p_op jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_table regclass := ('public.' || quote_ident(p_op->>'entity'))::regclass;
    v_id uuid := (p_op->>'id')::uuid;
    v_action text := p_op->>'action';
    v_server jsonb;
    v_before jsonb;
    v_after jsonb;
    v_local jsonb;
    v_apply jsonb := '{}'::jsonb;
    v_conflicts jsonb := '[]'::jsonb;
    v_key text;
    v_columns text;
    v_count bigint;
BEGIN
    PERFORM set_config('rollbook.actor', coalesce(p_op->>'actor', 'sync'), true);
    EXECUTE format('SELECT to_jsonb(t) FROM %s t WHERE t.id = $1 FOR UPDATE', v_table)
        INTO v_server USING v_id;
    IF v_server IS NOT NULL AND v_table <> 'public.school'::regclass
       AND (v_server->>'school_id')::uuid IS DISTINCT FROM p_school THEN
        RAISE EXCEPTION 'row % belongs to another school', v_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;

    IF v_action = 'insert' THEN
        v_after := p_op->'row';
        IF v_table <> 'public.school'::regclass THEN
            v_after := v_after || jsonb_build_object('school_id', p_school);
        END IF;
        IF v_server IS NOT NULL THEN
            -- Already there (pushed before under another operation, or a re-initialised
            -- desktop): what differs is a conflict per column, like an edit.
            v_before := v_server;
        ELSE
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_columns
            FROM pg_attribute a
            WHERE a.attrelid = v_table AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attgenerated = '' AND v_after ? a.attname
              AND a.attname NOT IN ('row_version', 'updated_at');
            EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM jsonb_populate_record(NULL::%s, $1)',
                           v_table, v_columns, v_columns, v_table) USING v_after;
            RETURN jsonb_build_object('op_id', p_op->>'op_id', 'status', 'applied');
        END IF;
    ELSE
        v_before := coalesce(p_op->'before', '{}'::jsonb);
        v_after := coalesce(p_op->'after', '{}'::jsonb);
    END IF;

    IF v_server IS NULL THEN
        IF v_action = 'delete' THEN
            RETURN jsonb_build_object('op_id', p_op->>'op_id', 'status', 'unchanged');
        END IF;
        RETURN jsonb_build_object('op_id', p_op->>'op_id', 'status', 'conflict',
            'conflicts', jsonb_build_array(jsonb_build_object(
                'kind', 'missing_row', 'local', v_after)));
    END IF;

    -- Every side in the server's own spelling of each type.
    EXECUTE format('SELECT to_jsonb(jsonb_populate_record(NULL::%s, $1)), '
                   'to_jsonb(jsonb_populate_record(NULL::%s, $2)), '
                   'to_jsonb(jsonb_populate_record(NULL::%s, $3))',
                   v_table, v_table, v_table)
        INTO v_before, v_after, v_local
        USING v_before, v_after, coalesce(p_op->'local_row', '{}'::jsonb);
    v_before := v_before - 'row_version' - 'updated_at';
    v_after := v_after - 'row_version' - 'updated_at';

    IF v_action IN ('tombstone', 'delete') THEN
        IF v_server->>'deleted_at' IS NOT NULL AND v_action = 'tombstone' THEN
            RETURN jsonb_build_object('op_id', p_op->>'op_id', 'status', 'unchanged');
        END IF;
        -- Deleting what the server has changed since this desktop last saw it would
        -- throw that change away: a conflict, never silent.
        FOR v_key IN SELECT k FROM jsonb_object_keys(p_op->'local_row') k
                     WHERE k NOT IN ('deleted_at', 'row_version', 'updated_at', 'created_at',
                                     'search_vector', 'sort_name', 'duration_minutes')
        LOOP
            IF (v_server->v_key) IS DISTINCT FROM (v_local->v_key) THEN
                RETURN jsonb_build_object('op_id', p_op->>'op_id', 'status', 'conflict',
                    'conflicts', jsonb_build_array(jsonb_build_object(
                        'kind', 'delete_edit', 'local', p_op->'after', 'server', v_server)));
            END IF;
        END LOOP;
        IF v_action = 'delete' THEN
            EXECUTE format('DELETE FROM %s WHERE id = $1', v_table) USING v_id;
            RETURN jsonb_build_object('op_id', p_op->>'op_id', 'status', 'applied');
        END IF;
    ELSIF v_server->>'deleted_at' IS NOT NULL AND NOT ((p_op->'after') ? 'deleted_at') THEN
        -- An edit of a row the server has deleted: neither wins on its own.
        RETURN jsonb_build_object('op_id', p_op->>'op_id', 'status', 'conflict',
            'conflicts', jsonb_build_array(jsonb_build_object(
                'kind', 'edit_delete', 'local', p_op->'after', 'server', v_server)));
    END IF;

    -- Three-way merge, one column at a time.
    FOR v_key IN SELECT k FROM jsonb_object_keys(CASE WHEN v_action = 'insert'
                                                      THEN p_op->'row' ELSE p_op->'after' END) k
                 WHERE k NOT IN ('id', 'school_id', 'row_version', 'updated_at', 'created_at',
                                 'search_vector', 'sort_name', 'duration_minutes')
    LOOP
        IF (v_server->v_key) IS NOT DISTINCT FROM (v_after->v_key) THEN
            CONTINUE;  -- the server already holds the new value
        ELSIF v_action <> 'insert'
              AND (v_server->v_key) IS NOT DISTINCT FROM (v_before->v_key) THEN
            v_apply := v_apply || jsonb_build_object(v_key, v_after->v_key);
        ELSE
            v_conflicts := v_conflicts || jsonb_build_object(
                'kind', 'column', 'column', v_key,
                'base', CASE WHEN v_action = 'insert' THEN NULL ELSE v_before->v_key END,
                'local', v_after->v_key, 'server', v_server->v_key);
        END IF;
    END LOOP;

    IF v_apply <> '{}'::jsonb THEN
        SELECT string_agg(quote_ident(k), ', ') INTO v_columns FROM jsonb_object_keys(v_apply) k;
        EXECUTE format('UPDATE %s SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::%s, $1)) '
                       'WHERE id = $2', v_table, v_columns, v_columns, v_table)
            USING v_apply, v_id;
        GET DIAGNOSTICS v_count = ROW_COUNT;
    END IF;
    RETURN jsonb_build_object(
        'op_id', p_op->>'op_id',
        'status', CASE WHEN jsonb_array_length(v_conflicts) > 0 THEN 'conflict'
                       WHEN v_apply <> '{}'::jsonb THEN 'applied' ELSE 'unchanged' END,
        'conflicts', v_conflicts);
END
$$;
"""

# The row an insert collided with on a unique key, found through the index the error
# names: each of its key expressions evaluated on the new row and on the table's rows.
DUPLICATE_OF = """
CREATE FUNCTION public.rollbook_sync_duplicate_of(p_table regclass, p_index text, p_row jsonb)
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_index oid;
    v_terms text;
    v_found uuid;
BEGIN
    SELECT i.indexrelid INTO v_index
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = p_table AND c.relname = p_index;
    IF v_index IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT string_agg(format('(%s) = (SELECT %s FROM jsonb_populate_record(NULL::%s, $1))',
                             pg_get_indexdef(v_index, k, true), pg_get_indexdef(v_index, k, true),
                             p_table), ' AND ')
    INTO v_terms
    FROM generate_series(1, (SELECT indnkeyatts FROM pg_index WHERE indexrelid = v_index)) k;
    EXECUTE format('SELECT id FROM %s WHERE id <> ($1->>''id'')::uuid AND %s LIMIT 1',
                   p_table, v_terms)
        INTO v_found USING p_row;
    RETURN v_found;
END
$$;
"""

PUSH = """
CREATE FUNCTION public.rollbook_sync_push(p_device uuid, p_revision text, p_ops jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_school uuid;
    v_accepted text[];
    v_op jsonb;
    v_result jsonb;
    -- An array, not a growing JSON value: appending to jsonb copies it every time.
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
    FOR v_op IN SELECT value FROM jsonb_array_elements(p_ops) LOOP
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
    INSERT INTO sync_applied_op (op_id, device_id, result)
    SELECT i, p_device, r FROM unnest(v_new_ids, v_new_results) AS u(i, r)
    ON CONFLICT (op_id) DO NOTHING;
    RETURN to_jsonb(v_results);
END
$$;
"""

# Rows changed in transactions the caller's snapshot sees and that began at or after the
# cursor: whatever is still running is not visible yet and its id is not below the next
# cursor (the snapshot's xmin), so a transaction that commits late is never skipped.
# Paged by (table, id), parents first; called inside one REPEATABLE READ transaction so
# every page sees the same snapshot.
PULL = """
CREATE FUNCTION public.rollbook_sync_pull(p_device uuid, p_cursor xid8, p_after_table int,
                                          p_after_id uuid, p_limit int)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_school uuid;
    v_snapshot pg_snapshot := pg_current_snapshot();
    v_tables text[] := '{TABLES}';
    v_rank int;
    v_rows jsonb := '[]'::jsonb;
    v_page jsonb;
    v_left int := p_limit;
BEGIN
    v_school := rollbook_sync_school_of(p_device);
    -- The rows to send are worked out once per pull transaction; later pages reuse them.
    IF current_setting('rollbook.pull_touched', true) IS DISTINCT FROM p_cursor::text THEN
        CREATE TEMP TABLE IF NOT EXISTS rollbook_pull_touched (entity text, entity_id uuid)
            ON COMMIT DROP;
        TRUNCATE pg_temp.rollbook_pull_touched;
        INSERT INTO pg_temp.rollbook_pull_touched
        SELECT DISTINCT a.entity, a.entity_id FROM audit_log a
        WHERE a.school_id = v_school AND a.txid >= p_cursor
          AND pg_visible_in_snapshot(a.txid, v_snapshot) AND a.entity = ANY (v_tables);
        PERFORM set_config('rollbook.pull_touched', p_cursor::text, true);
    END IF;
    FOR v_rank IN greatest(p_after_table, 1) .. array_length(v_tables, 1) LOOP
        EXIT WHEN v_left <= 0;
        EXECUTE format(
            'SELECT coalesce(jsonb_agg(x ORDER BY x.id), ''[]''::jsonb) FROM ('
            '  SELECT t.entity_id AS id, %s AS rank, t.entity, r.row FROM pg_temp.rollbook_pull_touched t'
            '  LEFT JOIN LATERAL (SELECT to_jsonb(s) - ''search_vector'' - ''sort_name'''
            '                    - ''duration_minutes'' AS row FROM %I s WHERE s.id = t.entity_id) r ON true'
            '  WHERE t.entity = %L AND (%s > $1 OR t.entity_id > $2)'
            '  ORDER BY t.entity_id LIMIT $3) x',
            v_rank, v_tables[v_rank], v_tables[v_rank], v_rank)
            INTO v_page
            USING greatest(p_after_table, 0), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid), v_left;
        v_rows := v_rows || v_page;
        v_left := v_left - jsonb_array_length(v_page);
    END LOOP;
    RETURN jsonb_build_object('rows', v_rows, 'next_cursor', pg_snapshot_xmin(v_snapshot)::text,
                              'done', v_left > 0);
END
$$;
""".replace("TABLES", ",".join(SYNCED_TABLES))

# The first copy of a school onto a new desktop: its rows table by table in id order,
# paged, from the caller's REPEATABLE READ snapshot.
SNAPSHOT_PAGE = """
CREATE FUNCTION public.rollbook_sync_snapshot_page(p_device uuid, p_table text, p_after_id uuid,
                                                   p_limit int)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_school uuid;
    v_page jsonb;
BEGIN
    v_school := rollbook_sync_school_of(p_device);
    IF NOT p_table = ANY ('{TABLES}'::text[]) THEN
        RAISE EXCEPTION 'not a synced table: %', p_table;
    END IF;
    EXECUTE format(
        'SELECT coalesce(jsonb_agg(x.row ORDER BY x.id), ''[]''::jsonb) FROM ('
        '  SELECT s.id, to_jsonb(s) - ''search_vector'' - ''sort_name'' - ''duration_minutes'' AS row'
        '  FROM %I s WHERE %s = $1 AND s.id > $2 ORDER BY s.id LIMIT $3) x',
        p_table, CASE WHEN p_table = 'school' THEN 's.id' ELSE 's.school_id' END)
        INTO v_page
        USING v_school, coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid), p_limit;
    RETURN jsonb_build_object('rows', v_page,
                              'cursor', pg_snapshot_xmin(pg_current_snapshot())::text);
END
$$;
""".replace("TABLES", ",".join(SYNCED_TABLES))

SNAPSHOT_COUNT = """
CREATE FUNCTION public.rollbook_sync_snapshot_count(p_device uuid, p_table text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_school uuid;
    v_count bigint;
BEGIN
    v_school := rollbook_sync_school_of(p_device);
    IF NOT p_table = ANY ('{TABLES}'::text[]) THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT count(*) FROM %I s WHERE %s = $1', p_table,
                   CASE WHEN p_table = 'school' THEN 's.id' ELSE 's.school_id' END)
        INTO v_count USING v_school;
    RETURN v_count;
END
$$;
""".replace("TABLES", ",".join(SYNCED_TABLES))

HELLO = """
CREATE FUNCTION public.rollbook_sync_hello(p_school_code text, p_device_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_found jsonb;
BEGIN
    SELECT jsonb_build_object('device_id', d.id, 'school_id', s.id, 'school_code', s.code,
                              'school_name', s.name,
                              'accepted_revisions', (SELECT to_jsonb(accepted_revisions) FROM sync_server))
    INTO v_found
    FROM sync_device d JOIN school s ON s.id = d.school_id
    WHERE s.code = upper(p_school_code) AND lower(d.name) = lower(p_device_name) AND d.active;
    IF v_found IS NULL THEN
        RAISE EXCEPTION 'the school server has no device "%" for school %; add it there with '
                        '"rollbook server add-device %"', p_device_name, upper(p_school_code),
                        p_device_name
            USING ERRCODE = 'RB001';
    END IF;
    RETURN v_found;
END
$$;
"""

FUNCTIONS = ("rollbook_sync_hello(text, text)",
             "rollbook_sync_snapshot_count(uuid, text)",
             "rollbook_sync_snapshot_page(uuid, text, uuid, int)",
             "rollbook_sync_pull(uuid, xid8, int, uuid, int)",
             "rollbook_sync_push(uuid, text, jsonb)",
             "rollbook_sync_duplicate_of(regclass, text, jsonb)",
             "rollbook_sync_apply_op(uuid, jsonb)",
             "rollbook_sync_school_of(uuid)")  # fmt: skip


def upgrade() -> None:
    uuid_col = postgresql.UUID(as_uuid=True)
    now = sa.text("now()")
    op.create_table(
        "sync_state",
        sa.Column(
            "school_id",
            uuid_col,
            sa.ForeignKey("school.id", name="fk_sync_state_school_id_school"),
            primary_key=True,
        ),
        sa.Column("device_id", uuid_col, nullable=False),
        sa.Column("device_name", sa.Text(), nullable=False),
        sa.Column("server", sa.Text(), nullable=False),
        # Local audit entries up to this id are all pushed; above it, the transactions
        # listed in sync_pushed_tx are.
        sa.Column("push_floor", sa.BigInteger(), nullable=False, server_default="0"),
        # The server's transaction id (xid8) every pull starts from, as text.
        sa.Column("pull_cursor", sa.Text()),
        sa.Column("initial_table", sa.Integer(), nullable=True),
        sa.Column("initial_after", uuid_col, nullable=True),
        sa.Column("initial_done", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("last_sync_at", sa.DateTime(timezone=True)),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_retry_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "sync_pushed_tx",
        sa.Column("school_id", uuid_col, primary_key=True),
        sa.Column("txid", sa.Text(), primary_key=True),
    )
    op.create_table(
        "sync_conflict",
        sa.Column("id", uuid_col, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("school_id", uuid_col, nullable=False),
        sa.Column("op_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_id", uuid_col, nullable=False),
        sa.Column("column_name", sa.Text(), nullable=False, server_default=""),
        sa.Column("base", postgresql.JSONB()),
        sa.Column("local", postgresql.JSONB()),
        sa.Column("server", postgresql.JSONB()),
        sa.Column("existing_id", uuid_col),
        sa.Column("detail", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolution", sa.Text()),
        sa.CheckConstraint(
            "kind IN ('column', 'edit_delete', 'delete_edit', 'duplicate_key', 'missing_row', "
            "'refused')",
            name="ck_sync_conflict_kind_valid",
        ),
        # A retried push answers with the stored result: it must not record it twice.
        sa.UniqueConstraint("op_id", "kind", "column_name", name="uq_sync_conflict_once"),
    )
    op.create_index(
        "ix_sync_conflict_open",
        "sync_conflict",
        ["school_id"],
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "sync_device",
        sa.Column("id", uuid_col, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column(
            "school_id",
            uuid_col,
            sa.ForeignKey("school.id", name="fk_sync_device_school_id_school"),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "uq_sync_device_name", "sync_device", ["school_id", sa.text("lower(name)")], unique=True
    )
    op.create_table(
        "sync_applied_op",
        sa.Column("op_id", sa.Text(), primary_key=True),
        sa.Column("device_id", uuid_col, nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    )
    op.create_table(
        "sync_server",
        sa.Column("id", sa.Boolean(), primary_key=True, server_default=sa.true()),
        sa.Column("accepted_revisions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("initialised_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.CheckConstraint("id", name="ck_sync_server_one_row"),
    )
    op.execute(TOUCH_ROW)
    for statement in (
        SCHOOL_OF,
        APPLY_OP,
        DUPLICATE_OF,
        PUSH,
        PULL,
        SNAPSHOT_PAGE,
        SNAPSHOT_COUNT,
        HELLO,
    ):
        op.execute(statement)
    # The two inner functions take a school as an argument: called directly they would
    # write any school's rows. Only the push (which finds the school from the device)
    # calls them, as their owner.
    for inner in ("rollbook_sync_apply_op(uuid, jsonb)",
                  "rollbook_sync_duplicate_of(regclass, text, jsonb)"):  # fmt: skip
        op.execute(f"REVOKE EXECUTE ON FUNCTION public.{inner} FROM PUBLIC")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS public.{function}")
    op.execute(TOUCH_ROW_0001)
    for table in ("sync_server", "sync_applied_op", "sync_device", "sync_conflict",
                  "sync_pushed_tx", "sync_state"):  # fmt: skip
        op.drop_table(table)
