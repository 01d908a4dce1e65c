"""Real PostgreSQL for every test: one pgserver cluster per test session, a template
database migrated once, and a fresh database per test cloned from the template."""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

# Tests never touch a person's real data folder or server.
_TEST_HOME = Path(tempfile.mkdtemp(prefix="rollbook-tests-"))
os.environ["ROLLBOOK_DATA_DIR"] = str(_TEST_HOME / "data")
os.environ.pop("ROLLBOOK_DATABASE_URL", None)
os.environ.pop("ROLLBOOK_SERVER_URL", None)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.db import migrate  # noqa: E402
from app.db.engine import make_engine, make_session_factory, start_embedded  # noqa: E402
from app.db.roles import OWNER_ROLE, app_url  # noqa: E402
from app.domain.context import ServiceContext  # noqa: E402
from app.domain.enums import UserRole  # noqa: E402
from app.domain.rows import SchoolRow  # noqa: E402
from app.services.schools import ensure_school  # noqa: E402

TEMPLATE_DB = "rollbook_template"


@dataclass
class TestDatabase:
    url: str  # SQLAlchemy URL (postgresql+psycopg://...), as the app's role
    engine: Engine
    sessions: sessionmaker[Session]
    school: SchoolRow
    admin_url: str = ""  # the cluster's superuser: for what a test does behind the app

    @property
    def libpq_url(self) -> str:
        return self.url.replace("postgresql+psycopg://", "postgresql://", 1)

    def context(self, role: UserRole = UserRole.ADMIN, actor: str = "tester") -> ServiceContext:
        return ServiceContext(school_id=self.school.id, actor=actor, role=role)

    @contextmanager
    def as_owner(self) -> Iterator[Connection]:
        """A connection acting as the schema's owner role, for what a test does to the
        schema itself (a column added, a trigger disabled) that the app's role may not."""
        engine = make_engine(self.admin_url)
        try:
            with engine.connect() as conn:
                conn.execute(text(f"SET ROLE {OWNER_ROLE}"))
                yield conn
                conn.commit()
        finally:
            engine.dispose()


def _with_database(server_url: str, name: str) -> str:
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """SQLAlchemy URL of the session's cluster (its 'postgres' database)."""
    return start_embedded(_TEST_HOME / "cluster")


@pytest.fixture(scope="session")
def template_database(pg_server_url: str) -> str:
    admin = pg_server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    engine = make_engine(_with_database(pg_server_url, TEMPLATE_DB))
    migrate.upgrade(engine)
    engine.dispose()
    return TEMPLATE_DB


def _create_from_template(pg_server_url: str, template: str) -> tuple[str, str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = pg_server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name, _with_database(pg_server_url, name)


def _drop(pg_server_url: str, name: str) -> None:
    admin = pg_server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(pg_server_url: str, template_database: str) -> Iterator[TestDatabase]:
    """A freshly migrated database with one school, dropped after the test."""
    name, admin = _create_from_template(pg_server_url, template_database)
    # The app's own role, as the window and the CLI connect: it owns nothing.
    url = app_url(admin)
    engine = make_engine(url)
    sessions = make_session_factory(engine, actor="tester")
    with sessions.begin() as session:
        school = ensure_school(session, "TEST", "Test School")
    try:
        yield TestDatabase(url, engine, sessions, school, admin)
    finally:
        engine.dispose()
        _drop(pg_server_url, name)


@pytest.fixture
def empty_database(pg_server_url: str) -> Iterator[Engine]:
    """An empty database with no schema at all (migration tests)."""
    name = f"empty_{uuid.uuid4().hex[:12]}"
    admin = pg_server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(_with_database(pg_server_url, name))
    try:
        yield engine
    finally:
        engine.dispose()
        _drop(pg_server_url, name)


@pytest.fixture
def session(db: TestDatabase) -> Iterator[Session]:
    """One transaction, as one user action would have; committed at the end."""
    with db.sessions.begin() as s:
        yield s


@pytest.fixture
def ctx(db: TestDatabase) -> ServiceContext:
    return db.context()


# --- sync: a school server and desktops, each a database of the test cluster -----------


@pytest.fixture
def sync_cluster(pg_server_url, template_database):
    """Makes servers and desktops as databases of the test cluster; drops them after."""
    from sync_setup import make_desktop, make_server

    made: list = []

    class Cluster:
        tag = uuid.uuid4().hex[:8]

        def server(self):
            made.append(make_server(pg_server_url, template_database, f"srv_{self.tag}"))
            return made[-1]

        def desktop(self, name: str, server):
            made.append(make_desktop(pg_server_url, template_database, f"{name}_{self.tag}",
                                     server))  # fmt: skip
            return made[-1]

    try:
        yield Cluster()
    finally:
        for side in made:
            side.close()
            _drop(pg_server_url, side.name)


@pytest.fixture
def sync_school(sync_cluster):
    """A server and two desktops (A and B), both copied from it."""
    server = sync_cluster.server()
    a, b = sync_cluster.desktop("a", server), sync_cluster.desktop("b", server)
    assert a.sync().status == "synced" and b.sync().status == "synced"
    return server, a, b
