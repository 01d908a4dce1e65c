"""The embedded cluster: created on first use, shared by processes on one data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

HOLDER = textwrap.dedent(
    """
    import sys
    from sqlalchemy import text
    from app.config import load_settings
    from app.runtime import open_database
    db = open_database(load_settings())
    with db.engine.connect() as c:
        print(c.execute(text("select pg_backend_pid() > 0, inet_server_port()")).first(), flush=True)
    sys.stdin.readline()  # hold the cluster open until the test says so
    with db.engine.connect() as c:
        print("still-up", c.execute(text("select count(*) from student")).scalar(), flush=True)
    """
)


def _env(data_dir) -> dict[str, str]:
    env = {**os.environ, "ROLLBOOK_DATA_DIR": str(data_dir)}
    env.pop("ROLLBOOK_DATABASE_URL", None)
    return env


def test_two_processes_share_one_cluster(tmp_path):
    env = _env(tmp_path / "data")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        first_line = holder.stdout.readline()
        assert "True" in first_line, holder.stderr.read()
        postmaster = (tmp_path / "data" / "pgdata" / "postmaster.pid").read_text().split()[0]

        other = subprocess.run(
            [sys.executable, "-m", "app.cli", "db", "current", "--json"],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout)["at_head"]
        # The second process joined the running server and, leaving, did not stop it.
        pid_file = (tmp_path / "data" / "pgdata" / "postmaster.pid").read_text().split()[0]
        assert pid_file == postmaster

        out, err = holder.communicate("\n", timeout=60)
        assert "still-up 0" in out, err
    finally:
        if holder.poll() is None:
            holder.kill()
    # The last user stopped the cluster.
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()


def test_first_start_creates_and_migrates(tmp_path):
    env = _env(tmp_path / "fresh")
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "students", "list", "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert (tmp_path / "fresh" / "pgdata" / "PG_VERSION").exists()


def test_embedded_cluster_is_sized_for_rollbook(db):
    """The cluster is Rollbook's own: its memory settings are written once, for the next
    start (shared_buffers) and at once (work_mem)."""
    from sqlalchemy import text

    from app.db.engine import EMBEDDED_SETTINGS

    with db.as_owner() as conn:  # the server's files are the administrator's to read
        conn.execute(text("RESET ROLE"))
        written = dict(conn.execute(text(
            "SELECT name, setting FROM pg_file_settings WHERE sourcefile LIKE '%auto.conf'"
        )).all())  # fmt: skip
        work_mem = conn.execute(text("SHOW work_mem")).scalar()
    assert {k: written.get(k) for k in EMBEDDED_SETTINGS} == EMBEDDED_SETTINGS
    assert work_mem == EMBEDDED_SETTINGS["work_mem"]


def test_a_fresh_data_folder_runs_with_its_sizing_from_the_first_start(tmp_path):
    """shared_buffers only takes effect at a start: the first run of a new data folder
    (demo data or a first roster, then searches) used to run on PostgreSQL's 128 MB."""
    env = _env(tmp_path / "fresh")
    probe = textwrap.dedent(
        """
        from sqlalchemy import text
        from app.config import load_settings
        from app.runtime import open_database
        db = open_database(load_settings())
        with db.engine.connect() as c:
            print(c.execute(text("SHOW shared_buffers")).scalar(), flush=True)
        db.close()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "512MB"
    # It stopped what it started: nothing is left running, nothing left in the handle list.
    pgdata = tmp_path / "fresh" / "pgdata"
    assert not (pgdata / "postmaster.pid").exists()
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == []
