"""What every sub-command shares: exit codes, JSON output, progress on stderr, and the
error type for bad command-line input.

Exit codes: 0 success; 1 the command ran and found something to report (checks,
rejected rows, a plan with changes); 2 bad input or the database could not be reached
or started, with a one-line message on stderr and never a traceback.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

from app.config import ENV_LOG_LEVEL
from app.domain.errors import RollbookError, ValidationError
from app.domain.jsonable import to_json_value
from app.jobs import Job, ProgressReport

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
LOG_LEVELS = ("debug", "info", "warning", "error")


class CommandError(RollbookError):
    """Bad command-line input detected by a sub-command."""


def date_option(text: str, option: str) -> date:
    """A date option's value (YYYY-MM-DD), or one line saying how to write it."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(option, f"{option} {text!r} is not a date; use 2026-09-01.") from None


def print_json(value: Any) -> None:
    print(json.dumps(value, default=to_json_value, ensure_ascii=False, indent=2))


def _to_stderr(report: ProgressReport) -> None:
    fraction = f"{report.fraction:5.1%}" if report.fraction is not None else ""
    print(f"\r{fraction} {report.text[:60]:<60}", end="", file=sys.stderr, flush=True)


def progress_job(as_json: bool) -> Job:
    """A job that shows progress on a terminal's stderr (never under --json or a pipe)."""
    return Job(_to_stderr if sys.stderr.isatty() and not as_json else None)


def end_progress(as_json: bool) -> None:
    if sys.stderr.isatty() and not as_json:
        print(file=sys.stderr)


def print_rejected(rejected: list[dict[str, Any]], shown: int = 20) -> None:
    for item in rejected[:shown]:
        print(f"  line {item['line']}, {item['column']}: {item['message']}")
    if len(rejected) > shown:
        print(f"  … and {len(rejected) - shown:,} more (use --rejected-out FILE)")


def configure_logging(level: str | None) -> None:
    """Send Rollbook's log records from ``level`` on to stderr (nothing to set up without
    one: Python prints warnings and errors by itself).

    The level is set on Rollbook's own loggers only, other libraries keep theirs at
    warning: SQLAlchemy, for one, logs every statement once its logger allows info.
    """
    if not level:
        return
    if level.lower() not in LOG_LEVELS:
        raise CommandError(f"{level!r} is not a log level; use one of {', '.join(LOG_LEVELS)} "
                           f"(--log-level or {ENV_LOG_LEVEL}).")  # fmt: skip
    import logging

    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    for name in ("app", "ui"):
        logging.getLogger(name).setLevel(level.upper())
