"""the school's own certificate design: its template and its logo

Revision ID: 0011_certificate_design
Revises: 0010_certificate_registration
Create Date: 2026-12-08

- school.certificate_template: the school's certificate template (SVG text with
  placeholders such as {student_name}), or NULL for Rollbook's own design.
- school.certificate_logo, school.certificate_logo_type: the logo printed on it
  (PNG, JPEG or SVG, at most 2 MB; the type says which), or NULL for none.

Kept in the database rather than in a file on one computer, so every desktop and the
command line print the same certificates. The downgrade drops the three columns: the
school prints Rollbook's design without a logo again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_certificate_design"
down_revision: str | None = "0010_certificate_registration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("school", sa.Column("certificate_template", sa.Text(), nullable=True))
    op.add_column("school", sa.Column("certificate_logo", postgresql.BYTEA(), nullable=True))
    op.add_column("school", sa.Column("certificate_logo_type", sa.Text(), nullable=True))
    # A logo and its type come together; the type is one Rollbook can print.
    op.create_check_constraint(
        "certificate_logo_typed",
        "school",
        "(certificate_logo IS NULL) = (certificate_logo_type IS NULL) AND "
        "(certificate_logo_type IS NULL OR certificate_logo_type IN ('png', 'jpeg', 'svg'))",
    )


def downgrade() -> None:
    op.drop_constraint("certificate_logo_typed", "school", type_="check")
    op.drop_column("school", "certificate_logo_type")
    op.drop_column("school", "certificate_logo")
    op.drop_column("school", "certificate_template")
