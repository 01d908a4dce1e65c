"""Bulk loads leave the planner able to see what they loaded: after a roster import, a
legacy-group import, a backfill and demo data, the tables they filled have statistics
(PostgreSQL's row count and column statistics), so the next statement, in the same
transaction or right after the commit, is planned for the rows that are there and not
for an empty table. (A million-student demo load spent 25 minutes in one statement
planned blind.)"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.cli import main
from app.demo_data import ANALYZED_TABLES, create_demo_data

STUDENTS = 1_500  # above analyze_loaded's threshold, small enough for seconds


def cli(db, *args: str) -> int:
    return main(["--database-url", db.url, "--school", "TEST", *args])


def row_estimate(db, table: str) -> float:
    """What the planner believes the table holds (-1: never analysed)."""
    with db.engine.connect() as conn:
        return conn.scalar(text("SELECT reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                           {"t": table})  # fmt: skip


def has_column_statistics(db, table: str) -> bool:
    with db.engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename = :t"),
                                {"t": table}))  # fmt: skip


def planned_rows(db, query: str) -> float:
    with db.engine.connect() as conn:
        plan = conn.scalar(text(f"EXPLAIN (FORMAT JSON) {query}"))
    return plan[0]["Plan"]["Plan Rows"]


def assert_seen(db, table: str, rows: int) -> None:
    # ANALYZE counts a small table exactly and estimates a big one from a sample.
    assert abs(row_estimate(db, table) - rows) <= 0.1 * rows, f"{table}: rows unknown"
    assert has_column_statistics(db, table), f"{table}: no column statistics"


def roster(tmp_path: Path, *, course: bool) -> Path:
    lines = ["student_no,first_name,last_name,status" + (",course" if course else "")]
    lines += [f"N{n:05},Ann,Lee{n},{'active' if n % 10 else 'withdrawn'}"
              + (",Art" if course else "") for n in range(STUDENTS)]  # fmt: skip
    path = tmp_path / "roster.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_roster_import_leaves_students_and_enrollments_with_statistics(db, tmp_path):
    assert row_estimate(db, "student") <= 0  # a new school: nothing known yet
    # Exit 1: the withdrawn students are not enrolled, and the report says so.
    assert cli(db, "import", "students", str(roster(tmp_path, course=True)), "--commit") == 1
    assert_seen(db, "student", STUDENTS)
    enrolled = STUDENTS - STUDENTS // 10  # the withdrawn students are not enrolled
    assert_seen(db, "course_enrollment", enrolled)
    assert_seen(db, "course_progress", enrolled)
    # The planner's guess for the withdrawn students is near the truth (150), not a
    # default fraction of an empty table.
    guess = planned_rows(db, "SELECT * FROM student WHERE status = 'withdrawn'")
    assert 100 <= guess <= 200


def test_legacy_import_and_backfill_leave_their_tables_with_statistics(db, tmp_path):
    assert cli(db, "import", "students", str(roster(tmp_path, course=False)), "--commit") == 0
    groups = tmp_path / "groups.csv"
    groups.write_text("student_no,group_name,team_number,course,active\n" + "".join(
        f"N{n:05},G{n // 25},{n // 25},Art,yes\n" for n in range(STUDENTS)))  # fmt: skip
    assert cli(db, "import", "legacy-groups", str(groups), "--commit") == 0
    assert_seen(db, "legacy_group_member", STUDENTS)
    assert cli(db, "backfill", "enrollments", "--commit") == 0
    enrolled = STUDENTS - STUDENTS // 10
    assert_seen(db, "course_enrollment", enrolled)
    assert_seen(db, "course_progress", enrolled)


def test_demo_data_leaves_every_table_it_filled_with_statistics(db):
    with db.engine.begin() as conn:
        create_demo_data(conn.connection.driver_connection, db.school.id, students=2_000,
                         seed=5)  # fmt: skip
    with db.engine.connect() as conn:
        counts = {t: conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in ANALYZED_TABLES}
    assert counts["student"] == 2_000 and counts["enrollment_request"] > 0
    for table, rows in counts.items():
        assert_seen(db, table, rows)
