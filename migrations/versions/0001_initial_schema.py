"""initial schema

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-21

Every table of the Rollbook data model, plus the SQL functions and triggers they rely on:
- rollbook_fold / rollbook_student_search_vector: accent- and case-folded words for
  the student search (PostgreSQL core full-text search: pgserver ships no pg_trgm or
  unaccent), stored in a generated tsvector column with a GIN index;
- rollbook_touch_row: BEFORE UPDATE trigger that bumps row_version and updated_at;
- rollbook_audit_log_append_only: refuses UPDATE and DELETE on audit_log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Letters with no Unicode decomposition, mapped one for one (translate() needs equal
# lengths); every other accent is removed by decomposing (NFD) and dropping the marks.
FOLD_FROM = "ŁłØøĐđıĦħŦŧ"
FOLD_TO = "LlOoDdiHhTt"

VERSIONED_TABLES = [
    "school",
    "app_user",
    "course",
    "event",
    "maintenance_run",
    "number_sequence",
    "student",
    "class_session",
    "course_enrollment",
    "course_progress",
    "enrollment_request",
    "event_team",
    "import_rejected_row",
    "legacy_group",
    "event_registration",
    "legacy_group_member",
    "session_attendance",
    "certificate",
    "event_attendance",
    "event_feedback",
]

CREATE_FUNCTIONS = f"""
CREATE FUNCTION public.rollbook_fold(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
AS $$
BEGIN
    -- Most names are plain ASCII: skip the Unicode work for them.
    IF value ~ '^[[:ascii:]]*$' THEN
        RETURN pg_catalog.lower(value);
    END IF;
    RETURN pg_catalog.lower(pg_catalog.regexp_replace(
        pg_catalog.normalize(pg_catalog.translate(value, '{FOLD_FROM}', '{FOLD_TO}'), 'NFD'),
        '[\\u0300-\\u036f]', '', 'g'));
END
$$;

-- plpgsql rather than SQL: a generated column calls it once per written row, and a
-- SQL function that cannot be inlined there costs several times more per call.
CREATE FUNCTION public.rollbook_student_search_vector(
    first_name text, last_name text, student_no text, email text
) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN pg_catalog.to_tsvector(
        'pg_catalog.simple'::regconfig,
        public.rollbook_fold(
            coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' '
            -- "2024-00123" is findable as "2024 00123", "00123" and "202400123"
            || pg_catalog.regexp_replace(coalesce(student_no, ''), '[^[:alnum:]]+', ' ', 'g')
            || ' '
            || pg_catalog.regexp_replace(coalesce(student_no, ''), '[^[:alnum:]]+', '', 'g')
            || ' ' || coalesce(email, '') || ' '
            -- the local part of an e-mail split into words: "anna.kowalska" -> anna kowalska
            || pg_catalog.regexp_replace(
                pg_catalog.split_part(coalesce(email, ''), '@', 1), '[._+-]+', ' ', 'g')
        )
    )
    -- the whole address as one word, exactly as typed ("zoe+art@example.org")
    || CASE WHEN coalesce(email, '') = '' THEN ''::tsvector
            ELSE pg_catalog.array_to_tsvector(ARRAY[public.rollbook_fold(email)]) END;
END
$$;

CREATE FUNCTION public.rollbook_touch_row() RETURNS trigger
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

CREATE FUNCTION public.rollbook_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""

DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS public.rollbook_audit_log_append_only();
DROP FUNCTION IF EXISTS public.rollbook_touch_row();
DROP FUNCTION IF EXISTS public.rollbook_student_search_vector(text, text, text, text);
DROP FUNCTION IF EXISTS public.rollbook_fold(text);
"""


def create_triggers() -> None:
    for table in VERSIONED_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_touch_row BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION public.rollbook_touch_row()"
        )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION public.rollbook_audit_log_append_only()"
    )


def upgrade() -> None:
    op.execute(CREATE_FUNCTIONS)
    op.create_table(
        "school",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school")),
        sa.UniqueConstraint("code", name=op.f("uq_school_code")),
    )
    op.create_table(
        "app_user",
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'registrar', 'staff')", name=op.f("ck_app_user_role_valid")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_app_user_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
    )
    op.create_index(op.f("ix_app_user_school_id"), "app_user", ["school_id"], unique=False)
    op.create_table(
        "course",
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("term", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sourced_id", sa.Text(), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_course_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_course_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course")),
    )
    op.create_index("ix_course_code", "course", ["school_id", "code"], unique=False)
    op.create_index(op.f("ix_course_school_id"), "course", ["school_id"], unique=False)
    op.create_index(
        "uq_course_name_per_school",
        "course",
        ["school_id", sa.literal_column("lower(name)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "event",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("venue", sa.Text(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("registration_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registration_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("team_size_min", sa.Integer(), server_default="1", nullable=False),
        sa.Column("team_size_max", sa.Integer(), server_default="1", nullable=False),
        sa.Column("allow_individual", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("allow_teams", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("certificate_min_days", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_event_name_not_blank")),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'closed', 'completed', 'cancelled')",
            name=op.f("ck_event_status_valid"),
        ),
        sa.CheckConstraint("allow_individual OR allow_teams", name=op.f("ck_event_allows_someone")),
        sa.CheckConstraint(
            "capacity IS NULL OR capacity > 0", name=op.f("ck_event_capacity_positive")
        ),
        sa.CheckConstraint(
            "certificate_min_days >= 0", name=op.f("ck_event_certificate_min_days_not_negative")
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_event_ends_after_start")),
        sa.CheckConstraint(
            "registration_closes_at IS NULL OR registration_opens_at IS NULL OR registration_closes_at > registration_opens_at",
            name=op.f("ck_event_registration_window_order"),
        ),
        sa.CheckConstraint(
            "team_size_min >= 1 AND team_size_max >= team_size_min",
            name=op.f("ck_event_team_size_range"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_event_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index(op.f("ix_event_school_id"), "event", ["school_id"], unique=False)
    op.create_index("ix_event_starts_on", "event", ["school_id", "starts_on"], unique=False)
    op.create_table(
        "maintenance_run",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('import', 'audit', 'backfill', 'consistency', 'repair', 'sync')",
            name=op.f("ck_maintenance_run_kind_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_maintenance_run_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_maintenance_run_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_run")),
    )
    op.create_index(
        op.f("ix_maintenance_run_school_id"), "maintenance_run", ["school_id"], unique=False
    )
    op.create_index(
        "ix_maintenance_run_started", "maintenance_run", ["school_id", "started_at"], unique=False
    )
    op.create_table(
        "number_sequence",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), server_default="", nullable=False),
        sa.Column("next_value", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("next_value >= 1", name=op.f("ck_number_sequence_next_value_positive")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_number_sequence_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_number_sequence")),
        sa.UniqueConstraint("school_id", "name", name="uq_number_sequence_name"),
    )
    op.create_index(
        op.f("ix_number_sequence_school_id"), "number_sequence", ["school_id"], unique=False
    )
    op.create_table(
        "student",
        sa.Column("student_no", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), server_default="", nullable=False),
        sa.Column("last_name", sa.Text(), server_default="", nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("class_name", sa.Text(), nullable=True),
        sa.Column("grade_level", sa.SmallInteger(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("state_id", sa.Text(), nullable=True),
        sa.Column("sourced_id", sa.Text(), nullable=True),
        sa.Column(
            "sort_name",
            sa.Text(collation="C"),
            sa.Computed(
                "public.rollbook_fold(last_name) || chr(1) || public.rollbook_fold(first_name)",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "public.rollbook_student_search_vector(first_name, last_name, student_no, email)",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "btrim(first_name) <> '' OR btrim(last_name) <> ''", name=op.f("ck_student_has_name")
        ),
        sa.CheckConstraint("btrim(student_no) <> ''", name=op.f("ck_student_student_no_not_blank")),
        sa.CheckConstraint(
            "email IS NULL OR email LIKE '%%_@_%%'", name=op.f("ck_student_email_shape")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'inactive', 'withdrawn')", name=op.f("ck_student_status_valid")
        ),
        sa.CheckConstraint(
            "grade_level BETWEEN -1 AND 13", name=op.f("ck_student_grade_level_range")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_student_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_student")),
    )
    op.create_index("ix_student_class", "student", ["school_id", "class_name"], unique=False)
    op.create_index("ix_student_name", "student", ["school_id", "sort_name"], unique=False)
    op.create_index(op.f("ix_student_school_id"), "student", ["school_id"], unique=False)
    op.create_index(
        "ix_student_search_vector",
        "student",
        ["search_vector"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index("ix_student_status", "student", ["school_id", "status"], unique=False)
    op.create_index(
        "uq_student_email_per_school",
        "student",
        ["school_id", sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL AND email IS NOT NULL"),
    )
    op.create_index(
        "uq_student_no_per_school",
        "student",
        ["school_id", "student_no"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=True),
        sa.Column(
            "changes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("run_id", sa.UUID(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["school_id", "at"], unique=False)
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"], unique=False)
    op.create_index(
        "ix_audit_log_run",
        "audit_log",
        ["run_id"],
        unique=False,
        postgresql_where=sa.text("run_id IS NOT NULL"),
    )
    op.create_table(
        "class_session",
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("session_date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column(
            "duration_minutes",
            sa.Integer(),
            sa.Computed(
                "(EXTRACT(EPOCH FROM (end_time - start_time)) / 60)::integer", persisted=True
            ),
            nullable=False,
        ),
        sa.Column("session_mode", sa.Text(), server_default="in-person", nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column(
            "topics",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "topics_covered",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("teacher_attendance_status", sa.Text(), nullable=True),
        sa.Column("priority_level", sa.Text(), server_default="medium", nullable=False),
        sa.Column("is_recurring", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("session_frequency", sa.Text(), server_default="one-time", nullable=False),
        sa.Column("recurring_pattern", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("series_id", sa.UUID(), nullable=True),
        sa.Column(
            "notification_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("alarm_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("alarm_before_minutes", sa.Integer(), server_default="15", nullable=False),
        sa.Column("is_featured", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("status", sa.Text(), server_default="scheduled", nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "jsonb_typeof(topics) = 'array'", name=op.f("ck_class_session_topics_is_array")
        ),
        sa.CheckConstraint(
            "jsonb_typeof(topics_covered) = 'array'",
            name=op.f("ck_class_session_topics_covered_is_array"),
        ),
        sa.CheckConstraint(
            "priority_level IN ('low', 'medium', 'high', 'urgent')",
            name=op.f("ck_class_session_priority_level_valid"),
        ),
        sa.CheckConstraint(
            "recurring_pattern IS NULL OR jsonb_typeof(recurring_pattern) = 'object'",
            name=op.f("ck_class_session_recurring_pattern_is_object"),
        ),
        sa.CheckConstraint(
            "session_frequency IN ('one-time', 'weekly', 'bi-weekly', 'monthly')",
            name=op.f("ck_class_session_session_frequency_valid"),
        ),
        sa.CheckConstraint(
            "session_mode IN ('online', 'in-person', 'hybrid')",
            name=op.f("ck_class_session_session_mode_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'in-progress', 'completed', 'cancelled')",
            name=op.f("ck_class_session_status_valid"),
        ),
        sa.CheckConstraint(
            "teacher_attendance_status IN ('present', 'absent', 'late')",
            name=op.f("ck_class_session_teacher_attendance_status_valid"),
        ),
        sa.CheckConstraint(
            "alarm_before_minutes >= 0", name=op.f("ck_class_session_alarm_before_not_negative")
        ),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_class_session_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_class_session_course_id_course")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_class_session")),
    )
    op.create_index("ix_class_session_course", "class_session", ["course_id"], unique=False)
    op.create_index(
        "ix_class_session_date", "class_session", ["school_id", "session_date"], unique=False
    )
    op.create_index(
        "ix_class_session_featured",
        "class_session",
        ["school_id", "session_date"],
        unique=False,
        postgresql_where=sa.text("is_featured"),
    )
    op.create_index(
        "ix_class_session_recurring",
        "class_session",
        ["series_id"],
        unique=False,
        postgresql_where=sa.text("is_recurring"),
    )
    op.create_index(
        op.f("ix_class_session_school_id"), "class_session", ["school_id"], unique=False
    )
    op.create_index(
        "ix_class_session_status", "class_session", ["school_id", "status"], unique=False
    )
    op.create_table(
        "course_enrollment",
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("enrolled_on", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), server_default="manual", nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('manual', 'import', 'request', 'backfill', 'sync')",
            name=op.f("ck_course_enrollment_source_valid"),
        ),
        sa.CheckConstraint(
            "ended_on IS NULL OR ended_on >= enrolled_on",
            name=op.f("ck_course_enrollment_ended_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_course_enrollment_course_id_course")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["student.id"], name=op.f("fk_course_enrollment_student_id_student")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_enrollment")),
        sa.UniqueConstraint("course_id", "student_id", name="uq_course_enrollment_once"),
    )
    op.create_index("ix_course_enrollment_course", "course_enrollment", ["course_id"], unique=False)
    op.create_index(
        op.f("ix_course_enrollment_school_id"), "course_enrollment", ["school_id"], unique=False
    )
    op.create_index(
        "ix_course_enrollment_student", "course_enrollment", ["student_id"], unique=False
    )
    op.create_table(
        "course_progress",
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("percent", sa.Numeric(precision=5, scale=2), server_default="0", nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "percent >= 0 AND percent <= 100", name=op.f("ck_course_progress_percent_range")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_course_progress_course_id_course")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["student.id"], name=op.f("fk_course_progress_student_id_student")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_progress")),
        sa.UniqueConstraint("student_id", "course_id", name="uq_course_progress_once"),
    )
    op.create_index("ix_course_progress_course", "course_progress", ["course_id"], unique=False)
    op.create_index(
        op.f("ix_course_progress_school_id"), "course_progress", ["school_id"], unique=False
    )
    op.create_table(
        "enrollment_request",
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_enrollment_request_decided_when_not_pending"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'withdrawn')",
            name=op.f("ck_enrollment_request_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_enrollment_request_course_id_course")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["student.id"], name=op.f("fk_enrollment_request_student_id_student")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_request")),
    )
    op.create_index(
        op.f("ix_enrollment_request_course_id"), "enrollment_request", ["course_id"], unique=False
    )
    op.create_index(
        op.f("ix_enrollment_request_school_id"), "enrollment_request", ["school_id"], unique=False
    )
    op.create_index(
        op.f("ix_enrollment_request_student_id"), "enrollment_request", ["student_id"], unique=False
    )
    op.create_index(
        "uq_enrollment_request_one_pending",
        "enrollment_request",
        ["student_id", "course_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending' AND deleted_at IS NULL"),
    )
    op.create_table(
        "event_team",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("btrim(name) <> ''", name=op.f("ck_event_team_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_event_team_event_id_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_team")),
    )
    op.create_index(op.f("ix_event_team_school_id"), "event_team", ["school_id"], unique=False)
    op.create_index(
        "uq_event_team_name",
        "event_team",
        ["event_id", sa.literal_column("lower(name)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "import_rejected_row",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("errors", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["maintenance_run.id"],
            name=op.f("fk_import_rejected_row_run_id_maintenance_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_rejected_row")),
    )
    op.create_index(
        "ix_import_rejected_row_run", "import_rejected_row", ["run_id", "line_no"], unique=False
    )
    op.create_index(
        op.f("ix_import_rejected_row_school_id"), "import_rejected_row", ["school_id"], unique=False
    )
    op.create_table(
        "legacy_group",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("team_number", sa.Integer(), nullable=True),
        sa.Column("course_name", sa.Text(), nullable=False),
        sa.Column("course_id", sa.UUID(), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"], ["course.id"], name=op.f("fk_legacy_group_course_id_course")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_legacy_group_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_group")),
    )
    op.create_index(op.f("ix_legacy_group_course_id"), "legacy_group", ["course_id"], unique=False)
    op.create_index(op.f("ix_legacy_group_school_id"), "legacy_group", ["school_id"], unique=False)
    op.create_index(
        "uq_legacy_group_per_course",
        "legacy_group",
        ["school_id", sa.literal_column("lower(course_name)"), sa.literal_column("lower(name)")],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "event_registration",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("registration_no", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="registered", nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('registered', 'waitlisted', 'cancelled')",
            name=op.f("ck_event_registration_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_event_registration_event_id_event")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["student.id"], name=op.f("fk_event_registration_student_id_student")
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["event_team.id"], name=op.f("fk_event_registration_team_id_event_team")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_registration")),
        sa.UniqueConstraint("event_id", "student_id", name="uq_event_registration_once"),
        sa.UniqueConstraint("school_id", "registration_no", name="uq_event_registration_no"),
    )
    op.create_index(
        op.f("ix_event_registration_school_id"), "event_registration", ["school_id"], unique=False
    )
    op.create_index(
        "ix_event_registration_student", "event_registration", ["student_id"], unique=False
    )
    op.create_index("ix_event_registration_team", "event_registration", ["team_id"], unique=False)
    op.create_table(
        "legacy_group_member",
        sa.Column("group_id", sa.UUID(), nullable=False),
        sa.Column("student_id", sa.UUID(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["legacy_group.id"],
            name=op.f("fk_legacy_group_member_group_id_legacy_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["student.id"], name=op.f("fk_legacy_group_member_student_id_student")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_group_member")),
        sa.UniqueConstraint("group_id", "student_id", name="uq_legacy_group_member_once"),
    )
    op.create_index(
        op.f("ix_legacy_group_member_school_id"), "legacy_group_member", ["school_id"], unique=False
    )
    op.create_index(
        "ix_legacy_group_member_student", "legacy_group_member", ["student_id"], unique=False
    )
    op.create_table(
        "session_attendance",
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("enrollment_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "marked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("marked_by", sa.Text(), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('present', 'absent', 'late', 'excused')",
            name=op.f("ck_session_attendance_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["course_enrollment.id"],
            name=op.f("fk_session_attendance_enrollment_id_course_enrollment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["class_session.id"],
            name=op.f("fk_session_attendance_session_id_class_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_attendance")),
        sa.UniqueConstraint("session_id", "enrollment_id", name="uq_session_attendance_once"),
    )
    op.create_index(
        "ix_session_attendance_enrollment", "session_attendance", ["enrollment_id"], unique=False
    )
    op.create_index(
        op.f("ix_session_attendance_school_id"), "session_attendance", ["school_id"], unique=False
    )
    op.create_table(
        "certificate",
        sa.Column("registration_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("certificate_no", sa.Text(), nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("issued_by", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('participation', 'merit', 'winner')", name=op.f("ck_certificate_kind_valid")
        ),
        sa.CheckConstraint(
            "revoked_at IS NULL OR revoke_reason IS NOT NULL",
            name=op.f("ck_certificate_revoke_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["event_registration.id"],
            name=op.f("fk_certificate_registration_id_event_registration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("school_id", "certificate_no", name="uq_certificate_no"),
    )
    op.create_index(op.f("ix_certificate_school_id"), "certificate", ["school_id"], unique=False)
    op.create_index(
        "uq_certificate_live_per_kind",
        "certificate",
        ["registration_id", "kind"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL AND deleted_at IS NULL"),
    )
    op.create_table(
        "event_attendance",
        sa.Column("registration_id", sa.UUID(), nullable=False),
        sa.Column("attended_on", sa.Date(), nullable=False),
        sa.Column(
            "checked_in_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["event_registration.id"],
            name=op.f("fk_event_attendance_registration_id_event_registration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_attendance")),
        sa.UniqueConstraint("registration_id", "attended_on", name="uq_event_attendance_once"),
    )
    op.create_index(
        op.f("ix_event_attendance_school_id"), "event_attendance", ["school_id"], unique=False
    )
    op.create_table(
        "event_feedback",
        sa.Column("registration_id", sa.UUID(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("school_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("row_version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_event_feedback_rating_range")),
        sa.ForeignKeyConstraint(
            ["registration_id"],
            ["event_registration.id"],
            name=op.f("fk_event_feedback_registration_id_event_registration"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_feedback")),
        sa.UniqueConstraint("registration_id", name=op.f("uq_event_feedback_registration_id")),
    )
    op.create_index(
        op.f("ix_event_feedback_school_id"), "event_feedback", ["school_id"], unique=False
    )
    create_triggers()


def downgrade() -> None:
    op.drop_index(op.f("ix_event_feedback_school_id"), table_name="event_feedback")
    op.drop_table("event_feedback")
    op.drop_index(op.f("ix_event_attendance_school_id"), table_name="event_attendance")
    op.drop_table("event_attendance")
    op.drop_index(
        "uq_certificate_live_per_kind",
        table_name="certificate",
        postgresql_where=sa.text("revoked_at IS NULL AND deleted_at IS NULL"),
    )
    op.drop_index(op.f("ix_certificate_school_id"), table_name="certificate")
    op.drop_table("certificate")
    op.drop_index(op.f("ix_session_attendance_school_id"), table_name="session_attendance")
    op.drop_index("ix_session_attendance_enrollment", table_name="session_attendance")
    op.drop_table("session_attendance")
    op.drop_index("ix_legacy_group_member_student", table_name="legacy_group_member")
    op.drop_index(op.f("ix_legacy_group_member_school_id"), table_name="legacy_group_member")
    op.drop_table("legacy_group_member")
    op.drop_index("ix_event_registration_team", table_name="event_registration")
    op.drop_index("ix_event_registration_student", table_name="event_registration")
    op.drop_index(op.f("ix_event_registration_school_id"), table_name="event_registration")
    op.drop_table("event_registration")
    op.drop_index(
        "uq_legacy_group_per_course",
        table_name="legacy_group",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(op.f("ix_legacy_group_school_id"), table_name="legacy_group")
    op.drop_index(op.f("ix_legacy_group_course_id"), table_name="legacy_group")
    op.drop_table("legacy_group")
    op.drop_index(op.f("ix_import_rejected_row_school_id"), table_name="import_rejected_row")
    op.drop_index("ix_import_rejected_row_run", table_name="import_rejected_row")
    op.drop_table("import_rejected_row")
    op.drop_index(
        "uq_event_team_name",
        table_name="event_team",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(op.f("ix_event_team_school_id"), table_name="event_team")
    op.drop_table("event_team")
    op.drop_index(
        "uq_enrollment_request_one_pending",
        table_name="enrollment_request",
        postgresql_where=sa.text("status = 'pending' AND deleted_at IS NULL"),
    )
    op.drop_index(op.f("ix_enrollment_request_student_id"), table_name="enrollment_request")
    op.drop_index(op.f("ix_enrollment_request_school_id"), table_name="enrollment_request")
    op.drop_index(op.f("ix_enrollment_request_course_id"), table_name="enrollment_request")
    op.drop_table("enrollment_request")
    op.drop_index(op.f("ix_course_progress_school_id"), table_name="course_progress")
    op.drop_index("ix_course_progress_course", table_name="course_progress")
    op.drop_table("course_progress")
    op.drop_index("ix_course_enrollment_student", table_name="course_enrollment")
    op.drop_index(op.f("ix_course_enrollment_school_id"), table_name="course_enrollment")
    op.drop_index("ix_course_enrollment_course", table_name="course_enrollment")
    op.drop_table("course_enrollment")
    op.drop_index("ix_class_session_status", table_name="class_session")
    op.drop_index(op.f("ix_class_session_school_id"), table_name="class_session")
    op.drop_index(
        "ix_class_session_recurring",
        table_name="class_session",
        postgresql_where=sa.text("is_recurring"),
    )
    op.drop_index(
        "ix_class_session_featured",
        table_name="class_session",
        postgresql_where=sa.text("is_featured"),
    )
    op.drop_index("ix_class_session_date", table_name="class_session")
    op.drop_index("ix_class_session_course", table_name="class_session")
    op.drop_table("class_session")
    op.drop_index(
        "ix_audit_log_run", table_name="audit_log", postgresql_where=sa.text("run_id IS NOT NULL")
    )
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(
        "uq_student_no_per_school",
        table_name="student",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "uq_student_email_per_school",
        table_name="student",
        postgresql_where=sa.text("deleted_at IS NULL AND email IS NOT NULL"),
    )
    op.drop_index("ix_student_status", table_name="student")
    op.drop_index("ix_student_search_vector", table_name="student", postgresql_using="gin")
    op.drop_index(op.f("ix_student_school_id"), table_name="student")
    op.drop_index("ix_student_name", table_name="student")
    op.drop_index("ix_student_class", table_name="student")
    op.drop_table("student")
    op.drop_index(op.f("ix_number_sequence_school_id"), table_name="number_sequence")
    op.drop_table("number_sequence")
    op.drop_index("ix_maintenance_run_started", table_name="maintenance_run")
    op.drop_index(op.f("ix_maintenance_run_school_id"), table_name="maintenance_run")
    op.drop_table("maintenance_run")
    op.drop_index("ix_event_starts_on", table_name="event")
    op.drop_index(op.f("ix_event_school_id"), table_name="event")
    op.drop_table("event")
    op.drop_index(
        "uq_course_name_per_school",
        table_name="course",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(op.f("ix_course_school_id"), table_name="course")
    op.drop_index("ix_course_code", table_name="course")
    op.drop_table("course")
    op.drop_index(op.f("ix_app_user_school_id"), table_name="app_user")
    op.drop_table("app_user")
    op.drop_table("school")
    op.execute(DROP_FUNCTIONS)
