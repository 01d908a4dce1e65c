"""An applied import never ends half-told.

One bulk run per school at a time: a second import of an overlapping file, from another
connection or another program, waits a moment for the first and is then refused in one
line naming it — never a unique-violation traceback — or, when the first ends in time,
goes ahead against what the first left.

--rejected-out that cannot be written is exit 2 with nothing changed: found when the
command line is read, or — when the disk fills while it is written — before the commit,
never "committed, then a traceback"."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.db.models import MaintenanceRun, Student
from app.imports.service import prepare, run_import
from app.runs import recorder
from app.runs.recorder import BulkRunBusy

FIRST = "student_no,name,email,course\n" + "".join(
    f"S{i},Student {i},s{i}@example.org,Art\n" for i in range(1, 4)
)
# Overlaps the first: S2 and S3 again (same values), S4 and S5 new.
SECOND = "student_no,name,email,course\n" + "".join(
    f"S{i},Student {i},s{i}@example.org,Art\n" for i in range(2, 6)
)


class HeldImport:
    """The first import, applied in a transaction of its own and kept open (holding the
    school's bulk lock) until ``release``; commits then."""

    def __init__(self, db, path: Path) -> None:
        self.ready, self.release = threading.Event(), threading.Event()
        self._pool = ThreadPoolExecutor(1)
        self._future = self._pool.submit(self._run, db, path)
        assert self.ready.wait(30), "the first import did not start"

    def _run(self, db, path: Path):
        prepared = prepare(path)
        try:
            with db.sessions.begin() as s:
                outcome = run_import(s, db.context(actor="anna"), prepared, commit=True)
                self.ready.set()
                assert self.release.wait(60)
            return outcome
        finally:
            self.ready.set()

    def finish(self):
        self.release.set()
        try:
            return self._future.result(60)
        finally:
            self._pool.shutdown()


@pytest.fixture
def files(tmp_path) -> tuple[Path, Path]:
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(FIRST)
    second.write_text(SECOND)
    return first, second


def _numbers(db) -> list[str]:
    with db.sessions.begin() as s:
        return sorted(s.scalars(select(Student.student_no)))


def _runs(db) -> list[tuple[str, str, str]]:
    with db.sessions.begin() as s:
        rows = s.execute(select(MaintenanceRun.actor, MaintenanceRun.status,
                                MaintenanceRun.summary).where(MaintenanceRun.dry_run.is_(False))
                         .order_by(MaintenanceRun.started_at)).all()  # fmt: skip
    return [(actor, status, (summary or {}).get("error", "")) for actor, status, summary in rows]


def _started_at(db) -> str:
    with db.sessions.begin() as s:
        started = s.scalar(select(MaintenanceRun.started_at).where(MaintenanceRun.actor == "anna"))
    return f"{started.astimezone():%H:%M}"


def test_a_second_connection_is_refused_naming_the_run_that_holds_the_school(
    db, files, monkeypatch
):
    monkeypatch.setattr(recorder, "BULK_RUN_WAIT_S", 0.5)
    first, second = files
    held = HeldImport(db, first)
    try:
        with db.sessions.begin() as s, pytest.raises(BulkRunBusy) as refused:
            run_import(s, db.context(actor="ben"), prepare(second), commit=True)
    finally:
        outcome = held.finish()
    assert str(refused.value) == (
        "Nothing was changed: another import is running on this school, started by anna at "
        f"{_started_at(db)}; try again when it has finished."
    )
    assert outcome.created == 3
    assert _numbers(db) == ["S1", "S2", "S3"]  # as the first import left it
    assert [run[:2] for run in _runs(db)] == [("anna", "succeeded"), ("ben", "failed")]
    assert "another import is running" in _runs(db)[1][2]


def test_a_dry_run_does_not_wait_for_the_lock(db, files, monkeypatch):
    monkeypatch.setattr(recorder, "BULK_RUN_WAIT_S", 30)
    first, second = files
    held = HeldImport(db, first)
    try:
        began = time.monotonic()
        with db.sessions.begin() as s:
            preview = run_import(s, db.context(actor="ben"), prepare(second), commit=False)
            s.rollback()
        assert time.monotonic() - began < 10
    finally:
        held.finish()
    assert preview.created == 4  # the first import was not committed when it looked


def _rollbook(db, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--database-url", db.url, "--school", "TEST", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _wait_until_polling_the_lock(db, timeout: float = 30) -> None:
    """Until another connection of this database is waiting for the bulk lock."""
    deadline = time.monotonic() + timeout
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND query LIKE '%pg_try_advisory_xact_lock%'"
            )).scalar()  # fmt: skip
            conn.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the second import never asked for the lock")


def test_a_second_program_is_refused_in_one_line_and_changes_nothing(db, files):
    first, second = files
    held = HeldImport(db, first)
    try:
        second_program = _rollbook(db, "import", "students", str(second), "--commit")
        out, err = second_program.communicate(timeout=120)
    finally:
        held.finish()
    assert second_program.returncode == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1
    assert err == (
        "rollbook: Nothing was changed: another import is running on this school, started by "
        f"anna at {_started_at(db)}; try again when it has finished.\n"
    )
    assert _numbers(db) == ["S1", "S2", "S3"]


def test_a_second_program_waits_for_a_first_that_ends_in_time_and_counts_right(db, files):
    first, second = files
    held = HeldImport(db, first)
    try:
        second_program = _rollbook(db, "import", "students", str(second), "--commit")
        _wait_until_polling_the_lock(db)
    finally:
        held.finish()
    out, err = second_program.communicate(timeout=120)
    assert second_program.returncode == 0, (out, err)
    assert "4 rows — 2 students created, 0 updated, 2 unchanged" in out
    assert _numbers(db) == ["S1", "S2", "S3", "S4", "S5"]
    assert [run[:2] for run in _runs(db)] == [("anna", "succeeded"), ("admin", "succeeded")]


# ---------------------------------------------------------------- --rejected-out

LEGACY = "student_no,group_name,team_number,course,active\nS1,Robotics,1,Art,yes\n" + "".join(
    f"S{i}404,Robotics,1,Art,yes\n"
    for i in range(1, 40)  # students Rollbook does not have
)
ROSTER_WITH_REJECTIONS = "student_no,name,email,course\nS1,Ann Lee,ann@example.org,Art\n" + (
    "".join(f"S{i},Bad Mail {i},not-an-e-mail-{i},Art\n" for i in range(2, 300))
)


def _import_args(kind: str, tmp_path: Path) -> list[str]:
    path = tmp_path / f"{kind}.csv"
    path.write_text(LEGACY if kind == "legacy-groups" else ROSTER_WITH_REJECTIONS)
    return ["import", kind, str(path), "--commit"]


def _unwritable_targets(tmp_path: Path) -> list[str]:
    targets = [
        str(tmp_path / "no such folder" / "rejected.csv"),
        str(tmp_path),
        "/sys/rejected.csv",
    ]  # /sys: access() says yes, yet no file can be made
    if os.geteuid() != 0:  # root writes into a read-only folder all the same
        read_only = tmp_path / "read-only"
        read_only.mkdir()
        read_only.chmod(0o555)
        targets.append(str(read_only / "rejected.csv"))
    return targets


def _changed(db) -> tuple[list[str], list, int]:
    with db.sessions.begin() as s:
        members = s.scalar(text("SELECT count(*) FROM legacy_group_member"))
    return _numbers(db), _runs(db), members


@pytest.mark.parametrize("kind", ["students", "legacy-groups"])
def test_an_unwritable_rejected_out_is_exit_2_before_anything_is_done(db, tmp_path, kind):
    from app.cli import main

    for target in _unwritable_targets(tmp_path):
        args = _import_args(kind, tmp_path)
        with pytest.raises(SystemExit) as ended:
            main(["--database-url", db.url, "--school", "TEST", *args, "--rejected-out", target])
        assert ended.value.code == 2, target
        assert _changed(db) == ([], [], 0)


@pytest.mark.parametrize("kind", ["students", "legacy-groups"])
def test_a_disk_that_fills_while_the_rejected_rows_are_written_rolls_the_import_back(
    db, tmp_path, kind
):
    """The file is written before the commit: a write that fails (here: the program may
    write no file larger than 300 bytes, as on a full disk) leaves nothing imported."""
    if kind == "legacy-groups":  # a student to find, so the import has something to do
        _rollbook(db, "import", "students", *_import_args("students", tmp_path)[2:]
                  ).communicate(timeout=120)  # fmt: skip
    before = _changed(db)
    target = tmp_path / "rejected.csv"

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed

    program = subprocess.run(
        [sys.executable, "-m", "app.cli", "--database-url", db.url, "--school", "TEST",
         *_import_args(kind, tmp_path), "--rejected-out", str(target)],
        capture_output=True, text=True, timeout=120, preexec_fn=small_files,
    )  # fmt: skip
    assert program.returncode == 2, (program.stdout, program.stderr)
    assert "Traceback" not in program.stderr and program.stderr.count("\n") == 1
    assert "The rejected rows could not be written" in program.stderr
    assert "Nothing was imported." in program.stderr
    assert not target.exists() and list(tmp_path.glob(".saving-*")) == []
    numbers, runs, members = _changed(db)
    assert (numbers, members) == (before[0], before[2])
    # The run was never committed: the history shows it as interrupted, not succeeded.
    assert [status for _actor, status, _error in runs[len(before[1]) :]] == ["running"]


def test_a_backfill_refused_for_a_running_import_is_exit_2_in_one_line(db, files):
    first, _second = files
    held = HeldImport(db, first)
    try:
        backfill = _rollbook(db, "backfill", "enrollments", "--commit")
        out, err = backfill.communicate(timeout=120)
    finally:
        held.finish()
    assert backfill.returncode == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1
    assert "another import is running on this school, started by anna" in err
