"""A quote that is never closed must not swallow the rows after it: the row is rejected
with the lines it ran into, and those lines are read as rows again."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from app.cli import main
from app.db.models import Student
from app.imports.mapping import ColumnMapping, Field
from app.imports.service import prepare, run_import
from app.imports.validation import ImportOptions, validate

# The example of issue 21, as a registrar would have it from a hand-edited export.
RUNAWAY = (
    "student_no,name,email\n"
    'Q1,"Ann,Lee,q1@x.org\n'
    "Q2,Bob Stone,q2@x.org\n"
    "Q3,Cy Young,q3@x.org\n"
)  # fmt: skip
MESSAGE = "the quote opened here is not closed until line 4; lines 3–4 were read into this field"


def write(tmp_path: Path, text: str, name: str = "roster.csv", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def plan(db, path: Path):
    prepared = prepare(path)
    with db.sessions.begin() as session:
        outcome = run_import(session, db.context(), prepared, commit=False)
        session.rollback()
    return prepared, outcome


def students(db) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(Student))


def test_cli_rejects_the_runaway_row_and_plans_the_rows_after_it(db, tmp_path, capsys):
    path = write(tmp_path, RUNAWAY)
    args = ["--database-url", db.url, "--school", "TEST", "import", "students", str(path)]
    code = main([*args, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (report["rows"], report["created"]) == (3, 2)
    assert report["rejected"] == [{"line": 2, "column": "name", "message": MESSAGE}]
    code = main(args)
    out = capsys.readouterr().out
    assert code == 1 and f"line 2, name: {MESSAGE}" in out
    assert students(db) == 0  # a dry run


def test_commit_imports_the_rows_after_the_runaway_quote(db, tmp_path, capsys):
    path = write(tmp_path, RUNAWAY, newline="\r\n")
    out_file = tmp_path / "rejected.csv"
    args = ["--database-url", db.url, "--school", "TEST", "import", "students", str(path),
            "--commit", "--rejected-out", str(out_file)]  # fmt: skip
    assert main(args) == 1
    capsys.readouterr()
    with db.sessions.begin() as s:
        names = s.execute(select(Student.student_no, Student.first_name, Student.last_name)
                          .order_by(Student.student_no)).all()  # fmt: skip
    assert names == [("Q2", "Bob", "Stone"), ("Q3", "Cy", "Young")]
    # The rejected row is written as its own line shows it, not with the lines it swallowed.
    rejected = out_file.read_text(encoding="utf-8-sig")
    assert "Ann,Lee,q1@x.org" in rejected and "Bob" not in rejected and MESSAGE in rejected


def test_prepare_and_plan(db, tmp_path):
    prepared, outcome = plan(db, write(tmp_path, RUNAWAY))
    assert [r.line for r in prepared.validation.records] == [3, 4]
    assert (outcome.rows, outcome.created) == (3, 2)
    [rejection] = outcome.rejected
    assert (rejection.line, rejection.column, rejection.message) == (2, "name", MESSAGE)
    assert rejection.raw == {"student_no": "Q1", "name": "Ann,Lee,q1@x.org", "email": ""}


def test_a_notes_column_may_hold_line_breaks(db, tmp_path):
    text = (
        "student_no,name,notes,email\n"
        'N1,Ann Lee,"allergic to nuts\n'
        'call mother first",n1@x.org\n'
        'N2,Bob Stone,"",n2@x.org\n'
    )
    prepared, outcome = plan(db, write(tmp_path, text))
    assert outcome.rejected == [] and outcome.created == 2
    assert [(r.line, r.email) for r in prepared.validation.records] == [
        (2, "n1@x.org"), (4, "n2@x.org")
    ]  # fmt: skip


def test_a_quote_closed_by_a_later_row_is_found_and_the_rows_between_read_again(db, tmp_path):
    # The quote opened on line 2 is closed by the quote that opens the notes of line 4;
    # line 4's notes themselves run over two lines, legitimately.
    text = (
        "student_no,name,email,notes\n"
        'R1,"Ann Lee,r1@x.org,\n'
        "R2,Bob Stone,r2@x.org,\n"
        'R3,Cy Young,r3@x.org,"two\n'
        'lines"\n'
        "R4,Di Ross,r4@x.org,\n"
    )
    prepared, outcome = plan(db, write(tmp_path, text))
    [rejection] = outcome.rejected
    assert (rejection.line, rejection.column) == (2, "name")
    assert rejection.message.startswith("the quote opened here is not closed until line 4;")
    assert [(r.line, r.student_no) for r in prepared.validation.records] == [
        (3, "R2"), (4, "R3"), (6, "R4")
    ]  # fmt: skip
    assert outcome.created == 3 and outcome.rows == 4


def test_a_quote_left_open_to_the_end_of_the_file(db, tmp_path):
    text = "student_no,name,email\nE1,Ann Lee,e1@x.org\nE2,Bob Stone,\"e2@x.org\nE3,Cy Young,e3@x.org\n\nE4,Di Ross,e4@x.org"  # fmt: skip
    prepared, outcome = plan(db, write(tmp_path, text))
    [rejection] = outcome.rejected
    assert (rejection.line, rejection.column) == (3, "email")
    assert rejection.message == (
        "the quote opened here is not closed until line 6; lines 4–6 were read into this field"
    )
    assert [r.student_no for r in prepared.validation.records] == ["E1", "E3", "E4"]
    assert (outcome.rows, outcome.created) == (4, 3)


def test_two_runaway_quotes_in_a_row_are_both_rejected(db, tmp_path):
    text = 'student_no,name\nA1,"Ann Lee\nA2,"Bob Stone\nA3,Cy Young\n'
    _, outcome = plan(db, write(tmp_path, text))
    assert [(r.line, r.column) for r in outcome.rejected] == [(2, "name"), (3, "name")]
    assert outcome.rejected[1].message.endswith("line 4 was read into this field")
    assert outcome.created == 1


def test_validating_again_with_another_mapping_starts_from_the_file(tmp_path):
    """The wizard validates again when the person changes the mapping: a column mapped
    to nothing may hold the line breaks, and then nothing is rejected."""
    text = 'student_no,name,comment\nC1,Ann Lee,"said ""hi\nC2,Bob Stone,\n'
    prepared = prepare(write(tmp_path, text))
    assert prepared.validation.rejections == []  # "comment" is not imported
    mapping = prepared.mapping
    as_course = ColumnMapping(mapping.header, (*mapping.fields[:2], Field.COURSE))
    again = validate(prepared.table, as_course, ImportOptions())
    assert [(r.line, r.column) for r in again.rejections] == [(2, "comment")]
    assert [r.student_no for r in again.records] == ["C2"]
    back = validate(prepared.table, mapping, ImportOptions())
    assert back.rejections == [] and [r.student_no for r in back.records] == ["C1"]


def test_a_quote_opened_after_a_note_that_runs_over_lines(db, tmp_path):
    text = 'student_no,notes,name\nP1,"line one\nline two","Ann Lee\nP2,none,Bob Stone\n'
    prepared, outcome = plan(db, write(tmp_path, text))
    [rejection] = outcome.rejected
    assert (rejection.line, rejection.column, rejection.message) == (
        2, "name", "the quote opened on line 3 is not closed until line 4; line 4 was read "
        "into this field",
    )  # fmt: skip
    assert [(r.line, r.student_no) for r in prepared.validation.records] == [(4, "P2")]


def test_legacy_group_files_reject_a_runaway_quote_and_read_the_rows_after_it(db, tmp_path):
    from app.imports.legacy_groups import read_legacy_file

    path = write(tmp_path, "student_no,group_name,course,team_number\n"
                           'S1,"Team A,Art,1\nS2,Team B,Art,2\nS3,Team C,Art,3\n', "groups.csv")  # fmt: skip
    legacy = read_legacy_file(path)
    assert legacy.rows == 3
    assert [(r.line, r.column, r.message) for r in legacy.rejected] == [(2, "group_name", MESSAGE)]
    assert [r.line for r in legacy.records] == [3, 4]
