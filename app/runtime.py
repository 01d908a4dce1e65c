"""Opening Rollbook's database: the one place that turns settings into a ready engine.

Used by the CLI, the GUI and the self-test alike: resolve the target (embedded cluster
or server URL), run pending migrations, make sure the school exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import migrate
from app.db.engine import DatabaseTarget, make_engine, make_session_factory, resolve_target
from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.domain.rows import SchoolRow
from app.services.schools import ensure_school


@dataclass
class Database:
    settings: Settings
    target: DatabaseTarget
    engine: Engine
    sessions: sessionmaker[Session]
    school: SchoolRow

    def context(self, role: UserRole = UserRole.ADMIN) -> ServiceContext:
        return ServiceContext(school_id=self.school.id, actor=self.settings.actor, role=role)

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, *, run_migrations: bool = True) -> Database:
    """Start or reach the database, bring its schema to head, ensure the school row."""
    target = resolve_target(settings)
    engine = make_engine(target.url)
    if run_migrations:
        migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        school = ensure_school(session, settings.school_code)
    return Database(settings, target, engine, sessions, school)


def open_target(settings: Settings) -> tuple[DatabaseTarget, Engine]:
    """Reach the database without touching its schema (``rollbook db ...``)."""
    target = resolve_target(settings)
    return target, make_engine(target.url)
