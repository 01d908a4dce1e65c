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

from app.cli import self_test
from app.cli.output import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    LOG_LEVELS,
    CommandError,
    configure_logging,
)
from app.config import ENV_LOG_LEVEL, Settings, load_settings
from app.domain.errors import RollbookError
from app.version import app_version

__all__ = ["CommandError", "STARTED", "build_parser", "main"]

# As early as Rollbook's own code runs: start-up times in the log count from here.
STARTED = time.monotonic()


def build_parser(*, with_commands: bool = True) -> argparse.ArgumentParser:
    """The command line's parser. ``with_commands=False`` knows the options only, not
    the sub-commands (nor loads their modules): what opening the window needs, which
    keeps the start quick (see ui.launch)."""
    parser = argparse.ArgumentParser(
        prog="rollbook",
        description="Rollbook: school administration. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"rollbook {app_version()}")
    parser.add_argument("--data-dir", help="folder for Rollbook's data (default: per-user)")
    parser.add_argument("--database-url", help="use this PostgreSQL server instead of the "
                        "embedded database (postgresql://user:pass@host/db)")  # fmt: skip
    parser.add_argument("--school", help="school code to work on (default: MAIN, or "
                        "ROLLBOOK_SCHOOL)")  # fmt: skip
    parser.add_argument("--log-level", metavar="LEVEL",
                        help=f"log Rollbook's work to stderr from this level on: "
                        f"{', '.join(LOG_LEVELS)}; info includes start-up times "
                        f"(default: warnings and errors, or {ENV_LOG_LEVEL})")  # fmt: skip
    self_test.register(parser)
    if not with_commands:
        return parser
    from app.cli import (
        attendance,
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
    )

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for area in (database, students, sessions, attendance, events, imports, maintenance,
                 consistency, requests, lookup, certificates, export):  # fmt: skip
        area.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, window_steps=None, pdf_writer=None) -> int:
    """Run one sub-command; its exit code. ``window_steps``: the self-test's steps that
    need the window; ``pdf_writer``: what draws certificate PDFs (Qt's). The desktop
    program hands both in (see ui.launch)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    if handler is self_test.cmd_self_test:
        return self_test.cmd_self_test(window_steps)
    settings = load_settings(
        data_dir=args.data_dir, database_url=args.database_url, school_code=args.school
    )
    started = time.monotonic()
    try:
        configure_logging(args.log_level or os.environ.get(ENV_LOG_LEVEL))
        args.pdf_writer = pdf_writer  # for `certificates pdf`
        return handler(args, settings)
    except RollbookError as exc:
        print(f"rollbook: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (`rollbook runs list | head`); nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"rollbook: interrupted after {time.monotonic() - started:.0f} s; "
              "nothing was changed.", file=sys.stderr)  # fmt: skip
        return 130
