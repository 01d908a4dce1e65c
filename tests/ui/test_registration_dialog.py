"""Registering at the desk with a scanner (number and Enter), teams scanned member by
member, the waiting list when the event is full; cancelling from the Registrations
page, with a second question when cancelling undoes check-ins and certificates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from conftest import wait_loaded
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import text

from app.services.checkin import check_in
from app.services.event_setup import EventInput, create_event, set_event_status
from app.services.registrations import register_student
from app.services.students import StudentInput, create_student
from ui.dialogs.registration_dialog import RegistrationDialog
from ui.pages.events import EventsPage

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CUP = EventInput("Robotics Cup", date(2026, 3, 2), date(2026, 3, 3), capacity=40)
TEAMS = replace(CUP, allow_teams=True, team_size_min=2, team_size_max=4)
NAMES = {"S1": "Ada", "S2": "Ben", "S3": "Cleo", "S4": "Dan", "S7": "Gus"}


@pytest.fixture
def students(db, ctx):
    with db.sessions.begin() as s:
        for number, first in NAMES.items():
            status = "inactive" if number == "S7" else "active"
            create_student(s, ctx, StudentInput(number, first, "Marsh", status=status))


def _open_event(db, ctx, data: EventInput = CUP):
    with db.sessions.begin() as s:
        event = create_event(s, ctx, data)
        return set_event_status(s, ctx, event.id, "open")


def _dialog(qtbot, event_id) -> RegistrationDialog:
    dialog = RegistrationDialog(event_id)
    qtbot.addWidget(dialog)
    dialog.resize(720, dialog.sizeHint().height())
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    qtbot.waitUntil(
        lambda: dialog.event_id() == event_id and bool(dialog.facts.text()), timeout=10_000
    )
    return dialog


def _scan(qtbot, dialog: RegistrationDialog, number: str, lines: int | None = None) -> None:
    """As a scanner does: the number's keys, then Enter; waits for the result line."""
    qtbot.keyClicks(dialog.number, number)
    qtbot.keyClick(dialog.number, Qt.Key.Key_Return)
    if lines is not None:
        qtbot.waitUntil(lambda: len(dialog.log_lines()) == lines, timeout=10_000)


def test_a_scanner_registers_student_after_student_and_a_refusal_keeps_the_field(
    qtbot, ops_hub, db, ctx, students
):
    cup = _open_event(db, ctx)
    dialog = _dialog(qtbot, cup.id)
    assert dialog.facts.text() == "0 of 40 places taken · students on their own"
    assert dialog.focusWidget() is dialog.number
    _scan(qtbot, dialog, "S1")  # two scans in a row, quicker than the database:
    assert dialog.number.text() == "" and dialog.focusWidget() is dialog.number
    _scan(qtbot, dialog, "S2", lines=2)  # registered in the order scanned
    _scan(qtbot, dialog, "S7", lines=3)  # inactive: refused in one line, in red
    refusal = "Gus Marsh (S7) is inactive: only active students can register for events."
    assert dialog.log_lines() == [
        "Registered Ada Marsh (S1) for Robotics Cup: REG-2026-00001.",
        "Registered Ben Marsh (S2) for Robotics Cup: REG-2026-00002.",
        refusal,
    ]
    assert dialog.message.text() == refusal and dialog.message.isVisible()
    assert dialog.focusWidget() is dialog.number  # the next scan goes straight in
    _scan(qtbot, dialog, "S3", lines=4)
    assert dialog.log_lines()[-1] == "Registered Cleo Marsh (S3) for Robotics Cup: REG-2026-00003."
    _scan(qtbot, dialog, "S9", lines=5)
    assert dialog.message.text() == "No student has the number 'S9'."
    qtbot.waitUntil(lambda: dialog.facts.text().startswith("3 of 40 places taken"), timeout=10_000)
    dialog.grab().save(str(ARTIFACTS / "registration_dialog.png"))
    assert (dialog.registered, dialog.waitlisted) == (3, 0)


def test_a_full_event_offers_the_waiting_list(qtbot, ops_hub, db, ctx, students, monkeypatch):
    cup = _open_event(db, ctx, replace(CUP, capacity=1))
    with db.sessions.begin() as s:
        register_student(s, ctx, cup.id, "S1")
    dialog = _dialog(qtbot, cup.id)
    asked = []
    answers = [QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No]

    def question(parent, title, question, *args, **kwargs):
        asked.append(question)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    _scan(qtbot, dialog, "S2", lines=1)
    assert asked == ["Robotics Cup is full: 1 of 1 places; register on the waiting list?"]
    assert dialog.log_lines() == [
        "Put Ben Marsh (S2) on the waiting list for Robotics Cup (number 1 in line): "
        "REG-2026-00002."
    ]
    _scan(qtbot, dialog, "S3", lines=2)  # No: not registered at all
    assert dialog.message.text() == (
        "S3 is not registered: Robotics Cup (02 Mar 2026) is full (1 of 1 places)."
    )
    assert dialog.focusWidget() is dialog.number
    qtbot.waitUntil(lambda: dialog.facts.text() == (
        "1 of 1 place taken, 1 on the waiting list · students on their own"), timeout=10_000)  # fmt: skip
    with db.sessions() as s:
        assert s.scalar(text("SELECT count(*) FROM event_registration")) == 2
    assert (dialog.registered, dialog.waitlisted) == (0, 1)


def test_a_team_of_three_scanned_member_by_member(qtbot, ops_hub, db, ctx, students):
    cup = _open_event(db, ctx, TEAMS)
    dialog = _dialog(qtbot, cup.id)
    assert not dialog.team_name.isVisible()
    qtbot.keyClick(dialog.number, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(dialog.team_mode.isChecked, timeout=5000)  # a mnemonic clicks animated
    assert dialog.members.isVisible()
    assert dialog.focusWidget() is dialog.team_name
    qtbot.keyClicks(dialog.team_name, "Red Foxes")
    qtbot.keyClick(dialog.team_name, Qt.Key.Key_Return)  # on to the members
    assert dialog.focusWidget() is dialog.number
    for number in ("S1", "S2", "S7", "S3"):
        _scan(qtbot, dialog, number)
    _scan(qtbot, dialog, "S2")  # scanned twice: listed once
    assert dialog.message.text() == "S2 is listed already; list each member once."
    qtbot.waitUntil(lambda: "…" not in "".join(dialog.members.item(r).text()
                                               for r in range(dialog.members.count())),
                    timeout=10_000)  # fmt: skip
    assert [dialog.members.item(r).text() for r in range(4)] == [
        "Ada Marsh (S1)", "Ben Marsh (S2)", "Gus Marsh (S7) — inactive", "Cleo Marsh (S3)"]  # fmt: skip
    # The service says what is wrong with a member; nothing is registered.
    qtbot.keyClick(dialog.number, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dialog.message.text() == (
        "Team Red Foxes is not registered: Gus Marsh (S7) is inactive: only active students "
        "can register for events."), timeout=10_000)  # fmt: skip
    assert dialog.log_lines() == [] and dialog.member_numbers() == ["S1", "S2", "S7", "S3"]
    dialog.grab().save(str(ARTIFACTS / "registration_team.png"))
    dialog.members.setFocus()
    dialog.members.setCurrentRow(2)
    qtbot.keyClick(dialog.members, Qt.Key.Key_Delete)
    assert dialog.member_numbers() == ["S1", "S2", "S3"]
    qtbot.keyClick(dialog.members, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(dialog.log_lines()) == 1, timeout=10_000)
    assert dialog.log_lines()[-1] == (
        "Registered team Red Foxes for Robotics Cup: Ada Marsh (S1) REG-2026-00001, Ben Marsh "
        "(S2) REG-2026-00002, Cleo Marsh (S3) REG-2026-00003."
    )
    assert dialog.member_numbers() == [] and dialog.team_name.text() == ""
    assert dialog.focusWidget() is dialog.team_name  # the next team
    # A team the event has already (any case): the members join it.
    qtbot.keyClicks(dialog.team_name, "red foxes")
    qtbot.keyClick(dialog.team_name, Qt.Key.Key_Return)
    _scan(qtbot, dialog, "S4")
    qtbot.keyClick(dialog.number, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(dialog.log_lines()) == 2, timeout=10_000)
    assert dialog.log_lines()[-1] == (
        "Added to team Red Foxes of Robotics Cup: Dan Marsh (S4) REG-2026-00004."
    )
    assert dialog.registered == 4
    with db.sessions() as s:
        teams = s.execute(text("SELECT t.name, count(*) FROM event_registration r "
                               "JOIN event_team t ON t.id = r.team_id GROUP BY 1")).all()  # fmt: skip
    assert [tuple(t) for t in teams] == [("Red Foxes", 4)]


# ---------------------------------------------------------------- the page
def _page(qtbot) -> EventsPage:
    page = EventsPage()
    qtbot.addWidget(page)
    page.resize(1200, 600)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=5000)
    wait_loaded(qtbot, page.model)
    return page


def _shown(page: EventsPage) -> list[tuple[str, str]] | None:
    """(student number, status) of the rows shown; None while they are being fetched."""
    rows = [page.model.row_at(i) for i in range(page.model.rowCount())]
    return None if None in rows else sorted((r.student_no, r.status) for r in rows)


def _highlight(qtbot, page: EventsPage, registration_no: str) -> None:
    qtbot.waitUntil(lambda: bool(_shown(page)), timeout=10_000)
    row = next(i for i in range(page.model.rowCount())
               if page.model.row_at(i).registration_no == registration_no)  # fmt: skip
    page.table.selectRow(row)
    page.table.setFocus()


def _answering(monkeypatch, *answers: str) -> list[tuple[str, list[str]]]:
    """Each question the page asks is answered with the next of ``answers`` (a button's
    text): the question and its buttons are recorded."""
    asked: list[tuple[str, list[str]]] = []
    pending = list(answers)

    def exec_(box: QMessageBox) -> int:
        buttons = [b.text().replace("&", "") for b in box.buttons()]
        asked.append((box.text(), buttons))
        box.buttons()[buttons.index(pending.pop(0))].click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked


def _status(db, number: str) -> str:
    with db.sessions() as s:
        return s.scalar(text("SELECT status FROM event_registration WHERE registration_no = :n"),
                        {"n": number})  # fmt: skip


def test_cancelling_on_the_page_moves_the_next_one_up(qtbot, ops_hub, db, ctx, students,
                                                     monkeypatch):  # fmt: skip
    cup = _open_event(db, ctx, replace(CUP, capacity=1))
    with db.sessions.begin() as s:
        register_student(s, ctx, cup.id, "S1")
        register_student(s, ctx, cup.id, "S2", waitlist_if_full=True)
    page = _page(qtbot)
    _highlight(qtbot, page, "REG-2026-00001")
    assert page.cancel_button.isEnabled()
    asked = _answering(monkeypatch, "Keep the registration", "Cancel registration")
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)  # kept: nothing happens
    assert asked[0] == (
        "Cancel REG-2026-00001 of Ada Marsh (S1) for Robotics Cup?\n\nThe registration stays "
        "in the list, cancelled. The first student on the waiting list moves up into the place.",
        ["Cancel registration", "Keep the registration"],
    )
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert said.args[0] == (
        "Cancelled REG-2026-00001 (Ada Marsh, S1) for Robotics Cup. Ben Marsh (S2) moved up "
        "from the waiting list (REG-2026-00002)."
    )
    assert len(asked) == 2
    # The list follows the change broadcast: Ada cancelled, Ben registered.
    qtbot.waitUntil(lambda: _shown(page) == [("S1", "cancelled"), ("S2", "registered")],
                    timeout=10_000)  # fmt: skip
    _highlight(qtbot, page, "REG-2026-00001")
    assert not page.cancel_button.isEnabled()  # cancelled already


def test_cancelling_what_has_check_ins_and_a_certificate_asks_again_and_revokes(
    qtbot, ops_hub, db, ctx, students, monkeypatch
):
    cup = _open_event(db, ctx)
    with db.sessions.begin() as s:
        for number in ("S1", "S2"):
            registration = register_student(s, ctx, cup.id, number)
            check_in(s, ctx, cup.id, number, day=date(2026, 3, 2))
        s.execute(text("INSERT INTO certificate (id, school_id, registration_id, kind, "
                       "certificate_no) VALUES (gen_random_uuid(), :s, "
                       "(SELECT id FROM event_registration WHERE registration_no = :n), "
                       "'participation', 'CERT-2025-00012')"),
                  {"s": ctx.school_id, "n": "REG-2026-00001"})  # fmt: skip
    assert registration.registration_no == "REG-2026-00002"
    page = _page(qtbot)
    _highlight(qtbot, page, "REG-2026-00001")
    asked = _answering(monkeypatch, "Cancel registration", "Cancel and revoke certificates")
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert asked[1] == (
        "REG-2026-00001 cannot simply be cancelled: Ada Marsh (S1) has checked in on 1 day and "
        "holds certificate CERT-2025-00012. Cancelling it anyway revokes the certificate and "
        "sets the check-in aside.",
        ["Cancel and revoke certificates", "Keep the registration"],
    )
    assert said.args[0] == (
        "Cancelled REG-2026-00001 (Ada Marsh, S1) for Robotics Cup. Revoked certificate "
        "CERT-2025-00012. Set 1 check-in aside."
    )
    with db.sessions() as s:
        revoked = s.execute(
            text("SELECT revoked_at IS NOT NULL, revoke_reason FROM certificate")
        ).one()
    assert tuple(revoked) == (True, "Registration cancelled")
    assert _status(db, "REG-2026-00001") == "cancelled"
    # Check-ins only: the button says what cancelling undoes; keeping changes nothing.
    qtbot.waitUntil(lambda: ("S1", "cancelled") in (_shown(page) or []), timeout=10_000)
    _highlight(qtbot, page, "REG-2026-00002")
    asked = _answering(monkeypatch, "Cancel registration", "Keep the registration")
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=10_000)
    assert asked[1][1] == ["Cancel and set check-ins aside", "Keep the registration"]
    assert _status(db, "REG-2026-00002") == "registered"


def test_register_on_the_page_opens_the_dialog_for_the_chosen_event(
    qtbot, ops_hub, db, ctx, students
):
    cup = _open_event(db, ctx)
    _open_event(db, ctx, replace(CUP, name="Chess Day"))
    page = _page(qtbot)
    qtbot.waitUntil(lambda: page.event_filter.count() == 3, timeout=10_000)
    # All events: two are open, and the dialog registers for none until one is picked.
    dialog = page.open_registration()
    qtbot.waitUntil(lambda: dialog.event.count() == 2, timeout=10_000)
    assert dialog.event_id() is None and dialog.event.placeholderText() == "Pick the event"
    _scan(qtbot, dialog, "S1")
    assert dialog.message.text() == "Pick the event first (Alt+E)."
    assert dialog.number.text() == "S1"  # kept: no need to scan again
    dialog.reject()
    qtbot.waitUntil(lambda: page.findChild(RegistrationDialog) is None, timeout=5000)
    page.activateWindow()  # the offscreen platform does not hand activation back itself
    qtbot.waitUntil(page.isActiveWindow, timeout=5000)
    page.event_filter.setCurrentIndex(next(i for i in range(3)
                                           if page.event_filter.itemData(i) == cup.id))  # fmt: skip
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = page.findChild(RegistrationDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.event_id() == cup.id, timeout=10_000)
    _scan(qtbot, dialog, "S1", lines=1)
    with qtbot.waitSignal(page.status_message, timeout=5000) as said:
        dialog.reject()
    assert said.args[0] == "Registered 1 student."
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)  # the list follows


def test_a_member_is_taken_out_of_a_team_within_its_size(qtbot, ops_hub, db, ctx, students,
                                                        monkeypatch):  # fmt: skip
    from app.services.registrations import create_team

    cup = _open_event(db, ctx, replace(TEAMS, team_size_min=2, team_size_max=3))
    with db.sessions.begin() as s:
        create_team(s, ctx, cup.id, "Red Foxes", ["S1", "S2", "S3"])
        register_student(s, ctx, cup.id, "S4")  # on their own: not in a team
    page = _page(qtbot)
    _highlight(qtbot, page, "REG-2026-00004")
    assert not page.remove_button.isEnabled()
    _highlight(qtbot, page, "REG-2026-00003")
    assert page.remove_button.isEnabled()
    asked = _answering(monkeypatch, "Remove from team")
    with qtbot.waitSignal(page.status_message, timeout=10_000) as said:
        page.remove_button.click()
    assert asked[0][0].startswith("Take Cleo Marsh (S3) out of team Red Foxes")
    assert "REG-2026-00003" in said.args[0]
    assert _status(db, "REG-2026-00003") == "cancelled"
    # Two members left, the fewest the event allows: the next one is refused in words.
    qtbot.waitUntil(lambda: ("S3", "cancelled") in (_shown(page) or []), timeout=10_000)
    _highlight(qtbot, page, "REG-2026-00002")
    _answering(monkeypatch, "Remove from team")
    shown = []
    monkeypatch.setattr(
        "ui.pages.events.show_error", lambda _parent, error: shown.append(str(error))
    )
    page.remove_button.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    assert shown[0].startswith("Team Red Foxes has 2 members, the fewest Robotics Cup allows")
    assert _status(db, "REG-2026-00002") == "registered"
