"""rollbook import students: exit codes, JSON, and random input never hurting data."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.cli import main
from app.db.models import MaintenanceRun, Student

ROSTER = "student_no,name,email,course\nS1,Anna Kowalska,anna@example.org,Art\n"


def cli(capsys, db, *args):
    code = main(["--database-url", db.url, "--school", "TEST", "import", "students", *args])
    out, err = capsys.readouterr()
    return code, out, err


def students(db) -> int:
    with db.sessions.begin() as s:
        return s.scalar(select(func.count()).select_from(Student))


def test_clean_file_exit_0_and_json_shape(db, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text(ROSTER)
    code, out, _ = cli(capsys, db, str(path), "--commit", "--json")
    assert code == 0
    report = json.loads(out)
    assert {"rows", "created", "updated", "unchanged", "enrollments_created",
            "enrollments_reactivated", "rejected"} <= set(report)  # fmt: skip
    assert (report["rows"], report["created"], report["rejected"]) == (1, 1, [])
    assert students(db) == 1


def test_rejections_exit_1_and_are_written_out(db, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text(ROSTER + "S2,Ben Nowak,not-an-email,Art\n")
    out_file = tmp_path / "rejected.csv"
    code, out, _ = cli(capsys, db, str(path), "--json", "--rejected-out", str(out_file))
    assert code == 1
    assert json.loads(out)["rejected"] == [
        {"line": 3, "column": "email", "message": "'not-an-email' is not a valid e-mail address."}
    ]
    assert "error" in out_file.read_text(encoding="utf-8-sig").splitlines()[0]
    assert students(db) == 0  # dry run


def test_unreadable_or_unusable_file_exit_2(db, tmp_path, capsys):
    code, _, err = cli(capsys, db, str(tmp_path / "missing.csv"))
    assert code == 2 and "Cannot open" in err
    path = tmp_path / "odd.csv"
    path.write_text("colour,size\nred,4\n")
    code, _, err = cli(capsys, db, str(path))
    assert code == 2 and "no usable columns" in err and "Traceback" not in err


HEADERS = ["student_no", "name", "email", "course", "status", "class", "grade", "birth_date", "x"]
cell = st.one_of(
    st.text(max_size=12), st.sampled_from(["", "S1", "active", "a@b.co", "7", "2012-01-02"])
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.lists(st.lists(cell, min_size=0, max_size=9), min_size=0, max_size=8).map(
            lambda rows: "\n".join(",".join(f'"{c}"' if "," in c else c for c in r)
                                   for r in [HEADERS[: max(1, len(rows[0]) if rows else 1)], *rows]).encode()
        ),
    ),
    commit=st.booleans(),
)  # fmt: skip
def test_random_input_never_crashes_and_dry_run_changes_nothing(db, tmp_path_factory, data, commit):
    path = tmp_path_factory.mktemp("fuzz") / "input.csv"
    path.write_bytes(data)

    def snapshot():
        with db.sessions.begin() as s:
            return (s.scalar(select(func.count()).select_from(Student)),
                    s.scalar(select(func.count()).select_from(MaintenanceRun)))  # fmt: skip

    before = snapshot()
    args = ["--database-url", db.url, "--school", "TEST", "import", "students", str(path), "--json"]
    code = main([*args, "--commit"] if commit else args)
    assert code in (0, 1, 2)
    if not commit or code == 2:
        assert snapshot() == before  # a dry run or an unreadable file changes nothing
