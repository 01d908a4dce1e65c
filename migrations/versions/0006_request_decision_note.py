"""a request keeps its note and its decision's reason apart

Revision ID: 0006_request_decision_note
Revises: 0005_cheaper_capture
Create Date: 2026-12-02

- enrollment_request.decision_note: why the request was rejected or withdrawn, written
  by the person who decided (decided_by, decided_at). Until now the reason replaced the
  request's own note ("Asked at the front desk"), which was lost.

The downgrade keeps every reason: it is appended to the request's note, as the older
Rollbook would have kept it had it been able to.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_request_decision_note"
down_revision: str | None = "0005_cheaper_capture"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enrollment_request", sa.Column("decision_note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute(
        "UPDATE enrollment_request SET note = CASE WHEN note IS NULL THEN decision_note "
        "ELSE note || ' — ' || decision_note END WHERE decision_note IS NOT NULL"
    )
    op.drop_column("enrollment_request", "decision_note")
