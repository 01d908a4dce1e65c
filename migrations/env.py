"""Alembic environment. Rollbook runs migrations programmatically (app.db.migrate) and
passes the connection in ``config.attributes['connection']``; the ``alembic`` command
line works too, with the URL from ``-x url=...`` or ROLLBOOK_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from app.db.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = (
        context.get_x_argument(as_dictionary=True).get("url") or os.environ["ROLLBOOK_DATABASE_URL"]
    )
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("Rollbook migrations run online only (they need a database connection).")
run_migrations_online()
