"""Certificates: who gets one and why not, issuing in one transaction with sequential
gap-free numbers (also from two processes at once), revoking (a number is never used
twice), merit and winner certificates, the flags of the consistency repair, and the
command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from event_setup import FAIR_DAYS, build_events, crowd_event
from sqlalchemy import select, text

from app.cli import main
from app.db.models import AuditLog, Certificate
from app.domain.enums import UserRole
from app.domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.maintenance.repair import apply_repair
from app.services import numbering
from app.services.certificates import (
    clear_flag,
    event_certificates,
    flagged_certificates,
    issue_certificates,
    plan_awards,
    plan_participation,
    revoke_certificate,
)
from app.services.numbering import NumberKind

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def school(session, ctx):
    return build_events(session, ctx)


def _decisions(plan) -> list[tuple[str, bool, str]]:
    return [(d.registration_no, d.gets_one, d.reason) for d in plan.decisions]


def _numbers(result) -> list[tuple[str, str]]:
    return [(c.certificate_no, c.registration_no) for c in result.issued]


def test_every_registration_gets_a_decision_with_its_reason(session, ctx, school):
    plan = plan_participation(session, ctx, school["fair"])
    assert (plan.event_name, plan.kind, plan.min_days) == ("Science Fair", "participation", 2)
    assert _decisions(plan) == [
        ("REG-2026-00001", True, "attended 2 days (2 required)"),
        ("REG-2026-00002", False, "attended 1 of 2 required days"),
        ("REG-2026-00003", False, "waitlisted"),
        ("REG-2026-00004", False, "registration cancelled"),
        ("REG-2026-00005", False, "already holds CERT-2025-00012"),
        ("REG-2026-00006", True, "attended 2 days (2 required)"),
    ]
    assert [d.student_no for d in plan.receiving] == ["S1", "S6"]
    chosen = plan_participation(session, ctx, school["fair"], ["reg-2026-00002"])
    assert _decisions(chosen) == [("REG-2026-00002", False, "attended 1 of 2 required days")]
    with pytest.raises(ValidationError) as info:
        plan_participation(session, ctx, school["fair"], ["REG-2026-00007"])
    assert str(info.value) == ("REG-2026-00007 is not a registration for Science Fair; check "
                               "the registration numbers.")  # fmt: skip
    with pytest.raises(NotFound, match="That event no longer exists"):
        plan_participation(session, ctx, school["S1"])


def test_issuing_is_one_transaction_with_sequential_numbers(db):
    ctx = db.context(UserRole.STAFF)
    with db.sessions.begin() as s:
        school = build_events(s, db.context())
    with db.sessions.begin() as s:
        issue_certificates(s, ctx, school["fair"])
        s.rollback()  # nothing was issued, and the numbers are handed out again
    with db.sessions.begin() as s:
        assert s.scalars(select(Certificate.certificate_no)).all() == ["CERT-2025-00012"]
        result = issue_certificates(s, ctx, school["fair"])
    assert _numbers(result) == [("CERT-2026-00001", "REG-2026-00001"),
                                ("CERT-2026-00002", "REG-2026-00006")]  # fmt: skip
    assert [(d.registration_no, d.reason) for d in result.not_issued][:2] == [
        ("REG-2026-00002", "attended 1 of 2 required days"), ("REG-2026-00003", "waitlisted")]  # fmt: skip
    with db.sessions.begin() as s:
        transactions = s.scalars(select(AuditLog.txid).where(
            AuditLog.entity == "certificate", AuditLog.action == "insert").order_by(AuditLog.id)
        ).all()  # fmt: skip
        issued_by = s.scalars(select(Certificate.issued_by).where(
            Certificate.certificate_no.like("CERT-2026-%"))).all()  # fmt: skip
        # Issuing again finds everyone holding one: no numbers are taken.
        again = issue_certificates(s, ctx, school["fair"])
        quiz = issue_certificates(s, ctx, school["quiz"])
    assert len(transactions) == 3 and len(set(transactions[1:])) == 1
    assert issued_by == ["tester", "tester"]
    assert again.issued == [] and {d.reason for d in again.not_issued} >= {
        "already holds CERT-2026-00001", "already holds CERT-2026-00002"}  # fmt: skip
    assert quiz.issued == [] and [d.reason for d in quiz.not_issued] == [
        "attended 0 of 1 required day"]  # fmt: skip


def test_revoking_keeps_the_certificate_and_reissuing_takes_a_new_number(session, ctx, school):
    issue_certificates(session, ctx, school["fair"])
    revoked = revoke_certificate(session, ctx, " cert-2026-00001 ", "  Printed with a typo ")
    assert (revoked.certificate_no, revoked.revoke_reason) == ("CERT-2026-00001",
                                                               "Printed with a typo")  # fmt: skip
    assert revoked.revoked_at is not None and revoked.name == "Ada Marsh"
    plan = plan_participation(session, ctx, school["fair"], ["REG-2026-00001"])
    assert _decisions(plan) == [("REG-2026-00001", True, "attended 2 days (2 required)")]
    reissued = issue_certificates(session, ctx, school["fair"])
    assert _numbers(reissued) == [("CERT-2026-00003", "REG-2026-00001")]
    rows = session.execute(select(Certificate.certificate_no, Certificate.revoke_reason,
                                  Certificate.revoked_by)
                           .where(Certificate.registration_id == school["reg_S1"])
                           .order_by(Certificate.certificate_no)).all()  # fmt: skip
    assert rows == [("CERT-2026-00001", "Printed with a typo", ctx.actor),
                    ("CERT-2026-00003", None, None)]  # who, when and why stay with the row  # fmt: skip
    with pytest.raises(Conflict) as info:
        revoke_certificate(session, ctx, "CERT-2026-00001", "again")
    assert str(info.value).startswith("CERT-2026-00001 was already revoked on ")
    assert str(info.value).endswith(" (Printed with a typo); a revoked certificate stays revoked.")
    with pytest.raises(ValidationError, match="Say why the certificate is revoked"):
        revoke_certificate(session, ctx, "CERT-2026-00002", "   ")
    with pytest.raises(NotFound) as info:
        revoke_certificate(session, ctx, "CERT-2026-00099", "lost")
    assert str(info.value) == ("No certificate has the number 'CERT-2026-00099'; check the "
                               "number printed on it.")  # fmt: skip


def test_a_revoked_number_is_never_handed_out_again(session, ctx, school):
    issue_certificates(session, ctx, school["fair"])
    for number in ("CERT-2026-00001", "CERT-2026-00002"):
        revoke_certificate(session, ctx, number, "wrong event")
    again = issue_certificates(session, ctx, school["fair"])
    assert [c.certificate_no for c in again.issued] == ["CERT-2026-00003", "CERT-2026-00004"]
    numbers = session.scalars(select(Certificate.certificate_no)).all()
    assert len(numbers) == len(set(numbers)) == 5


def test_merit_and_winner_certificates_go_to_the_chosen_registrations(session, ctx, school):
    chosen = ["REG-2026-00002", "reg-2026-00003", "REG-2026-00004"]
    plan = plan_awards(session, ctx, school["fair"], "merit", chosen)
    assert _decisions(plan) == [("REG-2026-00002", True, "chosen for a merit certificate"),
                                ("REG-2026-00003", False, "waitlisted"),
                                ("REG-2026-00004", False, "registration cancelled")]  # fmt: skip
    merit = issue_certificates(session, ctx, school["fair"], "merit", chosen)
    assert _numbers(merit) == [("CERT-2026-00001", "REG-2026-00002")]
    again = issue_certificates(session, ctx, school["fair"], "merit", ["REG-2026-00002"])
    assert again.issued == [] and [d.reason for d in again.not_issued] == [
        "already holds CERT-2026-00001"]  # fmt: skip
    # A winner may hold a merit certificate too: one live certificate per kind.
    winner = issue_certificates(session, ctx, school["fair"], "winner",
                                ["REG-2026-00002", "REG-2026-00001"])  # fmt: skip
    assert _numbers(winner) == [("CERT-2026-00002", "REG-2026-00001"),
                                ("CERT-2026-00003", "REG-2026-00002")]  # fmt: skip
    with pytest.raises(ValidationError) as info:
        issue_certificates(session, ctx, school["fair"], "merit")
    assert str(info.value) == ("Choose the registrations that get a merit certificate (their "
                               "registration numbers).")  # fmt: skip
    with pytest.raises(ValidationError, match="'gold' is not a kind of certificate"):
        issue_certificates(session, ctx, school["fair"], "gold", ["REG-2026-00001"])
    with pytest.raises(ValidationError, match="REG-2026-00007 is not a registration for Science"):
        issue_certificates(session, ctx, school["fair"], "winner", ["REG-2026-00007"])


def test_a_cancelled_event_gives_no_certificates(session, ctx, school):
    session.execute(text("UPDATE event SET status = 'cancelled' WHERE id = :e"),
                    {"e": school["fair"]})  # fmt: skip
    with pytest.raises(ValidationError) as info:
        issue_certificates(session, ctx, school["fair"])
    assert str(info.value) == "Science Fair was cancelled; it gives no certificates."


def test_flagged_certificates_and_clearing_a_flag(session, ctx, school, db):
    issue_certificates(session, ctx, school["fair"])
    # Ada's second day turns out to be a mistake: the repair flags her certificate.
    session.execute(text("UPDATE event_attendance SET deleted_at = now() WHERE "
                         "registration_id = :r AND attended_on = :d"),
                    {"r": school["reg_S1"], "d": FAIR_DAYS[1]})  # fmt: skip
    assert apply_repair(session, ctx, None, kinds=["certificate-ineligible"]).succeeded
    flagged = flagged_certificates(session, ctx)
    assert [(f.certificate_no, f.name, f.flag_reason) for f in flagged] == [
        ("CERT-2026-00001", "Ada Marsh", "Attended 1 of the 2 days the event requires.")]  # fmt: skip
    with pytest.raises(PermissionDenied):
        clear_flag(session, db.context(UserRole.STAFF), "CERT-2026-00001")
    kept = clear_flag(session, ctx, "cert-2026-00001")
    assert kept.flagged_at is None and flagged_certificates(session, ctx) == []
    with pytest.raises(Conflict) as info:
        clear_flag(session, ctx, "CERT-2026-00001")
    assert str(info.value) == "CERT-2026-00001 is not flagged for revocation; nothing to clear."
    # Flagged again, then revoked: off the list, the flag's reason kept with it.
    assert apply_repair(session, ctx, None, kinds=["certificate-ineligible"]).succeeded
    revoke_certificate(session, ctx, "CERT-2026-00001", "Attended one day only")
    assert flagged_certificates(session, ctx) == []
    with pytest.raises(PermissionDenied):
        revoke_certificate(session, db.context(UserRole.STAFF), "CERT-2026-00002", "no")


# ---------------------------------------------------------------- two processes at once


def _waiting_on_locks(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'").fetchone()  # fmt: skip
    return int(row[0]) if row else 0


def test_two_processes_issuing_at_once_leave_no_gap_and_no_duplicate(db):
    ctx = db.context()
    sizes = {"Robotics Day": 40, "Chess Cup": 25}
    with db.sessions.begin() as s:
        first = 1
        for name, size in sizes.items():
            crowd_event(s, ctx, name, FAIR_DAYS[0], size, first)
            first += size
        # The year's sequence exists, untouched: the test holds it while both start.
        s.execute(text("INSERT INTO number_sequence (id, school_id, name, prefix) VALUES "
                       "(gen_random_uuid(), :s, :name, 'CERT-2026-')"),
                  {"s": ctx.school_id,
                   "name": numbering.sequence_name(NumberKind.CERTIFICATE, 2026)})  # fmt: skip
    holder = psycopg.connect(db.libpq_url)
    holder.execute("SELECT * FROM number_sequence FOR UPDATE")
    command = [sys.executable, "-m", "app.cli", "--database-url", db.url, "--school", "TEST",
               "certificates", "issue"]  # fmt: skip
    processes = [
        subprocess.Popen([*command, name, "--commit", "--json"], cwd=ROOT, env=dict(os.environ),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in sizes
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while _waiting_on_locks(db.libpq_url) < 2 and time.monotonic() < deadline:
            assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
            time.sleep(0.1)
        assert _waiting_on_locks(db.libpq_url) == 2  # both are inside their transaction
    finally:
        holder.rollback()
        holder.close()
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    issued = [json.loads(out)["issued"] for out, _err in outputs]
    assert [len(numbers) for numbers in issued] == list(sizes.values())
    values = sorted(int(c["certificate_no"].rsplit("-", 1)[1]) for run in issued for c in run)
    assert values == list(range(1, sum(sizes.values()) + 1))
    for run in issued:  # each process took one block
        mine = [int(c["certificate_no"].rsplit("-", 1)[1]) for c in run]
        assert mine == list(range(mine[0], mine[0] + len(mine)))
    with db.sessions.begin() as s:
        stored = s.scalars(select(Certificate.certificate_no)).all()
    assert sorted(stored) == [f"CERT-2026-{n:05d}" for n in range(1, 66)]


# ---------------------------------------------------------------- the command line


def _cli(db, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", "certificates", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_issue_is_a_dry_run_until_commit(db, capsys):
    with db.sessions.begin() as s:
        build_events(s, db.context())
    code, out, _ = _cli(db, capsys, "issue", "science fair")
    assert code == 1  # a plan with certificates to issue
    assert out.splitlines()[:4] == [
        "Dry run (nothing changed; add --commit): Science Fair, participation certificates: "
        "2 get one, 4 do not.",
        "Gets one (2):",
        "  REG-2026-00001   S1           Ada Marsh                        attended 2 days "
        "(2 required)",
        "  REG-2026-00006   S6           Finn Marsh                       attended 2 days "
        "(2 required)",
    ]  # fmt: skip
    assert "  REG-2026-00002   S2           Ben Marsh                        attended 1 of 2 " \
           "required days" in out  # fmt: skip
    with db.sessions.begin() as s:
        assert s.scalar(text("SELECT count(*) FROM certificate")) == 1
    code, out, _ = _cli(db, capsys, "issue", "Science Fair", "--commit", "--json")
    assert code == 0
    assert [c["certificate_no"] for c in json.loads(out)["issued"]] == [
        "CERT-2026-00001", "CERT-2026-00002"]  # fmt: skip
    code, out, _ = _cli(db, capsys, "issue", "Science Fair", "--json")
    assert code == 0 and json.loads(out)["receiving"] == 0  # nothing left to issue
    code, out, _ = _cli(db, capsys, "issue", "Science Fair", "--kind", "winner",
                        "--registration", "REG-2026-00001", "REG-2026-00004", "--commit")  # fmt: skip
    assert code == 1  # a named registration did not get one
    assert out.splitlines()[:2] == ["Issued 1 winner certificate for Science Fair.",
                                    "  CERT-2026-00003  REG-2026-00001   S1           Ada Marsh"]  # fmt: skip
    assert "registration cancelled" in out
    code, _, err = _cli(db, capsys, "issue", "Science Fair", "--kind", "merit")
    assert code == 2 and "Choose the registrations that get a merit certificate" in err
    code, _, err = _cli(db, capsys, "issue", "Art Show")
    assert code == 2 and "There is no event named 'Art Show'." in err


def test_revoke_flagged_and_clear_flag_commands(db, capsys):
    with db.sessions.begin() as s:
        school = build_events(s, db.context())
        issue_certificates(s, db.context(), school["fair"])
    code, out, _ = _cli(db, capsys, "flagged")
    assert (code, out) == (0, "No certificates are flagged for revocation.\n")
    with db.sessions.begin() as s:
        s.execute(text("UPDATE certificate SET revocation_flagged_at = now(), "
                       "revocation_flag_reason = 'The registration was cancelled.' "
                       "WHERE certificate_no = 'CERT-2026-00002'"))  # fmt: skip
    code, out, _ = _cli(db, capsys, "flagged", "--json")
    assert code == 1 and [r["certificate_no"] for r in json.loads(out)] == ["CERT-2026-00002"]
    code, out, _ = _cli(db, capsys, "clear-flag", "CERT-2026-00002")
    assert code == 0 and out.startswith("Kept CERT-2026-00002 (participation, Finn Marsh S6, ")
    code, out, _ = _cli(db, capsys, "revoke", "CERT-2026-00001", "--reason", "Duplicate")
    assert code == 0 and out == ("Revoked CERT-2026-00001 (participation, Ada Marsh S1, "
                                 "REG-2026-00001, Science Fair): Duplicate\n")  # fmt: skip
    code, _, err = _cli(db, capsys, "revoke", "CERT-2026-00001", "--reason", "Duplicate")
    assert code == 2 and "CERT-2026-00001 was already revoked on " in err
    assert err.count("\n") == 1


def test_an_events_certificates_are_listed_with_who_issued_and_revoked_them(session, ctx, school):
    issue_certificates(session, ctx, school["fair"])
    revoke_certificate(session, ctx, "CERT-2026-00001", "Printed with a typo")
    listed = event_certificates(session, ctx, school["fair"])
    assert [(c.certificate_no, c.revoked_by, c.revoke_reason) for c in listed] == [
        ("CERT-2025-00012", None, None),  # issued before, in the set-up
        ("CERT-2026-00001", ctx.actor, "Printed with a typo"), ("CERT-2026-00002", None, None)]  # fmt: skip
    assert {c.event_name for c in listed} == {"Science Fair"}
