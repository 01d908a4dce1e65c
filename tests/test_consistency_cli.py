"""rollbook sync-check / sync-repair / requests: exit codes, JSON, dry run by default."""

from __future__ import annotations

import json

from consistency_data import build_school
from sqlalchemy import select, text

from app.cli import main
from app.db.models import MaintenanceRun
from app.maintenance.consistency import KIND_NAMES


def run_cli(capsys, db, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_dry_run_commit_and_clean_again(db, ctx, capsys):
    with db.sessions.begin() as s:
        build_school(s, ctx)
    code, out, _ = run_cli(capsys, db, "sync-check")
    assert code == 1
    assert "8 inconsistencies found" in out and "Zoë Müller (S1), Chemistry" in out

    code, out, _ = run_cli(capsys, db, "sync-repair", "--kind", "team-size", "--json")
    dry = json.loads(out)
    assert code == 1 and dry["committed"] is False and dry["summary"] == {"team-size": 1}
    assert dry["repairs"][0]["student"] == "Zoë Müller (S1)"

    code, out, _ = run_cli(capsys, db, "sync-check", "--json")
    assert code == 1 and json.loads(out)["total"] == 8  # the dry run changed nothing

    code, out, _ = run_cli(capsys, db, "sync-repair", "--commit", "--json")
    done = json.loads(out)
    assert code == 0 and done["committed"] and done["applied"] == 8
    assert done["by_kind"] == {name: 1 for name in KIND_NAMES}

    code, out, _ = run_cli(capsys, db, "sync-check", "--json")
    assert code == 0 and json.loads(out) | {"run_id": None} == {
        "run_id": None, "consistent": True, "total": 0, "listed_all": True, "findings": [],
        "summary": {name: 0 for name in KIND_NAMES},
    }  # fmt: skip
    with db.sessions.begin() as s:
        runs = s.execute(select(MaintenanceRun.kind, MaintenanceRun.dry_run)
                         .order_by(MaintenanceRun.started_at)).all()  # fmt: skip
    assert [tuple(r) for r in runs] == [("consistency", True), ("repair", True),
                                        ("consistency", True), ("repair", False),
                                        ("consistency", True)]  # fmt: skip


def test_failed_repair_is_one_line_and_recorded(db, ctx, capsys):
    with db.sessions.begin() as s:
        build_school(s, ctx)
    with db.as_owner() as s:
        s.execute(text("""
            CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'certificate table is read-only today'; END $$;
            CREATE TRIGGER refuse BEFORE UPDATE ON certificate
            FOR EACH ROW EXECUTE FUNCTION refuse();"""))  # fmt: skip
    code, out, err = run_cli(capsys, db, "sync-repair", "--commit")
    assert code == 2 and "Traceback" not in err
    assert "certificate table is read-only today. Nothing was changed." in err
    assert "The failed run is in the run history." in err
    code, out, _ = run_cli(capsys, db, "sync-check", "--json")
    assert json.loads(out)["total"] == 8


def test_requests_create_list_approve_reject(db, ctx, capsys):
    with db.sessions.begin() as s:
        build_school(s, ctx)
    code, out, _ = run_cli(capsys, db, "requests", "create", "S2", "chemistry", "--json")
    assert code == 0 and json.loads(out)["course_name"] == "Chemistry"
    code, out, err = run_cli(capsys, db, "requests", "create", "S2", "Chemistry")
    assert code == 2 and "already has a pending request for Chemistry" in err
    run_cli(capsys, db, "requests", "create", "S5", "Chemistry")
    code, out, _ = run_cli(capsys, db, "requests", "list", "--course", "Chemistry", "--json")
    pending = {row["student_no"]: row["id"] for row in json.loads(out)}
    assert sorted(pending) == ["S2", "S5"]
    # The same id twice: the second is refused, the first stays approved.
    code, out, _ = run_cli(capsys, db, "requests", "approve", pending["S2"], pending["S2"])
    assert code == 1 and "Approved 1 request." in out and "already approved" in out
    code, out, _ = run_cli(capsys, db, "requests", "reject", pending["S5"], "--note", "Full")
    assert code == 0 and "Rejected 1 request." in out
    code, out, _ = run_cli(capsys, db, "requests", "list", "--status", "all")
    assert "approved" in out and "rejected" in out
    code, out, err = run_cli(capsys, db, "requests", "approve", "not-an-id")
    assert code == 2 and "rollbook requests list" in err


def test_the_parser_knows_every_finding_kind():
    from app.cli.consistency import KIND_NAMES as PARSER_KINDS
    from app.maintenance.consistency import KIND_NAMES

    assert PARSER_KINDS == KIND_NAMES
