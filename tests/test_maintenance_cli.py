"""rollbook import legacy-groups / audit enrollments / backfill enrollments / runs: exit
codes and JSON, the way automation uses them."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.cli import main
from app.db.models import CourseEnrollment, LegacyGroupMember
from app.services.students import StudentInput, create_student

LEGACY = "student_no,group_name,team_number,course,active\n"


def cli(capsys, db, *args):
    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


def count(db, model) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(model))


def school_with_legacy_file(db, tmp_path):
    with db.sessions.begin() as s:
        for n in ("1", "2"):
            create_student(s, db.context(), StudentInput(n, "Ann", f"Lee{n}"))
    path = tmp_path / "groups.csv"
    path.write_text(LEGACY + "1,G1,1,Art,yes\n2,G1,1,Art,yes\n3,G1,1,Art,yes\n")
    return path


def test_audit_on_empty_school_exits_0(db, capsys):
    code, out, _ = cli(capsys, db, "audit", "enrollments", "--json")
    assert code == 0
    assert json.loads(out)["coverage_percent"] == 100.0


def test_the_whole_migration_from_the_command_line(db, tmp_path, capsys):
    path = school_with_legacy_file(db, tmp_path)
    rejected = tmp_path / "rejected.csv"
    code, out, _ = cli(capsys, db, "import", "legacy-groups", str(path), "--json")
    assert code == 1 and json.loads(out)["committed"] is False  # student 3 is unknown
    assert count(db, LegacyGroupMember) == 0
    code, out, _ = cli(capsys, db, "import", "legacy-groups", str(path), "--commit",
                       "--rejected-out", str(rejected))  # fmt: skip
    assert code == 1 and count(db, LegacyGroupMember) == 2
    assert "No student with student number 3" in rejected.read_text(encoding="utf-8-sig")

    code, out, _ = cli(capsys, db, "audit", "enrollments", "--json")
    report = json.loads(out)
    assert code == 2 and (report["missing"], report["pairs"]) == (2, 2)
    assert {s["student_no"] for s in report["lists"]["missing"]} == {"1", "2"}

    code, out, _ = cli(capsys, db, "backfill", "enrollments", "--json")
    assert code == 1 and json.loads(out)["enrollments_created"] == 2
    assert count(db, CourseEnrollment) == 0
    code, out, _ = cli(capsys, db, "backfill", "enrollments", "--commit", "--json")
    applied = json.loads(out)
    assert code == 0 and applied["status"] == "succeeded"
    assert count(db, CourseEnrollment) == 2

    code, out, _ = cli(capsys, db, "audit", "enrollments")
    assert code == 0 and "Coverage 100.0%" in out
    code, out, _ = cli(capsys, db, "backfill", "enrollments")
    assert code == 0 and "0 enrollments to create" in out

    code, out, _ = cli(capsys, db, "runs", "list", "--kind", "backfill", "--json")
    runs = json.loads(out)
    assert [(r["dry_run"], r["status"]) for r in runs] == [(True, "succeeded"),
                                                         (False, "succeeded"),
                                                         (True, "succeeded")]  # fmt: skip
    report_file = tmp_path / "report.csv"
    code, out, _ = cli(capsys, db, "runs", "show", applied["run_id"][:8], "--csv",
                       str(report_file))  # fmt: skip
    assert code == 0
    assert "course_enrollment" in report_file.read_text(encoding="utf-8-sig")


def test_unreadable_legacy_file_exits_2(db, tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("name,colour\nAnn,blue\n")
    code, _, err = cli(capsys, db, "import", "legacy-groups", str(path))
    assert code == 2 and "no student_no or email column" in err


def test_unknown_run_exits_2(db, capsys):
    code, _, err = cli(capsys, db, "runs", "show", "abcdef12")
    assert code == 2 and "No run id starts with" in err
