"""Opening Rollbook's database: the one place that turns settings into a ready engine.

Used by the CLI, the GUI and the self-test alike: resolve the target (embedded cluster
or server URL), run pending migrations, make sure the school exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings, starting_text
from app.db import migrate
from app.db.engine import DatabaseTarget, make_engine, make_session_factory, resolve_target
from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.domain.rows import SchoolRow
from app.jobs import Job
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


def open_database(
    settings: Settings, *, run_migrations: bool = True, job: Job | None = None
) -> Database:
    """Start or reach the database, bring its schema to head, ensure the school row.

    ``job`` hears each step (the first-run window shows them); the steps cannot be
    cancelled half-way, so the job is only told, never asked.
    """
    report = job.progress if job is not None else (lambda *_args: None)
    report(0, 3, starting_text(settings))
    target = resolve_target(settings)
    engine = make_engine(target.url)
    if run_migrations:
        report(1, 3, "Preparing the tables…")
        migrate.upgrade_if_behind(engine)
    report(2, 3, "Setting up the school…")
    sessions = make_session_factory(engine, settings.actor)
    with sessions.begin() as session:
        school = ensure_school(session, settings.school_code)
    report(3, 3, "Ready")
    return Database(settings, target, engine, sessions, school)


def open_target(settings: Settings) -> tuple[DatabaseTarget, Engine]:
    """Reach the database without touching its schema (``rollbook db ...``)."""
    target = resolve_target(settings)
    return target, make_engine(target.url)
