"""Migrations: head -> base -> head with data present, and models match the schema."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.db import migrate
from app.db.migrate import SchemaTooNew, upgrade_if_behind
from app.db.models import Base
from app.domain.errors import RollbookError


def _table_names(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _add_sample_rows(engine) -> None:
    school = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO school (id, code, name) VALUES (:id, 'M', 'M')"), {"id": school}
        )
        conn.execute(
            text(
                "INSERT INTO student (id, school_id, student_no, first_name, last_name) "
                "VALUES (:id, :school, 'S1', 'Zoë', 'Müller')"
            ),
            {"id": uuid.uuid4(), "school": school},
        )
        conn.execute(
            text(
                "INSERT INTO audit_log (school_id, actor, action, entity) "
                "VALUES (:school, 't', 'create', 'student')"
            ),
            {"school": school},
        )


def test_upgrade_downgrade_upgrade_with_data(empty_database):
    engine = empty_database
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    assert _table_names(engine) == set(Base.metadata.tables)
    _add_sample_rows(engine)

    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert _table_names(engine) == set()
    with engine.connect() as conn:
        leftovers = conn.execute(
            text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'rollbook%'")
        ).scalar()
    assert leftovers == 0

    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    _add_sample_rows(engine)


def test_every_revision_steps_down_and_up_one_at_a_time(empty_database):
    engine = empty_database
    migrate.upgrade(engine)
    _add_sample_rows(engine)
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = list(script.walk_revisions())  # head first
    for _ in revisions:
        migrate.downgrade(engine, "-1")
    assert migrate.current_revision(engine) is None
    for revision in reversed(revisions):
        migrate.upgrade(engine, revision.revision)
        assert migrate.current_revision(engine) == revision.revision


def test_models_match_the_migrated_schema(db):
    with db.engine.connect() as conn:
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert differences == []


def test_fresh_database_is_at_head(db):
    assert migrate.is_at_head(db.engine)
    assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_start_up_knows_the_head_without_alembic(db):
    """Start-up compares the stored revision with the head read from the revision files;
    both must agree with Alembic's own idea of the head."""
    from app.db.migrate import _head_from_files, head_revision, upgrade_if_behind

    assert _head_from_files() == head_revision()
    assert upgrade_if_behind(db.engine) is False  # the test database is at head


def test_change_capture_revision_keeps_enrollment_history_up_and_down(empty_database):
    """0004 brings back the enrollment periods the audit log still knows, starts
    capturing changes, and steps down again without losing a row."""
    engine = empty_database
    migrate.upgrade(engine, "0003_student_name_search")
    school, student, course, enrollment = (uuid.uuid4() for _ in range(4))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, code, name) VALUES (:id, 'M', 'M')"),
                      {"id": school})  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO student (id, school_id, student_no, first_name, last_name) "
                "VALUES (:id, :school, 'S1', 'Zoë', 'Müller')"
            ),
            {"id": student, "school": school},
        )
        conn.execute(text("INSERT INTO course (id, school_id, name) VALUES (:id, :s, 'Art')"),
                     {"id": course, "s": school})  # fmt: skip
        # Re-enrolled on 1 Dec: the old code moved enrolled_on and logged the old dates.
        conn.execute(text(
            "INSERT INTO course_enrollment (id, school_id, course_id, student_id, active, "
            "enrolled_on) VALUES (:id, :s, :c, :st, true, '2026-12-01')"),
            {"id": enrollment, "s": school, "c": course, "st": student})  # fmt: skip
        conn.execute(text(
            "INSERT INTO audit_log (school_id, actor, action, entity, entity_id, changes) "
            "VALUES (:s, 'anna', 'reactivate', 'course_enrollment', :e, jsonb_build_object("
            "'before', jsonb_build_object('enrolled_on', '2026-08-03', 'ended_on', '2026-10-15'),"
            "'after', jsonb_build_object('enrolled_on', '2026-12-01')))"),
            {"s": school, "e": enrollment})  # fmt: skip

    migrate.upgrade(engine)
    with engine.begin() as conn:
        periods = conn.execute(text("SELECT periods::text FROM course_enrollment")).scalar()
        versions = conn.execute(text("SELECT row_version FROM course_enrollment")).scalar()
        conn.execute(text("UPDATE student SET first_name = 'Zoe'"))
        captured = conn.execute(text(
            "SELECT action, changes FROM audit_log WHERE entity = 'student'")).one()  # fmt: skip
    assert periods == "{[2026-08-03,2026-10-15),[2026-12-01,)}"
    assert versions == 1  # filling the new column is not an edit of the enrollment
    assert captured == ("update", {"before": {"first_name": "Zoë"},
                                   "after": {"first_name": "Zoe"}})  # fmt: skip

    migrate.downgrade(engine, "0003_student_name_search")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM course_enrollment")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 2
        columns = {row[0] for row in conn.execute(text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name IN ('course_enrollment', 'audit_log')"))}  # fmt: skip
        conn.execute(text("UPDATE student SET first_name = 'Zoë'"))  # no capture any more
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 2
    assert not {"periods", "txid", "origin"} & columns
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)


def _captured_entries(engine, code: str) -> list[tuple]:
    """Write the same rows through every kind of change; the entries captured."""
    school, student, course, enrollment = (uuid.uuid4() for _ in range(4))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, code, name) VALUES (:id, :code, 'M')"),
                     {"id": school, "code": code})  # fmt: skip
        conn.execute(text(
            "INSERT INTO student (id, school_id, student_no, first_name, last_name, email, "
            "birth_date) VALUES (:id, :s, 'S1', 'Zoë', 'Müller', 'z@example.org', '2012-03-04')"),
            {"id": student, "s": school})  # fmt: skip
        conn.execute(text("INSERT INTO course (id, school_id, name) VALUES (:id, :s, 'Art')"),
                     {"id": course, "s": school})  # fmt: skip
        conn.execute(text(
            "INSERT INTO course_enrollment (id, school_id, course_id, student_id, source) "
            "VALUES (:id, :s, :c, :st, 'import')"),
            {"id": enrollment, "s": school, "c": course, "st": student})  # fmt: skip
        conn.execute(text("UPDATE student SET first_name = 'Zoe', class_name = '7A', "
                          "email = NULL WHERE id = :id"), {"id": student})  # fmt: skip
        conn.execute(text("UPDATE course_enrollment SET active = false, "
                          "ended_on = enrolled_on WHERE id = :id"), {"id": enrollment})  # fmt: skip
        conn.execute(text("UPDATE course SET name = name"))  # changes nothing
        conn.execute(text("UPDATE course SET deleted_at = now()"))
        conn.execute(text("DELETE FROM course_enrollment"))
        return [tuple(row) for row in conn.execute(text(
            "SELECT entity, action, changes - '{}'::text[], school_id = :s, actor, origin "
            "FROM audit_log WHERE school_id = :s ORDER BY id"), {"s": school})]  # fmt: skip


def test_the_cheaper_capture_writes_the_same_entries_as_before(empty_database):
    """0005 builds the entries' JSON another way; what it writes is what 0004 wrote
    (ids, codes and the time of the tombstone aside, which differ between the runs)."""
    engine = empty_database
    migrate.upgrade(engine, "0004_change_capture")
    before = _captured_entries(engine, "M4")
    migrate.upgrade(engine, "0005_cheaper_capture")
    after = _captured_entries(engine, "M5")

    def comparable(entries: list[tuple]) -> list[tuple]:
        differ = ("code", "course_id", "student_id", "deleted_at")
        return [(entity, action, {side: {k: v if k not in differ else type(v).__name__
                                         for k, v in values.items()}
                                  for side, values in changes.items()}, same_school, actor, origin)
                for entity, action, changes, same_school, actor, origin in entries]  # fmt: skip

    assert [e[:2] for e in before] == [
        ("school", "insert"),
        ("student", "insert"),
        ("course", "insert"),
        ("course_enrollment", "insert"),
        ("student", "update"),
        ("course_enrollment", "update"),
        ("course", "tombstone"),
        ("course_enrollment", "delete"),
    ]
    assert comparable(after) == comparable(before)


def test_a_database_from_a_newer_rollbook_is_refused_in_words(db):
    """An older Rollbook (say, a desktop package not yet updated) must not touch a
    database a newer one has migrated: it says so, and changes nothing."""
    with db.as_owner() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(SchemaTooNew) as refused:
        upgrade_if_behind(db.engine)
    assert isinstance(refused.value, RollbookError)  # shown as is, never as a traceback
    assert "newer version of Rollbook" in str(refused.value)
    assert "0099_from_the_future" in str(refused.value)
    assert migrate.current_revision(db.engine) == "0099_from_the_future"


def test_a_requests_decision_reason_is_kept_down_and_up(empty_database):
    """0006 keeps a decision's reason beside the request's note; its downgrade folds the
    reason into the note rather than lose it."""
    engine = empty_database
    migrate.upgrade(engine)
    school, student, course = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, code, name) VALUES (:id, 'R', 'R')"),
                     {"id": school})  # fmt: skip
        conn.execute(text("INSERT INTO student (id, school_id, student_no, first_name, last_name) "
                          "VALUES (:id, :school, 'S1', 'Zoë', 'Müller')"),
                     {"id": student, "school": school})  # fmt: skip
        conn.execute(text("INSERT INTO course (id, school_id, name) VALUES (:id, :school, 'Art')"),
                     {"id": course, "school": school})  # fmt: skip
        for note, reason, status in [("Asked at the desk", "Course is full", "rejected"),
                                     (None, "Changed her mind", "withdrawn"),
                                     ("Tutor's advice", None, "pending")]:  # fmt: skip
            conn.execute(
                text("INSERT INTO enrollment_request (id, school_id, student_id, course_id, "
                     "status, note, decision_note, decided_at, decided_by) VALUES "
                     "(gen_random_uuid(), :school, :student, :course, :status, :note, :reason, "
                     "CASE WHEN :status <> 'pending' THEN now() END, "
                     "CASE WHEN :status <> 'pending' THEN 'registrar' END)"),
                {"school": school, "student": student, "course": course, "status": status,
                 "note": note, "reason": reason},
            )  # fmt: skip

    def notes() -> list[tuple]:
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT * FROM enrollment_request")).mappings()
                          .all(), key=lambda r: r["status"])  # fmt: skip

    migrate.downgrade(engine, "0005_cheaper_capture")
    rows = notes()
    assert "decision_note" not in rows[0]
    assert [r["note"] for r in rows] == [
        "Tutor's advice",
        "Asked at the desk — Course is full",
        "Changed her mind",
    ]
    migrate.upgrade(engine)
    assert [(r["note"], r["decision_note"]) for r in notes()][0] == ("Tutor's advice", None)


def test_email_domain_words_are_searchable_after_0007_and_not_before(empty_database):
    """0007 recomputes every stored search vector with the domain's words; its downgrade
    recomputes them without, and the rows and the search indexes stay."""
    engine = empty_database
    migrate.upgrade(engine, "0006_request_decision_note")
    school = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, code, name) VALUES (:id, 'E', 'E')"),
                     {"id": school})  # fmt: skip
        conn.execute(text("INSERT INTO student (id, school_id, student_no, first_name, last_name, "
                          "email) VALUES (gen_random_uuid(), :school, 'S1', 'Zoë', 'Müller', "
                          "'zoe.muller@NewSchool.org')"), {"school": school})  # fmt: skip

    def found(word: str) -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM student WHERE search_vector @@ "
                                     "CAST(:q AS tsquery)"), {"q": f"'{word}':*"}).scalar()  # fmt: skip

    def search_indexes() -> set[str]:
        return {i["name"] for i in inspect(engine).get_indexes("student")} & {
            "ix_student_search_vector", "ix_student_name"}  # fmt: skip

    assert (found("newschool"), found("zoe"), found("zoe.muller@newschool.org")) == (0, 1, 1)
    migrate.upgrade(engine, "0007_email_domain_words")
    assert (found("newschool"), found("org"), found("zoe"), found("muller")) == (1, 1, 1, 1)
    assert search_indexes() == {"ix_student_search_vector", "ix_student_name"}
    migrate.downgrade(engine, "0006_request_decision_note")
    assert (found("newschool"), found("zoe")) == (0, 1)
    assert search_indexes() == {"ix_student_search_vector", "ix_student_name"}


def test_the_natural_class_index_comes_and_goes_with_0008(empty_database):
    engine = empty_database
    migrate.upgrade(engine, "0007_email_domain_words")
    _add_sample_rows(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE student SET class_name = '10A'"))

    def class_index() -> str:
        with engine.connect() as conn:
            return conn.execute(text("SELECT indexdef FROM pg_indexes "
                                     "WHERE indexname = 'ix_student_class'")).scalar()  # fmt: skip

    migrate.upgrade(engine, "0008_natural_class_order")
    assert "rollbook_natural_key(class_name), class_name)" in class_index()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rollbook_natural_key('2A') < rollbook_natural_key("
                                 "class_name) FROM student")).scalar()  # fmt: skip
    migrate.downgrade(engine, "0007_email_domain_words")
    assert class_index().endswith("(school_id, class_name)")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_proc "
                                 "WHERE proname = 'rollbook_natural_key'")).scalar() == 0  # fmt: skip
        assert conn.execute(text("SELECT class_name FROM student")).scalar() == "10A"


def test_minutes_late_fold_into_the_note_when_0009_goes_down(empty_database):
    """0009 adds a lesson's class, minutes late and the excused-reason rule; its
    downgrade keeps minutes late in the mark's note rather than lose them."""
    engine = empty_database
    migrate.upgrade(engine)
    ids = {name: uuid.uuid4() for name in ("school", "student", "course", "enrollment",
                                           "lesson")}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, code, name) VALUES (:school, 'L', 'L')"), ids)
        conn.execute(text("INSERT INTO student (id, school_id, student_no, first_name, last_name, "
                          "class_name) VALUES (:student, :school, 'S1', 'Zoë', 'Müller', '7A')"),
                     ids)  # fmt: skip
        conn.execute(text("INSERT INTO course (id, school_id, name) VALUES (:course, :school, "
                          "'Art')"), ids)  # fmt: skip
        conn.execute(text("INSERT INTO course_enrollment (id, school_id, course_id, student_id) "
                          "VALUES (:enrollment, :school, :course, :student)"), ids)  # fmt: skip
        conn.execute(text("INSERT INTO class_session (id, school_id, course_id, class_name, "
                          "session_date, start_time, end_time) VALUES (:lesson, :school, :course, "
                          "'7A', '2026-12-01', '09:00', '09:45')"), ids)  # fmt: skip
        conn.execute(text("INSERT INTO class_session (id, school_id, course_id, session_date, "
                          "start_time, end_time, status, cancel_reason) VALUES "
                          "(gen_random_uuid(), :school, :course, '2026-12-02', '09:00', '09:45', "
                          "'cancelled', 'Snow day')"), ids)  # fmt: skip
        conn.execute(text("INSERT INTO session_attendance (id, school_id, session_id, "
                          "enrollment_id, status, note, minutes_late) VALUES (gen_random_uuid(), "
                          ":school, :lesson, :enrollment, 'late', 'bus', 12)"), ids)  # fmt: skip
        with pytest.raises(Exception, match="minutes_late_only_when_late"), conn.begin_nested():
            conn.execute(text("UPDATE session_attendance SET status = 'present'"))

    migrate.downgrade(engine, "0008_natural_class_order")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM session_attendance")).scalar() == (
            "12 min late — bus"
        )
        columns = {(c["name"]) for c in inspect(engine).get_columns("class_session")}
        assert {"class_name", "cancel_reason"}.isdisjoint(columns)
        assert conn.execute(text("SELECT topics_covered FROM class_session WHERE status = "
                                 "'cancelled'")).scalar() == ["Cancelled: Snow day"]  # fmt: skip
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT excused_needs_reason FROM school")).scalar() is True


def test_0013_keeps_over_long_rows_and_checks_new_ones_up_and_down(empty_database):
    """0013 adds the text limits as CHECKs. A row already longer than a limit neither
    stops the upgrade nor loses a character: that constraint stays NOT VALID (new and
    changed rows are checked), the others are validated; the downgrade drops them all."""
    engine = empty_database
    migrate.upgrade(engine, "0012_run_backup")
    school, long_no = uuid.uuid4(), "N" + "0123456789" * 7  # 71 characters; the limit is 64
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, code, name) VALUES (:id, 'T', 'T')"),
                     {"id": school})  # fmt: skip
        conn.execute(text("INSERT INTO student (id, school_id, student_no, first_name, last_name) "
                          "VALUES (gen_random_uuid(), :s, :no, 'Zoë', 'Müller')"),
                     {"s": school, "no": long_no})  # fmt: skip
        conn.execute(text("INSERT INTO course (id, school_id, name, term) VALUES "
                          "(gen_random_uuid(), :s, 'Art', :term)"), {"s": school, "term": "T" * 150})  # fmt: skip

    def limits() -> dict[str, bool]:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT conname, convalidated FROM pg_constraint "
                                          "WHERE conname LIKE 'ck_%_length'")).all())  # fmt: skip

    migrate.upgrade(engine, "0013_text_limits")
    made = limits()
    assert len(made) == 11
    assert {name for name, valid in made.items() if not valid} == {
        "ck_student_student_no_length", "ck_course_term_length"}  # fmt: skip
    with engine.connect() as conn:
        assert conn.execute(text("SELECT student_no FROM student")).scalar() == long_no
        assert conn.execute(text("SELECT length(term) FROM course")).scalar() == 150
        with pytest.raises(Exception, match="ck_student_first_name_length"):
            conn.execute(text("INSERT INTO student (id, school_id, student_no, first_name) "
                              "VALUES (gen_random_uuid(), :s, 'S2', repeat('x', 101))"),
                         {"s": school})  # fmt: skip
        conn.rollback()
        with pytest.raises(Exception, match="ck_student_student_no_length"):
            conn.execute(text("INSERT INTO student (id, school_id, student_no, first_name) "
                              "VALUES (gen_random_uuid(), :s, repeat('x', 65), 'A')"),
                         {"s": school})  # fmt: skip

    migrate.downgrade(engine, "0012_run_backup")
    assert limits() == {}
    with engine.begin() as conn:
        assert conn.execute(text("SELECT student_no FROM student")).scalar() == long_no
        conn.execute(text("UPDATE student SET student_no = 'S1'"))  # shortened meanwhile
        conn.execute(text("UPDATE course SET term = '2026'"))
    migrate.upgrade(engine)
    assert all(limits().values()) and len(limits()) == 11  # nothing over-long: all valid


def test_0015_and_0016_sync_numbers_and_runs_come_and_go_with_the_data_kept(empty_database):
    """0015 replaces the push (0014's comes back on the way down); 0016 adds the blocks of
    numbers a desktop reserves. Down to 0014 the blocks go, the sync state and the numbers
    already issued stay; up again the block size is back at its default."""
    engine = empty_database
    migrate.upgrade(engine)
    school, device = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO school (id, code, name) VALUES (:id, 'T', 'T')"),
                     {"id": school})  # fmt: skip
        conn.execute(text("INSERT INTO sync_state (school_id, device_id, device_name, server, "
                          "number_block_size) VALUES (:s, :d, 'desk', 'server', 20)"),
                     {"s": school, "d": device})  # fmt: skip
        conn.execute(text("INSERT INTO number_block (school_id, name, prefix, next_value, "
                          "end_value) VALUES (:s, 'registration-2027', 'REG-2027-', 3, 21)"),
                     {"s": school})  # fmt: skip
        conn.execute(text("INSERT INTO number_sequence (id, school_id, name, prefix, next_value) "
                          "VALUES (gen_random_uuid(), :s, 'registration-2027', 'REG-2027-', 21)"),
                     {"s": school})  # fmt: skip

    def functions() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT proname FROM pg_proc "
                                         "WHERE proname LIKE 'rollbook_sync_%'")).scalars())  # fmt: skip

    assert {"rollbook_sync_apply_run", "rollbook_sync_reserve_numbers"} <= functions()
    migrate.downgrade(engine, "0014_sync_engine")
    assert not {"rollbook_sync_apply_run", "rollbook_sync_reserve_numbers"} & functions()
    assert "rollbook_sync_push" in functions()
    assert "number_block" not in _table_names(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT device_name FROM sync_state")).scalar() == "desk"
        assert conn.execute(text("SELECT next_value FROM number_sequence")).scalar() == 21
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT number_block_size FROM sync_state")).scalar() == 50
