"""The rollbook command: exit codes, JSON output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.cli import main
from app.services.students import StudentInput, create_student


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("rollbook ")


def test_students_list_json_and_search(db, capsys):
    with db.sessions.begin() as s:
        create_student(s, db.context(), StudentInput("S1", "José", "Ñúñez", "jose@example.org"))
        create_student(s, db.context(), StudentInput("S2", "Anna", "Kowalska"))
    code, out, err = run_cli(
        capsys,
        "--database-url",
        db.url,
        "--school",
        "TEST",
        "students",
        "list",
        "--search",
        "jose",
        "--json",
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["student_no"], r["full_name"]) for r in rows] == [("S1", "José Ñúñez")]
    code, out, _ = run_cli(capsys, "--database-url", db.url, "--school", "TEST", "students", "list")
    assert code == 0 and "Anna Kowalska" in out and "José Ñúñez" in out


def test_db_current_reports_head(db, capsys):
    code, out, _ = run_cli(
        capsys, "--database-url", db.url, "--school", "TEST", "db", "current", "--json"
    )
    assert code == 0
    state = json.loads(out)
    assert state["at_head"] and state["mode"] == "server"


def test_unreachable_server_is_one_line_exit_2(capsys):
    code, out, err = run_cli(
        capsys, "--database-url", "postgresql://nobody@127.0.0.1:9/none", "students", "list"
    )
    assert code == 2
    assert err.count("\n") == 1 and "Cannot reach the database server" in err
    assert "Traceback" not in err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["students", "list", "--status", "graduated"])
    assert info.value.code == 2


def test_demo_data_rejects_zero_students(db, capsys):
    code, _, err = run_cli(
        capsys, "--database-url", db.url, "--school", "TEST", "demo-data", "--students", "0"
    )
    assert code == 2 and "at least 1" in err


def test_demo_data_small_school(db, capsys):
    code, out, err = run_cli(
        capsys, "--database-url", db.url, "--school", "TEST", "demo-data", "--students", "300", "--seed", "7",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["students"] == 300
    for key in ("courses", "enrollments", "sessions", "session_attendance", "events",
                "teams", "registrations", "event_attendance", "certificates"):  # fmt: skip
        assert summary[key] > 0, key
    code, out, _ = run_cli(capsys, "--database-url", db.url, "--school", "TEST", "students", "list", "--json",
                           "--limit", "1000")  # fmt: skip
    assert len(json.loads(out)) == 300


def test_unwritable_data_dir_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {**os.environ, "ROLLBOOK_DATA_DIR": str(blocker / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "students", "list"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "cannot write to its data folder" in result.stderr
    assert "Traceback" not in result.stderr
