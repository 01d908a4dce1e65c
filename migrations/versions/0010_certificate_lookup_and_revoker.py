"""certificates: found by registration, and who revoked them

Revision ID: 0010_certificate_registration
Revises: 0009_session_class_late_minutes
Create Date: 2026-12-07

- ix_certificate_registration: every certificate of a registration, revoked ones
  included (the lookup by student number lists them all). The partial unique index on
  live certificates leaves revoked ones out, so without this a lookup read the whole
  table.
- certificate.revoked_by: who revoked it, kept with the row beside when and why.

The downgrade drops both; who revoked a certificate stays in the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_certificate_registration"
down_revision: str | None = "0009_session_class_late_minutes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_certificate_registration", "certificate", ["registration_id"])
    op.add_column("certificate", sa.Column("revoked_by", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("certificate", "revoked_by")
    op.drop_index("ix_certificate_registration", table_name="certificate")
