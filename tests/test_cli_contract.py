"""The command line's exit-code contract, for every command: a mistake is one line on
stderr and exit 2, never a traceback.

The commands are found by walking ``build_parser()``, so a new command is covered
without touching this file."""

from __future__ import annotations

import argparse
import threading
import time

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.cli import build_parser, main
from app.db.models import School

BAD_DATE = "2026-13-45"
MISSING_FILE = "/nonexistent/rollbook/x.csv"
DATE_METAVARS = {"D", "DT", "DATE", "YYYY-MM-DD"}
DATE_DESTS = {"date", "from_date", "to_date", "from_", "to", "until", "opens", "closes"}


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaves(sub, (*path, name))
            return
    yield path, parser


COMMANDS = dict(_leaves(build_parser()))


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def _is_int(action: argparse.Action) -> bool:
    return action.type is int or getattr(action.type, "__name__", "") == "count"


def _is_date(action: argparse.Action) -> bool:
    metavar = str(action.metavar or "")
    return metavar in DATE_METAVARS or (metavar == "" and action.dest in DATE_DESTS)


def _is_file(action: argparse.Action) -> bool:
    metavar = str(action.metavar or "")
    return metavar.startswith("FILE") or action.dest in {"file", "path", "out"}


def _value(action: argparse.Action) -> str:
    """A well-formed value that names nothing in an empty school."""
    if action.choices:
        return str(next(iter(action.choices)))
    if _is_int(action):
        return "0"
    if _is_date(action):
        return "2026-09-01"
    if _is_file(action):
        return MISSING_FILE
    return "NOSUCH-1"


def _filled(path: tuple[str, ...], parser: argparse.ArgumentParser, **override: str) -> list[str]:
    """The command with every required argument given (``override`` by dest)."""
    argv = list(path)
    for action in _options(parser):
        if not (action.required or (not action.option_strings and action.nargs != "?")):
            continue
        value = override.get(action.dest, _value(action))
        argv += [action.option_strings[0], value] if action.option_strings else [value]
    return argv


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own mistakes
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str) -> None:
    assert "Traceback" not in err, err
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("rollbook: "), err


# ---------------------------------------------------------------- the parser alone

PARSE_CASES = []
for _path, _parser in COMMANDS.items():
    _name = " ".join(_path)
    if any(a.required or (not a.option_strings and a.nargs not in ("?", "*"))
           for a in _options(_parser)):  # fmt: skip
        PARSE_CASES.append(pytest.param(list(_path), id=f"{_name}: missing required"))
    PARSE_CASES.append(
        pytest.param([*_filled(_path, _parser), "--no-such-option"], id=f"{_name}: unknown option")
    )
    for _action in _options(_parser):
        if not _action.option_strings or _action.nargs == 0:
            continue
        _bad = []
        if _is_int(_action):
            _bad.append("notanumber")
        if getattr(_action.type, "__name__", "") == "count":
            _bad.append("-1")
        if _action.choices:
            _bad.append("nosuchchoice")
        for _text in _bad:
            _argv = [*_filled(_path, _parser), _action.option_strings[0], _text]
            PARSE_CASES.append(
                pytest.param(_argv, id=f"{_name}: {_action.option_strings[0]} {_text}")
            )


@pytest.mark.parametrize("argv", PARSE_CASES)
def test_bad_arguments_are_one_line_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    _out, err = capsys.readouterr()
    assert_refused(info.value.code, err)
    assert "--help" in err  # says where to read how


def test_every_command_is_covered():
    names = {" ".join(path) for path in COMMANDS}
    assert {"students list", "runs show", "import students", "requests reject"} <= names
    assert len(PARSE_CASES) > 2 * len(COMMANDS)


# ---------------------------------------------------------------- on a database

RUN_CASES = []
KEPT_CASES = []
for _path, _parser in COMMANDS.items():
    _name = " ".join(_path)
    _options_here = _options(_parser)
    for _action in _options_here:
        if _is_date(_action):
            _argv = _filled(_path, _parser, **{_action.dest: BAD_DATE})
            if _action.option_strings and not _action.required:
                _argv += [_action.option_strings[0], BAD_DATE]
            RUN_CASES.append(pytest.param(_argv, id=f"{_name}: bad date {_action.dest}"))
        elif _is_file(_action) and (_action.required or not _action.option_strings):
            RUN_CASES.append(
                pytest.param(_filled(_path, _parser), id=f"{_name}: no such file {_action.dest}")
            )
    if any(not a.option_strings and a.nargs != "?" for a in _options_here) or any(
        a.required for a in _options_here
    ):
        KEPT_CASES.append(pytest.param(_filled(_path, _parser), id=f"{_name}: names"))


@pytest.mark.parametrize("argv", RUN_CASES)
def test_bad_values_on_a_database_are_one_line_exit_2(db, capsys, argv):
    code, _out, err = _run(capsys, ["--database-url", db.url, "--school", "TEST", *argv])
    assert_refused(code, err)


@pytest.mark.parametrize("argv", KEPT_CASES)
def test_every_command_keeps_the_contract(db, capsys, argv):
    """Each command with made-up names (that an empty school does not have, or that a
    command creating things takes): 0 or 1, or 2 with one line; never a traceback."""
    code, _out, err = _run(capsys, ["--database-url", db.url, "--school", "TEST", *argv])
    assert "Traceback" not in err, err
    assert code in (0, 1, 2), err
    if code == 2:
        assert_refused(code, err)


LISTED = [
    (["import", "students", "x.csv", "--encoding", "klingon"], "not an encoding"),
    (["import", "students", "x.csv", "--encoding", "utf-16"], "save the file as UTF-8"),
    (["import", "students", "x.csv", "--encoding", "rot13"], "save the file as UTF-8"),
    (["import", "students", "x.csv", "--delimiter", "ab"], "not a delimiter"),
    (["runs", "list", "--limit", "-1"], "use 1 or more"),
    (["students", "list", "--limit", "5000"], "use 1 to 1,000"),
    (["runs", "show", "abcd", "--csv", MISSING_FILE], "choose another folder"),
    (["import", "students", "x.csv", "--rejected-out", "/"], "give a file name"),
    (["--log-level", "loud", "students", "list"], "not a log level"),
    (["--school", "X" * 100_000, "students", "list"], "is not a school code"),
    (["--school", "a b", "students", "list"], "is not a school code"),
    (["--school", "", "students", "list"], None),  # empty: the default school
]


@pytest.mark.parametrize(("argv", "says"), LISTED, ids=[" ".join(a)[:60] for a, _ in LISTED])
def test_listed_bad_inputs(db, capsys, argv, says):
    code, _out, err = _run(capsys, ["--database-url", db.url, "--school", "TEST", *argv])
    if says is None:
        return
    assert_refused(code, err)
    assert says in err


@pytest.mark.parametrize("url", ["notaurl", "mysql://u:secret@localhost/db",
                                 "sqlite:///x.db", "postgresql://u@localhost:port/db"])  # fmt: skip
def test_database_urls_that_are_not_postgresql_are_refused(capsys, url):
    code, _out, err = _run(capsys, ["--database-url", url, "students", "list"])
    assert_refused(code, err)
    assert "postgresql://" in err and "secret" not in err


def test_read_commands_create_no_school(db, capsys):
    def schools() -> int:
        with db.sessions.begin() as s:
            return s.scalar(select(func.count()).select_from(School))

    before = schools()
    for argv in (["students", "list"], ["runs", "list"], ["events", "list"],
                 ["requests", "list"], ["sync-check"]):  # fmt: skip
        code, _out, err = _run(capsys, ["--database-url", db.url, "--school", "NEWSCHOOL", *argv])
        assert_refused(code, err)
        assert "no school 'NEWSCHOOL' (schools: TEST)" in err
    assert schools() == before


def test_runs_show_takes_percent_and_underscore_literally(db, capsys):
    base = ["--database-url", db.url, "--school", "TEST"]
    code, _out, err = _run(capsys, [*base, "sync-check", "--json"])
    assert code in (0, 1), err
    code, out, err = _run(capsys, [*base, "runs", "list"])
    run_id = out.split()[0]
    assert _run(capsys, [*base, "runs", "show", run_id])[0] == 0
    for pattern in ("%%%%", "____", f"{run_id[:3]}_", f"{run_id[:3]}%"):
        code, _out, err = _run(capsys, [*base, "runs", "show", pattern])
        assert_refused(code, err)
        assert "No run id starts with" in err


def test_deciding_an_unknown_request_says_it_does_not_exist(db, capsys):
    for verb in ("approve", "reject"):
        code, _out, err = _run(capsys, ["--database-url", db.url, "--school", "TEST", "requests",
                                        verb, "3f2b0000-0000-0000-0000-000000000000"])  # fmt: skip
        assert_refused(code, err)
        assert "There is no enrollment request 3f2b0000" in err
        assert "decided it already" not in err


def test_no_command_is_one_line(capsys):
    code, out, err = _run(capsys, ["--school", "TEST"])
    assert_refused(code, err)
    assert out == ""


def test_database_killed_mid_command_is_one_line_exit_2(db, capsys):
    """The command's connection is ended by the server while demo data loads (as when
    the server is stopped or the embedded one killed): one line, exit 2."""
    database = make_url(db.url).database
    killed: list[int] = []
    done = threading.Event()

    def kill_when_busy() -> None:
        admin = db.admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(admin, autocommit=True) as conn:  # sees and ends any session
            deadline = time.monotonic() + 60
            while not done.is_set() and not killed and time.monotonic() < deadline:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                    "AND application_name = 'rollbook' AND pid <> pg_backend_pid() "
                    "AND (query ILIKE 'COPY%%' OR query ILIKE 'INSERT%%')", (database,),
                ).fetchall()  # fmt: skip
                for (pid,) in rows:
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    killed.append(pid)
                time.sleep(0.01)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    try:
        code, _out, err = _run(capsys, ["--database-url", db.url, "--school", "TEST",
                                        "demo-data", "--students", "30000"])  # fmt: skip
    finally:
        done.set()
        killer.join()
    assert killed, "the command ended before it could be stopped"
    assert_refused(code, err)
    assert "the database stopped answering" in err and "try again" in err
