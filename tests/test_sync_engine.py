"""The sync engine between desktops and a school server, all real databases: merges per
column, deletes never silent, duplicate keys shown, the pull cursor never skipping a
late transaction, the first copy resumable."""

from __future__ import annotations

import json
import threading
import uuid

import psycopg
import pytest
from sqlalchemy import text
from sync_setup import SCHOOL, Side, admin_url

from app.services.courses import find_or_create_course
from app.services.enrollments import enroll
from app.services.students import StudentInput, create_student, delete_student, update_student
from app.sync.tables import SYNCED_TABLES


def _student(side: Side, number: str, first: str = "Ann", last: str = "Lee", **kw):
    with side.sessions.begin() as s:
        return create_student(s, side.ctx(), StudentInput(number, first, last, **kw))


def _update(side: Side, student_id, **changes):
    with side.sessions.begin() as s:
        return update_student(s, side.ctx(), student_id, changes)


def _student_row(side: Side, student_id):
    return side.rows("SELECT student_no, first_name, last_name, email, class_name, "
                     "deleted_at IS NOT NULL AS deleted FROM student WHERE id = :i",
                     i=student_id)  # fmt: skip


def test_the_server_functions_know_the_same_tables_as_the_engine():
    from importlib import import_module

    migration = import_module("migrations.versions.0014_sync_engine")
    assert migration.SYNCED_TABLES == SYNCED_TABLES


def test_a_new_desktop_copies_the_school_and_pulled_rows_are_never_pushed(sync_cluster):
    server = sync_cluster.server()
    a = sync_cluster.desktop("a", server)
    ctx = server.ctx()
    with server.sessions.begin() as s:
        student = create_student(s, ctx, StudentInput("S1", "Zoë", "Müller"))
        course = find_or_create_course(s, ctx, "Biology")[0]
        enroll(s, ctx, student.id, course.id)
    report = a.sync()
    assert report.status == "synced", report.message
    assert report.copied_rows >= 4  # school, course, student, enrollment, progress
    assert _student_row(a, student.id) == [("S1", "Zoë", "Müller", None, None, False)]
    assert a.scalar("SELECT count(*) FROM course_enrollment") == 1
    # What came from the server is captured as such and is not a change to push.
    assert a.scalar("SELECT count(*) FROM audit_log WHERE origin = 'local'") == 0
    assert report.pending_operations == 0
    again = a.sync()
    assert again.status == "synced" and again.pushed_operations == 0


def test_two_offline_edits_to_different_columns_are_both_kept(sync_school):
    server, a, b = sync_school
    student = _student(a, "S1", email="ann@x.org")
    assert a.sync().ok and b.sync().ok
    _update(a, student.id, first_name="Anna")
    _update(b, student.id, class_name="7B")
    assert a.sync().status == "synced"
    report = b.sync()
    assert report.status == "synced", report.message
    assert a.sync().status == "synced"
    expected = [("S1", "Anna", "Lee", "ann@x.org", "7B", False)]
    assert _student_row(server, student.id) == expected
    assert _student_row(a, student.id) == expected
    assert _student_row(b, student.id) == expected
    assert server.scalar("SELECT count(*) FROM sync_applied_op") >= 3


def test_the_same_column_edited_on_both_is_one_conflict_and_the_server_value_stays(sync_school):
    server, a, b = sync_school
    student = _student(a, "S1")
    assert a.sync().ok and b.sync().ok
    _update(a, student.id, first_name="Anna")
    _update(b, student.id, first_name="Annie", class_name="7B")
    assert a.sync().status == "synced"
    report = b.sync()
    assert report.status == "conflicts" and report.open_conflicts == 1
    conflict = b.rows("SELECT kind, column_name, base, local, server FROM sync_conflict")
    assert conflict == [("column", "first_name", "Ann", "Annie", "Anna")]
    # The server keeps its value; the other column of the same row still applied.
    assert _student_row(server, student.id) == [("S1", "Anna", "Lee", None, "7B", False)]
    # The desktop shows the server's value until someone decides (the conflict keeps its own).
    assert _student_row(b, student.id) == [("S1", "Anna", "Lee", None, "7B", False)]
    assert b.sync().open_conflicts == 1  # recorded once, not again on every sync


@pytest.mark.parametrize("order", ["edit_then_delete", "delete_then_edit"])
def test_edit_against_delete_is_a_conflict_in_both_orders(sync_school, order):
    server, a, b = sync_school
    student = _student(a, "S1")
    assert a.sync().ok and b.sync().ok
    editor, deleter = (a, b) if order == "edit_then_delete" else (b, a)
    _update(editor, student.id, first_name="Anna")
    with deleter.sessions.begin() as s:
        delete_student(s, deleter.ctx(), student.id)
    first, second = (editor, deleter) if order == "edit_then_delete" else (deleter, editor)
    assert first.sync().status == "synced"
    report = second.sync()
    assert report.status == "conflicts", report.message
    kinds = second.rows("SELECT kind FROM sync_conflict")
    assert kinds == [("delete_edit",)] if second is deleter else [("edit_delete",)]
    # Nothing silent: the server holds what got there first.
    deleted = server.scalar("SELECT deleted_at IS NOT NULL FROM student WHERE id = :i",
                            i=student.id)  # fmt: skip
    assert deleted is (order == "delete_then_edit")


def test_deleting_a_row_already_deleted_is_no_conflict(sync_school):
    server, a, b = sync_school
    student = _student(a, "S1")
    assert a.sync().ok and b.sync().ok
    for side in (a, b):
        with side.sessions.begin() as s:
            delete_student(s, side.ctx(), student.id)
    assert a.sync().status == "synced"
    report = b.sync()
    assert report.status == "synced", report.message
    assert server.scalar("SELECT count(*) FROM sync_conflict") == 0


def test_a_student_and_enrollment_made_together_reach_the_server_together(sync_school):
    server, a, _b = sync_school
    assert a.sync().ok
    with a.sessions.begin() as s:
        ctx = a.ctx()
        student = create_student(s, ctx, StudentInput("S9", "Seán", "O'Neill"))
        course = find_or_create_course(s, ctx, "Chemistry")[0]
        enroll(s, ctx, student.id, course.id)
    # The server refuses the enrollment half-way: the whole local transaction waits.
    with psycopg.connect(admin_url(server.url), autocommit=True) as conn:
        conn.execute("""
            CREATE FUNCTION refuse_enrollment() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'disk full' USING ERRCODE = '53100'; END $$;
            CREATE TRIGGER refuse_enrollment BEFORE INSERT ON course_enrollment
            FOR EACH ROW EXECUTE FUNCTION refuse_enrollment();""")
    failed = a.sync()
    assert not failed.ok and "disk full" in failed.message
    assert server.scalar("SELECT count(*) FROM student WHERE student_no = 'S9'") == 0
    assert server.scalar("SELECT count(*) FROM course WHERE name = 'Chemistry'") == 0
    assert failed.pending_operations >= 4
    with psycopg.connect(admin_url(server.url), autocommit=True) as conn:
        conn.execute("DROP TRIGGER refuse_enrollment ON course_enrollment")
    report = a.sync()
    assert report.status == "synced", report.message
    assert server.scalar("SELECT count(*) FROM course_enrollment e JOIN student s "
                         "ON s.id = e.student_id WHERE s.student_no = 'S9'") == 1  # fmt: skip
    assert report.pending_operations == 0


def test_many_changes_in_one_transaction_merge_row_by_row_as_single_ones_do(sync_school):
    """The server applies a run of like changes at once; each row still merges on its own:
    a conflict in one row is that row's alone, and the others land with their columns."""
    server, a, b = sync_school
    students = [_student(a, f"S{n}", "Ann", "Lee") for n in range(1, 5)]
    s1, s2, s3, s4 = (s.id for s in students)
    assert a.sync().ok and b.sync().ok
    with a.sessions.begin() as s:
        update_student(s, a.ctx(), s2, {"first_name": "Bea"})
        update_student(s, a.ctx(), s3, {"class_name": "9Z"})
    assert a.sync().status == "synced"
    with b.sessions.begin() as s:
        ctx = b.ctx()
        for student_id in (s1, s2, s3):
            update_student(s, ctx, student_id, {"class_name": "7B"})
        update_student(s, ctx, s4, {"first_name": "Dee"})
    report = b.sync()
    assert report.status == "conflicts" and report.open_conflicts == 1, report.message
    assert b.rows("SELECT entity_id, column_name, base, local, server FROM sync_conflict") == [
        (s3, "class_name", None, "7B", "9Z")]  # fmt: skip
    rows = server.rows("SELECT student_no, first_name, class_name FROM student "
                       "WHERE student_no LIKE 'S_' ORDER BY student_no")  # fmt: skip
    assert rows == [("S1", "Ann", "7B"), ("S2", "Bea", "7B"), ("S3", "Ann", "9Z"),
                    ("S4", "Dee", None)]  # fmt: skip
    # Without a conflict the run lands whole, each change the registrar's who made it.
    with b.sessions.begin() as s:
        for student_id in (s1, s2):
            update_student(s, b.ctx(), student_id, {"last_name": "Lee-Smith"})
    assert b.sync().status == "conflicts"  # only the one still open
    changed = server.rows("SELECT last_name, actor FROM student s JOIN audit_log l "
                          "ON l.entity_id = s.id AND l.action = 'update' "
                          "AND l.changes->'after' ? 'last_name' WHERE s.id IN (:x, :y)",
                          x=s1, y=s2)  # fmt: skip
    assert changed == [("Lee-Smith", b.actor)] * 2


def test_a_run_answers_nothing_and_changes_nothing_when_one_change_would_conflict(sync_school):
    """The run function's own contract: all of its changes apply cleanly, or none do and
    the push takes them one at a time."""
    server, a, _b = sync_school
    first, second = _student(a, "S1"), _student(a, "S2")
    assert a.sync().ok
    school_id = server.school_id()

    def op(student, before, after):
        return {"op_id": f"t:{student.id}", "entity": "student", "id": str(student.id),
                "action": "update", "actor": "t", "before": before, "after": after}  # fmt: skip

    clean = [op(first, {"class_name": None}, {"class_name": "1A"}),
             op(second, {"class_name": None}, {"class_name": "1B"})]  # fmt: skip
    stale = [clean[0], op(second, {"first_name": "Someone"}, {"first_name": "Bo"})]
    call = "SELECT to_jsonb(rollbook_sync_apply_run(:school, CAST(:ops AS jsonb)))"
    with server.sessions.begin() as s:
        assert s.execute(text(call), {"school": school_id, "ops": json.dumps(stale)}
                         ).scalar() is None  # fmt: skip
        assert s.execute(text("SELECT count(*) FROM student WHERE class_name IS NOT NULL")
                         ).scalar() == 0  # fmt: skip
        answers = s.execute(text(call), {"school": school_id, "ops": json.dumps(clean)}).scalar()
    assert [a["status"] for a in answers] == ["applied", "applied"]
    assert server.rows("SELECT class_name FROM student ORDER BY student_no") == [("1A",), ("1B",)]


def test_the_same_student_number_made_on_two_desktops_is_a_duplicate_key_conflict(sync_school):
    server, a, b = sync_school
    assert a.sync().ok and b.sync().ok
    first = _student(a, "S100", "Ann", "Lee")
    with b.sessions.begin() as s:
        ctx = b.ctx()
        create_student(s, ctx, StudentInput("S100", "Anne", "Leigh"))
        other = create_student(s, ctx, StudentInput("S101", "Bo", "Chan"))
    assert a.sync().status == "synced"
    report = b.sync()
    assert report.status == "conflicts", report.message
    kind, existing = b.rows("SELECT kind, existing_id FROM sync_conflict "
                            "WHERE op_id NOT LIKE 'pull:%'")[0]  # fmt: skip
    assert kind == "duplicate_key" and existing == first.id
    # The rest of the batch landed.
    assert server.scalar("SELECT count(*) FROM student WHERE id = :i", i=other.id) == 1
    assert server.scalar("SELECT count(*) FROM student WHERE student_no = 'S100'") == 1


def test_a_transaction_that_commits_late_is_not_skipped_by_the_pull(sync_school):
    server, a, _b = sync_school
    late, early = _student(server, "S1"), _student(server, "S2")
    assert a.sync().ok
    slow = psycopg.connect(admin_url(server.url))
    try:
        # T1 writes the change log and stays open.
        slow.execute("UPDATE student SET first_name = 'Late' WHERE id = %s", (late.id,))
        # T2 begins after it and commits first.
        _update(server, early.id, class_name="8C")
        assert a.sync().ok
        assert _student_row(a, early.id)[0][4] == "8C"
        assert _student_row(a, late.id)[0][1] == "Ann"
        slow.commit()
    finally:
        slow.close()
    assert a.sync().ok
    assert _student_row(a, late.id)[0][1] == "Late"


def test_an_interrupted_first_copy_resumes(sync_cluster, monkeypatch):
    server = sync_cluster.server()
    a = sync_cluster.desktop("a", server)
    ctx = server.ctx()
    with server.sessions.begin() as s:
        for n in range(40):
            create_student(s, ctx, StudentInput(f"S{n:03}", "Kim", f"Park{n}"))
    import app.sync.pull as pull_module

    calls = {"n": 0}
    real_write = pull_module._write_page

    def failing_write(session, rows, **kw):  # the desktop dies half-way through
        calls["n"] += any(r["entity"] == "student" for r in rows)
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return real_write(session, rows, **kw)

    monkeypatch.setattr(pull_module, "PAGE_ROWS", 10)
    monkeypatch.setattr(pull_module, "_write_page", failing_write)
    with pytest.raises(RuntimeError):
        a.sync()
    copied = a.scalar("SELECT count(*) FROM student")
    assert 0 < copied < 40
    monkeypatch.setattr(pull_module, "_write_page", real_write)
    report = a.sync()
    assert report.status == "synced", report.message
    assert a.scalar("SELECT count(*) FROM student") == 40
    assert 0 < report.copied_rows < 40  # carried on, did not start again
    assert report.pending_operations == 0
    assert a.scalar("SELECT count(*) FROM audit_log WHERE origin = 'local'") == 0


def test_sync_status_and_conflicts_of_a_desktop(sync_school):
    from app.sync.conflicts import open_conflicts, sync_status

    _server, a, b = sync_school
    student = _student(a, "S1")
    assert a.sync().ok and b.sync().ok
    _update(a, student.id, last_name="Lim")
    _update(b, student.id, last_name="Lin")
    assert a.sync().ok and b.sync().status == "conflicts"
    with b.sessions.begin() as s:
        status = sync_status(s, b.school_id())
        conflicts = open_conflicts(s, b.school_id())
    assert status.connected and status.last_sync_at is not None and status.open_conflicts == 1
    assert status.pending_operations == 0
    assert [c.summary for c in conflicts] == [
        "student last_name: base 'Lee', here 'Lin', server 'Lim'"
    ]


def test_an_unknown_device_is_refused_in_words(sync_school):
    _server, a, _b = sync_school
    a.device = "nobody"
    report = a.sync()
    assert report.status == "refused"
    assert 'no device "nobody"' in report.message and "add-device" in report.message


def test_an_unreachable_server_is_reported_with_a_retry(sync_school):
    _server, a, _b = sync_school
    assert a.sync().ok
    report = a.sync("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert report.status == "unreachable" and report.retry_in_s and report.retry_in_s >= 5
    assert a.scalar("SELECT failures FROM sync_state") == 1
    assert "cannot reach the school server" in a.scalar("SELECT last_error FROM sync_state")


def test_keep_syncing_stops_when_asked(sync_school):
    from app.sync.engine import keep_syncing

    _server, a, _b = sync_school
    stop = threading.Event()
    reports = []

    def on_report(report):
        reports.append(report)
        stop.set()

    keep_syncing(a.sessions, a.server_url, school_code=SCHOOL, device_name=a.device,
                 revision=a.revision, interval_s=60, stop=stop, on_report=on_report)  # fmt: skip
    assert [r.status for r in reports] == ["synced"]


def test_a_desktop_on_an_older_schema_waits_with_its_changes_queued(sync_school):
    from app.sync.server import accepted_revisions

    server, a, _b = sync_school
    current, previous = accepted_revisions()
    student = _student(a, "S1")
    a.revision = "0011_certificate_design"  # two upgrades behind
    report = a.sync()
    assert report.status == "upgrade_required", report.message
    assert "upgrade required" in report.message and current in report.message
    assert report.pending_operations == 1
    assert server.scalar("SELECT count(*) FROM student WHERE id = :i", i=student.id) == 0
    a.revision = previous  # one behind: still taken
    assert a.sync().status == "synced"
    assert server.scalar("SELECT count(*) FROM student WHERE id = :i", i=student.id) == 1


def test_the_inner_merge_functions_are_not_open_to_every_role(sync_school):
    server, _a, _b = sync_school
    role = f"nobody_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url(server.url), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role}")
        try:
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"SET LOCAL ROLE {role}")
                conn.execute("SELECT rollbook_sync_apply_op(gen_random_uuid(), '{}')")
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"SET LOCAL ROLE {role}")
                conn.execute("SELECT rollbook_sync_apply_run(gen_random_uuid(), '[]')")
        finally:
            conn.execute(f"DROP ROLE {role}")


def test_a_school_made_by_the_first_start_gives_way_to_the_servers_until_it_holds_data(
    sync_cluster,
):
    from app.services.schools import ensure_school

    server = sync_cluster.server()
    fresh, used = sync_cluster.desktop("fresh", server), sync_cluster.desktop("used", server)
    for desktop in (fresh, used):
        with desktop.sessions.begin() as s:
            ensure_school(s, SCHOOL, "Made here")
    _student(used, "S1")
    report = fresh.sync()
    assert report.status == "synced", report.message
    assert fresh.rows("SELECT name FROM school") == [("Sync School",)]
    assert fresh.scalar("SELECT count(*) FROM audit_log WHERE origin = 'local'") == 1  # its making
    refused = used.sync()
    assert refused.status == "refused" and "already has its own school" in refused.message
    assert used.scalar("SELECT count(*) FROM student") == 1
