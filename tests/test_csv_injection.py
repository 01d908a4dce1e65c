"""Formula injection: a value a spreadsheet would run as a formula leaves Rollbook with a
leading apostrophe, in every CSV file it writes, and every CSV file goes through the one
writer (app.csvfile)."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from app.cli import main
from app.csvfile import cell, write_csv
from app.jobs import Job
from app.services.students import StudentInput, StudentQuery, create_student
from ui.actions.export_list import ListExport, write_export
from ui.models.students import StudentTableModel, student_columns

ROOT = Path(__file__).resolve().parent.parent
LINK = '=HYPERLINK("http://x","y")'
NASTY = [LINK, "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3", "\t=1+1", "\r=1+1"]


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def cli(capsys, db, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- the writer -------------------------------------------------------------------------


@pytest.mark.parametrize("text", NASTY)
def test_text_a_spreadsheet_would_run_gets_a_leading_apostrophe(tmp_path, text):
    path = tmp_path / "list.csv"
    write_csv(path, [[text, "Anna"]], header=["name", "first"])
    assert read_csv(path) == [["name", "first"], ["'" + text, "Anna"]]


def test_numbers_and_ordinary_text_are_written_as_they_are(tmp_path):
    path = tmp_path / "list.csv"
    rows = [[-3, -2.5, Decimal("-7"), 0, None, "Anna-Maria", "O'Brien", "a=b", "2024-09-01"]]
    write_csv(path, rows)
    assert read_csv(path) == [["-3", "-2.5", "-7", "0", "", "Anna-Maria", "O'Brien", "a=b",
                               "2024-09-01"]]  # fmt: skip
    assert cell("-3") == "'-3"  # the same figure as text is quoted like any text


def test_a_header_that_looks_like_a_formula_is_neutralised_too(tmp_path):
    path = tmp_path / "rejected.csv"
    write_csv(path, [["1"]], header=["=1+1"])
    assert read_csv(path)[0] == ["'=1+1"]


# -- every way out ----------------------------------------------------------------------

# Writing CSV anywhere but app/csvfile.py: the csv module's writers, pandas, or text
# joined with commas and written by hand.
_CSV_WRITING = re.compile(
    r"csv\.writer|csv\.DictWriter|\.writerows?\(|\.to_csv\(|"
    r"""\.write\(.*["'][,;]\s*["']\s*\.join|\.write\(f?["'].*\{[^}]*\},\{"""
)
# The export paths a person uses: File > Export, --rejected-out, runs show --csv, repair.
_EXPORTS = {"ui/actions/export_list.py", "app/imports/service.py", "app/runs/history.py",
            "app/maintenance/repair.py"}  # fmt: skip


def _sources() -> list[Path]:
    return sorted(p for top in ("app", "ui") for p in (ROOT / top).rglob("*.py"))


def test_no_csv_is_written_outside_the_one_writer():
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
             for p in _sources() if p != ROOT / "app" / "csvfile.py"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
             if _CSV_WRITING.search(line)]  # fmt: skip
    assert found == []


def test_every_export_path_writes_through_write_csv():
    callers = {str(p.relative_to(ROOT)) for p in _sources()
               if "write_csv(" in p.read_text(encoding="utf-8")}  # fmt: skip
    assert callers >= _EXPORTS


def test_file_export_writes_a_formula_name_as_text(db, tmp_path):
    with db.sessions.begin() as session:
        create_student(session, db.context(), StudentInput("S1", LINK, "Lee"))
        create_student(session, db.context(), StudentInput("S2", "Ann", "Lee",
                                                           class_name="@SUM(1+1)"))  # fmt: skip
    columns = student_columns()
    export = ListExport(StudentQuery(sort="student_no"), tuple(c.title for c in columns),
                        tuple(c.value for c in columns), StudentTableModel.source)  # fmt: skip
    path = tmp_path / "students.csv"
    with db.sessions.begin() as session:
        assert write_export(session, db.context(), Job(None), export, path) == 2
    header, *rows = read_csv(path)
    name, class_name = header.index("Name"), header.index("Class")
    assert [(r[name], r[class_name]) for r in rows] == [(f"'{LINK} Lee", ""),
                                                      ("Ann Lee", "'@SUM(1+1)")]  # fmt: skip


def test_rejected_out_writes_a_formula_name_as_text(db, tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text(f'student_no,first_name,last_name,email\nS1,"{LINK.replace(chr(34), 2 * chr(34))}",Lee,not-an-email\n')  # fmt: skip
    rejected = tmp_path / "rejected.csv"
    code, _, _ = cli(capsys, db, "import", "students", str(roster), "--rejected-out",
                     str(rejected))  # fmt: skip
    assert code == 1
    header, row = read_csv(rejected)
    assert row[header.index("first_name")] == "'" + LINK


def test_runs_show_csv_writes_a_formula_name_as_text(db, tmp_path, capsys):
    """The audit run lists each student it found in a cell of its own."""
    with db.sessions.begin() as session:
        create_student(session, db.context(), StudentInput("1", LINK, "Lee"))
    groups = tmp_path / "groups.csv"
    groups.write_text("student_no,group_name,team_number,course,active\n1,G1,1,Art,yes\n")
    assert cli(capsys, db, "import", "legacy-groups", str(groups), "--commit")[0] == 0
    code, out, _ = cli(capsys, db, "audit", "enrollments", "--json")
    assert json.loads(out)["missing"] == 1
    code, out, _ = cli(capsys, db, "runs", "list", "--kind", "audit", "--json")
    run_id = json.loads(out)[0]["id"]
    report = tmp_path / "report.csv"
    code, _, _ = cli(capsys, db, "runs", "show", run_id[:8], "--csv", str(report))
    assert code == 0
    cells = [value for row in read_csv(report) for value in row]
    assert f"'{LINK} Lee" in cells  # the student's name, as text
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_a_rejected_rows_file_imported_again_reads_the_values_as_typed(tmp_path):
    """The apostrophe that keeps a spreadsheet from running "=…" is not part of the name:
    reading the corrected file back gives the value as it was typed."""
    from app.csvfile import write_csv
    from app.imports.reading import detect_format, iter_records

    path = tmp_path / "rejected.csv"
    write_csv(path, [["S1", '=HYPERLINK("http://x","y")', "'plain quote", "-"]],
              header=["student_no", "first_name", "last_name", "class_name"])  # fmt: skip
    records = [values for _line, values in iter_records(path, detect_format(path))]
    assert records[1] == ["S1", '=HYPERLINK("http://x","y")', "'plain quote", "-"]
