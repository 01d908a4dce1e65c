"""The embedded database always comes back: after a killed Rollbook, a killed
PostgreSQL, a killed client; and a new data folder runs tuned from its first start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

HOLDER = textwrap.dedent(
    """
    import time
    from sqlalchemy import text
    from app.config import load_settings
    from app.runtime import open_database
    from app.db.engine import make_engine
    db = open_database(load_settings())
    # A table of the test's own: the cluster admin's to make (the app's role may not).
    with make_engine(db.target.admin_url).begin() as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS kept (n int)"))
        s.execute(text("INSERT INTO kept SELECT generate_series(1, 50000)"))
    print("up", flush=True)
    time.sleep(600)
    """
)


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "ROLLBOOK_DATA_DIR": str(data_dir)}
    env.pop("ROLLBOOK_DATABASE_URL", None)
    return env


def _rollbook(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True, text=True, env=_env(data_dir), timeout=300,
    )  # fmt: skip


def _holder(data_dir: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=_env(data_dir),
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "up", holder.stderr.read()
    return holder


def _postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def _handles(pgdata: Path) -> list[int]:
    return json.loads((pgdata / ".handle_pids.json").read_text())


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_killed_rollbook_no_longer_keeps_the_database_running(tmp_path):
    """Its id stayed in pgserver's list for ever, so nobody stopped the server again."""
    pgdata = tmp_path / "data" / "pgdata"
    holder = _holder(tmp_path / "data")
    server = _postmaster(pgdata)
    holder.kill()
    holder.wait()
    assert holder.pid in _handles(pgdata)

    result = _rollbook(tmp_path / "data", "db", "current")

    assert result.returncode == 0, result.stderr
    # The next Rollbook joined the running server and, the last user alive, stopped it.
    assert _gone(server, 30)
    assert not (pgdata / "postmaster.pid").exists()
    assert _handles(pgdata) == []


def test_stop_embedded_stops_a_server_left_by_killed_processes(tmp_path):
    pgdata = tmp_path / "data" / "pgdata"
    holder = _holder(tmp_path / "data")
    server = _postmaster(pgdata)
    holder.kill()
    holder.wait()

    stop = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from app.db.engine import stop_embedded; print(stop_embedded(Path(sys.argv[1])))",
         str(pgdata)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert stop.stdout.strip() == "True", stop.stderr
    assert _gone(server, 30)
    assert _handles(pgdata) == []


@pytest.mark.slow
def test_after_a_crash_of_postgresql_the_next_start_recovers(tmp_path):
    data = tmp_path / "data"
    pgdata = data / "pgdata"
    holder = _holder(data)
    server = _postmaster(pgdata)
    os.kill(server, signal.SIGKILL)  # the server dies; the program using it too
    holder.kill()
    holder.wait()
    assert _gone(server, 10)

    result = _rollbook(data, "db", "current", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["at_head"]
    # Progress, in plain lines, not the server's log (that is in the log file).
    assert "Recovering the database after an unexpected stop" in result.stderr
    assert "LOG:" not in result.stderr and len(result.stderr.splitlines()) <= 2
    log = (data / "logs" / "postgresql.log").read_text()
    assert "was interrupted" in log or "not properly shut down" in log
    # The committed rows are there, and the server is stopped again.
    assert not (pgdata / "postmaster.pid").exists()
    probe = textwrap.dedent(
        """
        from sqlalchemy import text
        from app.config import load_settings
        from app.runtime import open_database
        from app.db.engine import make_engine
        db = open_database(load_settings())
        with make_engine(db.target.admin_url).connect() as c:
            print(c.execute(text("SELECT count(*) FROM kept")).scalar())
        db.close()
        """
    )
    count = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           env=_env(data), timeout=120)  # fmt: skip
    assert count.stdout.strip() == "50000", count.stderr


def test_a_server_that_cannot_start_is_one_line_naming_its_log(tmp_path):
    data = tmp_path / "data"
    assert _rollbook(data, "db", "current").returncode == 0
    auto_conf = data / "pgdata" / "postgresql.auto.conf"
    auto_conf.write_text(auto_conf.read_text() + "shared_buffers = 'lots'\n")

    result = _rollbook(data, "db", "current")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert str(data / "logs" / "postgresql.log") in lines[0]


def test_a_new_data_folder_is_tuned_from_its_first_start(tmp_path):
    data = tmp_path / "fresh"
    probe = textwrap.dedent(
        """
        from sqlalchemy import text
        from app.config import load_settings
        from app.runtime import open_database
        db = open_database(load_settings())
        with db.engine.connect() as c:
            print(c.execute(text("SHOW shared_buffers")).scalar(),
                  c.execute(text("SHOW client_connection_check_interval")).scalar())
        db.close()
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env=_env(data), timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["512MB", "2s"]
    # Started once, already tuned: no restart to make the settings hold.
    log = (data / "logs" / "postgresql.log").read_text()
    assert log.count("database system is ready to accept connections") == 1


def test_a_killed_clients_statement_stops_within_seconds(pg_server_url):
    admin = pg_server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    client = subprocess.Popen(
        [sys.executable, "-c", "import psycopg, sys; "
         "psycopg.connect(sys.argv[1], application_name='killed-client')"
         ".execute('SELECT pg_sleep(60)')", admin],
    )  # fmt: skip

    def running() -> int:
        with psycopg.connect(admin, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'killed-client'"
                " AND state = 'active'"
            ).fetchone()[0]

    try:
        deadline = time.monotonic() + 30
        while not running():
            assert time.monotonic() < deadline, "the client's statement never started"
            time.sleep(0.1)
    finally:
        client.kill()
        client.wait()
    killed = time.monotonic()
    while running():
        assert time.monotonic() - killed < 10, "the statement ran on after its client died"
        time.sleep(0.2)
