"""certificate revocation flag, enrollment request list index

Revision ID: 0002_consistency_repair
Revises: 0001_initial
Create Date: 2026-11-22

- certificate.revocation_flagged_at / revocation_flag_reason: the consistency repair
  flags certificates that no longer meet their event's rules for a person to revoke;
  it never revokes or deletes them itself.
- ix_enrollment_request_status: the Enrollment requests page lists one status at a
  time, newest first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_consistency_repair"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "certificate", sa.Column("revocation_flagged_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("certificate", sa.Column("revocation_flag_reason", sa.Text(), nullable=True))
    op.create_check_constraint(
        op.f("ck_certificate_revocation_flag_has_reason"),
        "certificate",
        "revocation_flagged_at IS NULL OR revocation_flag_reason IS NOT NULL",
    )
    op.create_index(
        "ix_enrollment_request_status",
        "enrollment_request",
        ["school_id", "status", "requested_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_enrollment_request_status", table_name="enrollment_request")
    op.drop_constraint(
        op.f("ck_certificate_revocation_flag_has_reason"), "certificate", type_="check"
    )
    op.drop_column("certificate", "revocation_flag_reason")
    op.drop_column("certificate", "revocation_flagged_at")
