"""Declarative base, naming convention and the columns every school-data table has."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import UserDefinedType

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> uuid.UUID:
    # Generated in Python so rows created offline on different desktops never collide.
    return uuid.uuid4()


class XID8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id (pg_current_xact_id()); read as text."""

    cache_ok = True

    def get_col_spec(self, **_kw) -> str:
        return "xid8"


# So that reflection (the migration tests' model comparison) knows the type too.
ischema_names.setdefault("xid8", XID8)


class TimestampedMixin:
    # Whether the database's change capture (rollbook_capture, migrations 0004–0005) writes
    # this table's changes to the audit log: true for every table of school data.
    captured: ClassVar[bool] = True

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # Bumped together with updated_at by the BEFORE UPDATE trigger rollbook_touch_row().
    row_version: Mapped[int] = mapped_column(BigInteger, server_default="1", nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SchoolDataMixin(TimestampedMixin):
    # Root entities (students, courses, events …) reference the school. Rows that belong
    # to a parent (enrollments, attendance, audit entries …) reach the school through it;
    # a foreign-key check on every such row would double the cost of each bulk insert.
    school_fk: ClassVar[bool] = True

    @declared_attr
    def school_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - SQLAlchemy declared_attr
        if not cls.school_fk:
            return mapped_column(UUID(as_uuid=True), nullable=False, index=True)
        return mapped_column(
            UUID(as_uuid=True), ForeignKey("school.id"), nullable=False, index=True
        )


def enum_check(column: str, enum: type[StrEnum], name: str | None = None) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name or f"{column}_valid")
