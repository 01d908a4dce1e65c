"""change capture in the database, enrollment periods, requests runs

Revision ID: 0004_change_capture
Revises: 0003_student_name_search
Create Date: 2026-12-01

- rollbook_capture(): one trigger function, attached AFTER INSERT / UPDATE / DELETE
  FOR EACH STATEMENT with transition tables to every school-data table, writes the
  audit log set-based: one entry per changed row with the action (insert, update,
  delete, or tombstone for an update that sets deleted_at), only the changed columns
  as before/after, the actor, run id and origin from transaction-local settings
  (rollbook.actor, rollbook.run_id, rollbook.origin; a change made with plain SQL gets
  the database user as actor and origin 'local'), and the transaction id. It also
  notes each table it captured rows of in the transaction-local setting
  rollbook.changed, which is how an operation learns what it wrote.
- audit_log gains txid (pg_current_xact_id() of the writing transaction: the offline
  sync reads local changes by transaction) and origin ('local' or 'sync'). Entries
  written before this revision keep their actions (create, enroll, reactivate …) and
  have no txid.
- course_enrollment.periods: the dates the student was enrolled, as a multirange of
  half-open date ranges [from, until). Re-enrolling adds a period instead of moving
  enrolled_on, so past registers and attendance rates stay right. Existing rows get
  [enrolled_on, ended_on); periods that earlier re-enrollments overwrote are brought
  back from the audit log where it kept the old dates. Where a re-enrollment was
  logged without them, the attendance the consistency check accepted before (any
  session before the re-enrollment) stays accepted: the first period then starts at
  the earliest such session.
- maintenance_run.kind gains 'requests' (approving or rejecting requests in bulk is a
  recorded run).
- audit_log's indexes are made cheap to keep up now that every change writes an entry:
  a row's history by entity_id alone (ids are unique across tables) instead of
  (entity, entity_id), and the time index becomes BRIN (entries arrive in time order).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_change_capture"
down_revision: str | None = "0003_student_name_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table that holds school data; frozen here as it was at this revision (a later
# table gets its triggers in its own migration; tests/test_change_capture.py checks
# that every captured model has them).
CAPTURED_TABLES = (
    "school", "app_user", "student", "course", "course_enrollment", "enrollment_request",
    "course_progress", "legacy_group", "legacy_group_member", "class_session",
    "session_attendance", "event", "event_team", "event_registration", "event_attendance",
    "event_feedback", "certificate", "number_sequence",
)  # fmt: skip

# Bookkeeping columns: they change with every write and say nothing of their own.
# search_vector, sort_name and duration_minutes are generated from other columns.
NOT_RECORDED = "{updated_at,row_version,search_vector,sort_name,duration_minutes}"
NOT_RECORDED_ON_INSERT = (
    "{id,school_id,created_at,updated_at,row_version,search_vector,sort_name,duration_minutes}"
)

# 0005 replaces this function with a cheaper one and brings it back on downgrade.
CREATE_CAPTURE = f"""
CREATE OR REPLACE FUNCTION public.rollbook_capture() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_actor text := coalesce(nullif(current_setting('rollbook.actor', true), ''), session_user);
    v_run uuid := nullif(current_setting('rollbook.run_id', true), '')::uuid;
    v_origin text := coalesce(nullif(current_setting('rollbook.origin', true), ''), 'local');
    v_txid xid8 := pg_current_xact_id();
    v_captured bigint;
    v_changed text;
BEGIN
    -- Every captured table has id uuid; school_id is read from the row's JSON because
    -- the school table itself has none (its entries carry its own id).
    IF TG_OP = 'INSERT' THEN
        INSERT INTO public.audit_log
            (school_id, actor, action, entity, entity_id, changes, run_id, txid, origin)
        SELECT coalesce((r.row ->> 'school_id')::uuid, r.id), v_actor, 'insert', TG_TABLE_NAME,
               r.id,
               jsonb_build_object('after',
                   jsonb_strip_nulls(r.row - '{NOT_RECORDED_ON_INSERT}'::text[])),
               v_run, v_txid, v_origin
        FROM (SELECT n.id, to_jsonb(n) AS row FROM new_rows n) r;
    ELSIF TG_OP = 'UPDATE' THEN
        -- OFFSET 0 keeps each row's JSON computed once, not once per compared column.
        INSERT INTO public.audit_log
            (school_id, actor, action, entity, entity_id, changes, run_id, txid, origin)
        SELECT coalesce((d.new_row ->> 'school_id')::uuid, d.id), v_actor,
               CASE WHEN d.old_row ->> 'deleted_at' IS NULL
                         AND d.new_row ->> 'deleted_at' IS NOT NULL
                    THEN 'tombstone' ELSE 'update' END,
               TG_TABLE_NAME, d.id, c.changes, v_run, v_txid, v_origin
        FROM (SELECT id, to_jsonb(o) - '{NOT_RECORDED}'::text[] AS old_row,
                     to_jsonb(n) AS new_row
              FROM old_rows o JOIN new_rows n USING (id) OFFSET 0) d
        CROSS JOIN LATERAL (
            SELECT jsonb_build_object('before', jsonb_object_agg(b.key, b.value),
                                      'after', jsonb_object_agg(b.key, d.new_row -> b.key))
                   AS changes
            FROM jsonb_each(d.old_row) b
            WHERE b.value IS DISTINCT FROM d.new_row -> b.key
            HAVING count(*) > 0) c;
    ELSE
        INSERT INTO public.audit_log
            (school_id, actor, action, entity, entity_id, changes, run_id, txid, origin)
        SELECT coalesce((r.row ->> 'school_id')::uuid, r.id), v_actor, 'delete', TG_TABLE_NAME,
               r.id,
               jsonb_build_object('before',
                   jsonb_strip_nulls(r.row - '{NOT_RECORDED_ON_INSERT}'::text[])),
               v_run, v_txid, v_origin
        FROM (SELECT o.id, to_jsonb(o) AS row FROM old_rows o) r;
    END IF;
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

CREATE_ENROLLMENT_PERIODS = """
-- An enrollment inserted without its periods (plain SQL, bulk loads) is enrolled from
-- enrolled_on: until now while active, else until ended_on.
CREATE FUNCTION public.rollbook_enrollment_periods() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.periods := datemultirange(daterange(
        NEW.enrolled_on,
        CASE WHEN NEW.active THEN NULL
             ELSE greatest(coalesce(NEW.ended_on, NEW.enrolled_on), NEW.enrolled_on) END));
    RETURN NEW;
END
$$;
"""

# Periods the audit log still knows: re-enrollments made through the enrollment
# service logged the old enrolled_on and ended_on.
RESTORE_PERIODS = """
UPDATE course_enrollment e SET periods = datemultirange(daterange(
    e.enrolled_on,
    CASE WHEN e.active AND e.deleted_at IS NULL THEN NULL
         ELSE greatest(coalesce(e.ended_on, e.enrolled_on), e.enrolled_on) END));

WITH earlier AS (
  SELECT l.entity_id AS id,
         range_agg(daterange((l.changes -> 'before' ->> 'enrolled_on')::date,
                             (l.changes -> 'before' ->> 'ended_on')::date)) AS periods
  FROM audit_log l
  WHERE l.entity = 'course_enrollment' AND l.action = 'reactivate'
    AND l.changes -> 'before' ->> 'enrolled_on' IS NOT NULL
    AND l.changes -> 'before' ->> 'ended_on' IS NOT NULL
    AND (l.changes -> 'before' ->> 'ended_on')::date
        >= (l.changes -> 'before' ->> 'enrolled_on')::date
  GROUP BY l.entity_id)
UPDATE course_enrollment e SET periods = e.periods + earlier.periods
FROM earlier WHERE earlier.id = e.id;

WITH accepted AS (
  SELECT a.enrollment_id AS id, min(cs.session_date) AS first_session
  FROM session_attendance a
  JOIN class_session cs ON cs.id = a.session_id
  JOIN course_enrollment e ON e.id = a.enrollment_id
  WHERE cs.session_date < e.enrolled_on
    AND NOT e.periods @> cs.session_date
    AND e.id IN (SELECT l.entity_id FROM audit_log l
                 WHERE l.entity = 'course_enrollment' AND l.action = 'reactivate')
  GROUP BY a.enrollment_id)
UPDATE course_enrollment e
SET periods = e.periods + datemultirange(daterange(accepted.first_session, e.enrolled_on))
FROM accepted WHERE accepted.id = e.id;
"""


def _capture_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_capture_insert AFTER INSERT ON {table} "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.rollbook_capture()",
        f"CREATE TRIGGER {table}_capture_update AFTER UPDATE ON {table} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.rollbook_capture()",
        f"CREATE TRIGGER {table}_capture_delete AFTER DELETE ON {table} "
        "REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.rollbook_capture()",
    ]


def upgrade() -> None:
    op.execute("ALTER TABLE audit_log ADD COLUMN txid xid8")
    op.add_column(
        "audit_log",
        sa.Column("origin", sa.Text(), server_default="local", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_audit_log_origin_valid"), "audit_log", "origin IN ('local', 'sync')"
    )
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.create_index("ix_audit_log_entity_id", "audit_log", ["entity_id"])
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.create_index("ix_audit_log_at", "audit_log", ["at"], postgresql_using="brin")
    op.drop_constraint(op.f("ck_maintenance_run_kind_valid"), "maintenance_run", type_="check")
    op.create_check_constraint(
        op.f("ck_maintenance_run_kind_valid"),
        "maintenance_run",
        "kind IN ('import', 'audit', 'backfill', 'consistency', 'repair', 'sync', 'requests')",
    )
    op.add_column(
        "course_enrollment", sa.Column("periods", postgresql.DATEMULTIRANGE(), nullable=True)
    )
    op.execute(CREATE_CAPTURE)
    op.execute(CREATE_ENROLLMENT_PERIODS)
    # Filling the new column is not a change of anyone's enrollment: no new version.
    op.execute("ALTER TABLE course_enrollment DISABLE TRIGGER course_enrollment_touch_row")
    op.execute(RESTORE_PERIODS)
    op.execute("ALTER TABLE course_enrollment ENABLE TRIGGER course_enrollment_touch_row")
    op.alter_column("course_enrollment", "periods", nullable=False)
    op.execute(
        "CREATE TRIGGER course_enrollment_default_periods BEFORE INSERT ON course_enrollment "
        "FOR EACH ROW WHEN (NEW.periods IS NULL) "
        "EXECUTE FUNCTION public.rollbook_enrollment_periods()"
    )
    for table in CAPTURED_TABLES:
        for statement in _capture_triggers(table):
            op.execute(statement)


def downgrade() -> None:
    for table in CAPTURED_TABLES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_capture_{event} ON {table}")
    op.execute("DROP TRIGGER IF EXISTS course_enrollment_default_periods ON course_enrollment")
    op.execute("DROP FUNCTION IF EXISTS public.rollbook_enrollment_periods()")
    op.execute("DROP FUNCTION IF EXISTS public.rollbook_capture()")
    op.drop_column("course_enrollment", "periods")
    # Runs of request decisions stay in the history, as imports that say what they were.
    op.execute(
        "UPDATE maintenance_run SET kind = 'import', "
        "params = params || '{\"recorded_as\": \"requests\"}'::jsonb WHERE kind = 'requests'"
    )
    op.drop_constraint(op.f("ck_maintenance_run_kind_valid"), "maintenance_run", type_="check")
    op.create_check_constraint(
        op.f("ck_maintenance_run_kind_valid"),
        "maintenance_run",
        "kind IN ('import', 'audit', 'backfill', 'consistency', 'repair', 'sync')",
    )
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.create_index("ix_audit_log_at", "audit_log", ["school_id", "at"])
    op.drop_index("ix_audit_log_entity_id", table_name="audit_log")
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])
    op.drop_constraint(op.f("ck_audit_log_origin_valid"), "audit_log", type_="check")
    op.drop_column("audit_log", "origin")
    op.drop_column("audit_log", "txid")
