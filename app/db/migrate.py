"""Alembic, driven from Python: start-up upgrades, ``rollbook db ...`` and tests."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from app.domain.errors import DatabaseUnavailable
from app.paths import migrations_dir

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (and Mako under it) costs a third of a second to import; a start-up on a
# database that is already at head does not need it, so it is imported only to migrate.
_REVISION_LINE = re.compile(r"^(down_)?revision\b[^=]*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config

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
    from alembic import command

    _with_connection(engine, lambda cfg: command.upgrade(cfg, revision))


class SchemaTooNew(DatabaseUnavailable):
    """The database was brought to a schema this version of Rollbook does not know."""


def upgrade_if_behind(engine: Engine) -> bool:
    """Bring the schema to head unless it is there already; True when it migrated."""
    stored = _stored_revision(engine)
    if stored == _head_from_files():
        return False
    if stored is not None and stored not in _revisions_from_files()[0]:
        # A newer Rollbook used this database; an older one must not touch it.
        raise SchemaTooNew(
            f"This database was last used by a newer version of Rollbook (database "
            f"version {stored}); this version knows up to {_head_from_files()}. "
            "Open it with that newer version; nothing was changed."
        )
    upgrade(engine)
    return True


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    _with_connection(engine, lambda cfg: command.downgrade(cfg, revision))


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _stored_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except ProgrammingError:  # a new database: no alembic_version table yet
            return None


def _revisions_from_files() -> tuple[set[str], set[str]]:
    """Every revision the revision files define, and every one they name as a
    down_revision."""
    revisions, parents = set(), set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        for is_down, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            (parents if is_down else revisions).add(value)
    return revisions, parents


def _head_from_files() -> str | None:
    """The head revision read straight from the revision files: the one revision no
    other revision names as its down_revision (None when that is not exactly one)."""
    revisions, parents = _revisions_from_files()
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
