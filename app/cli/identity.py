"""Who a sub-command acts as: the audit log's actor and the role the services check.

- A school without accounts yet: whoever opens its data is its administrator, as
  before accounts existed (the first ``rollbook users add`` makes one).
- ``--user NAME``: that account, signed in with its password — from ``--password-stdin``
  (the first line of standard input), ``ROLLBOOK_PASSWORD``, or asked without echo.
  Five wrong passwords lock the account for five minutes, as in the window.
- Otherwise, on this computer's own database (embedded or replica): the account linked
  to the operating-system login running the command, as PostgreSQL's peer
  authentication does, so scripts keep working — with its password too where the school
  requires passwords.
- On a server (``--database-url``) a command always signs in: ``--user`` is needed.

A password is never echoed, logged or put into an error message.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.cli.output import CommandError
from app.config import RunMode, os_login

if TYPE_CHECKING:
    from app.domain.context import ServiceContext
    from app.runtime import Database

ENV_PASSWORD = "ROLLBOOK_PASSWORD"


@dataclass
class Asked:
    """What the command line said about who acts (set by ``main`` for each command)."""

    user: str | None = None
    password_stdin: bool = False


asked = Asked()
_stdin_lines: list[str] | None = None


def configure(user: str | None, password_stdin: bool) -> None:
    global asked, _stdin_lines
    asked = Asked(user.strip() if user else None, password_stdin)
    _stdin_lines = None


def stdin_line(what: str, *, signing_in: bool = False) -> str:
    """A line of standard input (``--password-stdin``): the first is the signing-in
    password when ``--user``'s comes from there; the lines after it, new passwords."""
    global _stdin_lines
    if _stdin_lines is None:
        _stdin_lines = sys.stdin.read().splitlines()
        if not asked.password_stdin:
            _stdin_lines.insert(0, "")  # no signing-in line: every line is a new password
    index = 0 if signing_in else 1
    if len(_stdin_lines) <= index:
        raise CommandError(f"--password-stdin: standard input has no line for {what}")
    return _stdin_lines.pop(index)


def ask_password(prompt: str) -> str:
    """A password typed without echo; refused where nobody can type one."""
    if not sys.stdin.isatty():
        raise CommandError(f"{prompt.rstrip(': ')}: give it with --password-stdin or "
                           f"{ENV_PASSWORD}; nobody is at a terminal to type it")  # fmt: skip
    return getpass.getpass(prompt)


def _sign_in_password(username: str) -> str:
    if asked.password_stdin:
        return stdin_line(f"{username}'s password", signing_in=True)
    if (from_env := os.environ.get(ENV_PASSWORD)) is not None:
        return from_env
    return ask_password(f"Password for {username}: ")


def acting_context(db: Database) -> ServiceContext:
    """The context a command works in, signed in as described above."""
    from sqlalchemy import text

    from app.services.users import (
        account_for_os_login,
        context_of,
        has_accounts,
        sign_in,
    )

    school_id = db.school.id
    with db.sessions.begin() as session:
        accounts = has_accounts(session, school_id)
        require_passwords = session.execute(
            text("SELECT require_passwords FROM school WHERE id = :s"), {"s": school_id}
        ).scalar()
        login = os_login()
        linked = account_for_os_login(session, school_id, login) if accounts else None
    if not accounts:
        return db.context()
    username = asked.user
    if username is None:
        if db.target.mode is RunMode.SERVER:
            raise CommandError("on a school server, say who you are: --user NAME (the "
                               f"password from --password-stdin, {ENV_PASSWORD}, or asked)")  # fmt: skip
        if linked is None:
            raise CommandError(f"no Rollbook account is linked to the login {login!r}: act as "
                               "an account with --user NAME, or have an admin link one "
                               f"(rollbook users add NAME --os-login {login})")  # fmt: skip
        if not require_passwords:
            return context_of(linked, school_id)
        username = linked.username
    password = _sign_in_password(username)
    with db.sessions.begin() as session:  # committed also when it fails: the count
        outcome = sign_in(session, school_id, username, password)
    if outcome.user is None:
        raise CommandError(outcome.message)
    return context_of(outcome.user, school_id)
