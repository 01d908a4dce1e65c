"""Backups: what a person gets back from a restore, the backup before an applied import,
pruning, and the refusals (a damaged file, a newer Rollbook's backup, others connected)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from app.cli import main
from app.db.backup import (
    MANUAL,
    BackupError,
    BackupPolicy,
    attach_policy,
    create_backup,
    list_backups,
    restore_backup,
)
from app.demo_data import create_demo_data
from app.imports.service import prepare, run_import
from app.imports.validation import ImportOptions
from app.runs.history import get_run


def snapshot(db) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of all its rows."""
    with db.engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).scalars().all()  # fmt: skip
        return {t: tuple(conn.execute(text(
            f'SELECT count(*), coalesce(md5(string_agg(r::text, \',\' ORDER BY r::text)), \'\') '
            f'FROM "{t}" r')).one()) for t in tables}  # fmt: skip


def with_demo_school(db, students: int = 40) -> None:
    with db.sessions.begin() as session:
        raw = session.connection().connection.driver_connection
        create_demo_data(raw, db.school.id, students=students, seed=3)


def test_backup_change_restore_gives_every_table_back(db, tmp_path):
    with_demo_school(db)
    before = snapshot(db)
    backup = create_backup(db.url, tmp_path, reason=MANUAL)
    assert backup.path.exists() and backup.size > 0
    assert backup.revision and backup.reason == MANUAL
    with db.sessions.begin() as s:
        s.execute(text("UPDATE student SET first_name = 'Changed'"))
        s.execute(text("DELETE FROM event_feedback"))
    with db.as_owner() as conn:  # a table a later version might add
        conn.execute(text("CREATE TABLE added_later (id int)"))
        conn.commit()
    assert snapshot(db) != before
    db.engine.dispose()  # the restore needs the database to itself

    restored = restore_backup(db.admin_url, backup.path)

    assert restored.path == backup.path
    assert snapshot(db) == before  # added_later is gone too
    with db.sessions.begin() as s:  # the change capture works again after the restore
        s.execute(text("UPDATE student SET first_name = 'Again' WHERE student_no = "
                       "(SELECT min(student_no) FROM student)"))  # fmt: skip
        assert s.scalar(text("SELECT count(*) FROM audit_log WHERE changes::text LIKE '%Again%'"))


def test_an_applied_import_leaves_a_backup_linked_to_its_run(db, tmp_path):
    folder = tmp_path / "backups"
    attach_policy(db.sessions, BackupPolicy(folder, enabled=True, keep=10))
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email,class_name,course\nAnna Kowalska,anna@example.org,7A,Maths\n",
                      encoding="utf-8")  # fmt: skip
    prepared = prepare(roster, options=ImportOptions())
    with db.sessions.begin() as session:
        preview = run_import(session, db.context(), prepared, commit=False)
        session.rollback()
    assert not list_backups(folder)  # a preview takes none

    with db.sessions.begin() as session:
        outcome = run_import(session, db.context(), prepared, commit=True)

    [backup] = list_backups(folder)
    assert backup.reason == "before-import" and backup.run_id == outcome.run_id
    with db.sessions.begin() as session:
        run = get_run(session, db.context(), outcome.run_id)
    assert run.backup_file == backup.path.name
    assert preview.run_id != outcome.run_id

    # Taken while the import worked, it holds the school as it was before: restoring it
    # brings back no Anna and no trace of the run (not even as interrupted).
    before_import = snapshot(db)
    db.engine.dispose()
    restore_backup(db.admin_url, backup.path)
    after_restore = snapshot(db)
    assert after_restore["student"][0] == before_import["student"][0] - 1
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM maintenance_run WHERE id = :id"),
                            {"id": outcome.run_id}).scalar() == 0  # fmt: skip


def test_pruning_keeps_the_newest_automatic_backups_and_every_manual_one(db, tmp_path):
    manual = create_backup(db.url, tmp_path, reason=MANUAL)
    made = [create_backup(db.url, tmp_path, reason="before-backfill", keep=2) for _ in range(3)]
    names = {b.path.name for b in list_backups(tmp_path)}
    assert names == {manual.path.name, made[1].path.name, made[2].path.name}
    assert not made[0].path.exists()
    assert [b.path for b in list_backups(tmp_path)][0] == made[2].path  # newest first


def test_restore_refuses_a_damaged_file_and_a_newer_rollbooks_backup(db, tmp_path):
    with_demo_school(db, students=10)
    before = snapshot(db)
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"PGDMP not really")
    db.engine.dispose()
    with pytest.raises(BackupError, match="not a readable backup"):
        restore_backup(db.admin_url, garbage)
    with pytest.raises(BackupError, match="no backup file"):
        restore_backup(db.admin_url, tmp_path / "missing.dump")
    good = create_backup(db.url, tmp_path, reason=MANUAL)
    cut = tmp_path / "cut.dump"
    cut.write_bytes(good.path.read_bytes()[: good.size // 2])
    with pytest.raises(BackupError):
        restore_backup(db.admin_url, cut)

    with db.as_owner() as conn:  # as a newer Rollbook's migrations would have
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
        conn.commit()
    future = create_backup(db.url, tmp_path, reason=MANUAL)
    with db.as_owner() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": good.revision})
        conn.commit()
    db.engine.dispose()
    with pytest.raises(BackupError, match="0099_from_the_future.*newer Rollbook"):
        restore_backup(db.admin_url, future.path)
    assert snapshot(db) == before


def test_restore_refuses_while_another_program_is_connected(db, tmp_path):
    backup = create_backup(db.url, tmp_path, reason=MANUAL)
    db.engine.dispose()
    libpq = db.url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq), pytest.raises(BackupError, match="1 other connection is"):
        restore_backup(db.admin_url, backup.path)


def cli(capsys, db, data_dir: Path, *args: str) -> tuple[int, str, str]:
    # A server's backups and restores are its administrator's, with the admin's URL.
    code = main(["--database-url", db.admin_url, "--data-dir", str(data_dir), "--school", "TEST",
                 "backup", *args])  # fmt: skip
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_backup_create_list_restore_and_exit_codes(db, tmp_path, capsys):
    with_demo_school(db, students=10)
    db.engine.dispose()
    code, out, err = cli(capsys, db, tmp_path, "create", "--json")
    assert code == 0, err
    made = Path(json.loads(out)["file"])
    assert made.parent == tmp_path / "backups" and made.exists()
    code, out, _ = cli(capsys, db, tmp_path, "list")
    assert code == 0 and made.name in out and "made by hand" in out

    code, out, err = cli(capsys, db, tmp_path, "restore", str(tmp_path / "nope.dump"))
    assert code == 2 and "no backup file" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "bad.dump").write_text("not a dump")
    code, _, err = cli(capsys, db, tmp_path, "restore", str(tmp_path / "bad.dump"))
    assert code == 2 and "not a readable backup" in err and "Traceback" not in err

    with db.sessions.begin() as s:
        s.execute(text("UPDATE student SET last_name = 'Later'"))
    db.engine.dispose()
    code, _, err = cli(capsys, db, tmp_path, "restore", made.name)  # a name from `list`
    assert code == 2 and "--yes" in err and "10 students now" in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = cli(capsys, db, tmp_path, "restore", made.name, "--yes")
    assert code == 0, err
    assert "Safety backup" in out and "Restored" in out
    with db.sessions.begin() as s:
        assert not s.scalar(text("SELECT count(*) FROM student WHERE last_name = 'Later'"))
    safety = [b for b in list_backups(tmp_path / "backups") if b.reason == "before-restore"]
    assert len(safety) == 1  # the data as it was, "Later" and all, is kept
