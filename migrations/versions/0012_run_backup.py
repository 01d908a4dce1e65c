"""the backup taken before a run

Revision ID: 0012_run_backup
Revises: 0011_certificate_design
Create Date: 2026-12-09

- maintenance_run.backup_file: the name of the backup (in <data dir>/backups) taken
  just before an applied import, backfill or repair, so the history can say which
  backup undoes the run; NULL for dry runs and runs taken without a backup.

The downgrade drops the column: the backups stay in their folder, only the link from
each run to its backup is forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_run_backup"
down_revision: str | None = "0011_certificate_design"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("maintenance_run", sa.Column("backup_file", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("maintenance_run", "backup_file")
