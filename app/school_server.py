"""Where this desktop's school server is, kept in its data folder so that a desktop
connected once (Tools > Connect to a school server…) syncs at every start.

``sync.json`` holds the server's address without its password, the device name and
how often to sync. The password is never written there: it goes to the operating
system's keyring (macOS Keychain, Windows Credential Locker, the Secret Service on
Linux — through ``keyring``) where one is available, else to ``sync-password`` beside
``sync.json``, readable by this user only. ``ROLLBOOK_SERVER_URL`` and
``ROLLBOOK_DEVICE_NAME`` still win over what is kept here.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

CONNECTION_FILE = "sync.json"
PASSWORD_FILE = "sync-password"
KEYRING_SERVICE = "Rollbook school server"
DEFAULT_INTERVAL_S = 60
MIN_INTERVAL_S = 10


@dataclass(frozen=True)
class SchoolServer:
    url: str  # with its password, to connect with; never shown or logged
    device_name: str
    school_code: str
    interval_s: int = DEFAULT_INTERVAL_S
    password_kept_in: str = "none"  # keyring | file | none

    @property
    def shown_url(self) -> str:
        return split_password(self.url)[0]


def split_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    user = f"{quote(unquote(parts.username or ''), safe='')}@" if parts.username else ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}{host}")), unquote(parts.password)


def with_password(url: str, password: str | None) -> str:
    if not password:
        return url
    parts = urlsplit(url)
    user = quote(unquote(parts.username or ""), safe="")
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def default_device_name() -> str:
    return socket.gethostname()


def load_school_server(data_dir: Path) -> SchoolServer | None:
    """What was kept, or None when this desktop was never connected (or the file is
    unreadable: then it is as if it had not been)."""
    try:
        kept = json.loads((data_dir / CONNECTION_FILE).read_text(encoding="utf-8"))
        url = str(kept["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    password, where = _read_password(data_dir, url)
    return SchoolServer(url=with_password(url, password),
                        device_name=str(kept.get("device_name") or default_device_name()),
                        school_code=str(kept.get("school_code") or ""),
                        interval_s=max(MIN_INTERVAL_S, int(kept.get("interval_s") or
                                                           DEFAULT_INTERVAL_S)),
                        password_kept_in=where)  # fmt: skip


def save_school_server(data_dir: Path, url: str, device_name: str, school_code: str,
                       interval_s: int = DEFAULT_INTERVAL_S) -> SchoolServer:  # fmt: skip
    """Keep the server (its password apart), replacing what was kept before."""
    shown, password = split_password(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    where = _write_password(data_dir, shown, password)
    target = data_dir / CONNECTION_FILE
    temporary = target.with_suffix(".tmp")
    interval_s = max(MIN_INTERVAL_S, int(interval_s))
    temporary.write_text(json.dumps({"url": shown, "device_name": device_name.strip(),
                                     "school_code": school_code.strip().upper(),
                                     "interval_s": interval_s}, indent=2),
                         encoding="utf-8")  # fmt: skip
    temporary.replace(target)
    return SchoolServer(url, device_name.strip(), school_code.strip().upper(), interval_s, where)


def forget_school_server(data_dir: Path) -> None:
    kept = load_school_server(data_dir)
    if kept is not None:
        _write_password(data_dir, kept.shown_url, None)
    (data_dir / CONNECTION_FILE).unlink(missing_ok=True)


def _keyring():
    """The OS keyring, or None where there is none (a server without a desktop session,
    a package built without it)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


def _read_password(data_dir: Path, url: str) -> tuple[str | None, str]:
    ring = _keyring()
    if ring is not None:
        try:
            found = ring.get_password(KEYRING_SERVICE, url)
        except Exception:  # a locked or broken keyring: the file, if any, still counts
            found = None
        if found:
            return found, "keyring"
    path = data_dir / PASSWORD_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").rstrip("\n"), "file"
    return None, "none"


def _write_password(data_dir: Path, url: str, password: str | None) -> str:
    path = data_dir / PASSWORD_FILE
    ring = _keyring()
    if ring is not None:
        try:
            if password:
                ring.set_password(KEYRING_SERVICE, url, password)
                path.unlink(missing_ok=True)
                return "keyring"
            ring.delete_password(KEYRING_SERVICE, url)
        except Exception:  # noqa: S110 - no keyring after all: the file below
            pass
    if not password:
        path.unlink(missing_ok=True)
        return "none"
    # Created readable by this user only, before the password is in it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(password)
    os.chmod(path, 0o600)
    return "file"
