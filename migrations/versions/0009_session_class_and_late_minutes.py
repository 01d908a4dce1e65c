"""a session's class and cancel reason, minutes late, the rule for excused absences

Revision ID: 0009_session_class_late_minutes
Revises: 0008_natural_class_order
Create Date: 2026-12-07

- class_session.class_name: the class a lesson is taught to ("7A"), or NULL when the
  whole course meets. A course taken by several classes has one lesson per class; the
  register of a lesson for 7A lists the course's students of 7A only.
- ix_class_session_course becomes (course_id, class_name, session_date): a student's
  sessions held in a course are their class's lessons, read without the lessons of
  every other class the course is taught to.
- class_session.cancel_reason: why a session was cancelled, when someone said.
- session_attendance.minutes_late: how late a late arrival was (1..600), only with the
  status late.
- school.excused_needs_reason: whether an excused absence must carry a reason (the
  mark's note); on by default, as most schools' attendance policies ask for one.

The downgrade folds minutes late into the mark's note ("12 min late — bus") rather
than lose them, and a cancel reason into the topics covered ("Cancelled: …"); a
lesson's class and the school's rule go (registers then list the
whole course again, as they did before).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_session_class_late_minutes"
down_revision: str | None = "0008_natural_class_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("class_session", sa.Column("class_name", sa.Text(), nullable=True))
    op.add_column("class_session", sa.Column("cancel_reason", sa.Text(), nullable=True))
    op.drop_index("ix_class_session_course", table_name="class_session")
    op.create_index(
        "ix_class_session_course", "class_session", ["course_id", "class_name", "session_date"]
    )
    op.add_column("session_attendance", sa.Column("minutes_late", sa.Integer(), nullable=True))
    op.create_check_constraint(
        "minutes_late_only_when_late",
        "session_attendance",
        "minutes_late IS NULL OR (status = 'late' AND minutes_late BETWEEN 1 AND 600)",
    )
    op.add_column(
        "school",
        sa.Column(
            "excused_needs_reason", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
    )


def downgrade() -> None:
    op.execute(
        "UPDATE session_attendance SET note = minutes_late || ' min late'"
        " || coalesce(' — ' || note, '') WHERE minutes_late IS NOT NULL"
    )
    op.drop_column("school", "excused_needs_reason")
    op.drop_constraint("minutes_late_only_when_late", "session_attendance", type_="check")
    op.drop_column("session_attendance", "minutes_late")
    op.execute(
        "UPDATE class_session SET topics_covered = topics_covered"
        " || jsonb_build_array('Cancelled: ' || cancel_reason) WHERE cancel_reason IS NOT NULL"
    )
    op.drop_column("class_session", "cancel_reason")
    op.drop_index("ix_class_session_course", table_name="class_session")
    op.drop_column("class_session", "class_name")
    op.create_index("ix_class_session_course", "class_session", ["course_id"])
