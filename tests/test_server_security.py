"""The central server keeps every school to itself (migration 0020): with two schools on
one server, a desktop's login and a person's login of school A read no row of school B,
cannot write one, and a desktop cannot speak for another desktop."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from sync_setup import SCHOOL

from app.demo_data import create_demo_data
from app.domain.errors import ValidationError
from app.school_server import with_password
from app.sync.server import add_device, add_login, init_server
from app.sync.tables import SYNCED_TABLES

OTHER = "OTHER"


@pytest.fixture
def two_schools(sync_cluster):
    """A server holding two schools' demo data, and a desktop syncing school A."""
    server = sync_cluster.server()
    init_server(server.url, school_code=OTHER, school_name="Other School")
    ids = {}
    for code in (SCHOOL, OTHER):
        with server.sessions.begin() as s:
            ids[code] = s.execute(text("SELECT id FROM school WHERE code = :c"),
                                  {"c": code}).scalar_one()  # fmt: skip
            create_demo_data(s.connection().connection.driver_connection, ids[code],
                             students=40, seed=7)  # fmt: skip
    desktop = sync_cluster.desktop("desk", server)
    return server, desktop, ids


def _school_tables(server) -> list[str]:
    return server.rows(
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND a.attname = 'school_id' AND NOT a.attisdropped "
        "AND c.relname <> 'server_login' ORDER BY 1"  # the owner's alone: no grants at all
    )  # fmt: skip


def _connect(url: str, password: str) -> psycopg.Connection:
    return psycopg.connect(with_password(url, password), autocommit=True)


def test_every_school_table_has_row_level_security(two_schools):
    server, _desktop, _ids = two_schools
    tables = [t for (t,) in _school_tables(server)] + ["school"]
    secured = dict(server.rows(
        "SELECT relname, relrowsecurity FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"))  # fmt: skip
    assert len(tables) > 20
    assert [t for t in tables if not secured[t]] == []


def test_a_desktop_login_reads_its_school_only_and_writes_nothing(two_schools):
    server, desktop, ids = two_schools
    device = add_device(server.url, school_code=SCHOOL, name="reader")
    with _connect(device.url, device.password) as conn:
        for table in SYNCED_TABLES:
            column = "id" if table == "school" else "school_id"
            seen = dict(conn.execute(
                f"SELECT {column}, count(*) FROM {table} GROUP BY 1").fetchall())  # fmt: skip
            assert ids[OTHER] not in seen, table
            assert seen.get(ids[SCHOOL], 0) == server.scalar(
                f"SELECT count(*) FROM {table} WHERE {column} = :s", s=ids[SCHOOL]
            ), table
        assert conn.execute("SELECT count(*) FROM student").fetchone()[0] > 0
        for (table,) in _school_tables(server):
            if table in SYNCED_TABLES:
                continue
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE student SET first_name = 'X'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO student (id, school_id, student_no, first_name, last_name)"
                " VALUES (gen_random_uuid(), %s, 'B1', 'B', 'B')",
                (ids[OTHER],),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM server_login")


def test_a_desktop_login_cannot_speak_for_another_desktop(two_schools):
    server, desktop, ids = two_schools
    mine = add_device(server.url, school_code=SCHOOL, name="mine")
    theirs = add_device(server.url, school_code=OTHER, name="theirs")
    with _connect(mine.url, mine.password) as conn:
        assert conn.execute("SELECT rollbook_sync_hello(%s, %s)->>'school_code'",
                            (SCHOOL, "mine")).fetchone()[0] == SCHOOL  # fmt: skip
        for call, args in [
            ("SELECT rollbook_sync_hello(%s, %s)", (OTHER, "theirs")),
            ("SELECT rollbook_sync_snapshot_page(%s, 'student', NULL, 10)", (str(theirs.id),)),
            ("SELECT rollbook_sync_snapshot_count(%s, 'student')", (str(theirs.id),)),
            ("SELECT rollbook_sync_push(%s, 'x', '[]'::jsonb)", (str(theirs.id),)),
        ]:
            with pytest.raises(psycopg.DatabaseError, match="another desktop"):
                conn.execute(call, args)
        # The inner functions, which take a school, are the owner's alone.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT rollbook_sync_apply_run(%s, '[]'::jsonb)", (str(ids[OTHER]),))


def test_a_person_login_works_on_its_school_only(two_schools):
    server, _desktop, ids = two_schools
    login = add_login(server.url, school_code=SCHOOL, login="registrar_a")
    with _connect(login.url, login.password) as conn:
        for (table,) in _school_tables(server):
            seen = dict(conn.execute(
                f"SELECT school_id, count(*) FROM {table} GROUP BY 1").fetchall())  # fmt: skip
            assert ids[OTHER] not in seen, table
            assert seen.get(ids[SCHOOL], 0) == server.scalar(
                f"SELECT count(*) FROM {table} WHERE school_id = :s", s=ids[SCHOOL]
            ), table
        assert [r[0] for r in conn.execute("SELECT code FROM school")] == [SCHOOL]
        # Its own school: writable, and captured in the audit log as usual.
        conn.execute("UPDATE student SET first_name = first_name || '!' "
                     "WHERE student_no = (SELECT min(student_no) FROM student)")  # fmt: skip
        # The other school: invisible to UPDATE and DELETE, refused to INSERT.
        other_before = server.scalar("SELECT count(*) FROM student WHERE school_id = :s",
                                     s=ids[OTHER])  # fmt: skip
        assert conn.execute("UPDATE student SET first_name = 'X' WHERE school_id = %s",
                            (ids[OTHER],)).rowcount == 0  # fmt: skip
        assert conn.execute("DELETE FROM course_enrollment WHERE school_id = %s",
                            (ids[OTHER],)).rowcount == 0  # fmt: skip
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO student (id, school_id, student_no, first_name, last_name)"
                " VALUES (gen_random_uuid(), %s, 'B1', 'B', 'B')",
                (ids[OTHER],),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute("UPDATE student SET school_id = %s", (ids[OTHER],))
        # The server's own bookkeeping is not a school's.
        for table in ("sync_server", "sync_applied_op", "server_login"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT 1 FROM {table}")
    assert server.scalar("SELECT count(*) FROM student WHERE school_id = :s",
                         s=ids[OTHER]) == other_before  # fmt: skip
    assert server.scalar("SELECT count(*) FROM audit_log WHERE actor = 'registrar_a'") == 1


def test_a_desktop_syncs_through_its_own_login(two_schools):
    """The harness's desktops sync as their own device login: the sync needs no more
    than the functions it is given."""
    server, desktop, ids = two_schools
    assert "rollbook_device_" in desktop.server_url
    report = desktop.sync()
    assert report.ok, report
    assert desktop.scalar("SELECT count(*) FROM student") == server.scalar(
        "SELECT count(*) FROM student WHERE school_id = :s", s=ids[SCHOOL]
    )
    assert desktop.scalar("SELECT count(*) FROM school") == 1


def test_server_cli_hands_out_logins_and_a_person_login_cannot_upgrade(
    two_schools, capsys, tmp_path
):
    import json

    from app.cli import main
    from app.config import Settings
    from app.runtime import open_database

    server, _desktop, ids = two_schools
    admin = server.url
    code = main(["server", "add-login", "office_b", "--school", OTHER, "--url", admin, "--json"])
    made = json.loads(capsys.readouterr().out)
    assert code == 0 and made["login"] == "office_b" and len(made["password"]) >= 24
    assert made["password"] not in made["url"] and "*" not in made["url"]
    assert made["url"].startswith("postgresql://office_b@")
    code = main(["server", "add-login", "office_b", "--school", OTHER, "--url", admin])
    assert code == 2 and "already has a database role office_b" in capsys.readouterr().err
    code = main(["server", "add-device", "front-desk", "--school", OTHER, "--url", admin])
    out = capsys.readouterr().out
    assert code == 0 and "rollbook_device_" in out and "not shown again" in out

    # In server mode, the person's login works on its school...
    url = with_password(made["url"], made["password"])
    database = open_database(Settings(tmp_path, database_url=url, school_code=OTHER))
    try:
        assert database.school.id == ids[OTHER]
    finally:
        database.close()
    # ...but a server behind this Rollbook is the administrator's to upgrade.
    previous = "0019_database_roles"
    with server.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    with pytest.raises(Exception, match="this login may not upgrade it; ask the server's"):
        open_database(Settings(tmp_path, database_url=url, school_code=OTHER))
    assert server.scalar("SELECT version_num FROM alembic_version") == previous


def test_a_device_from_before_logins_gets_one_and_a_lost_password_a_new_one(sync_cluster):
    from app.sync.server import device_login

    server = sync_cluster.server()
    with server.engine.begin() as conn:  # as an older Rollbook's add-device left it
        conn.execute(
            text(
                "INSERT INTO sync_device (school_id, name) "
                "SELECT id, 'old-laptop' FROM school WHERE code = :c"
            ),
            {"c": SCHOOL},
        )
    first = device_login(server.url, school_code=SCHOOL, name="OLD-LAPTOP")
    assert first.login.startswith("rollbook_device_") and first.name == "old-laptop"
    with _connect(first.url, first.password) as conn:
        hello = conn.execute("SELECT rollbook_sync_hello(%s, 'old-laptop')", (SCHOOL,))
        assert hello.fetchone()[0]["device_id"] == str(first.id)
    again = device_login(server.url, school_code=SCHOOL, name="old-laptop")
    assert again.login == first.login and again.password != first.password
    assert server.scalar("SELECT count(*) FROM server_login WHERE device_id = :d",
                         d=first.id) == 1  # fmt: skip
    with pytest.raises(ValidationError, match='has no device "nobody"'):
        device_login(server.url, school_code=SCHOOL, name="nobody")
