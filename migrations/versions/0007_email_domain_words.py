"""a student is found by the words of their e-mail's domain

Revision ID: 0007_email_domain_words
Revises: 0006_request_decision_note
Create Date: 2026-12-02

- rollbook_student_search_vector also splits the e-mail's domain into words:
  "anna@newschool.org" is found by "newschool" and "org", as it already was by "anna",
  "anna@new" and the whole address. Before, the domain was never a word of its own, so
  searching part of it found nothing.
- search_vector is a stored generated column: PostgreSQL does not recompute it when its
  function changes, so the column is dropped and added again (one rewrite of the table)
  with its two indexes, and the table is analysed so the search planner's estimates
  see the new words at once.

The downgrade puts back the earlier function and rebuilds the column the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_email_domain_words"
down_revision: str | None = "0006_request_decision_note"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION_HEAD = """
CREATE OR REPLACE FUNCTION public.rollbook_student_search_vector(
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
"""
_DOMAIN_WORDS = """
            -- the domain split into words: "new-school.k12.org" -> new school k12 org
            || ' ' || pg_catalog.regexp_replace(
                pg_catalog.split_part(coalesce(email, ''), '@', 2), '[._+-]+', ' ', 'g')
"""
_FUNCTION_TAIL = """
        )
    )
    -- the whole address as one word, exactly as typed ("zoe+art@example.org")
    || CASE WHEN coalesce(email, '') = '' THEN ''::tsvector
            ELSE pg_catalog.array_to_tsvector(ARRAY[public.rollbook_fold(email)]) END;
END
$$;
"""

# The stored column is computed when a row is written; dropping and adding it again is
# the way to have every row's words computed by the new function (PostgreSQL 16 has no
# ALTER COLUMN ... SET EXPRESSION). Dropping the column drops its two indexes.
_REBUILD_COLUMN = """
ALTER TABLE student DROP COLUMN search_vector;
ALTER TABLE student ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    public.rollbook_student_search_vector(first_name, last_name, student_no, email)
) STORED;
CREATE INDEX ix_student_search_vector ON student USING gin (search_vector);
CREATE INDEX ix_student_name ON student (school_id, sort_name, id)
    INCLUDE (search_vector) WHERE deleted_at IS NULL;
ANALYZE student;
"""


def upgrade() -> None:
    op.execute(_FUNCTION_HEAD + _DOMAIN_WORDS + _FUNCTION_TAIL)
    op.execute(_REBUILD_COLUMN)


def downgrade() -> None:
    op.execute(_FUNCTION_HEAD + _FUNCTION_TAIL)
    op.execute(_REBUILD_COLUMN)
