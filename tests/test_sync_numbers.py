"""Registration and certificate numbers issued on two desktops offline: from blocks each
reserved from the school server while online, so they never collide; an exhausted block
offline is one clear sentence; the server knows every block it handed out."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sync_setup import SCHOOL, Side

from app.cli import main
from app.domain.errors import ValidationError
from app.services.event_setup import EventInput, create_event, set_event_status
from app.services.registrations import register_student
from app.services.students import StudentInput, create_student
from app.sync.numbers import set_block_size
from app.sync.server import number_blocks

OFFLINE = "postgresql://nobody@127.0.0.1:1/offline?connect_timeout=1"


@pytest.fixture
def fair(sync_school):
    """An open event of 2027 on the server, ten students, both desktops synced."""
    server, a, b = sync_school
    with server.sessions.begin() as s:
        ctx = server.ctx()
        event = create_event(s, ctx, EventInput("Science fair", date(2027, 3, 1),
                                                date(2027, 3, 2)))  # fmt: skip
        set_event_status(s, ctx, event.id, "open")
        for n in range(10):
            create_student(s, ctx, StudentInput(f"S{n}", "Ada", f"Marsh{n}"))
    assert a.sync().ok and b.sync().ok
    return server, a, b, event.id


def _register(side: Side, event_id, student_no: str) -> str:
    with side.sessions.begin() as s:
        return register_student(s, side.ctx(), event_id, student_no).registration_no


def test_numbers_issued_offline_on_two_desktops_never_collide(fair):
    server, a, b, event_id = fair
    # Each desktop holds its own block of this event's year, reserved on the server.
    blocks = server.rows("SELECT name, end_value - first_value FROM sync_number_block "
                         "WHERE name = 'registration-2027' ORDER BY first_value")  # fmt: skip
    assert blocks == [("registration-2027", 50), ("registration-2027", 50)]
    assert a.sync(OFFLINE).status == "unreachable" and b.sync(OFFLINE).status == "unreachable"
    issued_a = [_register(a, event_id, f"S{n}") for n in range(0, 4)]
    issued_b = [_register(b, event_id, f"S{n}") for n in range(4, 8)]
    assert not set(issued_a) & set(issued_b), (issued_a, issued_b)
    # The server itself issues after both blocks.
    issued_server = _register(server, event_id, "S9")
    assert issued_server == "REG-2027-00101"
    for side in (a, b, a):
        report = side.sync()
        assert report.status == "synced" and report.open_conflicts == 0, report.message
    numbers = server.rows("SELECT registration_no FROM event_registration ORDER BY 1")
    assert len(numbers) == 9 == len({n for (n,) in numbers})
    assert b.rows("SELECT registration_no FROM event_registration ORDER BY 1") == numbers
    # The server reports every block and how much of it is issued: the rest are gaps
    # if those desktops never issue them.
    blocks = [(blk.device, blk.first, blk.last, blk.issued, blk.unissued)
              for blk in number_blocks(server.url, school_code=SCHOOL)
              if blk.sequence == "registration-2027"]  # fmt: skip
    assert blocks == [(a.device, "REG-2027-00001", "REG-2027-00050", 4, 46),
                      (b.device, "REG-2027-00051", "REG-2027-00100", 4, 46)]  # fmt: skip


def test_an_exhausted_block_offline_says_so_and_online_gets_another(fair):
    _server, a, _b, event_id = fair
    with a.sessions.begin() as s:
        set_block_size(s, a.school_id(), 2)
        # All but two of the 50 numbers used.
        s.execute(text("UPDATE number_block SET next_value = end_value - 2 "
                       "WHERE school_id = :s AND name = 'registration-2027'"),
                  {"s": a.school_id()})  # fmt: skip
    assert a.sync(OFFLINE).status == "unreachable"
    _register(a, event_id, "S0")
    _register(a, event_id, "S1")
    with pytest.raises(ValidationError, match=r"^This desktop has used its 2 reserved "
                       r"registration numbers for 2027; connect to the school network "
                       r"to get more\.$"):  # fmt: skip
        _register(a, event_id, "S2")
    report = a.sync()  # back online: a new block of 2
    assert report.status == "synced" and report.reserved_numbers >= 2, report.message
    assert _register(a, event_id, "S2").startswith("REG-2027-")


def test_an_event_made_offline_in_a_new_year_gets_numbers_at_the_next_sync(fair):
    _server, a, _b, _event_id = fair
    assert a.sync(OFFLINE).status == "unreachable"
    with a.sessions.begin() as s:
        ctx = a.ctx()
        event = create_event(s, ctx, EventInput("Alumni day", date(2031, 5, 1),
                                                 date(2031, 5, 1)))  # fmt: skip
        set_event_status(s, ctx, event.id, "open")
    with pytest.raises(ValidationError, match=r"^This desktop has no registration numbers for "
                       r"2031 reserved yet; connect to the school network and sync to get "
                       r"some\.$"):  # fmt: skip
        _register(a, event.id, "S0")
    assert a.sync().status == "synced"
    assert _register(a, event.id, "S0") == "REG-2031-00001"


def test_sync_status_lists_the_numbers_left_and_sync_keeps_the_block_size(fair, capsys):
    _server, a, _b, _event_id = fair
    argv = ["--database-url", a.url, "--school", SCHOOL, "sync"]
    code = main([*argv, "status"])
    out = capsys.readouterr().out
    assert code == 0 and "Numbers reserved for working offline, not yet issued: " in out
    assert "registration-2027 50" in out and "certificate-2027 50" in out
    code = main([*argv, "--once", "--url", a.server_url, "--device", a.device,
                 "--number-block", "200"])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    assert a.scalar("SELECT number_block_size FROM sync_state") == 200
