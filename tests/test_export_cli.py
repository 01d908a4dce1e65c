"""``rollbook export …``: a workbook saved and said where (exit 0), nothing to report
said in one line with no file (exit 1), bad input in one line (exit 2)."""

from __future__ import annotations

import json

import pytest
from attendance_setup import build_school
from event_setup import FAIR_DAYS, add_event, attend, register
from openpyxl import load_workbook
from sqlalchemy import text

from app.cli import main


def run_cli(capsys, db, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def school(db):
    with db.sessions.begin() as session:
        ids = build_school(session, db.context())
        session.execute(text("INSERT INTO session_attendance (id, school_id, session_id, "
                             "enrollment_id, status) VALUES (gen_random_uuid(), :s, :lesson, "
                             ":enrollment, 'present')"),
                        {"s": db.school.id, "lesson": ids["september"],
                         "enrollment": ids["enrollments"]["S1"]})  # fmt: skip
        ada = session.execute(text("SELECT id FROM student WHERE student_no = 'S1'")).scalar_one()
        fair = add_event(session, db.context(), "Science Fair", *FAIR_DAYS)
        registration = register(session, db.context(), fair, ada, "REG-2026-00001")
        attend(session, db.context(), registration, *FAIR_DAYS)
        session.execute(text("INSERT INTO certificate (id, school_id, registration_id, kind, "
                             "certificate_no) VALUES (gen_random_uuid(), :s, :r, "
                             "'participation', 'CERT-2026-00001')"),
                        {"s": db.school.id, "r": registration})  # fmt: skip
    return ids


def test_attendance_workbook_is_saved_and_said_where(db, school, capsys, tmp_path):
    out_file = tmp_path / "attendance.xlsx"
    code, out, err = run_cli(capsys, db, "export", "attendance", "--course", "biology",
                             "--from", "2026-09-01", "--to", "2026-12-31",
                             "--threshold", "75%", "--out", str(out_file))  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"Saved course attendance to {out_file}:") and err == ""
    book = load_workbook(out_file)
    assert book.sheetnames[0] == "Summary" and "Sessions" in book.sheetnames
    assert any("Under 75% highlighted" in str(row[0].value)
               for row in book["Summary"].iter_rows(max_row=6))  # fmt: skip


def test_json_output_lists_sheets_and_rows(db, school, capsys, tmp_path):
    out_file = tmp_path / "certificates.xlsx"
    code, out, _ = run_cli(capsys, db, "export", "certificates", "--event", "Science Fair",
                           "--out", str(out_file), "--json")  # fmt: skip
    assert code == 0
    saved = json.loads(out)
    assert saved["saved"] and saved["path"] == str(out_file) and saved["rows"] >= 1
    assert saved["sheets"][:2] == ["Certificates", "Summary"]


def test_event_and_student_reports(db, school, capsys, tmp_path):
    code, _, err = run_cli(capsys, db, "export", "event-attendance", "--event", "science fair",
                           "--out", str(tmp_path / "fair.xlsx"))  # fmt: skip
    assert code == 0, err
    code, _, err = run_cli(capsys, db, "export", "student-attendance", "S1",
                           "--out", str(tmp_path / "s1.xlsx"))  # fmt: skip
    assert code == 0, err
    assert load_workbook(tmp_path / "s1.xlsx").sheetnames[:2] == ["By course", "Sessions"]


def test_nothing_to_report_is_exit_1_and_writes_no_file(db, school, capsys, tmp_path):
    out_file = tmp_path / "holiday.xlsx"
    code, out, err = run_cli(capsys, db, "export", "attendance", "--from", "2027-07-01",
                             "--to", "2027-08-31", "--out", str(out_file))  # fmt: skip
    assert code == 1 and err == ""
    assert out.strip().endswith("No file was written.") and len(out.strip().splitlines()) == 1
    assert not out_file.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["attendance", "--out", "report.csv"], "name an Excel file ending in .xlsx"),
    (["attendance", "--course", "Biolgy", "--out", "x.xlsx"], "Biology"),
    (["attendance", "--from", "1/9/2026", "--out", "x.xlsx"], "--from '1/9/2026' is not a date"),
    (["attendance", "--from", "2026-12-01", "--to", "2026-09-01", "--out", "x.xlsx"],
     "swap the dates"),
    (["attendance", "--threshold", "lots", "--out", "x.xlsx"], "is not a rate"),
    (["attendance", "--threshold", "150", "--out", "x.xlsx"], "between 0 and 1"),
    (["event-attendance", "--event", "No Such Fair", "--out", "x.xlsx"], "No Such Fair"),
    (["student-attendance", "--out", "x.xlsx"], "student"),
    (["student-attendance", "S999", "--out", "x.xlsx"], "S999"),
    (["certificates", "--out", "/nonexistent-folder/x.xlsx"], "could not be saved"),
])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(db, school, capsys, tmp_path, monkeypatch, args,
                                          message):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, db, "export", *args)
    assert code == 2, (out, err)
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.xlsx").exists()
