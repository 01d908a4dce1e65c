"""accounts: staff sign in, are locked out after failed attempts, and a school's rules
for who may repair and whether passwords are required

Revision ID: 0018_accounts
Revises: 0017_sync_retention
Create Date: 2026-12-07

- ``app_user``: ``failed_logins`` and ``locked_until`` (five failures lock an account
  for five minutes), ``os_login`` (the operating-system login the account is linked
  to: the CLI on an embedded desktop acts as it, as PostgreSQL's peer authentication
  does), ``password_changed_at`` and ``last_login_at``; ``os_login`` is unique per
  school;
- ``school``: ``require_passwords`` (a linked account still signs in with its
  password), ``idle_lock_minutes`` (the window locks after this long idle; 0 never;
  15) and ``registrars_may_repair`` (repair is the admin's unless the school allows
  registrars);
- the change capture keeps the password hash and the sign-in bookkeeping out of the
  audit log: a password change is recorded as ``password_changed_at`` changing, never
  as the hash.

The downgrade drops the columns and puts 0005's capture back.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0018_accounts"
down_revision: str | None = "0017_sync_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BOOKKEEPING = "updated_at,row_version,search_vector,sort_name,duration_minutes"
_SECRET = "password_hash,failed_logins,locked_until,last_login_at"


def _revision_0005() -> ModuleType:
    """The 0005 revision's module, for the capture function it created."""
    path = Path(__file__).with_name("0005_cheaper_change_capture.py")
    spec = importlib.util.spec_from_file_location("rollbook_revision_0005", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def capture_without_secrets() -> str:
    sql = _revision_0005().CREATE_CAPTURE
    assert sql.count(_BOOKKEEPING) == 2
    return sql.replace(_BOOKKEEPING, f"{_BOOKKEEPING},{_SECRET}")


def upgrade() -> None:
    op.add_column("app_user", sa.Column("failed_logins", sa.Integer(), nullable=False,
                                        server_default="0"))  # fmt: skip
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(timezone=True)))
    op.add_column("app_user", sa.Column("os_login", sa.Text()))
    op.add_column("app_user", sa.Column("password_changed_at", sa.DateTime(timezone=True)))
    op.add_column("app_user", sa.Column("last_login_at", sa.DateTime(timezone=True)))
    op.create_index("uq_app_user_os_login", "app_user", ["school_id", "os_login"], unique=True,
                    postgresql_where=sa.text("os_login IS NOT NULL"))  # fmt: skip
    op.add_column("school", sa.Column("require_passwords", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))  # fmt: skip
    op.add_column("school", sa.Column("idle_lock_minutes", sa.Integer(), nullable=False,
                                      server_default="15"))  # fmt: skip
    op.create_check_constraint(op.f("ck_school_idle_lock_minutes_range"), "school",
                               "idle_lock_minutes BETWEEN 0 AND 480")  # fmt: skip
    op.add_column("school", sa.Column("registrars_may_repair", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))  # fmt: skip
    op.execute(capture_without_secrets())


def downgrade() -> None:
    op.execute(_revision_0005().CREATE_CAPTURE)
    op.drop_column("school", "registrars_may_repair")
    op.drop_constraint(op.f("ck_school_idle_lock_minutes_range"), "school", type_="check")
    op.drop_column("school", "idle_lock_minutes")
    op.drop_column("school", "require_passwords")
    op.drop_index("uq_app_user_os_login", table_name="app_user")
    for column in ("last_login_at", "password_changed_at", "os_login", "locked_until",
                   "failed_logins"):  # fmt: skip
        op.drop_column("app_user", column)
