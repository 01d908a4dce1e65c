"""numbers issued offline: blocks of registration and certificate numbers a desktop
reserves from the school server while online

Revision ID: 0016_offline_numbers
Revises: 0015_sync_push_in_runs
Create Date: 2026-12-07

Two desktops issuing the next registration number offline would both issue the same
one. A desktop that syncs therefore never counts ``number_sequence`` itself (the server's
rows are mirrored there, read-only): while online it reserves blocks of numbers from the
server, and offline it issues from them.

- desktop: ``number_block`` (a reserved range: the next number to issue and the end);
  ``sync_state.number_block_size`` (how many numbers a reservation takes; 50);
- server: ``sync_number_block`` (every block handed out, to whom and when: numbers a
  desktop never issued are the only gaps, and they are listed) and
  ``rollbook_sync_reserve_numbers`` (SECURITY DEFINER, like the push), which moves the
  school's sequence on by the block in one statement.

The downgrade drops them; numbers already issued stay on their rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016_offline_numbers"
down_revision: str | None = "0015_sync_push_in_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The sequence row is created on first use, as app.services.numbering does, and moved on
# by the whole block: the row lock makes two desktops reserving at once take turns.
RESERVE = """
CREATE FUNCTION public.rollbook_sync_reserve_numbers(p_device uuid, p_name text, p_prefix text,
                                                     p_count int)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_school uuid;
    v_first bigint;
BEGIN
    v_school := rollbook_sync_school_of(p_device);
    IF p_count < 1 OR p_count > 10000 THEN
        RAISE EXCEPTION 'a block of % numbers cannot be reserved (1 to 10,000)', p_count;
    END IF;
    PERFORM set_config('rollbook.origin', 'local', true);
    PERFORM set_config('rollbook.actor', 'sync:' || (SELECT name FROM sync_device
                                                    WHERE id = p_device), true);
    INSERT INTO number_sequence (id, school_id, name, prefix, next_value)
    VALUES (gen_random_uuid(), v_school, p_name, p_prefix, 1 + p_count)
    ON CONFLICT ON CONSTRAINT uq_number_sequence_name
    DO UPDATE SET next_value = number_sequence.next_value + p_count
    RETURNING next_value - p_count INTO v_first;
    INSERT INTO sync_number_block (device_id, school_id, name, first_value, end_value)
    VALUES (p_device, v_school, p_name, v_first, v_first + p_count);
    RETURN v_first;
END
$$;
"""


def upgrade() -> None:
    uuid_col = postgresql.UUID(as_uuid=True)
    now = sa.text("now()")
    op.create_table(
        "number_block",
        sa.Column("id", uuid_col, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column(
            "school_id",
            uuid_col,
            sa.ForeignKey("school.id", name="fk_number_block_school_id_school"),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.Column("end_value", sa.BigInteger(), nullable=False),  # the first one not reserved
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.CheckConstraint("next_value <= end_value", name="ck_number_block_within"),
    )
    op.create_index("ix_number_block_name", "number_block", ["school_id", "name", "next_value"])
    op.add_column(
        "sync_state",
        sa.Column("number_block_size", sa.Integer(), nullable=False, server_default="50"),
    )
    op.create_table(
        "sync_number_block",
        sa.Column("id", uuid_col, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("device_id", uuid_col, nullable=False),
        sa.Column("school_id", uuid_col, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("first_value", sa.BigInteger(), nullable=False),
        sa.Column("end_value", sa.BigInteger(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    )
    op.execute(RESERVE)


def downgrade() -> None:
    op.execute("DROP FUNCTION public.rollbook_sync_reserve_numbers(uuid, text, text, int)")
    op.drop_table("sync_number_block")
    op.drop_column("sync_state", "number_block_size")
    op.drop_index("ix_number_block_name", table_name="number_block")
    op.drop_table("number_block")
