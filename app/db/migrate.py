"""Alembic, driven from Python: start-up upgrades, ``rollbook db ...`` and tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.db import roles
from app.domain.errors import DatabaseUnavailable, RollbookError
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
    """Run ``action`` as the schema's owner role (app.db.roles), in one transaction."""
    cfg = alembic_config()
    with engine.begin() as conn:
        roles.prepare(conn)
        roles.act_as_owner(conn)
        cfg.attributes["connection"] = conn
        action(cfg)
        roles.secure_if_server(conn)
        # On failure the rollback undoes the SET ROLE with everything else.
        roles.act_as_self(conn)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to ``revision``; UnknownRevision (one line) when there
    is no such revision or it is not ahead of the database."""
    from alembic import command

    _run_alembic(engine, revision, lambda cfg: command.upgrade(cfg, revision))


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


def is_at_head_already(engine: Engine) -> bool:
    """True when the stored revision is the newest one; False when it is not, or the
    engine's role cannot tell (the app's, before migration 0019 gave it its rights)."""
    try:
        return _stored_revision(engine) == _head_from_files()
    except (OperationalError, ProgrammingError):
        return False


def downgrade(engine: Engine, revision: str) -> None:
    """Revert the migrations down to ``revision``, whatever that drops: callers that
    act for a person check ``data_lost_by_downgrade`` first (``rollbook db downgrade``)."""
    from alembic import command

    _run_alembic(engine, revision, lambda cfg: command.downgrade(cfg, revision))


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


class UnknownRevision(RollbookError):
    """``db upgrade``/``db downgrade`` to a revision that is not there or not that way."""


class DowngradeLosesData(RollbookError):
    """A downgrade would drop tables or columns that hold data, and --force was not given."""


@dataclass(frozen=True)
class DataAtRisk:
    """What a downgrade would delete: dropped tables with their rows, and dropped (or
    retyped) columns of kept tables with how many rows hold a value in them."""

    tables: tuple[tuple[str, int], ...] = ()
    columns: tuple[tuple[str, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns)

    def describe(self) -> str:
        tables = [f"{name} ({rows:,} row{'s' if rows != 1 else ''})" for name, rows in self.tables]
        columns = [
            f"{name} ({rows:,} value{'s' if rows != 1 else ''})" for name, rows in self.columns
        ]
        return ", ".join(tables + columns)


def _alembic_errors() -> tuple[type[Exception], ...]:
    from alembic.script.revision import RevisionError
    from alembic.util.exc import CommandError

    return (CommandError, RevisionError)


def _run_alembic(engine: Engine, revision: str, step) -> None:
    try:
        _with_connection(engine, step)
    except _alembic_errors() as exc:
        raise UnknownRevision(_revision_problem(revision, exc)) from None


def _revision_problem(revision: str, exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Can't locate revision" in detail or "No such revision" in detail:
        return (f"There is no database version {revision!r}; `rollbook db current` shows "
                f"the current one (the newest is {head_revision()}). Nothing was changed.")  # fmt: skip
    return f"Cannot migrate the database to {revision!r}: {detail}. Nothing was changed."


def data_lost_by_downgrade(engine: Engine, revision: str) -> DataAtRisk:
    """What downgrading to ``revision`` would delete, found by running the downgrade in
    a transaction that is rolled back (PostgreSQL's DDL is transactional): the tables
    and columns before and after are compared, then the data in what went is counted.

    This sees what each revision's downgrade really does, also in hand-written SQL,
    without a copy of the database. It is on the safe side: a column whose values a
    downgrade first folds into another one (0006, 0009 keep them in a note) still
    counts. A column whose value is its default everywhere holds no data."""
    from alembic import command

    with engine.connect() as conn:
        trial = conn.begin()
        try:
            before = _relations(conn)
            roles.prepare(conn)
            roles.act_as_owner(conn)
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
            after = _relations(conn)
        except _alembic_errors() as exc:
            raise UnknownRevision(_revision_problem(revision, exc)) from None
        finally:
            trial.rollback()  # also undoes the SET ROLE
        tables, columns = [], []
        for table, cols in sorted(before.items()):
            if table == "alembic_version":
                continue
            if table not in after:
                rows = conn.execute(text(f"SELECT count(*) FROM {_quoted(table)}")).scalar()
                if rows:
                    tables.append((table, rows))
                continue
            for column, (type_, default, generated) in sorted(cols.items()):
                kept = after[table].get(column)
                if generated or (kept is not None and kept[0] == type_):
                    continue
                condition = f"{_quoted(column)} IS NOT NULL"
                if default is not None:
                    condition += f" AND {_quoted(column)} IS DISTINCT FROM ({default})"
                rows = conn.execute(
                    text(f"SELECT count(*) FROM {_quoted(table)} WHERE {condition}")
                ).scalar()
                if rows:
                    columns.append((f"{table}.{column}", rows))
        conn.rollback()
    return DataAtRisk(tuple(tables), tuple(columns))


def _relations(conn) -> dict[str, dict[str, tuple[str, str | None, bool]]]:
    """Every table of the current schema: column -> (type, default, generated)."""
    rows = conn.execute(text(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
        "       pg_get_expr(d.adbin, d.adrelid), a.attgenerated <> ''"
        "  FROM pg_class c"
        "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        "  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum"
        " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')"
    ))  # fmt: skip
    relations: dict[str, dict[str, tuple[str, str | None, bool]]] = {}
    for table, column, type_, default, generated in rows:
        relations.setdefault(table, {})[column] = (type_, default, generated)
    return relations


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
