"""The server's retention and a desktop's re-initialise after a long absence, on real
databases (a server and two desktops): old tombstones go for good, a desktop away longer
is asked to re-initialise, and it does so without losing a change made offline."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import text
from sync_setup import SCHOOL, Desktop, Side

from app.cli import main
from app.domain.errors import Cancelled, SyncRefused
from app.jobs import Job
from app.services.courses import create_course
from app.services.enrollments import enroll
from app.services.students import StudentInput, create_student, delete_student, update_student
from app.sync.link import ServerLink
from app.sync.prune import PRUNE_ACTOR, prune_tombstones
from app.sync.reinit import preview_reinit, reinitialise
from app.sync.resolve import resolve_conflict
from app.sync.tables import SYNCED_TABLES


def _student(side: Side, number: str, first: str = "Ann"):
    with side.sessions.begin() as s:
        return create_student(s, side.ctx(), StudentInput(number, first, "Lee"))


def _numbers(side: Side) -> list[str]:
    return [r[0] for r in side.rows("SELECT student_no FROM student ORDER BY student_no")]


def _school_rows(side: Side) -> dict[str, int]:
    return {t: side.scalar(f"SELECT count(*) FROM {t}") for t in SYNCED_TABLES}


def _reinit(desk: Desktop, **kw):
    return reinitialise(desk.sessions, desk.server_url, school_code=SCHOOL,
                        device_name=desk.device, revision=desk.revision, **kw)  # fmt: skip


def _away(server: Side, desk: Desktop, days: int = 200) -> None:
    """The desktop was last seen ``days`` ago."""
    with server.sessions.begin() as s:
        s.execute(text("UPDATE sync_device SET last_seen_at = now() - make_interval(days => :d) "
                       "WHERE name = :n"), {"d": days, "n": desk.device})  # fmt: skip


def _deleted_long_ago(server: Side, *numbers: str) -> None:
    with server.sessions.begin() as s:
        s.execute(text("UPDATE student SET deleted_at = now() - interval '200 days' "
                       "WHERE student_no = ANY (:n)"), {"n": list(numbers)})  # fmt: skip


@pytest.fixture
def pruned(sync_school):
    """S1 deleted long ago (nothing refers to it), S2 deleted long ago but still enrolled,
    S3 deleted last week; desktop A away for 200 days, B synced today."""
    server, a, b = sync_school
    students = {n: _student(a, n) for n in ("S1", "S2", "S3", "S4")}
    with a.sessions.begin() as s:
        course = create_course(s, a.ctx(), "Mathematics")
        enroll(s, a.ctx(), students["S2"].id, course.id)
    assert a.sync().ok and b.sync().ok
    with server.sessions.begin() as s:
        for n in ("S1", "S2", "S3"):
            delete_student(s, server.ctx(), students[n].id)
        # The enrollment stays live: a row that still refers to the old tombstone.
        s.execute(text("UPDATE course_enrollment SET deleted_at = NULL, active = true"))
    _deleted_long_ago(server, "S1", "S2")
    assert a.sync().ok and b.sync().ok
    _away(server, a)
    return server, a, b, students


def test_a_dry_run_counts_exactly_and_changes_nothing(pruned):
    server, a, _b, _students = pruned
    report = prune_tombstones(server.url)
    assert not report.committed and report.retention_days == 180
    assert report.removed == {"student": 1} and report.kept_referred == {"student": 1}
    assert [d.name for d in report.devices] == [a.device]
    assert _numbers(server) == ["S1", "S2", "S3", "S4"]
    assert not server.scalar("SELECT bool_or(reinit_required) FROM sync_device")
    assert server.scalar("SELECT pruned_at FROM sync_server") is None


def test_a_prune_removes_old_tombstones_and_asks_the_away_desktop_to_reinitialise(pruned):
    server, a, b, _students = pruned
    report = prune_tombstones(server.url, commit=True)
    assert report.committed and report.removed_rows == 1
    assert _numbers(server) == ["S2", "S3", "S4"]  # S2 is still enrolled; S3 is recent
    assert server.scalar("SELECT actor FROM audit_log WHERE action = 'delete' AND "
                         "entity = 'student'") == PRUNE_ACTOR  # fmt: skip
    # B, here today, learns of the removal as of any delete.
    assert b.sync().status == "synced"
    assert _numbers(b) == ["S2", "S3", "S4"]

    # A worked offline all the while: a new student and an edit.
    _student(a, "S5", "Eve")
    with a.sessions.begin() as s:
        update_student(s, a.ctx(), a.scalar("SELECT id FROM student WHERE student_no = 'S4'"),
                       {"first_name": "Anna"})  # fmt: skip
    report = a.sync()
    assert report.status == "reinit_required" and "re-initialise" in report.message
    assert report.pending_operations >= 2  # kept, not sent, not dropped
    assert "S5" not in _numbers(server)
    # An older Rollbook that does not ask is refused its pull all the same.
    with ServerLink(a.server_url) as link, pytest.raises(SyncRefused) as refused:
        device = a.scalar("SELECT device_id FROM sync_state")
        link.call("rollbook_sync_pull", str(device), "0", 0, None, 10)
    assert refused.value.reinit_required

    with a.sessions.begin() as s:
        preview = preview_reinit(s, a.school_id())
    assert preview.open_conflicts == 0
    summaries = [c.summary for c in preview.waiting]
    assert any("S5 Eve Lee" in line and "added" in line for line in summaries), summaries
    assert any("S4" in line and "changed (first_name" in line for line in summaries), summaries

    outcome = _reinit(a)
    assert outcome.pushed_operations >= 2 and outcome.open_conflicts == 0, outcome.message
    assert outcome.removed_rows == 1  # S1, which the server no longer has
    assert _numbers(a) == _numbers(server) == ["S2", "S3", "S4", "S5"]
    assert server.scalar("SELECT first_name FROM student WHERE student_no = 'S4'") == "Anna"
    assert _school_rows(a) == _school_rows(server)
    assert a.sync().status == "synced"
    assert not server.scalar("SELECT reinit_required FROM sync_device WHERE name = :n",
                             n=a.device)  # fmt: skip
    assert b.sync().status == "synced" and _numbers(b) == _numbers(server)


def test_conflicting_changes_are_decided_after_the_copy_as_after_any_sync(pruned):
    server, a, b, students = pruned
    prune_tombstones(server.url, commit=True)
    with b.sessions.begin() as s:
        update_student(s, b.ctx(), students["S4"].id, {"first_name": "Annie"})
    assert b.sync().status == "synced"
    _student(b, "S6", "Bee")  # B, online, gives S6 to another student …
    assert b.sync().status == "synced"
    with a.sessions.begin() as s:
        update_student(s, a.ctx(), students["S4"].id, {"first_name": "Anna"})
    a_only = _student(a, "S6", "Dup")  # … than A did offline
    outcome = _reinit(a)
    assert outcome.open_conflicts >= 2, outcome.message
    assert "for a decision" in outcome.message
    assert a.scalar("SELECT count(*) FROM student WHERE student_no = 'S1'") == 0  # replaced
    # The duplicate made here stays for the decision; the server's S6 waits for its key.
    assert a.scalar("SELECT first_name FROM student WHERE id = :i", i=a_only.id) == "Dup"
    while True:
        with a.sessions.begin() as s:
            waiting = s.execute(text("SELECT id, kind FROM sync_conflict WHERE resolved_at "
                                     "IS NULL ORDER BY created_at LIMIT 1")).first()  # fmt: skip
            if waiting is None:
                break
            take, value = ("local", None) if waiting.kind == "column" else ("value", "S8")
            resolve_conflict(s, a.ctx(), waiting.id, take, value)
    assert a.sync().status == "synced"
    assert server.scalar("SELECT first_name FROM student WHERE student_no = 'S4'") == "Anna"
    assert server.scalar("SELECT first_name FROM student WHERE student_no = 'S8'") == "Dup"
    assert server.scalar("SELECT first_name FROM student WHERE student_no = 'S6'") == "Bee"
    assert _numbers(a) == _numbers(server)


def test_a_cancelled_copy_leaves_the_desktop_as_it_was(pruned):
    server, a, _b, _students = pruned
    prune_tombstones(server.url, commit=True)
    before = a.rows("SELECT id, student_no, first_name, row_version, deleted_at FROM student "
                    "ORDER BY id")  # fmt: skip
    audit_before = a.scalar("SELECT max(id) FROM audit_log")
    job = Job()
    pages = 0

    def cancel_after_a_page(done, total=None, text_=""):
        nonlocal pages
        pages += 1
        if pages == 3:
            job.cancel()

    job.progress = cancel_after_a_page  # type: ignore[method-assign]
    with pytest.raises(Cancelled):
        _reinit(a, job=job)
    assert a.rows("SELECT id, student_no, first_name, row_version, deleted_at FROM student "
                  "ORDER BY id") == before  # fmt: skip
    assert a.scalar("SELECT max(id) FROM audit_log") == audit_before
    assert server.scalar("SELECT reinit_required FROM sync_device WHERE name = :n", n=a.device)
    assert a.sync().status == "reinit_required"  # still asked; the next try succeeds
    assert _reinit(a).open_conflicts == 0


def test_the_cli_previews_then_reinitialises(pruned, capsys):
    server, a, _b, _students = pruned

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = run("server", "prune", "--url", server.url, "--retention-days", "150")
    assert code == 0, err
    assert "Would remove 1 deleted row older than 150 days" in out
    assert f"Device {a.device} ({SCHOOL})" in out and "would be asked" in out
    assert "Nothing changed; --commit removes them." in out
    code, out, err = run("server", "prune", "--url", server.url, "--commit", "--json")
    assert code == 0, err
    assert json.loads(out)["removed"] == {"student": 1}

    _student(a, "S9", "Zoe")
    desk = ["--database-url", a.url, "--school", SCHOOL]
    code, out, err = run(*desk, "sync", "--once", "--url", server.url, "--device", a.device)
    assert code == 2 and "re-initialise" in err and err.count("\n") == 1
    code, out, err = run(*desk, "sync", "reinit", "--url", server.url, "--device", a.device)
    assert code == 0, err
    assert "First, its 1 waiting change is sent" in out and "S9 Zoe Lee: added" in out
    assert "S9" not in _numbers(server)
    code, out, err = run(*desk, "sync", "reinit", "--commit", "--json", "--url", server.url,
                         "--device", a.device)  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["open_conflicts"] == 0 and report["pushed_operations"] == 1
    assert "S9" in _numbers(server) and _numbers(a) == _numbers(server)


def test_the_server_unreachable_replaces_nothing(pruned):
    _server, a, _b, _students = pruned
    before = _numbers(a)
    with pytest.raises(Exception) as failed:
        reinitialise(a.sessions, "postgresql://nobody@127.0.0.1:9/none", school_code=SCHOOL,
                     device_name=a.device, revision=a.revision)  # fmt: skip
    assert "cannot reach the school server" in str(failed.value)
    assert _numbers(a) == before


def test_a_student_added_while_the_copy_runs_is_kept_and_sent(pruned):
    """The copy is one local transaction; a registrar keeps working meanwhile. An edit
    that touches what the copy holds waits for it, then lands; it is sent, never lost."""
    server, a, _b, _students = pruned
    prune_tombstones(server.url, commit=True)
    job = Job()
    progress = job.progress
    adding: list[threading.Thread] = []

    def add_a_student_meanwhile(done, total=None, text_=""):
        if text_.startswith("Removing") and not adding:
            adding.append(threading.Thread(target=lambda: _student(a, "S7", "Meanwhile")))
            adding[0].start()  # another connection, like the window's worker
            adding[0].join(1)
        progress(done, total, text_)

    job.progress = add_a_student_meanwhile  # type: ignore[method-assign]
    assert _reinit(a, job=job).open_conflicts == 0
    adding[0].join(30)
    assert "S7" in _numbers(a)
    assert a.sync().status == "synced"
    assert "S7" in _numbers(server)
