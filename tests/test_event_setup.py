"""Setting events up: the rules of an event said in words before the database's CHECKs,
the status flow, finding an event by name, edits that registrations must still fit,
and the events list's figures from one query."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text

from app.domain.enums import UserRole
from app.domain.errors import PermissionDenied, UnknownEvent, ValidationError
from app.services.event_setup import (
    EventInput,
    create_event,
    event_analytics,
    find_event,
    set_event_status,
    update_event,
)
from app.services.registrations import cancel_registration, create_team, register_student
from app.services.students import StudentInput, create_student

FAIR = EventInput("Science Fair", date(2026, 3, 2), date(2026, 3, 4), venue=" Main  Hall ")


def _local(*args: int) -> datetime:
    return datetime(*args).astimezone()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the event a name."),
        ({"ends_on": date(2026, 3, 1)}, "ends_on",
         "The event cannot end (01 Mar 2026) before its first day (02 Mar 2026); change the "
         "end date."),
        ({"registration_opens_at": _local(2026, 2, 1, 9, 0),
          "registration_closes_at": _local(2026, 2, 1, 9, 0)}, "registration_closes_at",
         "Registration must close after it opens (01 Feb 2026 at 09:00); change the closing "
         "time."),
        ({"registration_opens_at": datetime(2026, 2, 1, 9, 0)}, "registration_opens_at",
         "Give registration times with their time zone."),
        ({"capacity": 0}, "capacity",
         "The capacity is the number of places, at least 1 (not 0); leave it empty for no "
         "limit."),
        ({"allow_individual": False}, "allow_individual",
         "The event must take students on their own, teams, or both."),
        ({"allow_teams": True}, "team_size_max",
         "The largest team (1) must be at least 2 and at least the smallest team (1); change "
         "the team size, e.g. 2 to 4."),
        ({"allow_teams": True, "team_size_min": 4, "team_size_max": 3}, "team_size_max",
         "The largest team (3) must be at least 2 and at least the smallest team (4); change "
         "the team size, e.g. 2 to 4."),
        ({"allow_teams": True, "team_size_min": 0, "team_size_max": 3}, "team_size_min",
         "A team has at least 1 member."),
        ({"certificate_min_days": 4}, "certificate_min_days",
         "A certificate needs 0 to 3 days attended (the event lasts 3 days), not 4."),
    ],
)  # fmt: skip
def test_each_rule_of_an_event_is_refused_in_words(session, ctx, changes, field, message):
    with pytest.raises(ValidationError) as refused:
        create_event(session, ctx, replace(FAIR, **changes))
    assert (refused.value.field, refused.value.message) == (field, message)


def test_a_new_event_is_a_draft_with_its_details_cleaned(session, ctx):
    event = create_event(session, ctx, replace(FAIR, capacity=40))
    assert (event.name, event.venue, event.status, event.capacity, event.days) == (
        "Science Fair", "Main Hall", "draft", 40, 3)  # fmt: skip
    assert (event.team_size_min, event.team_size_max, event.allow_teams) == (1, 1, False)
    assert event.next_statuses == ("open", "cancelled")


def test_staff_may_not_create_or_open_events(db, session, ctx):
    staff = db.context(UserRole.STAFF, actor="desk")
    with pytest.raises(PermissionDenied, match=r"desk \(staff\) may not create, edit, open, close or cancel events"):
        create_event(session, staff, FAIR)
    event = create_event(session, ctx, FAIR)
    with pytest.raises(PermissionDenied):
        set_event_status(session, staff, event.id, "open")


def test_the_status_flow_and_its_refusals(session, ctx):
    event = create_event(session, ctx, FAIR)
    with pytest.raises(ValidationError) as refused:
        set_event_status(session, ctx, event.id, "completed")
    assert refused.value.message == (
        "Science Fair is a draft event and cannot become completed: it can become open or "
        "cancelled.")  # fmt: skip
    assert set_event_status(session, ctx, event.id, "open").status == "open"
    with pytest.raises(ValidationError, match="an open event and cannot become draft: it can "
                       "become closed or cancelled"):  # fmt: skip
        set_event_status(session, ctx, event.id, "draft")
    set_event_status(session, ctx, event.id, "closed")
    with pytest.raises(ValidationError, match="a closed event and cannot become open: it can "
                       "become completed or cancelled"):  # fmt: skip
        set_event_status(session, ctx, event.id, "open")
    done = set_event_status(session, ctx, event.id, "completed")
    assert (done.status, done.next_statuses) == ("completed", ())
    with pytest.raises(ValidationError) as refused:
        set_event_status(session, ctx, event.id, "cancelled")
    assert refused.value.message == (
        "Science Fair is a completed event and cannot become cancelled: it cannot change any "
        "more; create a new event instead.")  # fmt: skip
    with pytest.raises(ValidationError, match="'held' is not an event status; use draft, open"):
        set_event_status(session, ctx, event.id, "held")
    with pytest.raises(ValidationError, match="Science Fair is completed; its details can no "
                       "longer be changed."):  # fmt: skip
        update_event(session, ctx, event.id, FAIR)
    other = create_event(session, ctx, replace(FAIR, name="Chess Day"))
    assert set_event_status(session, ctx, other.id, "cancelled").status == "cancelled"


def test_an_event_is_found_by_name_in_any_case_or_by_id_with_suggestions(session, ctx):
    fair = create_event(session, ctx, FAIR)
    assert find_event(session, ctx, "  science   FAIR ").id == fair.id
    assert find_event(session, ctx, str(fair.id)).id == fair.id
    with pytest.raises(UnknownEvent) as unknown:
        find_event(session, ctx, "Sciense Fair")
    assert str(unknown.value) == (
        "There is no event named 'Sciense Fair'. Did you mean 'Science Fair'? Pick an event "
        "from the list, or use its id.")  # fmt: skip
    later = create_event(session, ctx, replace(FAIR, starts_on=date(2027, 3, 1),
                                               ends_on=date(2027, 3, 1)))  # fmt: skip
    with pytest.raises(ValidationError) as twice:
        find_event(session, ctx, "science fair")
    assert twice.value.message == (
        f"2 events are named 'Science Fair'; use the id of the one you mean: 02 Mar 2026 "
        f"(draft): {fair.id}; 01 Mar 2027 (draft): {later.id}.")  # fmt: skip


def _students(session, ctx, count: int) -> None:
    for n in range(1, count + 1):
        create_student(session, ctx, StudentInput(f"S{n}", f"Student{n}", "Marsh"))


def test_an_edit_the_registrations_would_not_fit_is_refused(session, ctx):
    _students(session, ctx, 5)
    teams = replace(FAIR, capacity=10, allow_teams=True, team_size_min=2, team_size_max=3)
    event = create_event(session, ctx, teams)
    set_event_status(session, ctx, event.id, "open")
    register_student(session, ctx, event.id, "S1")
    create_team(session, ctx, event.id, "Red Foxes", ["S2", "S3", "S4"])
    refusals = [
        (replace(teams, capacity=3), "Science Fair has 4 students registered; a capacity of 3 "
         "would leave some without a place. Keep it at 4 or more, or cancel registrations "
         "first."),
        (replace(teams, allow_individual=False), "1 student is registered for Science Fair on "
         "their own; cancel that registration before taking teams only."),
        (replace(teams, allow_teams=False), "Science Fair has 1 team registered; cancel its "
         "members' registrations before it stops taking teams."),
        (replace(teams, team_size_max=2), "Team Red Foxes has 3 members; a largest team of 2 "
         "would make it too big."),
        (replace(teams, team_size_min=4, team_size_max=5), "Team Red Foxes has 3 members; a "
         "smallest team of 4 would make it too small."),
    ]  # fmt: skip
    for data, message in refusals:
        with pytest.raises(ValidationError) as refused:
            update_event(session, ctx, event.id, data)
        assert refused.value.message == message
    changed = update_event(session, ctx, event.id, replace(teams, venue="Gym", capacity=4))
    assert (changed.event.venue, changed.event.capacity, changed.promoted) == ("Gym", 4, ())


def test_more_places_move_those_waiting_up_in_registration_order(session, ctx):
    _students(session, ctx, 5)
    event = create_event(session, ctx, replace(FAIR, capacity=2))
    set_event_status(session, ctx, event.id, "open")
    for number in ("S1", "S2", "S3", "S4", "S5"):
        register_student(session, ctx, event.id, number, waitlist_if_full=True)
    changed = update_event(session, ctx, event.id, replace(FAIR, capacity=4))
    assert [(p.student_no, p.registration_no) for p in changed.promoted] == [
        ("S3", "REG-2026-00003"), ("S4", "REG-2026-00004")]  # fmt: skip
    lifted = update_event(session, ctx, event.id, replace(FAIR, capacity=None))
    assert [p.student_no for p in lifted.promoted] == ["S5"]


def _count_statements(session):
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    sa_event.listen(session.get_bind(), "before_cursor_execute", note)
    return seen, lambda: sa_event.remove(session.get_bind(), "before_cursor_execute", note)


def test_the_events_list_counts_everything_in_one_query(session, ctx):
    _students(session, ctx, 8)
    cup = create_event(session, ctx, replace(FAIR, name="Robotics Cup", capacity=5,
                                             allow_teams=True, team_size_min=2,
                                             team_size_max=3))  # fmt: skip
    quiet = create_event(session, ctx, replace(FAIR, name="Chess Day", starts_on=date(2026, 1, 5),
                                               ends_on=date(2026, 1, 5)))  # fmt: skip
    set_event_status(session, ctx, cup.id, "open")
    for number in ("S1", "S2"):
        register_student(session, ctx, cup.id, number)
    create_team(session, ctx, cup.id, "Red Foxes", ["S3", "S4", "S5"])
    for number in ("S6", "S7"):
        register_student(session, ctx, cup.id, number, waitlist_if_full=True)
    register_student(session, ctx, cup.id, "S8", waitlist_if_full=True)
    cancel_registration(session, ctx, "REG-2026-00008")  # S8 leaves the waiting list
    for statement in (
        """INSERT INTO event_attendance (id, school_id, registration_id, attended_on)
        SELECT gen_random_uuid(), r.school_id, r.id, d.day
        FROM event_registration r
        CROSS JOIN (VALUES (DATE '2026-03-02'), (DATE '2026-03-03')) d(day)
        JOIN student s ON s.id = r.student_id
        WHERE r.status = 'registered' AND (d.day = '2026-03-02' OR s.student_no IN ('S1', 'S3'))""",
        """INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no,
                                 revoked_at, revoke_reason)
        SELECT gen_random_uuid(), r.school_id, r.id, c.kind, c.no, c.revoked, c.reason
        FROM event_registration r JOIN (VALUES
            ('REG-2026-00001', 'participation', 'CERT-2026-00001', NULL::timestamptz, NULL),
            ('REG-2026-00003', 'participation', 'CERT-2026-00002', NULL, NULL),
            ('REG-2026-00003', 'winner', 'CERT-2026-00003', NULL, NULL),
            ('REG-2026-00004', 'participation', 'CERT-2026-00004', now(), 'Issued twice')
        ) c(reg, kind, no, revoked, reason) ON c.reg = r.registration_no""",
        """INSERT INTO event_feedback (id, school_id, registration_id, rating)
        SELECT gen_random_uuid(), r.school_id, r.id, f.rating
        FROM event_registration r JOIN (VALUES ('REG-2026-00001', 5), ('REG-2026-00002', 4),
                                               ('REG-2026-00003', 4)) f(reg, rating)
          ON f.reg = r.registration_no""",
    ):
        session.execute(text(statement))
    seen, stop = _count_statements(session)
    try:
        summaries = event_analytics(session, ctx)
    finally:
        stop()
    assert len(seen) == 1
    assert [s.name for s in summaries] == ["Robotics Cup", "Chess Day"]
    cup_summary, quiet_summary = summaries
    assert (cup_summary.registered_individually, cup_summary.registered_in_teams,
            cup_summary.teams, cup_summary.waitlisted, cup_summary.cancelled,
            cup_summary.registered, cup_summary.places_left) == (2, 3, 1, 2, 1, 5, 0)  # fmt: skip
    assert cup_summary.attendance_by_day == ((date(2026, 3, 2), 5), (date(2026, 3, 3), 2))
    assert cup_summary.certificates_by_kind == (("participation", 2), ("merit", 0),
                                                ("winner", 1))  # fmt: skip
    assert (round(cup_summary.average_rating, 2), cup_summary.ratings) == (4.33, 3)
    assert (quiet_summary.id, quiet_summary.registered, quiet_summary.attendance_by_day,
            quiet_summary.average_rating, quiet_summary.places_left) == (
        quiet.id, 0, (), None, None)  # fmt: skip
