"""Registration and certificate numbers: sequential per school and year, no gaps after a
rollback, and two transactions taking numbers at once take turns."""

from __future__ import annotations

import threading

from app.services.numbering import NumberKind, take_numbers


def test_numbers_follow_on_per_kind_and_year_and_a_rollback_leaves_no_gap(db):
    ctx = db.context()
    with db.sessions.begin() as s:
        assert take_numbers(s, ctx, NumberKind.CERTIFICATE, 2026, 3).all() == [
            "CERT-2026-00001", "CERT-2026-00002", "CERT-2026-00003"]  # fmt: skip
        assert take_numbers(s, ctx, NumberKind.REGISTRATION, 2026).all() == ["REG-2026-00001"]
        assert take_numbers(s, ctx, NumberKind.CERTIFICATE, 2027).all() == ["CERT-2027-00001"]
    with db.sessions.begin() as s:
        take_numbers(s, ctx, NumberKind.CERTIFICATE, 2026, 5)
        s.rollback()  # nothing issued: the five numbers are handed out again
    with db.sessions.begin() as s:
        assert take_numbers(s, ctx, NumberKind.CERTIFICATE, 2026).number(0) == "CERT-2026-00004"


def test_two_transactions_taking_numbers_at_once_take_turns(db):
    ctx = db.context()
    with db.sessions.begin() as s:
        take_numbers(s, ctx, NumberKind.CERTIFICATE, 2026)  # the row exists
    first_holds = threading.Event()
    taken: dict[str, list[str]] = {}

    def first() -> None:
        with db.sessions.begin() as s:
            taken["first"] = take_numbers(s, ctx, NumberKind.CERTIFICATE, 2026, 3).all()
            first_holds.set()
            # The second transaction asks now and must wait for this one to end.
            threading.Event().wait(0.5)

    def second() -> None:
        first_holds.wait(10)
        with db.sessions.begin() as s:
            taken["second"] = take_numbers(s, ctx, NumberKind.CERTIFICATE, 2026, 2).all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert taken == {
        "first": ["CERT-2026-00002", "CERT-2026-00003", "CERT-2026-00004"],
        "second": ["CERT-2026-00005", "CERT-2026-00006"],
    }
