"""`rollbook db downgrade` never deletes data unasked: it refuses in one line, naming
what would go, unless --force is given, and then takes a backup first."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import text

from app.db import migrate
from app.db.engine import make_engine


def _rollbook(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ROLLBOOK_DATA_DIR": str(data_dir)}
    env.pop("ROLLBOOK_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--database-url", url, *args],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip


def _libpq(engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _add_students(engine, count: int) -> None:
    with engine.begin() as conn:
        school = conn.execute(text("SELECT id FROM school LIMIT 1")).scalar()
        for n in range(count):
            conn.execute(
                text("INSERT INTO student (id, school_id, student_no, first_name, last_name) "
                     "VALUES (:id, :school, :no, 'Zoë', 'Müller')"),
                {"id": uuid.uuid4(), "school": school, "no": f"S{n}"},
            )  # fmt: skip


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_downgrade_that_would_delete_rows_refuses_and_changes_nothing(db, tmp_path):
    _add_students(db.engine, 3)
    before = migrate.current_revision(db.engine)

    result = _rollbook(db.admin_url, tmp_path, "db", "downgrade", "base")

    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "student (3 rows)" in line and "school (1 row)" in line and "--force" in line
    assert migrate.current_revision(db.engine) == before
    assert _count(db.engine, "student") == 3
    assert not (tmp_path / "backups").exists()


def test_force_takes_a_backup_first_and_says_where(db, tmp_path):
    _add_students(db.engine, 2)

    result = _rollbook(db.admin_url, tmp_path, "db", "downgrade", "base", "--force")

    assert result.returncode == 0, result.stderr
    backup = Path(result.stdout.split("Backup taken first: ", 1)[1].splitlines()[0])
    assert backup.parent == tmp_path / "backups"
    assert backup.stat().st_size > 0
    with db.as_owner() as conn:  # below 0019 the app's role has no rights to look
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 0


def test_an_empty_database_downgrades_without_force(empty_database, tmp_path):
    migrate.upgrade(empty_database)

    result = _rollbook(_libpq(empty_database), tmp_path, "db", "downgrade", "base")

    assert result.returncode == 0, result.stderr
    assert migrate.current_revision(empty_database) is None


def test_dropped_columns_count_only_when_they_hold_values(db):
    """0011 adds the school's certificate design: a downgrade past it loses a template
    someone wrote, but not columns left empty or at their default."""
    admin = make_engine(db.admin_url)  # a downgrade is the administrator's
    assert not migrate.data_lost_by_downgrade(admin, "0010_certificate_registration")

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE school SET certificate_template = '<p>{name}</p>'"))
    at_risk = migrate.data_lost_by_downgrade(admin, "0010_certificate_registration")

    assert at_risk.tables == ()
    assert at_risk.columns == (("school.certificate_template", 1),)
    # The trial ran in a transaction that was rolled back: nothing changed.
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    assert _count(db.engine, "school WHERE certificate_template IS NOT NULL") == 1
    admin.dispose()


def test_unknown_revisions_are_one_line(db, tmp_path):
    for action in ("upgrade", "downgrade"):
        result = _rollbook(db.admin_url, tmp_path, "db", action, "nosuchrev")
        assert result.returncode == 2
        assert "no database version 'nosuchrev'" in _one_line(result.stderr)


def test_the_apps_own_login_may_not_migrate_and_is_told_whose_url_to_use(db, tmp_path):
    before = migrate.current_revision(db.engine)
    result = _rollbook(_libpq(db.engine), tmp_path, "db", "downgrade", "0018_accounts")
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "The login rollbook_app may not change the database's tables" in line
    assert "administrator's URL" in line and "Nothing was changed." in line
    assert migrate.current_revision(db.engine) == before
