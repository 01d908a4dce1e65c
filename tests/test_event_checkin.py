"""Event days: checking in at the door (once a day, only registered students, only on
the event's days, refusals in one line), the day's list, and feedback."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta

import pytest
from event_setup import FAIR_DAYS, add_event, build_events, register
from sqlalchemy import func, select, text

from app.cli.event_days import add_event_day_commands
from app.config import load_settings
from app.db.models import EventAttendance, EventFeedback
from app.domain.enums import UserRole
from app.domain.errors import NotFound, RollbookError, ValidationError
from app.services.checkin import check_in, day_list, list_feedback, set_feedback


@pytest.fixture
def school(session, ctx):
    return build_events(session, ctx, attended=False)


def _clock(moment) -> str:
    return f"{moment.astimezone():%H:%M}"


def test_a_second_check_in_the_same_day_is_a_no_op_that_says_when(session, ctx, school, db):
    staff = db.context(UserRole.STAFF)
    first = check_in(session, staff, school["fair"], "S1", FAIR_DAYS[0])
    assert not first.already
    assert first.message == f"Checked in Ada Marsh (S1) at {_clock(first.checked_in_at)}."
    # The scanner reads the registration card: any case, stray blanks.
    again = check_in(session, staff, school["fair"], "  reg-2026-00001\n", FAIR_DAYS[0])
    assert again.already and again.checked_in_at == first.checked_in_at
    assert again.message == f"Ada Marsh (S1) already checked in at {_clock(first.checked_in_at)}."
    assert (again.registration_no, again.event_name) == ("REG-2026-00001", "Science Fair")
    next_day = check_in(session, staff, school["fair"], "REG-2026-00001", FAIR_DAYS[1])
    assert not next_day.already
    count = select(func.count()).select_from(EventAttendance)
    assert session.scalar(count) == 2


@pytest.mark.parametrize(
    ("number", "day", "refusal"),
    [
        ("S3", FAIR_DAYS[0], "Cleo Marsh (S3) is on the waiting list for Science Fair "
                             "(REG-2026-00003), not registered; only registered students "
                             "check in."),
        ("REG-2026-00004", FAIR_DAYS[0], "Dan Marsh (S4)'s registration for Science Fair "
                                         "(REG-2026-00004) was cancelled; only registered "
                                         "students check in."),
        ("S7", FAIR_DAYS[0], "Gus Marsh (S7) is not registered for Science Fair; they are "
                             "registered for Quiz Night (REG-2026-00007)."),
        ("REG-2026-00007", FAIR_DAYS[1], "Gus Marsh (S7) is not registered for Science Fair; "
                                         "they are registered for Quiz Night (REG-2026-00007)."),
        ("S8", FAIR_DAYS[0], "Hana Marsh (S8) is not registered for Science Fair."),
        ("S1", date(2026, 10, 12), "Science Fair does not take place on Mon 12 Oct 2026; it "
                                   "runs from Sat 10 Oct 2026 to Sun 11 Oct 2026."),
        ("S99", FAIR_DAYS[0], "No student or registration has the number 'S99'; check the "
                              "number and scan again."),
        ("  ", FAIR_DAYS[0], "Scan or type a student number or a registration number."),
    ],
)  # fmt: skip
def test_refusals_say_why_in_one_line_and_write_nothing(session, ctx, school, number, day,
                                                        refusal):  # fmt: skip
    with pytest.raises((ValidationError, NotFound)) as info:
        check_in(session, ctx, school["fair"], number, day)
    assert str(info.value) == refusal
    assert session.scalar(select(func.count()).select_from(EventAttendance)) == 0


def test_check_in_is_for_today_unless_a_day_is_given(session, ctx, school):
    today = date.today()
    assembly = add_event(session, ctx, "Assembly", today)
    register(session, ctx, assembly, school["S8"], "REG-2026-00100")
    assert check_in(session, ctx, assembly, "S8").day == today
    with pytest.raises(ValidationError, match=r"it runs from Sat 10 Oct 2026 to Sun 11 Oct"):
        check_in(session, ctx, school["fair"], "S1")  # the fair is not today
    tomorrow = today + timedelta(days=1)
    with pytest.raises(ValidationError, match=f"it runs on {today:%a %d %b %Y} only"):
        check_in(session, ctx, assembly, "S8", tomorrow)


def test_the_day_list_shows_who_is_in_with_the_time_and_who_is_missing(session, ctx, school):
    for number in ("S6", "S1"):
        check_in(session, ctx, school["fair"], number, FAIR_DAYS[0])
    # Each scan is a transaction of its own at the desk; here they share one, so Finn
    # is made to have come five minutes earlier.
    session.execute(text("UPDATE event_attendance SET checked_in_at = checked_in_at - "
                         "interval '5 minutes' WHERE registration_id = :r"),
                    {"r": school["reg_S6"]})  # fmt: skip
    listing = day_list(session, ctx, school["fair"], FAIR_DAYS[0])
    assert [(r.student_no, r.registration_no) for r in listing.present] == [
        ("S6", "REG-2026-00006"), ("S1", "REG-2026-00001")]  # fmt: skip
    assert all(r.checked_in_at is not None for r in listing.present)
    # Waitlisted and cancelled students are not expected, so not missing.
    assert [r.student_no for r in listing.missing] == ["S2", "S5"]
    assert day_list(session, ctx, school["fair"], FAIR_DAYS[1]).present == []
    with pytest.raises(ValidationError, match="does not take place on Mon 12 Oct 2026"):
        day_list(session, ctx, school["fair"], date(2026, 10, 12))


def test_feedback_is_one_per_registration_and_giving_it_again_replaces_it(session, ctx, school):
    first = set_feedback(session, ctx, "reg-2026-00001", 4, "  Loved the robots ")
    assert not first.replaced
    assert (first.feedback.rating, first.feedback.comments) == (4, "Loved the robots")
    second = set_feedback(session, ctx, "REG-2026-00001", 5, "   ")
    assert second.replaced and second.feedback.comments is None
    set_feedback(session, ctx, "REG-2026-00002", 3)
    rows = list_feedback(session, ctx, school["fair"])
    assert [(r.registration_no, r.rating, r.comments) for r in rows] == [
        ("REG-2026-00001", 5, None), ("REG-2026-00002", 3, None)]  # fmt: skip
    assert session.scalar(select(func.count()).select_from(EventFeedback)) == 2
    assert list_feedback(session, ctx, school["quiz"]) == []


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, True])
def test_a_rating_outside_one_to_five_is_refused(session, ctx, school, rating):
    with pytest.raises(ValidationError) as info:
        set_feedback(session, ctx, "REG-2026-00001", rating)
    assert str(info.value) == f"A rating is a whole number from 1 to 5; {rating!r} is not one."


def test_feedback_only_from_registered_participants(session, ctx, school):
    with pytest.raises(ValidationError) as info:
        set_feedback(session, ctx, "REG-2026-00003", 4)
    assert str(info.value) == ("Registration REG-2026-00003 (Cleo Marsh, Science Fair) is on "
                               "the waiting list; feedback comes from registered participants.")  # fmt: skip
    with pytest.raises(ValidationError, match=r"REG-2026-00004 \(Dan Marsh, Science Fair\) was "
                       "cancelled"):  # fmt: skip
        set_feedback(session, ctx, "REG-2026-00004", 4)
    with pytest.raises(NotFound, match="No registration has the number 'REG-2026-00999'"):
        set_feedback(session, ctx, "REG-2026-00999", 4)
    assert session.scalar(select(func.count()).select_from(EventFeedback)) == 0


# ---------------------------------------------------------------- the command line


def _events_cli(db, capsys, *argv: str) -> tuple[int, str, str]:
    """``rollbook events …`` as the lead wires it: the day commands under ``events``."""
    parser = argparse.ArgumentParser(prog="rollbook")
    sub = parser.add_subparsers(dest="command")
    events = sub.add_parser("events").add_subparsers(dest="events_command", required=True)
    add_event_day_commands(events)
    args = parser.parse_args(["events", *argv])
    settings = load_settings(database_url=db.url, school_code="TEST")
    try:
        code = args.handler(args, settings)
    except RollbookError as exc:  # as app.cli.main reports it
        code = 2
        print(f"rollbook: {exc}", file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out, err


def test_event_day_commands(db, capsys):
    with db.sessions.begin() as s:
        build_events(s, db.context(), attended=False)
    code, out, _ = _events_cli(db, capsys, "checkin", "science fair", "S1", "--date",
                               "2026-10-10")  # fmt: skip
    assert code == 0 and out.startswith("Checked in Ada Marsh (S1) at ")
    code, out, _ = _events_cli(db, capsys, "checkin", "Science Fair", "REG-2026-00001",
                               "--date", "2026-10-10", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["already"] is True
    code, _, err = _events_cli(db, capsys, "checkin", "Science Fair", "S3", "--date",
                               "2026-10-10")  # fmt: skip
    assert code == 2 and "on the waiting list" in err
    code, _, err = _events_cli(db, capsys, "checkin", "Sciense Fair", "S1")
    assert (
        code == 2 and "There is no event named 'Sciense Fair'. Did you mean 'Science Fair'?" in err
    )
    code, out, _ = _events_cli(db, capsys, "day", "Science Fair", "--date", "2026-10-10")
    assert code == 0 and out.startswith("Science Fair, Sat 10 Oct 2026: 1 in, 3 missing.")
    code, out, _ = _events_cli(db, capsys, "day", "Science Fair", "--date", "2026-10-10",
                               "--json")  # fmt: skip
    assert [r["student_no"] for r in json.loads(out)["missing"]] == ["S2", "S5", "S6"]
    code, out, _ = _events_cli(db, capsys, "feedback", "REG-2026-00001", "--rating", "5",
                               "--comments", "Great day")  # fmt: skip
    assert code == 0 and out == ("Feedback from Ada Marsh (REG-2026-00001, Science Fair): 5/5, "
                                 "recorded.\n")  # fmt: skip
    code, _, err = _events_cli(db, capsys, "feedback", "REG-2026-00001", "--rating", "7")
    assert code == 2 and "A rating is a whole number from 1 to 5; 7 is not one." in err
