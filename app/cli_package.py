"""Command-line parts of the desktop package: ``rollbook --self-test``."""

from __future__ import annotations

import argparse
import importlib
import os

from app.config import Settings


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--self-test", nargs=0, action=_SelfTestAction,
        help="check this installation: start a throwaway database, open the window, "
        "search, export, shut down; prints one line, exit 0 when all steps pass",
    )  # fmt: skip


class _SelfTestAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        namespace.handler = cmd_self_test


def cmd_self_test(args: argparse.Namespace, settings: Settings) -> int:
    """The data dir and database options are ignored: the self-test never touches real data."""
    # The window is checked offscreen (no window flashes up, and it works without a
    # display, e.g. over SSH or in CI) unless the caller chose a Qt platform.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.self_test import run_self_test

    try:
        window_steps = importlib.import_module("ui.self_test").window_steps
    except Exception as exc:  # e.g. a system library Qt needs is missing
        window_steps = _window_unavailable(exc)
    return run_self_test(window_steps)


def _window_unavailable(error: Exception):
    from app.self_test import StepFailed

    def steps(test, database, sample) -> None:
        with test.step("open main window"):
            raise StepFailed(f"the window toolkit could not be loaded ({error})")

    return steps
