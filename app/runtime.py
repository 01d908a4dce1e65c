"""Opening Rollbook's database: the one place that turns settings into a ready engine.

Used by the CLI, the GUI and the self-test alike: resolve the target (embedded cluster
or server URL), run pending migrations, make sure the school exists.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import RunMode, Settings, starting_text
from app.db import migrate
from app.db.backup import attach_policy, backup_policy
from app.db.engine import DatabaseTarget, make_engine, make_session_factory, resolve_target
from app.db.roles import SchemaOwnerRequired
from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.domain.errors import DatabaseUnavailable
from app.domain.rows import SchoolRow
from app.jobs import Job
from app.services.schools import open_school


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
    settings: Settings, *, run_migrations: bool = True, job: Job | None = None,
    create_school: bool = True,
) -> Database:  # fmt: skip
    """Start or reach the database, bring its schema to head, find the school row.

    ``job`` hears each step (the first-run window shows them); the steps cannot be
    cancelled half-way, so the job is only told, never asked. ``create_school=False``:
    a school code the database does not have is refused (see ``open_school``) —
    commands that only read or change a school's data never create one.
    """
    report = job.progress if job is not None else (lambda *_args: None)
    report(0, 3, starting_text(settings))
    start_progress = (lambda text: report(0, 3, text)) if job is not None else _StderrProgress()
    target = resolve_target(settings, start_progress)
    engine = make_engine(target.url)
    if run_migrations:
        report(1, 3, "Preparing the tables…")
        migrate_as_owner(target, engine)
    report(2, 3, "Setting up the school…")
    sessions = make_session_factory(engine, settings.actor)
    embedded = target.mode is not RunMode.SERVER
    attach_policy(sessions, backup_policy(settings.backups_dir, embedded=embedded))
    with sessions.begin() as session:
        school = open_school(session, settings.school_code, create=create_school)
    report(3, 3, "Ready")
    return Database(settings, target, engine, sessions, school)


def migrate_as_owner(target: DatabaseTarget, engine: Engine | None = None) -> bool:
    """Bring the schema to head on the admin's connection (app.db.roles); True when it
    migrated. ``engine`` (the app's) answers the usual case, a schema at head already,
    on the connection the app goes on to use: no second connection at start-up."""
    if engine is not None and migrate.is_at_head_already(engine):
        return False
    admin = make_engine(target.admin_url)
    try:
        return migrate.upgrade_if_behind(admin)
    except SchemaOwnerRequired:
        # A person's login to a server (rollbook server add-login) works on the data but
        # may not change the schema: the server's administrator upgrades it.
        raise DatabaseUnavailable(
            f"The database at {target.location} is at an older version than this Rollbook, "
            "and this login may not upgrade it; ask the server's administrator to run "
            "`rollbook server init` with this version. Nothing was changed."
        ) from None
    finally:
        admin.dispose()


def open_migrated(settings: Settings) -> tuple[DatabaseTarget, Engine]:
    """Reach the database, bring its schema to head, and give the application's engine;
    no school is looked for (the first sync copies it from the server)."""
    target = resolve_target(settings, _StderrProgress())
    engine = make_engine(target.url)
    migrate_as_owner(target, engine)
    return target, engine


def open_target(settings: Settings) -> tuple[DatabaseTarget, Engine]:
    """Reach the database without touching its schema (``rollbook db ...``): the engine
    is the admin's, which may migrate."""
    target = resolve_target(settings, _StderrProgress())
    return target, make_engine(target.admin_url)


class _StderrProgress:
    """A slow start (crash recovery) told on stderr, where the command line shows it:
    updated in place on a terminal, elsewhere one line when it begins and one when done."""

    def __init__(self) -> None:
        self.step = ""

    def __call__(self, text: str) -> None:
        if sys.stderr.isatty():
            end = "\n" if "ready after" in text else ""
            print(f"\r{text:<70}", end=end, file=sys.stderr, flush=True)
            return
        step = text.rstrip("0123456789 s")
        if step != self.step:
            self.step = step
            print(f"rollbook: {text}", file=sys.stderr, flush=True)
