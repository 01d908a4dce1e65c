"""the longest value each roster text field may hold

Revision ID: 0013_text_limits
Revises: 0012_run_backup
Create Date: 2026-12-10

- CHECK (char_length(col) <= N) on student (student_no, first_name, last_name, email,
  class_name, state_id, sourced_id) and course (code, name, term, sourced_id), with the
  numbers of app.domain.text_limits, named ck_<table>_<column>_length. A 3,000-character
  value used to fail deep in an INSERT with a btree index error that dropped a whole
  import; now the services and imports refuse it first, and the schema holds the same
  line for anything else that writes (plain SQL, sync).

Rows already longer than a limit do not make the upgrade fail nor lose a character: each
constraint is added NOT VALID (new and changed rows are checked, existing ones are not)
and validated at once only when no row breaks it. A constraint left NOT VALID still
stops every insert and update that breaks it — a registrar shortening the value in the
student form (which names the field and the limit) is the way out — and a later
upgrade, or ``ALTER TABLE … VALIDATE CONSTRAINT``, can validate it.

The downgrade drops the constraints; no data changes either way.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013_text_limits"
down_revision: str | None = "0012_run_backup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The numbers of app.domain.text_limits as they were at this revision: a migration
# keeps its own copy, so that changing a limit later takes a revision of its own.
LIMITS: dict[str, dict[str, int]] = {
    "student": {
        "student_no": 64,
        "first_name": 100,
        "last_name": 100,
        "email": 254,
        "class_name": 64,
        "state_id": 64,
        "sourced_id": 255,
    },
    "course": {"code": 64, "name": 200, "term": 100, "sourced_id": 255},
}


def constraint_name(table: str, column: str) -> str:
    """The name the models' naming convention gives CheckConstraint(name=f"{column}_length")."""
    return f"ck_{table}_{column}_length"


def upgrade() -> None:
    for table, limits in LIMITS.items():
        for column, limit in limits.items():
            name = constraint_name(table, column)
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} "
                f"CHECK (char_length({column}) <= {limit}) NOT VALID"
            )
            # Validated only when nothing breaks it (reads the table once; no lock that
            # stops readers). Over-long rows stay as they are, checked from now on.
            op.execute(
                f"""
                DO $$
                BEGIN
                    IF NOT EXISTS (SELECT 1 FROM {table} WHERE char_length({column}) > {limit})
                    THEN
                        ALTER TABLE {table} VALIDATE CONSTRAINT {name};
                    ELSE
                        RAISE NOTICE '% left NOT VALID: some rows of % have a longer %',
                            '{name}', '{table}', '{column}';
                    END IF;
                END
                $$
                """
            )


def downgrade() -> None:
    for table, limits in LIMITS.items():
        for column in limits:
            op.execute(
                f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint_name(table, column)}"
            )
