"""A school server and desktops for the sync tests: each a real database, the server set
up with `rollbook server init`'s code, each desktop registered with it and fresh (no
school until its first sync copies it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import make_engine, make_session_factory
from app.db.roles import app_url
from app.domain.context import ServiceContext
from app.domain.enums import UserRole
from app.school_server import with_password
from app.sync.engine import SyncReport, sync_once
from app.sync.server import accepted_revisions, add_device, init_server

SCHOOL = "SYNC"


def admin_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def database_url(cluster_url: str, name: str) -> str:
    base, _, query = cluster_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def create_database(cluster_url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(admin_url(cluster_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return database_url(cluster_url, name)


def drop_database(cluster_url: str, name: str) -> None:
    with psycopg.connect(admin_url(cluster_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Side:
    """One database: the server or a desktop."""

    name: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    actor: str

    def school_id(self) -> uuid.UUID:
        with self.sessions.begin() as s:
            return s.execute(text("SELECT id FROM school WHERE code = :c"),
                             {"c": SCHOOL}).scalar_one()  # fmt: skip

    def ctx(self) -> ServiceContext:
        return ServiceContext(school_id=self.school_id(), actor=self.actor, role=UserRole.ADMIN)

    def scalar(self, sql: str, **params):
        with self.sessions.begin() as s:
            return s.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params) -> list:
        with self.sessions.begin() as s:
            return list(s.execute(text(sql), params).all())

    def close(self) -> None:
        self.engine.dispose()


@dataclass
class Desktop(Side):
    server_url: str = ""
    device: str = ""
    revision: str = field(default_factory=lambda: accepted_revisions()[0])

    def sync(self, server_url: str | None = None, **kwargs) -> SyncReport:
        return sync_once(self.sessions, server_url or self.server_url, school_code=SCHOOL,
                         device_name=self.device, revision=self.revision, **kwargs)  # fmt: skip


def open_side(name: str, url: str, actor: str) -> Side:
    engine = make_engine(url)
    return Side(name, url, engine, make_session_factory(engine, actor), actor)


def make_server(cluster_url: str, template: str, name: str) -> Side:
    url = create_database(cluster_url, name, template)
    init_server(url, school_code=SCHOOL, school_name="Sync School")
    return open_side(name, url, "office")


def make_desktop(cluster_url: str, template: str, name: str, server: Side,
                 server_url: str | None = None) -> Desktop:  # fmt: skip
    url = app_url(create_database(cluster_url, name, template))  # a desktop runs as the app
    device = add_device(server.url, school_code=SCHOOL, name=name)
    # It syncs as its own device login, which reads its school only (migration 0020).
    own_login = with_password(device.url, device.password)
    engine = make_engine(url)
    return Desktop(name, url, engine, make_session_factory(engine, f"registrar-{name}"),
                   f"registrar-{name}", server_url=server_url or own_login,
                   device=name)  # fmt: skip
