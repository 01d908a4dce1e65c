"""Settings: where Rollbook keeps its data and which database it talks to.

Everything is read from the environment (and CLI flags that override it) once, into
a frozen ``Settings`` value that is passed around explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import platformdirs

APP_NAME = "Rollbook"

ENV_DATA_DIR = "ROLLBOOK_DATA_DIR"
ENV_DATABASE_URL = "ROLLBOOK_DATABASE_URL"
ENV_SERVER_URL = "ROLLBOOK_SERVER_URL"
ENV_SCHOOL_CODE = "ROLLBOOK_SCHOOL"
ENV_ACTOR = "ROLLBOOK_USER"
ENV_LOG_LEVEL = "ROLLBOOK_LOG_LEVEL"

DEFAULT_SCHOOL_CODE = "MAIN"


class RunMode(StrEnum):
    EMBEDDED = "embedded"
    SERVER = "server"
    REPLICA = "replica"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None = None
    server_url: str | None = None
    school_code: str = DEFAULT_SCHOOL_CODE
    actor: str = "admin"

    @property
    def mode(self) -> RunMode:
        if self.database_url:
            return RunMode.SERVER
        if self.server_url:
            return RunMode.REPLICA
        return RunMode.EMBEDDED

    @property
    def pgdata_dir(self) -> Path:
        return self.data_dir / "pgdata"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def load_settings(
    *,
    data_dir: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    school_code: str | None = None,
) -> Settings:
    """Build settings from the environment; explicit arguments (CLI flags) win."""
    env = os.environ
    resolved_dir = data_dir or env.get(ENV_DATA_DIR) or default_data_dir()
    return Settings(
        data_dir=Path(resolved_dir).expanduser(),
        database_url=database_url or env.get(ENV_DATABASE_URL) or None,
        server_url=env.get(ENV_SERVER_URL) or None,
        school_code=school_code or env.get(ENV_SCHOOL_CODE) or DEFAULT_SCHOOL_CODE,
        actor=env.get(ENV_ACTOR) or _login_name(),
    )


def _login_name() -> str:
    for var in ("USER", "USERNAME", "LOGNAME"):
        if env_value := os.environ.get(var):
            return env_value
    return "admin"


def needs_first_run(settings: Settings) -> bool:
    """True when this computer has no embedded database in the data dir yet."""
    return settings.mode is not RunMode.SERVER and not (settings.pgdata_dir / "PG_VERSION").exists()


def starting_text(settings: Settings) -> str:
    if settings.mode is RunMode.SERVER:
        return "Connecting to the database server…"
    if needs_first_run(settings):
        return "Creating the database (first start only, this takes a few seconds)…"
    return "Starting the database…"
