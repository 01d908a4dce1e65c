"""The program people start: ``rollbook`` (the console script, and the frozen build).

With no sub-command it opens the desktop window (ui.app); with one it hands over to the
headless command line (app.cli) without loading Qt, so scripts, servers and a computer
without a screen work the same. ``--self-test`` runs there too, with the steps that
check the window handed in from ui.self_test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli import build_parser
    from app.cli import main as command_line
    from app.cli.output import EXIT_BAD_INPUT, configure_logging
    from app.cli.self_test import cmd_self_test
    from app.config import ENV_LOG_LEVEL, load_settings
    from app.domain.errors import RollbookError

    argv = list(sys.argv[1:] if argv is None else argv)
    # Opening the window needs the options only: the sub-commands (and their modules)
    # are loaded when something is left over for them, or for --help to list them.
    if {"-h", "--help"} & set(argv):
        args = build_parser().parse_args(argv)  # --help ends here, listing every command
    else:
        args, rest = build_parser(with_commands=False).parse_known_args(argv)  # --version
        if rest:
            args = build_parser().parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        try:
            configure_logging(args.log_level or os.environ.get(ENV_LOG_LEVEL))
        except RollbookError as exc:
            print(f"rollbook: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        from ui.app import run

        settings = load_settings(
            data_dir=args.data_dir, database_url=args.database_url, school_code=args.school
        )
        return run(settings)
    if handler is cmd_self_test:
        return command_line(argv, window_steps=_window_steps())
    from app.cli.certificates import cmd_certificates_pdf

    if handler is cmd_certificates_pdf:
        return command_line(argv, pdf_writer=_pdf_writer())
    return command_line(argv)


def _window_steps():
    # Checked offscreen (no window flashes up; works without a display, over SSH or in
    # CI) unless the caller chose a Qt platform.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from ui.self_test import window_steps
    except Exception as exc:  # e.g. a system library Qt needs is missing
        return _window_unavailable(str(exc))
    return window_steps


def _pdf_writer():
    """Qt's certificate PDF writer for `rollbook certificates pdf`, with the
    application object Qt's drawing needs (drawn offscreen: no window, no display)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtGui import QGuiApplication

        from ui.printing import write_certificates_pdf
    except Exception as exc:  # e.g. a system library Qt needs is missing
        return _pdf_unavailable(str(exc))

    def write(batch, path, job=None) -> int:
        application = QGuiApplication.instance() or QGuiApplication(["rollbook"])
        try:
            return write_certificates_pdf(batch, path, job)
        finally:
            del application  # kept alive until the PDF is written

    return write


def _pdf_unavailable(reason: str):
    from app.cli.output import CommandError

    def write(batch, path, job=None) -> int:
        raise CommandError(f"certificate PDFs need Qt, which could not be loaded ({reason})")

    return write


def _window_unavailable(reason: str):
    from app.self_test import StepFailed

    def window_steps(test, database, sample) -> None:
        with test.step("open main window"):
            raise StepFailed(f"the window toolkit could not be loaded ({reason})")

    return window_steps


if __name__ == "__main__":
    sys.exit(main())
