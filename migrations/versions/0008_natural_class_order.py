"""class names in the order people read them: 1A, 1B, 2A, … 10A

Revision ID: 0008_natural_class_order
Revises: 0007_email_domain_words
Create Date: 2026-12-02

- rollbook_natural_key(text): the text lower-cased with every run of digits padded to
  nine, as bytes, so that comparing keys byte by byte puts "2A" before "10A" and
  "Year 9" before "Year 10" on any server whatever its collation. The server has no ICU here (pgserver's PostgreSQL is built without
  it), so a numeric collation is not available; a key works on every PostgreSQL.
  A plain SQL function: PostgreSQL inlines it into index expressions and queries.
- ix_student_class becomes (school_id, natural key, class_name): the class filter's
  list of class names walks it in natural order, and sorting students by class reads
  it in that order, as the old index served text order.

The downgrade puts back the text-ordered index and drops the function.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008_natural_class_order"
down_revision: str | None = "0007_email_domain_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Step one puts eight zeros before every digit run; step two keeps the last nine digits
# of each run (runs longer than nine keep all theirs and sort after shorter ones).
_NATURAL_KEY = r"""
CREATE FUNCTION public.rollbook_natural_key(value text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$
    SELECT pg_catalog.convert_to(pg_catalog.regexp_replace(
        pg_catalog.regexp_replace(pg_catalog.lower(value), '([0-9]+)', '00000000\1', 'g'),
        '0*([0-9]{9,})', '\1', 'g'), 'UTF8')
$$;
"""


def upgrade() -> None:
    op.execute(_NATURAL_KEY)
    op.execute("DROP INDEX ix_student_class")
    op.execute(
        "CREATE INDEX ix_student_class ON student "
        "(school_id, public.rollbook_natural_key(class_name), class_name)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_student_class")
    op.execute("CREATE INDEX ix_student_class ON student (school_id, class_name)")
    op.execute("DROP FUNCTION public.rollbook_natural_key(text)")
