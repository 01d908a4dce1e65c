"""Rollbook's own connections run as a role that owns nothing (app.db.roles, migration
0019): the audit log cannot be rewritten or emptied from the application, whatever SQL
it is made to run, and what only an owner may do is refused."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import migrate
from app.db.engine import make_engine, stop_embedded
from app.db.roles import APP_ROLE, OWNER_ROLE
from app.runtime import open_database
from app.services.students import StudentInput, create_student


def _app(db) -> psycopg.Connection:
    return psycopg.connect(db.libpq_url, autocommit=True)


def _student(db, ctx) -> None:
    with db.sessions.begin() as s:
        create_student(s, ctx, StudentInput(student_no="R1", first_name="Ada",
                                            last_name="Lovelace"))  # fmt: skip


def test_the_app_connects_as_its_own_role_which_is_no_superuser(db):
    with _app(db) as conn:
        user, superuser, owner = conn.execute(
            "SELECT current_user, rolsuper, pg_has_role(current_user, %s, 'MEMBER') "
            "FROM pg_roles WHERE rolname = current_user", (OWNER_ROLE,)
        ).fetchone()  # fmt: skip
    assert (user, superuser, owner) == (APP_ROLE, False, False)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "ALTER TABLE student DISABLE TRIGGER USER",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "DROP TABLE audit_log",
    "ALTER TABLE student ADD COLUMN secret text",
    "TRUNCATE student CASCADE",
    "UPDATE alembic_version SET version_num = 'x'",
    "CREATE TABLE public.mine (id int)",
])  # fmt: skip
def test_the_app_role_cannot_rewrite_history_or_the_schema(db, ctx, statement):
    _student(db, ctx)
    with _app(db) as conn:
        before = conn.execute("SELECT count(*), max(id) FROM audit_log").fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        assert conn.execute("SELECT count(*), max(id) FROM audit_log").fetchone() == before
    assert before[0] > 0


def test_the_app_role_still_writes_reads_and_is_captured(db, ctx):
    """The capture trigger writes the audit log as the app; the app reads it back."""
    _student(db, ctx)
    with _app(db) as conn:
        conn.execute("UPDATE student SET first_name = 'Augusta' WHERE student_no = 'R1'")
        actions = [r[0] for r in conn.execute(
            "SELECT action FROM audit_log WHERE entity = 'student' ORDER BY id")]  # fmt: skip
    assert actions == ["insert", "update"]


def test_analyze_goes_through_the_owner_and_only_for_rollbook_tables(db, ctx):
    with _app(db) as conn:
        conn.execute("INSERT INTO student (id, school_id, student_no, first_name, last_name) "
                     "SELECT gen_random_uuid(), %s, 'A' || i, 'F', 'L' "
                     "FROM generate_series(1, 3000) i", (ctx.school_id,))  # fmt: skip
        conn.execute("SELECT rollbook_analyze('student', ARRAY['id', 'school_id'])")
        assert conn.execute(
            "SELECT reltuples FROM pg_class WHERE oid = 'student'::regclass"
        ).fetchone()[0] == 3000  # fmt: skip
        with pytest.raises(psycopg.errors.UndefinedTable, match="not one of Rollbook"):
            conn.execute("SELECT rollbook_analyze('pg_authid')")


def test_an_embedded_desktop_works_as_the_app_role(tmp_path):
    """The CLI and the window open the data folder as the app's role; the schema was
    migrated by the owner."""
    settings = Settings(data_dir=tmp_path / "data", school_code="ROLES")
    database = open_database(settings)
    try:
        with database.sessions.begin() as s:
            user = s.execute(text("SELECT current_user")).scalar()
            owner = s.execute(text(
                "SELECT DISTINCT relowner::regrole::text FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
            )).scalars().all()  # fmt: skip
        assert user == APP_ROLE
        assert owner == [OWNER_ROLE]
    finally:
        database.close()
        stop_embedded(settings.pgdata_dir)


def test_a_database_from_before_the_roles_is_handed_to_the_owner(empty_database):
    """A database migrated by an older Rollbook, its tables the superuser's, is given to
    the owner role on the next migration; then the app works in it, and back down."""
    migrate.upgrade(empty_database, "0018_accounts")
    with empty_database.begin() as conn:
        conn.execute(text(f"REASSIGN OWNED BY {OWNER_ROLE} TO CURRENT_USER"))
        conn.execute(text("INSERT INTO school (id, code, name) "
                          "VALUES (gen_random_uuid(), 'OLD', 'Old School')"))  # fmt: skip
        assert conn.execute(text(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
            f"WHERE rolname = '{OWNER_ROLE}')")).scalar() == 0  # fmt: skip
    migrate.upgrade(empty_database)
    with empty_database.connect() as conn:
        others = conn.execute(text(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            f"AND relkind IN ('r', 'S', 'v') AND relowner::regrole::text <> '{OWNER_ROLE}'"
        )).scalars().all()  # fmt: skip
    assert others == []
    app = make_engine(
        empty_database.url.set(username=APP_ROLE, password=None).render_as_string(False)
    )
    try:
        with app.begin() as conn:
            conn.execute(text("UPDATE school SET name = 'Old School (renamed)'"))
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() >= 1
    finally:
        app.dispose()
    migrate.downgrade(empty_database, "0018_accounts")
    with empty_database.connect() as conn:
        assert conn.execute(text("SELECT name FROM school")).scalar() == "Old School (renamed)"
        assert conn.execute(text("SELECT to_regproc('rollbook_analyze')")).scalar() is None
    migrate.upgrade(empty_database)
