"""Generated argument lists for the command-line parser (no database): it either parses
them or refuses with one line and exit 2 — never another exception."""

from __future__ import annotations

import argparse
import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.cli import build_parser

PARSER = build_parser()


def _words(parser: argparse.ArgumentParser) -> set[str]:
    words: set[str] = set()
    for action in parser._actions:
        words.update(action.option_strings)
        choices = action.choices or {}
        for name in choices:
            words.add(str(name))
            if isinstance(choices, dict) and isinstance(choices[name], argparse.ArgumentParser):
                words |= _words(choices[name])
    return words


WORDS = sorted(_words(PARSER) - {"-h", "--help", "--version"})
JUNK = st.sampled_from(["-1", "0", "abc", "2026-13-45", "--", "-", "=", "--x=", "%_", "",
                        " ", "\n", "é", "x" * 300, "\x00", "\ud800", "--limit=-5",
                        "--encoding=utf-16", "--delimiter=ab"])  # fmt: skip
TOKEN = st.one_of(st.sampled_from(WORDS), JUNK, st.text(max_size=12))


def _prefixes() -> list[list[str]]:
    """Every command's words (``runs show``), so most lists reach a sub-command."""
    paths: list[list[str]] = [[]]

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    paths.append([*path, name])
                    walk(sub, [*path, name])

    walk(PARSER, [])
    return paths


ARGV = st.builds(lambda head, tail: head + tail, st.sampled_from(_prefixes()),
                 st.lists(TOKEN, max_size=8))  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ARGV)
def test_parser_parses_or_refuses_in_one_line(argv):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            PARSER.parse_args(argv)
        except SystemExit as exc:
            code = exc.code
        else:
            code = None
    if code is None:
        return
    if code == 0:  # an abbreviation of --help or --version: their text, on stdout
        assert out.getvalue() and not err.getvalue(), argv
        return
    assert code == 2, (argv, code, err.getvalue())
    text = err.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n"), (argv, text)
    assert text.startswith("rollbook: error: ") and "Traceback" not in text
    assert out.getvalue() == ""
