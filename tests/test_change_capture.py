"""The database writes the audit log itself: every change to school data, whoever makes
it, with only the changed columns, the actor, the run and the transaction."""

from __future__ import annotations

import uuid
from datetime import date

from course_setup import enroll_named
from sqlalchemy import select, text

from app.db.models import CAPTURED_TABLES, AuditLog, Base
from app.services.students import StudentInput, create_student


def _entries(connection, entity_id: uuid.UUID) -> list:
    return connection.execute(
        select(AuditLog.action, AuditLog.changes, AuditLog.actor, AuditLog.txid,
               AuditLog.origin, AuditLog.run_id)
        .where(AuditLog.entity_id == entity_id).order_by(AuditLog.id)
    ).all()  # fmt: skip


def test_changes_made_with_plain_sql_are_captured_with_before_and_after(db, ctx):
    with db.sessions.begin() as s:
        anna = create_student(s, ctx, StudentInput("S1", "Anna", "Kowalska", class_name="7A"))
        enrollment = enroll_named(s, ctx, anna.id, "Biology").enrollment
        course_id = enrollment.course_id
        session_id = uuid.uuid4()
        s.execute(text(
            "INSERT INTO class_session (id, school_id, course_id, session_date, start_time, "
            "end_time) VALUES (:id, :school, :course, '2026-11-02', '09:00', '09:45')"),
            {"id": session_id, "school": ctx.school_id, "course": course_id})  # fmt: skip
    # As someone with psql would: no Rollbook session, no actor set.
    with db.engine.begin() as plain:
        plain.execute(text("UPDATE student SET class_name = '7B' WHERE id = :id"), {"id": anna.id})
        plain.execute(text("UPDATE course_enrollment SET active = false, ended_on = current_date "
                           "WHERE id = :id"), {"id": enrollment.id})  # fmt: skip
        plain.execute(text("UPDATE class_session SET location = 'Lab 2', status = 'cancelled' "
                           "WHERE id = :id"), {"id": session_id})  # fmt: skip
        database_user = plain.execute(text("SELECT session_user")).scalar()
        txid = plain.execute(text("SELECT pg_current_xact_id()::text")).scalar()
    with db.engine.connect() as conn:
        student = _entries(conn, anna.id)
        course_enrollment = _entries(conn, enrollment.id)
        class_session = _entries(conn, session_id)

    assert [e.action for e in student] == ["insert", "update"]
    assert student[0].changes["after"]["student_no"] == "S1" and student[0].actor == "tester"
    assert student[1].changes == {"before": {"class_name": "7A"}, "after": {"class_name": "7B"}}
    assert (student[1].actor, student[1].txid, student[1].origin) == (database_user, txid, "local")

    ended = course_enrollment[-1]
    assert ended.action == "update" and ended.actor == database_user
    assert ended.changes["before"]["active"] is True and ended.changes["after"]["active"] is False
    assert ended.changes["after"]["ended_on"] == date.today().isoformat()
    assert "row_version" not in ended.changes["after"]  # bookkeeping is not a change

    assert [e.action for e in class_session] == ["insert", "update"]
    assert class_session[1].changes == {
        "before": {"location": None, "status": "scheduled"},
        "after": {"location": "Lab 2", "status": "cancelled"},
    }
    # the three statements of one transaction carry its id
    assert student[1].txid == ended.txid == class_session[1].txid


def test_a_tombstone_and_a_hard_delete_are_told_apart(db, ctx):
    with db.sessions.begin() as s:
        anna = create_student(s, ctx, StudentInput("S1", "Anna", "Kowalska"))
        ben = create_student(s, ctx, StudentInput("S2", "Ben", "Nowak"))
        s.execute(text("UPDATE student SET deleted_at = now() WHERE id = :id"), {"id": anna.id})
        s.execute(text("DELETE FROM student WHERE id = :id"), {"id": ben.id})
    with db.engine.connect() as conn:
        assert [e.action for e in _entries(conn, anna.id)] == ["insert", "tombstone"]
        deleted = _entries(conn, ben.id)
    assert [e.action for e in deleted] == ["insert", "delete"]
    assert deleted[1].changes["before"]["last_name"] == "Nowak"


def test_an_update_that_changes_nothing_writes_no_entry(db, ctx):
    with db.sessions.begin() as s:
        anna = create_student(s, ctx, StudentInput("S1", "Anna", "Kowalska"))
        s.execute(text("UPDATE student SET first_name = first_name WHERE id = :id"),
                  {"id": anna.id})  # fmt: skip
    with db.engine.connect() as conn:
        assert [e.action for e in _entries(conn, anna.id)] == ["insert"]


def test_a_column_added_or_renamed_later_is_captured_by_the_same_session(db, ctx):
    """The capture keeps the statement it builds for a table for the session; a change
    of the table's columns makes it build the statement again. A table wider than one
    jsonb_build_object call (50 columns) is captured whole."""
    with db.as_owner() as conn:  # the app's own role may not alter a table
        course = lambda name: {"id": uuid.uuid4(), "school": ctx.school_id, "name": name}  # noqa: E731
        insert = text("INSERT INTO course (id, school_id, name) VALUES (:id, :school, :name)")
        first = course("Art")
        conn.execute(insert, first)
        conn.execute(text("UPDATE course SET name = 'Fine Art' WHERE id = :id"), first)
        conn.commit()
        wide = ", ".join(f"ADD COLUMN extra_{n} int" for n in range(1, 46))
        conn.execute(text(f"ALTER TABLE course ADD COLUMN room text, {wide}"))
        second = course("Music")
        conn.execute(text("INSERT INTO course (id, school_id, name, room, extra_45) "
                          "VALUES (:id, :school, :name, 'Lab 1', 45)"), second)  # fmt: skip
        conn.execute(text("ALTER TABLE course RENAME COLUMN room TO location_note"))
        conn.execute(text("UPDATE course SET location_note = 'Hall' WHERE id = :id"), second)
        added = _entries(conn, second["id"])
        conn.rollback()
    assert [e.action for e in added] == ["insert", "update"]
    assert added[0].changes["after"] == {
        "name": "Music",
        "active": True,
        "room": "Lab 1",
        "extra_45": 45,
    }
    assert added[1].changes == {"before": {"location_note": "Lab 1"},
                                "after": {"location_note": "Hall"}}  # fmt: skip


def test_every_school_data_table_has_the_capture_triggers(db):
    """Listed from the models: a new table of school data without the triggers fails."""
    school_data = {
        mapper.class_.__tablename__
        for mapper in Base.registry.mappers
        if "school_id" in mapper.class_.__table__.columns or mapper.class_.__tablename__ == "school"
    } - {"maintenance_run", "import_rejected_row", "audit_log"} - {  # the history itself
        "sync_state", "sync_pushed_tx", "sync_conflict", "sync_device",  # the sync's own books
        "number_block", "sync_number_block", "server_login",
    }
    assert school_data == set(CAPTURED_TABLES)
    with db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = 'rollbook_capture'"
        )).all()  # fmt: skip
    triggers: dict[str, set[str]] = {}
    for table, trigger in rows:
        triggers.setdefault(table, set()).add(trigger)
    for table in CAPTURED_TABLES:
        assert triggers.get(table) == {
            f"{table}_capture_insert",
            f"{table}_capture_update",
            f"{table}_capture_delete",
        }, table
    assert set(triggers) == set(CAPTURED_TABLES)


def test_the_audit_log_cannot_be_edited(db, ctx):
    import pytest
    from sqlalchemy.exc import DBAPIError

    with db.sessions.begin() as s:
        create_student(s, ctx, StudentInput("S1", "Anna", "Kowalska"))
    # The app's role has no right to (test_database_roles); even the schema's owner
    # meets the append-only trigger.
    with pytest.raises(DBAPIError, match="permission denied"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else'"))
    with pytest.raises(DBAPIError, match="append-only"), db.as_owner() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone else'"))
