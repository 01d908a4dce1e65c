"""Settings: where Rollbook keeps its data and which database it talks to.

Everything is read from the environment (and CLI flags that override it) once, into
a frozen ``Settings`` value that is passed around explicitly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from app.domain.errors import ValidationError
from app.school_server import default_device_name, load_school_server

APP_NAME = "Rollbook"

ENV_DATA_DIR = "ROLLBOOK_DATA_DIR"
ENV_DATABASE_URL = "ROLLBOOK_DATABASE_URL"
ENV_SERVER_URL = "ROLLBOOK_SERVER_URL"
ENV_DEVICE_NAME = "ROLLBOOK_DEVICE_NAME"
ENV_SCHOOL_CODE = "ROLLBOOK_SCHOOL"
ENV_ACTOR = "ROLLBOOK_USER"
ENV_LOG_LEVEL = "ROLLBOOK_LOG_LEVEL"

DEFAULT_SCHOOL_CODE = "MAIN"

# A school code is typed on command lines and shown in titles: short, and letters,
# digits, - and _ only (stored in capitals).
SCHOOL_CODE_MAX = 20
_SCHOOL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

# The URL schemes a server URL may have: Rollbook speaks PostgreSQL only.
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


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
    # This desktop's name on the school server, and how often it syncs (replica mode).
    device_name: str = ""
    sync_interval_s: int = 60

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

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"


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
    resolved_dir = Path(data_dir or env.get(ENV_DATA_DIR) or default_data_dir()).expanduser()
    # A desktop connected to a school server keeps it in its data folder; the
    # environment still wins.
    kept = load_school_server(resolved_dir)
    return Settings(
        data_dir=resolved_dir,
        database_url=database_url or env.get(ENV_DATABASE_URL) or None,
        server_url=env.get(ENV_SERVER_URL) or (kept.url if kept else None),
        school_code=school_code
        or env.get(ENV_SCHOOL_CODE)
        or (kept.school_code if kept else "")
        or DEFAULT_SCHOOL_CODE,
        actor=env.get(ENV_ACTOR) or _login_name(),
        device_name=env.get(ENV_DEVICE_NAME)
        or (kept.device_name if kept else "")
        or default_device_name(),
        sync_interval_s=kept.interval_s if kept else 60,
    )


def check_school_code(code: str) -> str:
    """The school code as stored (capitals), or one line saying what a code may be."""
    code = code.strip()
    if not code:
        raise ValidationError("school", "A school needs a code, for example MAIN.")
    if len(code) > SCHOOL_CODE_MAX or not _SCHOOL_CODE.fullmatch(code):
        shown = code if len(code) <= 40 else f"{code[:40]}…"
        raise ValidationError(
            "school",
            f"{shown!r} is not a school code: use up to {SCHOOL_CODE_MAX} letters, digits, "
            "- or _ (for example MAIN or NORTH-2).",
        )
    return code.upper()


def check_database_url(url: str) -> str:
    """A server URL Rollbook can use (postgresql://…), or one line saying what to give.
    The password is never repeated back."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise ValidationError("database_url", f"The database URL cannot be read ({exc}); "
                              "use postgresql://user:password@host:5432/database.") from None  # fmt: skip
    scheme = parts.scheme.lower()
    if scheme not in POSTGRES_SCHEMES:
        got = f"starts with {scheme}://" if scheme else "does not start with postgresql://"
        raise ValidationError(
            "database_url",
            f"Rollbook needs PostgreSQL: use postgresql://user:password@host:5432/database "
            f"(the database URL given {got}).",
        )
    return url.strip()


def check_settings(settings: Settings) -> Settings:
    """``settings`` when its school code and server URL can be used; otherwise a
    ``ValidationError`` in one line (the command line checks before it starts)."""
    check_school_code(settings.school_code)
    if settings.database_url:
        check_database_url(settings.database_url)
    return settings


def _login_name() -> str:
    for var in ("USER", "USERNAME", "LOGNAME"):
        if env_value := os.environ.get(var):
            return env_value
    return "admin"


def os_login() -> str:
    """The operating-system login running Rollbook: the account linked to it acts
    without a password on this computer (app.services.users)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a container)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def needs_first_run(settings: Settings) -> bool:
    """True when this computer has no embedded database in the data dir yet."""
    return settings.mode is not RunMode.SERVER and not (settings.pgdata_dir / "PG_VERSION").exists()


def starting_text(settings: Settings) -> str:
    if settings.mode is RunMode.SERVER:
        return "Connecting to the database server…"
    if needs_first_run(settings):
        return "Creating the database (first start only, this takes a few seconds)…"
    return "Starting the database…"
