"""sync retention: deleted rows kept for a set time on the server, and desktops away
longer than that re-initialised

Revision ID: 0017_sync_retention
Revises: 0016_offline_numbers
Create Date: 2026-12-07

A deleted row stays on the school server as a tombstone (``deleted_at``) so that every
desktop learns of the delete. ``rollbook server prune`` removes tombstones older than
the server's retention for good — a child's deleted record does not stay on the server
forever — and asks every desktop not seen within that time to re-initialise: its copy
may still hold rows the server no longer has, and what it missed is better brought as a
fresh copy than as months of changes.

- server: ``sync_server.retention_days`` (180) and ``pruned_at``;
  ``sync_device.reinit_required``, set by a prune, cleared by
  ``rollbook_sync_reinitialised`` once the desktop holds a fresh copy;
- ``rollbook_sync_hello`` notes when a desktop was last seen (every sync says hello,
  also one with nothing to push) and tells it whether it must re-initialise;
- ``rollbook_sync_pull`` refuses a desktop that must (SQLSTATE RB003): an older
  Rollbook that does not ask still never pulls over a gap. Pushes are still taken, so
  nothing a desktop did offline is held up.

The downgrade puts 0014's hello and pull back and drops the columns and the function.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0017_sync_retention"
down_revision: str | None = "0016_offline_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELLO = """
CREATE OR REPLACE FUNCTION public.rollbook_sync_hello(p_school_code text, p_device_name text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_found jsonb;
    v_device uuid;
BEGIN
    SELECT d.id, jsonb_build_object(
               'device_id', d.id, 'school_id', s.id, 'school_code', s.code,
               'school_name', s.name,
               'accepted_revisions', (SELECT to_jsonb(accepted_revisions) FROM sync_server),
               'retention_days', (SELECT retention_days FROM sync_server),
               'reinit_required', d.reinit_required)
    INTO v_device, v_found
    FROM sync_device d JOIN school s ON s.id = d.school_id
    WHERE s.code = upper(p_school_code) AND lower(d.name) = lower(p_device_name) AND d.active;
    IF v_found IS NULL THEN
        RAISE EXCEPTION 'the school server has no device "%" for school %; add it there with '
                        '"rollbook server add-device %"', p_device_name, upper(p_school_code),
                        p_device_name
            USING ERRCODE = 'RB001';
    END IF;
    UPDATE sync_device SET last_seen_at = now() WHERE id = v_device;
    RETURN v_found;
END
$$;
"""

REINITIALISED = """
CREATE FUNCTION public.rollbook_sync_reinitialised(p_device uuid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM rollbook_sync_school_of(p_device);
    UPDATE sync_device SET reinit_required = false, last_seen_at = now() WHERE id = p_device;
END
$$;
"""

_SCHOOL_OF_CALL = "    v_school := rollbook_sync_school_of(p_device);\n"
_REFUSE_PULL = (
    _SCHOOL_OF_CALL
    + """\
    IF (SELECT reinit_required FROM sync_device WHERE id = p_device) THEN
        RAISE EXCEPTION 'this desktop has been away longer than the school server keeps '
                        'deleted rows (% days); re-initialise it from the server: its waiting '
                        'changes are sent first', (SELECT retention_days FROM sync_server)
            USING ERRCODE = 'RB003';
    END IF;
"""
)


def _revision_0014() -> ModuleType:
    """The 0014 revision's module, for the hello and pull functions it created."""
    path = Path(__file__).with_name("0014_sync_engine.py")
    spec = importlib.util.spec_from_file_location("rollbook_revision_0014", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replace(sql: str) -> str:
    return sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def pull_refusing_reinit() -> str:
    pull = _revision_0014().PULL
    assert pull.count(_SCHOOL_OF_CALL) == 1
    return _replace(pull.replace(_SCHOOL_OF_CALL, _REFUSE_PULL))


def upgrade() -> None:
    op.add_column("sync_server", sa.Column("retention_days", sa.Integer(), nullable=False,
                                           server_default="180"))  # fmt: skip
    op.create_check_constraint(op.f("ck_sync_server_retention_days_positive"), "sync_server",
                               "retention_days > 0")  # fmt: skip
    op.add_column("sync_server", sa.Column("pruned_at", sa.DateTime(timezone=True)))
    op.add_column("sync_device", sa.Column("reinit_required", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))  # fmt: skip
    op.execute(HELLO)
    op.execute(pull_refusing_reinit())
    op.execute(REINITIALISED)


def downgrade() -> None:
    before = _revision_0014()
    op.execute("DROP FUNCTION public.rollbook_sync_reinitialised(uuid)")
    op.execute(_replace(before.PULL))
    op.execute(_replace(before.HELLO))
    op.drop_column("sync_device", "reinit_required")
    op.drop_column("sync_server", "pruned_at")
    op.drop_constraint(op.f("ck_sync_server_retention_days_positive"), "sync_server", type_="check")
    op.drop_column("sync_server", "retention_days")
