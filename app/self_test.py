"""``rollbook --self-test``: proves an installed Rollbook works on this computer.

It starts the embedded database in a temporary data folder, applies the migrations,
creates a small demo school, hands over to the window steps (``ui/self_test.py``,
passed in as ``window_steps`` because app/ never imports the Qt layer), then stops the
database and removes the folder. The result is one line; the exit code is 0 only when
every step passed, 1 otherwise, with the failed step named.

This module is Qt-free; the window steps are run by ``ui.self_test.run``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from app.config import RunMode, Settings
from app.db import migrate
from app.db.engine import make_engine, make_session_factory, resolve_target, stop_embedded
from app.domain.errors import RollbookError
from app.runtime import Database
from app.services.schools import ensure_school
from app.services.students import StudentQuery, list_students

EXIT_PASSED = 0
EXIT_FAILED = 1
DEMO_STUDENTS = 200
SELF_TEST_SCHOOL = "SELFTEST"


class StepFailed(Exception):
    """A self-test step found something wrong; the message says what."""


@dataclass
class StepResult:
    name: str
    seconds: float
    error: str | None = None


@dataclass
class SelfTest:
    """Runs named steps, times them and remembers the first failure."""

    results: list[StepResult] = field(default_factory=list)
    workdir: Path | None = None

    @property
    def failed(self) -> StepResult | None:
        return next((r for r in self.results if r.error is not None), None)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:  # every failure becomes the one-line result
            self.results.append(StepResult(name, time.perf_counter() - started, _reason(exc)))
            raise StepFailed(name) from exc
        self.results.append(StepResult(name, time.perf_counter() - started))

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise StepFailed(message)

    def summary_line(self) -> str:
        total = sum(r.seconds for r in self.results)
        failed = self.failed
        if failed is not None:
            return f"rollbook self-test: FAILED at step '{failed.name}': {failed.error}"
        steps = ", ".join(f"{r.name} {r.seconds:.1f} s" for r in self.results)
        return f"rollbook self-test: passed {len(self.results)} steps in {total:.1f} s ({steps})"


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, StepFailed | RollbookError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class SampleStudent:
    """A student the window steps search for, read from the database beforehand."""

    student_no: str
    last_name: str
    full_name: str


WindowSteps = Callable[[SelfTest, Database, SampleStudent], None]


def run_self_test(window_steps: WindowSteps | None, *, students: int = DEMO_STUDENTS) -> int:
    """Run every step, print the one-line result, return the exit code."""
    test = SelfTest()
    database: Database | None = None
    try:
        database, sample = _database_steps(test, students)
        if window_steps is not None:
            window_steps(test, database, sample)
    except StepFailed:
        pass
    finally:
        _shutdown(test, database)
    print(test.summary_line(), flush=True)
    return EXIT_FAILED if test.failed else EXIT_PASSED


def _database_steps(test: SelfTest, students: int) -> tuple[Database, SampleStudent]:
    with test.step("temporary data folder"):
        test.workdir = Path(tempfile.mkdtemp(prefix="rollbook-self-test-"))
        settings = Settings(data_dir=test.workdir / "data", school_code=SELF_TEST_SCHOOL,
                            actor="self-test")  # fmt: skip
        settings.data_dir.mkdir()
    with test.step("start database"):
        target = resolve_target(settings)
        test.check(
            target.mode is RunMode.EMBEDDED, f"expected the embedded database, got {target.mode}"
        )
    with test.step("migrations"):
        admin = make_engine(target.admin_url)
        try:
            migrate.upgrade(admin)
            test.check(migrate.is_at_head(admin), "the schema is not at the newest revision")
        finally:
            admin.dispose()
        # From here on as the application's own role, which owns nothing.
        engine = make_engine(target.url)
        sessions = make_session_factory(engine, settings.actor)
        with sessions.begin() as session:
            school = ensure_school(session, settings.school_code)
    database = Database(settings, target, engine, sessions, school)
    with test.step("accounts"):
        # argon2's compiled bindings are in the package, and a sign-in works.
        from app.services.users import create_first_admin, sign_in

        with sessions.begin() as session:
            create_first_admin(session, school.id, "self-test", "Self-test",
                               "self-test password")  # fmt: skip
        with sessions.begin() as session:
            signed = sign_in(session, school.id, "self-test", "self-test password")
        test.check(signed.ok, f"the self-test account could not sign in: {signed.message}")
    with test.step("demo data"):
        from app.db.roles import owner_connection
        from app.demo_data import create_demo_data

        with owner_connection(target.admin_url, settings.actor) as raw:
            create_demo_data(raw, school.id, students=students)
        with sessions.begin() as session:
            page = list_students(session, database.context(), StudentQuery(limit=1000))
        test.check(len(page.rows) == students,
                   f"expected {students} demo students, found {len(page.rows)}")  # fmt: skip
        # A student whose last name is not shared by too many others: a search for it
        # must come back with a short list that includes this student.
        counts: dict[str, int] = {}
        for row in page.rows:
            counts[row.last_name] = counts.get(row.last_name, 0) + 1
        row = min(page.rows, key=lambda r: (counts[r.last_name], r.student_no))
    return database, SampleStudent(row.student_no, row.last_name, row.full_name)


def _shutdown(test: SelfTest, database: Database | None) -> None:
    """Always runs: stop the database, remove the folder. A step only if all else passed."""
    started_ok = test.failed is None
    try:
        with test.step("shut down"):
            if database is not None:
                database.close()
            if test.workdir is not None:
                pgdata = test.workdir / "data" / "pgdata"
                pid = _postmaster_pid(pgdata)
                test.check(stop_embedded(pgdata), "the database server did not stop")
                test.check(pid is None or _wait_gone(pid),
                           f"the database server (process {pid}) is still running")  # fmt: skip
                shutil.rmtree(test.workdir)
                test.check(not test.workdir.exists(), f"{test.workdir} was not removed")
    except StepFailed:
        pass
    if not started_ok and test.results[-1].name == "shut down" and test.results[-1].error is None:
        test.results.pop()  # the run already failed; a clean shutdown is not news


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _wait_gone(pid: int, timeout_s: float = 10.0) -> bool:
    # pg_ctl returns once the server removed its pid file; the process itself may
    # take a moment longer to be gone from the process table.
    deadline = time.monotonic() + timeout_s
    while _process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # running as another user (pgserver's own account when run as root)
    return True
