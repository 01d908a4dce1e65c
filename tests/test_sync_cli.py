"""`rollbook server init|add-device` and `rollbook sync [--once] | status | conflicts` as a
school's IT person and a registrar would run them: exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
import uuid

import pytest
from sync_setup import SCHOOL, create_database, drop_database, open_side

from app.cli import main
from app.services.students import StudentInput, create_student, update_student


def _run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def urls(pg_server_url, template_database):
    tag = uuid.uuid4().hex[:8]
    names = {"server": f"srv_{tag}", "a": f"a_{tag}", "b": f"b_{tag}"}
    made = {"server": create_database(pg_server_url, names["server"])}
    for desk in ("a", "b"):
        made[desk] = create_database(pg_server_url, names[desk], template_database)
    try:
        yield made
    finally:
        for name in names.values():
            drop_database(pg_server_url, name)


def _desktop(capsys, urls, desk: str, *args: str) -> tuple[int, str, str]:
    return _run(capsys, ["--database-url", urls[desk], "--school", SCHOOL, *args])


def test_a_school_sets_up_its_server_and_two_desktops_sync_through_it(capsys, urls):
    code, out, err = _run(capsys, ["server", "init", "--url", urls["server"], "--school",
                                   SCHOOL, "--school-name", "Sync School", "--json"])  # fmt: skip
    assert code == 0, err
    setup = json.loads(out)
    assert setup["school_code"] == SCHOOL and setup["revision"] in setup["accepted_revisions"]
    for desk in ("a", "b"):
        code, out, err = _run(capsys, ["server", "add-device", f"desk-{desk}", "--url",
                                       urls["server"], "--school", SCHOOL])  # fmt: skip
        assert code == 0 and f'Device "desk-{desk}" may now sync school {SCHOOL}' in out, err
    code, _out, err = _run(capsys, ["server", "add-device", "desk-a", "--url", urls["server"],
                                    "--school", SCHOOL])  # fmt: skip
    assert code == 2 and 'already has a device named "desk-a"' in err and err.count("\n") == 1

    for desk in ("a", "b"):
        code, out, err = _desktop(capsys, urls, desk, "sync", "--once", "--json", "--url",
                                  urls["server"], "--device", f"desk-{desk}")  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["status"] == "synced"

    a, b = open_side("a", urls["a"], "anna"), open_side("b", urls["b"], "ben")
    try:
        with a.sessions.begin() as s:
            student = create_student(s, a.ctx(), StudentInput("S1", "Ann", "Lee"))
        code, out, err = _desktop(capsys, urls, "a", "sync", "--once", "--url", urls["server"],
                                  "--device", "desk-a")  # fmt: skip
        assert code == 0 and out.startswith("Synced: pushed 1 change (1 transaction)"), err
        _desktop(capsys, urls, "b", "sync", "--once", "--url", urls["server"], "--device",
                 "desk-b")  # fmt: skip
        for side, name in ((a, "Anna"), (b, "Annie")):
            with side.sessions.begin() as s:
                update_student(s, side.ctx(), student.id, {"first_name": name})
        _desktop(capsys, urls, "a", "sync", "--once", "--url", urls["server"], "--device",
                 "desk-a")  # fmt: skip
        code, out, err = _desktop(capsys, urls, "b", "sync", "--once", "--url", urls["server"],
                                  "--device", "desk-b")  # fmt: skip
        assert code == 1 and "1 conflict waits for a decision" in out, err
    finally:
        a.close()
        b.close()

    code, out, _err = _desktop(capsys, urls, "b", "sync", "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["open_conflicts"] == 1 and status["device_name"] == "desk-b"
    code, out, _err = _desktop(capsys, urls, "b", "sync", "conflicts", "--json")
    assert code == 1
    (conflict,) = json.loads(out)
    assert (conflict["column"], conflict["base"], conflict["local"], conflict["server"]) == (
        "first_name",
        "Ann",
        "Annie",
        "Anna",
    )
    code, out, _err = _desktop(capsys, urls, "a", "sync", "conflicts")
    assert code == 0 and out == "No open sync conflicts.\n"


def test_an_unreachable_server_is_one_line_exit_2_and_nothing_is_lost(capsys, urls):
    _run(capsys, ["server", "init", "--url", urls["server"], "--school", SCHOOL])
    _run(capsys, ["server", "add-device", "desk-a", "--url", urls["server"], "--school", SCHOOL])
    assert _desktop(capsys, urls, "a", "sync", "--once", "--url", urls["server"], "--device",
                    "desk-a")[0] == 0  # fmt: skip
    code, _out, err = _desktop(capsys, urls, "a", "sync", "--once", "--device", "desk-a",
                               "--url", "postgresql://nobody@127.0.0.1:1/none")  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("rollbook: sync failed: cannot reach the school server at 127.0.0.1:1")
    assert "local changes stay queued" in err


def test_sync_without_a_server_says_how_to_give_one(capsys, urls, monkeypatch):
    monkeypatch.delenv("ROLLBOOK_SERVER_URL", raising=False)
    code, _out, err = _desktop(capsys, urls, "a", "sync", "--once")
    assert code == 2 and "ROLLBOOK_SERVER_URL" in err and err.count("\n") == 1


def test_an_unregistered_device_is_refused_naming_the_fix(capsys, urls):
    _run(capsys, ["server", "init", "--url", urls["server"], "--school", SCHOOL])
    code, _out, err = _desktop(capsys, urls, "a", "sync", "--once", "--url", urls["server"],
                               "--device", "laptop-7")  # fmt: skip
    assert code == 2 and "rollbook server add-device laptop-7" in err and err.count("\n") == 1
