"""``rollbook`` on the command line: the headless sub-commands.

The program people start (``ui.launch``) opens the window when no sub-command is given
and hands everything else to ``main`` here, so nothing in this package needs Qt. Each
area's sub-commands live in their own module; they share ``app.cli.output``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from app.cli import identity, self_test
from app.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    LOG_LEVELS,
    ArgumentParser,
    CommandError,
    configure_logging,
    one_line,
    say_error,
)
from app.config import ENV_LOG_LEVEL, Settings, check_settings, load_settings
from app.domain.errors import RollbookError
from app.version import app_version

__all__ = ["CommandError", "STARTED", "build_parser", "main"]

# As early as Rollbook's own code runs: start-up times in the log count from here.
STARTED = time.monotonic()


def build_parser(*, with_commands: bool = True) -> argparse.ArgumentParser:
    """The command line's parser. ``with_commands=False`` knows the options only, not
    the sub-commands (nor loads their modules): what opening the window needs, which
    keeps the start quick (see ui.launch)."""
    parser = ArgumentParser(
        prog="rollbook",
        description="Rollbook: school administration. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"rollbook {app_version()}")
    parser.add_argument("--data-dir", help="folder for Rollbook's data (default: per-user)")
    parser.add_argument("--database-url", help="use this PostgreSQL server instead of the "
                        "embedded database (postgresql://user:pass@host/db)")  # fmt: skip
    parser.add_argument("--school", help="school code to work on (default: MAIN, or "
                        "ROLLBOOK_SCHOOL)")  # fmt: skip
    parser.add_argument("--user", metavar="NAME",
                        help="act as this Rollbook account, signed in with its password "
                        "(default: the account linked to your login)")  # fmt: skip
    parser.add_argument("--password-stdin", action="store_true", dest="sign_in_password_stdin",
                        help="read --user's password from the first line of standard input "
                        "(else ROLLBOOK_PASSWORD, else it is asked)")  # fmt: skip
    parser.add_argument("--log-level", metavar="LEVEL",
                        help=f"log Rollbook's work to stderr from this level on: "
                        f"{', '.join(LOG_LEVELS)}; info includes start-up times "
                        f"(default: warnings and errors, or {ENV_LOG_LEVEL})")  # fmt: skip
    self_test.register(parser)
    if not with_commands:
        return parser
    from app.cli import (
        attendance,
        backup,
        certificates,
        consistency,
        database,
        events,
        export,
        imports,
        lookup,
        maintenance,
        requests,
        sessions,
        students,
        sync,
        users,
    )

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for area in (database, students, sessions, attendance, events, imports, maintenance,
                 consistency, requests, lookup, certificates, export, backup, sync,
                 users):  # fmt: skip
        area.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, window_steps=None, pdf_writer=None) -> int:
    """Run one sub-command; its exit code. ``window_steps``: the self-test's steps that
    need the window; ``pdf_writer``: what draws certificate PDFs (Qt's). The desktop
    program hands both in (see ui.launch).

    The exit-code contract holds here for every command: whatever goes wrong ends in
    one line on stderr and exit 2 (a mistake in the arguments raises ``SystemExit(2)``
    from the parser, also after one line), never a traceback — unless ``--log-level
    debug`` asks for it."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] | None = getattr(args, "handler", None)
    if handler is None:
        say_error("error: no command given (see rollbook --help for the commands)")
        return EXIT_BAD_INPUT
    if handler is self_test.cmd_self_test:
        return self_test.cmd_self_test(window_steps)
    started = time.monotonic()
    level = args.log_level or os.environ.get(ENV_LOG_LEVEL)
    try:
        configure_logging(level)
        settings = check_settings(load_settings(
            data_dir=args.data_dir, database_url=args.database_url, school_code=args.school
        ))  # fmt: skip
        args.pdf_writer = pdf_writer  # for `certificates pdf`
        identity.configure(args.user, args.sign_in_password_stdin)
        return handler(args, settings)
    except RollbookError as exc:
        say_error(str(exc))
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (`rollbook runs list | head`); nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        say_error(f"interrupted after {time.monotonic() - started:.0f} s; nothing was changed.")
        return 130
    except Exception as exc:
        if (level or "").lower() == "debug":
            import traceback

            traceback.print_exc()
        say_error(failure_text(exc))
        return EXIT_BAD_INPUT


# SQLSTATE classes that mean the connection itself is gone: 08 connection exception,
# 57P01-57P03 the server shut down or is starting.
_CONNECTION_GONE = ("08", "57P01", "57P02", "57P03")


def _first_line(exc: BaseException) -> str:
    text = one_line(str(exc).split("\n", 1)[0]) if str(exc).strip() else ""
    return text or type(exc).__name__


def failure_text(exc: BaseException) -> str:
    """One line for a failure no sub-command turned into a ``RollbookError``: what went
    wrong, by kind, and what to do."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return (f"cannot use {exc.filename}: {exc.strerror or exc}; check the path, or "
                "choose another file or folder.")  # fmt: skip
    database_error = _database_error(exc)
    if database_error is not None:
        sqlstate = getattr(database_error, "sqlstate", None)
        reason = _first_line(database_error)
        if sqlstate is None or sqlstate.startswith(_CONNECTION_GONE):
            return (f"the database stopped answering ({reason}); nothing was changed — check "
                    "it is running and try again.")  # fmt: skip
        return (f"the database refused the work ({reason}); nothing was changed — try "
                "again, or run with --log-level debug for details.")  # fmt: skip
    return (f"internal error: {type(exc).__name__}: {_first_line(exc)} (run with --log-level "
            "debug for details).")  # fmt: skip


def _database_error(exc: BaseException) -> BaseException | None:
    """The psycopg error behind ``exc`` when the database (or the connection to it)
    failed rather than Rollbook: an operational or interface error."""
    psycopg = sys.modules.get("psycopg")
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)) or (
            exc.connection_invalidated
        ):
            return exc.orig if exc.orig is not None else exc
        return None
    if psycopg is not None and isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return exc
    return None
