"""Staff accounts on a real database: adding, roles, the last admin kept, sign-in with
lockout, passwords kept out of the audit log and of every output, and the command line
acting as a signed-in account."""

from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import text

from app.cli import main
from app.cli.identity import acting_context, configure, os_login
from app.config import RunMode, Settings
from app.db.engine import DatabaseTarget
from app.domain.enums import UserRole
from app.domain.errors import Conflict, PermissionDenied, ValidationError
from app.runtime import Database
from app.services.users import (
    MAX_FAILED_SIGN_INS,
    add_user,
    deactivate_user,
    list_users,
    reset_password,
    set_role,
    sign_in,
)

PASSWORD = "correct horse battery"


def _add(db, username: str, role: str = "registrar", password: str | None = PASSWORD, **kw):
    with db.sessions.begin() as s:
        return add_user(s, db.context(), username, role, password, **kw)


def _sign_in(db, username: str, password: str):
    with db.sessions.begin() as s:  # committed whatever the outcome, as the window does
        return sign_in(s, db.school.id, username, password)


def test_accounts_are_added_listed_and_given_roles(db):
    _add(db, "Alice", "admin", display_name="Alice Admin")
    _add(db, "bob", "staff")
    with db.sessions.begin() as s:
        users = list_users(s, db.context())
        assert [(u.username, u.role, u.active, u.has_password) for u in users] == [
            ("alice", UserRole.ADMIN, True, True), ("bob", UserRole.STAFF, True, True)]  # fmt: skip
        assert set_role(s, db.context(), "bob", "registrar").role is UserRole.REGISTRAR
    with pytest.raises(Conflict, match="already an account 'bob'"):
        _add(db, "BOB")
    with pytest.raises(ValidationError, match="at least 8 characters"):
        _add(db, "carol", password="short")
    with pytest.raises(ValidationError, match="not a role"):
        _add(db, "carol", "janitor")


def test_the_school_keeps_an_active_admin(db):
    _add(db, "alice", "admin")
    with db.sessions.begin() as s, pytest.raises(Conflict, match="only active admin"):
        deactivate_user(s, db.context(), "alice")
    with db.sessions.begin() as s, pytest.raises(Conflict, match="only active admin"):
        set_role(s, db.context(), "alice", "staff")
    _add(db, "anne", "admin")
    with db.sessions.begin() as s:
        assert not deactivate_user(s, db.context(), "alice").active
    assert "deactivated" in _sign_in(db, "alice", PASSWORD).message


def test_only_an_admin_manages_accounts(db):
    registrar = db.context(UserRole.REGISTRAR, actor="reg")
    with db.sessions.begin() as s, pytest.raises(PermissionDenied, match="manage staff"):
        add_user(s, registrar, "eve", "admin", PASSWORD)


def test_five_wrong_passwords_lock_the_account_for_five_minutes(db):
    _add(db, "bob")
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        assert _sign_in(db, "bob", "wrong password").message == "Wrong username or password."
    assert _sign_in(db, "bob", PASSWORD).ok  # four are forgiven; the count starts again
    for _ in range(MAX_FAILED_SIGN_INS - 1):
        assert not _sign_in(db, "bob", "wrong password").ok
    locked = _sign_in(db, "bob", "wrong password")
    assert locked.message == "Too many wrong passwords: bob is locked for 5 minutes."
    refused = _sign_in(db, "bob", PASSWORD)  # even the right one, while locked
    assert not refused.ok and "locked for 5 more minutes" in refused.message
    with db.sessions.begin() as s:  # five minutes later
        s.execute(text("UPDATE app_user SET locked_until = now() - interval '1 second'"))
    assert _sign_in(db, "bob", PASSWORD).ok


def test_an_admin_lifts_a_lock_with_a_new_password(db):
    _add(db, "bob")
    for _ in range(MAX_FAILED_SIGN_INS):
        _sign_in(db, "bob", "wrong password")
    with db.sessions.begin() as s:
        reset_password(s, db.context(), "bob", "a brand new one")
    assert _sign_in(db, "bob", "a brand new one").ok
    assert not _sign_in(db, "bob", PASSWORD).ok


def test_an_unknown_username_reads_like_a_wrong_password(db):
    _add(db, "bob")
    assert _sign_in(db, "nobody", PASSWORD).message == _sign_in(db, "bob", "nope!").message


def test_neither_password_nor_hash_reaches_the_audit_log(db):
    _add(db, "bob")
    with db.sessions.begin() as s:
        reset_password(s, db.context(), "bob", "another secret 42")
    stored = db.engine.connect().execute(text("SELECT password_hash FROM app_user")).scalar()
    with db.sessions.begin() as s:
        logged = s.execute(text("SELECT string_agg(changes::text, ' ') FROM audit_log "
                                "WHERE entity = 'app_user'")).scalar()  # fmt: skip
        changes = s.execute(text("SELECT action, changes FROM audit_log WHERE entity = "
                                 "'app_user' ORDER BY id")).all()  # fmt: skip
    assert stored.startswith("$argon2id$")
    for secret in (PASSWORD, "another secret 42", stored, "$argon2"):
        assert secret not in logged
    # The reset is traceable all the same: when the password changed.
    assert changes[-1].action == "update"
    assert list(changes[-1].changes["after"]) == ["password_changed_at"]


def _cli(capsys, monkeypatch, db, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main(["--database-url", db.url, "--school", "TEST", *argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_signs_in_and_keeps_secrets_out_of_everything(
    db, capsys, monkeypatch, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    secret = "s3cret pass phrase"
    # No accounts yet: whoever opens the data is its administrator and makes the first.
    code, out, err = _cli(capsys, monkeypatch, db, "users", "add", "alice", "--role", "admin",
                          "--password-stdin", stdin=f"{secret}\n")  # fmt: skip
    assert code == 0, err
    assert "Added alice (alice): admin." in out
    # Now a command on the server signs in.
    code, out, err = _cli(capsys, monkeypatch, db, "students", "list")
    assert code == 2 and "--user NAME" in err and err.count("\n") == 1
    code, out, err = _cli(capsys, monkeypatch, db, "--user", "alice", "--password-stdin",
                          "users", "add", "bob", "--role", "staff", "--password-stdin",
                          stdin=f"{secret}\nbob's own password\n")  # fmt: skip
    assert code == 0, err
    code, out, err = _cli(capsys, monkeypatch, db, "--user", "alice", "--password-stdin",
                          "users", "list", "--json", stdin=f"{secret}\n")  # fmt: skip
    assert code == 0, err
    assert [u["username"] for u in json.loads(out)] == ["alice", "bob"]
    # A wrong password: one line, nothing about the password.
    code, out, err = _cli(capsys, monkeypatch, db, "--user", "alice", "--password-stdin",
                          "students", "list", stdin="guess\n")  # fmt: skip
    assert code == 2 and err.strip() == "rollbook: Wrong username or password."
    # Staff may look, not add; the audit log names the person.
    monkeypatch.setenv("ROLLBOOK_PASSWORD", "bob's own password")
    roster = tmp_path / "roster.csv"
    roster.write_text("student_no,first_name,last_name\nS1,Ann,Lee\n", encoding="utf-8")
    code, out, err = _cli(capsys, monkeypatch, db, "--user", "bob", "import", "students",
                          str(roster), "--commit")  # fmt: skip
    assert code == 2 and "bob (staff) may not import rosters" in err
    monkeypatch.setenv("ROLLBOOK_PASSWORD", secret)
    code, out, err = _cli(capsys, monkeypatch, db, "--user", "alice", "import", "students",
                          str(roster), "--commit")  # fmt: skip
    assert code == 0, err
    with db.sessions.begin() as s:
        actor = s.execute(text("SELECT actor FROM audit_log WHERE entity = 'student'")).scalar()
        audit = s.execute(text("SELECT string_agg(changes::text, ' ') FROM audit_log")).scalar()
    assert actor == "alice"
    everything = capsys.readouterr().out + capsys.readouterr().err + caplog.text + audit
    for leaked in (secret, "bob's own password"):
        assert leaked not in everything


def _on_this_computer(db, tmp_path) -> Database:
    settings = Settings(data_dir=tmp_path, school_code="TEST", actor=os_login())
    return Database(settings=settings,
                    target=DatabaseTarget(url=db.url, mode=RunMode.EMBEDDED,
                                          location="this desktop"),
                    engine=db.engine, sessions=db.sessions, school=db.school)  # fmt: skip


def test_on_this_computer_the_login_linked_account_acts_without_a_password(db, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    database = _on_this_computer(db, tmp_path)
    configure(None, False)
    assert acting_context(database).role is UserRole.ADMIN  # no accounts yet
    _add(db, "alice", "admin")
    from app.cli.output import CommandError

    with pytest.raises(CommandError, match=f"no Rollbook account is linked to the login "
                                           f"'{os_login()}'"):  # fmt: skip
        acting_context(database)
    _add(db, "desk", "staff", password=None, os_login=os_login())
    ctx = acting_context(database)
    assert (ctx.actor, ctx.role) == ("desk", UserRole.STAFF)
    # Where the school requires passwords, the linked account signs in with its own.
    with db.sessions.begin() as s:
        s.execute(text("UPDATE school SET require_passwords = true"))
        reset_password(s, db.context(), "desk", PASSWORD)
    monkeypatch.setenv("ROLLBOOK_PASSWORD", "not it")
    with pytest.raises(CommandError, match="Wrong username or password"):
        acting_context(database)
    monkeypatch.setenv("ROLLBOOK_PASSWORD", PASSWORD)
    assert acting_context(database).actor == "desk"


def test_an_admin_sets_the_schools_rules_for_signing_in(db, capsys, monkeypatch):
    code, out, err = _cli(capsys, monkeypatch, db, "users", "rules")
    assert code == 0 and "Idle lock: after 15 minutes without use." in out
    assert "Repair: admins only." in out
    code, out, err = _cli(capsys, monkeypatch, db, "users", "rules", "--require-passwords",
                          "yes", "--idle-lock", "0", "--registrars-may-repair", "yes", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out) == {"require_passwords": True, "idle_lock_minutes": 0,
                               "registrars_may_repair": True}  # fmt: skip
    code, out, err = _cli(capsys, monkeypatch, db, "users", "rules", "--idle-lock", "999")
    assert code == 2 and "out of range" in err
    with db.sessions.begin() as s:
        from app.services.users import set_account_rules

        with pytest.raises(PermissionDenied, match="change the school's settings"):
            set_account_rules(s, db.context(UserRole.REGISTRAR, actor="reg"),
                              idle_lock_minutes=5)  # fmt: skip
