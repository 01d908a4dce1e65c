"""``rollbook --self-test``: the option, and running the self-test (app.self_test) with
the window steps the desktop program hands in (app never imports the Qt layer)."""

from __future__ import annotations

import argparse

EXIT_NO_WINDOW = 1


def register(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--self-test", nargs=0, action=_SelfTestAction,
        help="check this installation: start a throwaway database, open the window, "
        "search, export, shut down; prints one line, exit 0 when all steps pass",
    )  # fmt: skip


class _SelfTestAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        namespace.handler = cmd_self_test


def cmd_self_test(window_steps) -> int:
    """The data dir and database options are ignored: the self-test never touches real
    data. Without window steps (run headless, ``python -m app.cli``) the window step
    fails with the reason."""
    from app.self_test import StepFailed, run_self_test

    if window_steps is None:

        def window_steps(test, database, sample) -> None:
            with test.step("open main window"):
                raise StepFailed("the self-test needs the desktop program: run `rollbook "
                                 "--self-test` (the window is checked offscreen)")  # fmt: skip

    return run_self_test(window_steps)
