"""Registering for events: every refusal in one line, numbers in order without gaps,
the waiting list and who moves up, teams within their sizes, cancelling with check-ins
and certificates, two desks and the last place, and the command line."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app.db.models import AuditLog, Certificate, EventAttendance, EventRegistration
from app.domain.enums import UserRole
from app.domain.errors import EventFull, PermissionDenied, RegistrationHasRecords, ValidationError
from app.services.event_setup import (
    EventInput,
    create_event,
    set_event_status,
    update_event,
    when_text,
)
from app.services.registrations import (
    add_team_member,
    add_team_members,
    cancel_registration,
    create_team,
    register_student,
    remove_team_member,
)
from app.services.students import StudentInput, create_student

CUP = EventInput("Robotics Cup", date(2026, 3, 2), date(2026, 3, 3), capacity=3)
TEAMS = replace(CUP, capacity=8, allow_teams=True, team_size_min=2, team_size_max=3)
NAMES = {"S1": "Ada", "S2": "Ben", "S3": "Cleo", "S4": "Dan", "S5": "Eve", "S6": "Fay",
         "S7": "Gus", "S8": "Hal"}  # fmt: skip


@pytest.fixture
def students(db):
    """Committed, so other transactions (a second desk, the command line) see them."""
    with db.sessions.begin() as s:
        for number, first in NAMES.items():
            status = {"S7": "inactive", "S8": "withdrawn"}.get(number, "active")
            create_student(s, db.context(), StudentInput(number, first, "Marsh", status=status))


def _open(session, ctx, data: EventInput = CUP):
    event = create_event(session, ctx, data)
    return set_event_status(session, ctx, event.id, "open")


def _refusal(call, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as refused:
        call(*args, **kwargs)
    return refused.value.message


def _now(session) -> datetime:
    return session.scalar(text("SELECT now()"))


def _status(session, number: str) -> str:
    return session.scalar(select(EventRegistration.status).where(
        EventRegistration.registration_no == number))  # fmt: skip


# ---------------------------------------------------------------- one student
def test_registration_numbers_follow_on_per_year_a_team_in_one_block(session, ctx, students):
    cup = _open(session, ctx, TEAMS)
    first = register_student(session, ctx, cup.id, " S1 ")
    assert (first.registration_no, first.status, first.team_name, first.student_name) == (
        "REG-2026-00001", "registered", None, "Ada Marsh")  # fmt: skip
    team = create_team(session, ctx, cup.id, "Red Foxes", ["S2", "S3", "S4"])
    assert [(m.student_no, m.registration_no) for m in team.members] == [
        ("S2", "REG-2026-00002"), ("S3", "REG-2026-00003"), ("S4", "REG-2026-00004")]  # fmt: skip
    next_year = _open(session, ctx, replace(CUP, name="Chess Day", starts_on=date(2027, 1, 9),
                                            ends_on=date(2027, 1, 9)))  # fmt: skip
    assert register_student(session, ctx, next_year.id, "S1").registration_no == "REG-2027-00001"
    assert register_student(session, ctx, cup.id, "S5").registration_no == "REG-2026-00005"
    assert first.summary == "Registered Ada Marsh (S1) for Robotics Cup: REG-2026-00001."
    assert team.summary == (
        "Registered team Red Foxes for Robotics Cup: Ben Marsh (S2) REG-2026-00002, Cleo Marsh "
        "(S3) REG-2026-00003, Dan Marsh (S4) REG-2026-00004.")  # fmt: skip


def test_a_refused_registration_takes_no_number(db, students):
    ctx = db.context()
    with db.sessions.begin() as s:
        cup = _open(s, ctx)
    with db.sessions.begin() as s:
        register_student(s, ctx, cup.id, "S1")
    with pytest.raises(ValidationError), db.sessions.begin() as s:
        register_student(s, ctx, cup.id, "S7")
    with db.sessions.begin() as s:
        assert register_student(s, ctx, cup.id, "S2").registration_no == "REG-2026-00002"


def test_who_cannot_register_is_told_why_in_one_line(session, ctx, students):
    cup = _open(session, ctx, TEAMS)
    register_student(session, ctx, cup.id, "S1")
    create_team(session, ctx, cup.id, "Red Foxes", ["S2", "S3"])
    when = when_text(_now(session))
    assert _refusal(register_student, session, ctx, cup.id, "S9") == (
        "No student has the number 'S9'.")  # fmt: skip
    assert _refusal(register_student, session, ctx, cup.id, "S1") == (
        f"Ada Marsh (S1) is already registered for Robotics Cup individually (REG-2026-00001, "
        f"registered on {when}).")  # fmt: skip
    assert _refusal(register_student, session, ctx, cup.id, "S3") == (
        f"Cleo Marsh (S3) is already registered for Robotics Cup in team Red Foxes "
        f"(REG-2026-00003, registered on {when}).")  # fmt: skip
    assert _refusal(register_student, session, ctx, cup.id, "S7") == (
        "Gus Marsh (S7) is inactive: only active students can register for events."
    )
    assert _refusal(register_student, session, ctx, cup.id, "S8") == (
        "Hal Marsh (S8) is withdrawn: only active students can register for events."
    )
    teams_only = _open(session, ctx, replace(TEAMS, name="Relay", allow_individual=False))
    assert _refusal(register_student, session, ctx, teams_only.id, "S4") == (
        "Relay takes teams only: register Dan Marsh (S4) as a member of a team."
    )


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((), "Robotics Cup is still a draft: open it for registration first."),
        (("open", "closed"), "Registration for Robotics Cup is closed."),
        (("open", "closed", "completed"),
         "Robotics Cup is over (completed); it takes no registrations."),
        (("cancelled",), "Robotics Cup was cancelled; it takes no registrations."),
    ],
)  # fmt: skip
def test_only_an_open_event_takes_registrations(session, ctx, students, steps, message):
    event = create_event(session, ctx, CUP)
    for step in steps:
        set_event_status(session, ctx, event.id, step)
    assert _refusal(register_student, session, ctx, event.id, "S1") == message


def test_registration_is_taken_inside_its_window_only(session, ctx, students):
    now = _now(session).astimezone().replace(second=0, microsecond=0)
    later = now + timedelta(days=30)
    opens_later = _open(session, ctx, replace(CUP, registration_opens_at=later))
    assert _refusal(register_student, session, ctx, opens_later.id, "S1") == (
        f"Registration for Robotics Cup opens on {later:%d %b %Y at %H:%M}; it is not open yet."
    )
    earlier = now - timedelta(days=2)
    closed = _open(session, ctx, replace(CUP, name="Chess Day", registration_closes_at=earlier,
                                         registration_opens_at=earlier - timedelta(days=9)))  # fmt: skip
    assert _refusal(register_student, session, ctx, closed.id, "S1") == (
        f"Registration for Chess Day closed on {earlier:%d %b %Y at %H:%M}."
    )
    inside = _open(session, ctx, replace(CUP, name="Quiz", registration_closes_at=later,
                                         registration_opens_at=earlier))  # fmt: skip
    assert register_student(session, ctx, inside.id, "S1").status == "registered"


def test_a_full_event_offers_the_waiting_list(session, ctx, students):
    cup = _open(session, ctx)
    for number in ("S1", "S2", "S3"):
        register_student(session, ctx, cup.id, number)
    with pytest.raises(EventFull) as full:
        register_student(session, ctx, cup.id, "S4")
    assert (full.value.message, full.value.taken, full.value.capacity) == (
        "Robotics Cup is full: 3 of 3 places; register on the waiting list?", 3, 3)  # fmt: skip
    waiting = [register_student(session, ctx, cup.id, n, waitlist_if_full=True)
               for n in ("S4", "S5")]  # fmt: skip
    assert [(w.status, w.waitlist_position, w.registration_no) for w in waiting] == [
        ("waitlisted", 1, "REG-2026-00004"), ("waitlisted", 2, "REG-2026-00005")]  # fmt: skip
    assert waiting[1].summary == ("Put Eve Marsh (S5) on the waiting list for Robotics Cup "
                                  "(number 2 in line): REG-2026-00005.")  # fmt: skip
    when = when_text(_now(session))
    assert _refusal(register_student, session, ctx, cup.id, "S4", waitlist_if_full=True) == (
        f"Dan Marsh (S4) is already on the waiting list for Robotics Cup (REG-2026-00004, "
        f"since {when}).")  # fmt: skip


def test_staff_register_but_may_not_revoke_certificates_by_cancelling(db, session, ctx, students):
    staff = db.context(UserRole.STAFF, actor="desk")
    cup = _open(session, ctx)
    register_student(session, staff, cup.id, "S1")
    _certificate(session, "REG-2026-00001", "CERT-2026-00001")
    with pytest.raises(PermissionDenied, match="may not revoke certificates"):
        cancel_registration(session, staff, "REG-2026-00001", revoke_certificates=True)


# ---------------------------------------------------------------- waiting list and cancelling
def test_a_freed_place_goes_to_the_first_in_line_and_the_row_stays(session, ctx, students):
    cup = _open(session, ctx)
    for number in ("S1", "S2", "S3", "S4", "S5", "S6"):
        register_student(session, ctx, cup.id, number, waitlist_if_full=True)
    session.execute(text("UPDATE student SET status = 'inactive' WHERE student_no = 'S4'"))
    done = cancel_registration(session, ctx, " reg-2026-00002 ")
    # Dan (S4) is first in line but no longer active: Eve (S5) moves up.
    assert [(p.student_no, p.registration_no) for p in done.promoted] == [("S5", "REG-2026-00005")]
    assert (done.previous_status, done.cancelled_by, done.revoked_certificates) == (
        "registered", "tester", ())  # fmt: skip
    assert done.summary == ("Cancelled REG-2026-00002 (Ben Marsh, S2) for Robotics Cup. "
                            "Eve Marsh (S5) moved up from the waiting list (REG-2026-00005).")  # fmt: skip
    assert [_status(session, f"REG-2026-0000{n}") for n in range(1, 7)] == [
        "registered", "cancelled", "registered", "waitlisted", "registered", "waitlisted"]  # fmt: skip
    # Leaving the waiting list frees no place: nobody moves up.
    assert cancel_registration(session, ctx, "REG-2026-00006").promoted == ()
    entry = session.execute(select(AuditLog.actor, AuditLog.changes).where(
        AuditLog.entity == "event_registration", AuditLog.action == "update")
        .order_by(AuditLog.id).limit(1)).one()  # fmt: skip
    assert entry.actor == "tester" and entry.changes["after"] == {"status": "cancelled"}
    assert _refusal(cancel_registration, session, ctx, "REG-2026-00002") == (
        "REG-2026-00002 of Ben Marsh (S2) for Robotics Cup is already cancelled."
    )
    assert _refusal(cancel_registration, session, ctx, "REG-2026-00099") == (
        "No registration has the number 'REG-2026-00099'."
    )
    # Registering again reuses the row, with a new number, at the back of the queue.
    again = register_student(session, ctx, cup.id, "S2", waitlist_if_full=True)
    assert (again.registration_no, again.status, again.waitlist_position) == (
        "REG-2026-00007", "waitlisted", 2)  # fmt: skip
    assert session.scalar(select(func.count()).select_from(EventRegistration)) == 6


def _check_in(session, registration_no: str, *days: date) -> None:
    for day in days:
        session.execute(text(
            "INSERT INTO event_attendance (id, school_id, registration_id, attended_on) "
            "SELECT gen_random_uuid(), school_id, id, :day FROM event_registration "
            "WHERE registration_no = :no"), {"day": day, "no": registration_no})  # fmt: skip


def _certificate(session, registration_no: str, certificate_no: str, kind="participation"):
    session.execute(text(
        "INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no) "
        "SELECT gen_random_uuid(), school_id, id, :kind, :cert FROM event_registration "
        "WHERE registration_no = :no"),
        {"kind": kind, "cert": certificate_no, "no": registration_no})  # fmt: skip


def test_cancelling_a_registration_with_check_ins_and_certificates(session, ctx, students):
    cup = _open(session, ctx)
    for number in ("S1", "S2", "S3", "S4"):
        register_student(session, ctx, cup.id, number, waitlist_if_full=True)
    _check_in(session, "REG-2026-00001", date(2026, 3, 2), date(2026, 3, 3))
    _certificate(session, "REG-2026-00001", "CERT-2026-00012")
    _check_in(session, "REG-2026-00002", date(2026, 3, 2))
    _certificate(session, "REG-2026-00003", "CERT-2026-00013")
    _certificate(session, "REG-2026-00003", "CERT-2026-00014", kind="winner")
    with pytest.raises(RegistrationHasRecords) as held:
        cancel_registration(session, ctx, "REG-2026-00001")
    assert held.value.message == (
        "REG-2026-00001 cannot simply be cancelled: Ada Marsh (S1) has checked in on 2 days "
        "and holds certificate CERT-2026-00012. Cancelling it anyway revokes the certificate "
        "and sets the check-ins aside.")  # fmt: skip
    assert (held.value.days, held.value.certificates) == (2, ["CERT-2026-00012"])
    assert _refusal(cancel_registration, session, ctx, "REG-2026-00002") == (
        "REG-2026-00002 cannot simply be cancelled: Ben Marsh (S2) has checked in on 1 day. "
        "Cancelling it anyway sets the check-in aside.")  # fmt: skip
    assert _refusal(cancel_registration, session, ctx, "REG-2026-00003") == (
        "REG-2026-00003 cannot simply be cancelled: Cleo Marsh (S3) holds certificates "
        "CERT-2026-00013 and CERT-2026-00014. Cancelling it anyway revokes the certificates."
    )
    assert _status(session, "REG-2026-00001") == "registered"
    done = cancel_registration(session, ctx, "REG-2026-00001", revoke_certificates=True)
    assert (done.revoked_certificates, done.check_ins_set_aside) == (("CERT-2026-00012",), 2)
    assert [p.student_no for p in done.promoted] == ["S4"]
    assert done.summary == (
        "Cancelled REG-2026-00001 (Ada Marsh, S1) for Robotics Cup. Revoked certificate "
        "CERT-2026-00012. Set 2 check-ins aside. Dan Marsh (S4) moved up from the waiting "
        "list (REG-2026-00004).")  # fmt: skip
    revoked = session.execute(select(Certificate.revoked_at, Certificate.revoke_reason).where(
        Certificate.certificate_no == "CERT-2026-00012")).one()  # fmt: skip
    assert revoked.revoked_at is not None and revoked.revoke_reason == "Registration cancelled"
    assert session.scalar(select(func.count()).select_from(EventAttendance).where(
        EventAttendance.deleted_at.is_not(None))) == 2  # fmt: skip
    # The others are untouched.
    assert session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.revoked_at.is_(None))) == 2  # fmt: skip


# ---------------------------------------------------------------- teams
def test_a_team_registers_whole_within_its_sizes_or_not_at_all(session, ctx, students):
    cup = _open(session, ctx, TEAMS)
    assert _refusal(create_team, session, ctx, cup.id, "Red Foxes", ["S1"]) == (
        "A team for Robotics Cup has 2 to 3 members; Red Foxes would have 1: add members."
    )
    assert _refusal(create_team, session, ctx, cup.id, "Red Foxes",
                    ["S1", "S2", "S3", "S4"]) == (
        "A team for Robotics Cup has 2 to 3 members; Red Foxes would have 4: leave some out.")  # fmt: skip
    assert _refusal(create_team, session, ctx, cup.id, "  ", ["S1", "S2"]) == (
        "Give the team a name."
    )
    assert _refusal(create_team, session, ctx, cup.id, "Red Foxes", ["S1", "S1"]) == (
        "'S1' is listed twice; list each member once."
    )
    assert _refusal(create_team, session, ctx, cup.id, "Red Foxes", ["S1", "S7", "S9"]) == (
        "Team Red Foxes is not registered: Gus Marsh (S7) is inactive: only active students "
        "can register for events. No student has the number 'S9'.")  # fmt: skip
    create_team(session, ctx, cup.id, "Red Foxes", ["S1", "S2"])
    assert _refusal(create_team, session, ctx, cup.id, "red  FOXES", ["S3", "S4"]) == (
        "Robotics Cup already has a team named 'Red Foxes'; choose another name."
    )
    assert _refusal(create_team, session, ctx, cup.id, "Owls", ["S3", "S1"]) == (
        f"Team Owls is not registered: Ada Marsh (S1) is already registered for Robotics Cup "
        f"in team Red Foxes (REG-2026-00001, registered on {when_text(_now(session))})."
    )
    assert session.scalar(text("SELECT count(*) FROM event_team")) == 1
    solo = _open(session, ctx, replace(CUP, name="Chess Day"))
    assert _refusal(create_team, session, ctx, solo.id, "Owls", ["S3", "S4"]) == (
        "Chess Day does not take teams; register each student on their own."
    )


def test_team_members_join_and_leave_within_the_sizes(session, ctx, students):
    cup = _open(session, ctx, TEAMS)
    create_team(session, ctx, cup.id, "Red Foxes", ["S1", "S2"])
    joined = add_team_member(session, ctx, cup.id, "red foxes", "S3")
    assert (joined.team_name, joined.registration_no) == ("Red Foxes", "REG-2026-00003")
    assert _refusal(add_team_member, session, ctx, cup.id, "Red Foxes", "S4") == (
        "Team Red Foxes has 3 members; Robotics Cup allows at most 3 per team."
    )
    assert _refusal(add_team_member, session, ctx, cup.id, "Red Fox", "S4") == (
        "Robotics Cup has no team named 'Red Fox'. Did you mean 'Red Foxes'?"
    )
    left = remove_team_member(session, ctx, cup.id, "Red Foxes", "S3")
    assert (left.registration_no, left.team_name, left.team_warning) == (
        "REG-2026-00003", "Red Foxes", None)  # fmt: skip
    assert _status(session, "REG-2026-00003") == "cancelled"
    assert _refusal(remove_team_member, session, ctx, cup.id, "Red Foxes", "S2") == (
        "Team Red Foxes has 2 members, the fewest Robotics Cup allows: add a member before "
        "taking Ben Marsh (S2) out, or cancel the registration REG-2026-00002 if they no "
        "longer take part.")  # fmt: skip
    assert _refusal(remove_team_member, session, ctx, cup.id, "Red Foxes", "S3") == (
        "Cleo Marsh (S3) is not in team Red Foxes."
    )
    # Cancelling a member is the student's own decision: it goes through, and says what
    # it leaves behind.
    done = cancel_registration(session, ctx, "REG-2026-00002")
    assert done.team_warning == ("Team Red Foxes now has 1 member, fewer than the 2 Robotics "
                                 "Cup needs: add a member to the team.")  # fmt: skip
    # Back in the team (a new number); then room only for two more people in the event.
    added = add_team_members(session, ctx, cup.id, "Red Foxes", ["S2", "S3"])
    assert [m.registration_no for m in added.members] == ["REG-2026-00004", "REG-2026-00005"]


def test_places_are_people_and_a_team_never_waits(session, ctx, students):
    cup = _open(session, ctx, replace(TEAMS, capacity=4))
    register_student(session, ctx, cup.id, "S1")
    create_team(session, ctx, cup.id, "Red Foxes", ["S2", "S3"])
    assert _refusal(create_team, session, ctx, cup.id, "Owls", ["S4", "S5"]) == (
        "Robotics Cup has 1 place left of 4; team Owls needs 2."
    )
    add_team_member(session, ctx, cup.id, "Red Foxes", "S4")
    assert _refusal(create_team, session, ctx, cup.id, "Owls", ["S5", "S6"]) == (
        "Robotics Cup is full: 4 of 4 places; a team cannot wait on the waiting list."
    )
    update_event(session, ctx, cup.id, replace(TEAMS, capacity=4, team_size_max=4))
    assert _refusal(add_team_member, session, ctx, cup.id, "Red Foxes", "S5") == (
        "Robotics Cup is full: 4 of 4 places; team Red Foxes can grow when a place frees."
    )


# ---------------------------------------------------------------- two desks at once
def test_two_desks_registering_for_the_last_place_take_turns(db, students):
    ctx = db.context()
    with db.sessions.begin() as s:
        cup = _open(s, ctx, replace(CUP, capacity=1))
    first_holds = threading.Event()
    outcome: dict[str, str] = {}

    def first() -> None:
        with db.sessions.begin() as s:
            outcome["first"] = register_student(s, ctx, cup.id, "S1").status
            first_holds.set()
            threading.Event().wait(0.5)  # the second desk asks now, and waits

    def second() -> None:
        first_holds.wait(10)
        with db.sessions.begin() as s:
            try:
                register_student(s, ctx, cup.id, "S2")
                outcome["second"] = "registered"
            except EventFull as full:
                outcome["second"] = full.message

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome == {
        "first": "registered",
        "second": "Robotics Cup is full: 1 of 1 places; register on the waiting list?",
    }


# ---------------------------------------------------------------- command line
def _cli(db, capsys, *args: str) -> tuple[int, str, str]:
    from app.cli import main

    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_events_from_the_command_line(db, capsys, students):
    code, out, err = _cli(db, capsys, "events", "create", "Robotics Cup", "--from",
                          "2026-03-02", "--to", "2026-03-03", "--capacity", "3",
                          "--team-size", "2-3", "--venue", "Gym", "--json")  # fmt: skip
    assert code == 0, err
    created = json.loads(out)
    assert (created["status"], created["allow_teams"], created["team_size_max"]) == (
        "draft", True, 3)  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "register", "robotics cup", "S1")
    assert code == 2 and err == (
        "rollbook: Robotics Cup is still a draft: open it for registration first.\n"
    )
    code, out, err = _cli(db, capsys, "events", "open", "Robotics Cup")
    assert (code, out) == (0, "Robotics Cup is open now (was draft).\n")
    code, out, err = _cli(db, capsys, "events", "register", "Robotics Cup", "S1")
    assert (code, out) == (0, "Registered Ada Marsh (S1) for Robotics Cup: REG-2026-00001.\n")
    code, out, err = _cli(db, capsys, "events", "register", "Robotics Cup", "S2", "S3",
                          "--team", "Red Foxes", "--json")  # fmt: skip
    assert code == 0, err
    assert [m["registration_no"] for m in json.loads(out)["members"]] == [
        "REG-2026-00002", "REG-2026-00003"]  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "register", "Robotics Cup", "S4")
    assert code == 2 and err == (
        "rollbook: Robotics Cup is full: 3 of 3 places; register on the waiting list? Add "
        "--waitlist to put them on it.\n")  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "register", "Robotics Cup", "S4", "--waitlist")
    assert (code, out) == (0, "Put Dan Marsh (S4) on the waiting list for Robotics Cup "
                              "(number 1 in line): REG-2026-00004.\n")  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "register", "Robotics Cup", "S5", "S6")
    assert code == 2 and "add --team NAME" in err
    code, out, err = _cli(db, capsys, "events", "register", "Robotics Cupp", "S5")
    assert code == 2 and err == (
        "rollbook: There is no event named 'Robotics Cupp'. Did you mean 'Robotics Cup'? Pick "
        "an event from the list, or use its id.\n")  # fmt: skip
    with db.sessions.begin() as s:
        _certificate(s, "REG-2026-00001", "CERT-2026-00012")
    code, out, err = _cli(db, capsys, "events", "cancel", "REG-2026-00001")
    assert code == 2 and err == (
        "rollbook: REG-2026-00001 cannot simply be cancelled: Ada Marsh (S1) holds certificate "
        "CERT-2026-00012. Cancelling it anyway revokes the certificate. Add "
        "--revoke-certificates to cancel it anyway.\n")  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "cancel", "REG-2026-00001",
                          "--revoke-certificates", "--json")  # fmt: skip
    assert code == 0, err
    cancelled = json.loads(out)
    assert (cancelled["revoked_certificates"], cancelled["promoted"]) == (
        ["CERT-2026-00012"], [{"registration_no": "REG-2026-00004", "student_no": "S4",
                               "student_name": "Dan Marsh"}])  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "remove-member", "Robotics Cup", "red foxes",
                          "S3")  # fmt: skip
    assert code == 2 and err.startswith(
        "rollbook: Team Red Foxes has 2 members, the fewest Robotics Cup allows: add a member "
        "before taking Cleo Marsh (S3) out")  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "list", "--json")
    (listed,) = json.loads(out)
    assert (listed["registered"], listed["registered_in_teams"], listed["waitlisted"],
            listed["cancelled"], listed["places_left"]) == (3, 2, 0, 1, 0)  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "list")
    assert code == 0 and "Robotics Cup" in out and "3/3 registered" in out
    code, out, err = _cli(db, capsys, "events", "complete", "Robotics Cup")
    assert code == 2 and err == (
        "rollbook: Robotics Cup is an open event and cannot become completed: it can become "
        "closed or cancelled.\n")  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "create", "Chess Day", "--from", "2026-03-02",
                          "--to", "2026-03-01")  # fmt: skip
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    code, out, err = _cli(db, capsys, "events", "create", "Chess Day", "--from", "2026-03-02",
                          "--to", "2026-03-02", "--opens", "2026-02-01 09:00", "--closes",
                          "2026-02-20", "--json")  # fmt: skip
    window = json.loads(out)
    assert [datetime.fromisoformat(window[k]) for k in ("registration_opens_at",
                                                        "registration_closes_at")] == [
        datetime(2026, 2, 1, 9, 0).astimezone(), datetime(2026, 2, 20, 23, 59).astimezone()]  # fmt: skip
    code, out, err = _cli(db, capsys, "events", "create", "Relay", "--from", "2026-03-02",
                          "--to", "2026-03-02", "--team-size", "two")  # fmt: skip
    assert code == 2 and err == (
        "rollbook: --team-size 'two' is not a size; use MIN-MAX, e.g. 2-4.\n"
    )
