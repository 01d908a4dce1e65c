"""What every sub-command shares: exit codes, JSON output, progress on stderr, and the
error type for bad command-line input.

Exit codes: 0 success; 1 the command ran and found something to report (checks,
rejected rows, a plan with changes); 2 bad input, the database could not be reached,
started or stopped answering, a file could not be used, or the command failed — with
a one-line message on stderr and never a traceback (``--log-level debug`` adds it).
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import re
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

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


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text: str) -> str:
    """``text`` as one printable line: line breaks and control characters become a
    space, and characters no terminal can show (lone surrogates) become escapes."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(" ", text).strip()


def say_error(text: str) -> None:
    """The one line a failed command leaves on stderr: ``rollbook: text``."""
    line = f"rollbook: {one_line(text)}\n"
    try:
        sys.stderr.write(line)
    except UnicodeEncodeError:  # a terminal in ASCII or Latin-1
        encoding = getattr(sys.stderr, "encoding", None) or "ascii"
        sys.stderr.write(line.encode(encoding, "backslashreplace").decode(encoding))
    sys.stderr.flush()


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a mistake is one line on stderr and exit 2, not the
    usage block: ``rollbook: error: … (see rollbook students list --help)``. Sub-parsers
    are of the same class (argparse makes them with the parent's)."""

    def error(self, message: str) -> NoReturn:
        say_error(f"error: {message} (see {self.prog} --help)")
        raise SystemExit(EXIT_BAD_INPUT)


def count_option(maximum: int | None = None, *, minimum: int = 1) -> Any:
    """An argparse ``type`` for --limit, --list and the like: a whole number from
    ``minimum`` (1) on, to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" to {maximum:,}" if maximum is not None else " or more"
            raise argparse.ArgumentTypeError(f"{value} is out of range; use {minimum}{upper}")
        return value

    parse.__name__ = "count"
    return parse


# CSV files are read as text line by line; these encodings have no ASCII line breaks.
_UNREADABLE = ("utf_16", "utf_32")


def encoding_option(text: str) -> str:
    """An argparse ``type`` for --encoding: a text encoding Python knows and the CSV
    reader can read (not UTF-16/32)."""
    try:
        info = codecs.lookup(text.strip())
    except (LookupError, ValueError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an encoding; use utf-8, windows-1252 or latin-1") from None  # fmt: skip
    name = info.name.replace("-", "_")
    if not getattr(info, "_is_text_encoding", True) or name.startswith(_UNREADABLE):
        raise argparse.ArgumentTypeError(
            f"{text!r} files cannot be read as CSV here; save the file as UTF-8 (or use "
            "utf-8, windows-1252 or latin-1)")  # fmt: skip
    return text.strip()


DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def delimiter_option(text: str) -> str:
    """An argparse ``type`` for --delimiter: a name (comma, semicolon, tab, pipe) or one
    character that can separate CSV fields; returns the character."""
    if text.strip().lower() in DELIMITERS:
        return DELIMITERS[text.strip().lower()]
    if len(text) != 1 or text in '\r\n"' or not text.isprintable() and text != "\t":
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a delimiter; use comma, semicolon, tab, pipe or one character")  # fmt: skip
    return text


def output_file_option(text: str) -> str:
    """An argparse ``type`` for a file the command writes (--csv, --rejected-out): its
    folder must exist and be writable, so nothing is done before the write fails."""
    path = Path(text).expanduser()
    folder = path.parent
    if not text.strip() or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: there is no folder {str(folder)!r}; choose another folder")  # fmt: skip
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: permission denied; choose another folder")  # fmt: skip
    # access() trusts the mode bits; a read-only file system, or one that refuses files
    # whatever they say (/sys, and anything for root), only shows when a file is made.
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: {exc.strerror or exc}; choose another folder") from None  # fmt: skip
    return text


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
