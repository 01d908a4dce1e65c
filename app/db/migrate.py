"""Alembic, driven from Python: start-up upgrades, ``rollbook db ...`` and tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.paths import migrations_dir


def alembic_config() -> Config:
    # No sqlalchemy.url: the connection is always handed to env.py directly.
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def _with_connection(engine: Engine, action) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        action(cfg)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _with_connection(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    _with_connection(engine, lambda cfg: command.downgrade(cfg, revision))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
