"""Editing a class session, the following sessions of its series or the whole series:
one UPDATE per edit, completed and cancelled sessions of a series left as they were,
a new date for one session only, the status flow for every session reached; cancelling
sets the status and never deletes. From the service and from ``rollbook sessions
edit|cancel``."""

from __future__ import annotations

import json
import uuid
from datetime import date, time

import pytest
from sqlalchemy import func, select

from app.cli import main
from app.db.models import AuditLog, ClassSession
from app.domain.enums import SessionFrequency
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.recurrence import Recurrence
from app.services.class_sessions import (
    SessionPlan,
    cancel_sessions,
    get_session_details,
    schedule_sessions,
    update_session,
    update_sessions,
)
from app.services.courses import create_course

SEP_01, SEP_08, SEP_15, SEP_22, SEP_29, OCT_06 = (
    date(2026, 9, 1), date(2026, 9, 8), date(2026, 9, 15), date(2026, 9, 22),
    date(2026, 9, 29), date(2026, 10, 6),
)  # fmt: skip


def _schedule(session, ctx, recurrence: Recurrence, **plan) -> list[uuid.UUID]:
    values = {"course_name": "Biology", "recurrence": recurrence, "start_time": "09:00",
              "end_time": "09:45", "location": "Lab 2"} | plan  # fmt: skip
    return schedule_sessions(session, ctx, SessionPlan(**values)).session_ids


def _six_tuesdays(session, ctx) -> dict[date, uuid.UUID]:
    """Six weekly lessons, Tue 01 Sep to Tue 06 Oct 2026; the one of 22 Sep is completed."""
    tuesdays = Recurrence(SessionFrequency.WEEKLY, first=SEP_01, until=OCT_06)
    ids = dict(zip([SEP_01, SEP_08, SEP_15, SEP_22, SEP_29, OCT_06],
                   _schedule(session, ctx, tuesdays), strict=True))  # fmt: skip
    update_session(session, ctx, ids[SEP_22], {"status": "in-progress"})
    update_session(session, ctx, ids[SEP_22], {"status": "completed"})
    return ids


@pytest.fixture
def series(db, session, ctx) -> dict[date, uuid.UUID]:
    create_course(session, ctx, "Biology")
    return _six_tuesdays(session, ctx)


def _column(session, name: str) -> dict[date, object]:
    rows = session.execute(select(ClassSession.session_date, getattr(ClassSession, name)))
    return dict(rows.all())


@pytest.mark.parametrize(
    ("scope", "changed", "summary"),
    [
        ("this", [SEP_15], "1 session changed."),
        ("following", [SEP_15, SEP_29, OCT_06],
         "3 sessions changed; 1 completed session left as it was."),
        ("series", [SEP_01, SEP_08, SEP_15, SEP_29, OCT_06],
         "5 sessions changed; 1 completed session left as it was."),
    ],
)  # fmt: skip
def test_each_scope_changes_its_sessions_and_leaves_the_completed_one(
    session, ctx, series, scope, changed, summary
):
    done = update_sessions(session, ctx, series[SEP_15],
                           {"location": "Lab 3", "priority_level": "high"}, scope)  # fmt: skip
    assert done.session_ids == tuple(series[d] for d in changed)
    assert done.summary == summary
    rooms = _column(session, "location")
    assert sorted(d for d, room in rooms.items() if room == "Lab 3") == changed
    assert rooms[SEP_22] == "Lab 2"  # completed: as it was


def test_the_session_itself_is_edited_whatever_its_status(session, ctx, series):
    done = update_sessions(session, ctx, series[SEP_22], {"topics_covered": ["Cells"]},
                           "following")  # fmt: skip
    assert done.session_ids == (series[SEP_22], series[SEP_29], series[OCT_06])


def test_every_changed_row_is_in_the_audit_log_and_no_other(session, ctx, series):
    start = session.scalar(select(func.max(AuditLog.id)))
    update_sessions(session, ctx, series[SEP_08], {"location": "Lab 2"}, "series")  # no change
    done = update_sessions(session, ctx, series[SEP_08],
                           {"location": "Hall", "topics": ["Cells", "Mitosis"]},
                           "following")  # fmt: skip
    entries = session.execute(
        select(AuditLog.entity_id, AuditLog.action, AuditLog.changes)
        .where(AuditLog.entity == "class_session", AuditLog.id > start)
    ).all()  # fmt: skip
    assert sorted(e.entity_id for e in entries) == sorted(done.session_ids)
    assert len(done.session_ids) == 4  # 8, 15, 29 Sep and 6 Oct; not the completed 22nd
    for entry in entries:
        assert entry.action == "update"
        assert entry.changes == {"before": {"location": "Lab 2", "topics": []},
                                 "after": {"location": "Hall", "topics": ["Cells", "Mitosis"]}}  # fmt: skip


def test_a_new_date_is_for_one_session_only(session, ctx, series):
    with pytest.raises(ValidationError, match="A new date is for one session only") as refused:
        update_sessions(session, ctx, series[SEP_15], {"session_date": "2026-09-16"}, "following")
    assert refused.value.field == "session_date"
    # The same date with other changes: nothing moves, the others change.
    done = update_sessions(session, ctx, series[SEP_15],
                           {"session_date": SEP_15, "start_time": "10:00", "end_time": "10:45"},
                           "series")  # fmt: skip
    assert done.changed == 5
    assert set(_column(session, "session_date")) == {SEP_01, SEP_08, SEP_15, SEP_22, SEP_29,
                                                     OCT_06}  # fmt: skip
    update_sessions(session, ctx, series[SEP_15], {"session_date": "2026-09-16"}, "this")
    assert session.get(ClassSession, series[SEP_15]).session_date == date(2026, 9, 16)
    assert _column(session, "duration_minutes")[SEP_08] == 45


def test_the_status_flow_is_checked_for_every_session_reached(session, ctx, series):
    with pytest.raises(ValidationError) as refused:
        update_sessions(session, ctx, series[SEP_01], {"status": "completed"}, "series")
    assert str(refused.value) == (
        "Nothing was changed: 5 sessions of these (the first on Tue 01 Sep 2026) are "
        "scheduled. A scheduled session cannot become completed: it can become cancelled "
        "or in-progress.")  # fmt: skip
    assert set(_column(session, "status").values()) == {"scheduled", "completed"}
    update_session(session, ctx, series[SEP_29], {"status": "in-progress"})
    with pytest.raises(ValidationError, match="^An in-progress session cannot become scheduled: "
                                              "it can become cancelled or completed.$"):  # fmt: skip
        update_sessions(session, ctx, series[SEP_29], {"status": "scheduled"})
    with pytest.raises(ValidationError, match="cannot change any more; schedule a new session"):
        update_sessions(session, ctx, series[SEP_22], {"status": "scheduled"})
    done = update_sessions(session, ctx, series[SEP_01], {"status": "in-progress"}, "series")
    assert done.summary == "4 sessions changed; 1 completed session left as it was."


def test_in_person_and_hybrid_sessions_need_a_room(session, ctx, series):
    with pytest.raises(ValidationError, match=r"^An in-person session needs a location \(a "
                                              r"room\)\. Type the room") as refused:  # fmt: skip
        update_sessions(session, ctx, series[SEP_01], {"location": "  "})
    assert refused.value.field == "location"
    update_sessions(session, ctx, series[SEP_01], {"session_mode": "online", "location": None},
                    "series")  # fmt: skip
    with pytest.raises(ValidationError, match="A hybrid session needs a location .a room.: 5 "
                                              "sessions of these, the first on Tue 01 Sep"):  # fmt: skip
        update_sessions(session, ctx, series[SEP_01], {"session_mode": "hybrid"}, "series")
    done = update_sessions(session, ctx, series[SEP_01],
                           {"session_mode": "hybrid", "location": "Lab 4"}, "series")  # fmt: skip
    assert done.changed == 5


def test_end_after_start_for_every_session_of_the_scope(session, ctx, series):
    update_sessions(session, ctx, series[SEP_29], {"start_time": "10:00", "end_time": "10:30"})
    with pytest.raises(ValidationError, match=r"The session on Tue 29 Sep 2026 must end after "
                                              r"it starts \(10:00\)"):  # fmt: skip
        update_sessions(session, ctx, series[SEP_01], {"end_time": "09:50"}, "series")
    with pytest.raises(ValidationError, match=r"^The session must end after it starts \(09:00\)"):
        update_sessions(session, ctx, series[SEP_01], {"end_time": time(8, 59)})


def test_topics_are_lists_of_words(session, ctx, series):
    update_sessions(session, ctx, series[SEP_08],
                    {"topics": [" Cells ", "Mitosis"], "topics_covered": ("Cells",)})  # fmt: skip
    details = get_session_details(session, ctx, series[SEP_08])
    assert (details.topics, details.topics_covered) == (("Cells", "Mitosis"), ("Cells",))
    with pytest.raises(ValidationError, match="Topic 2 of the planned topics is blank"):
        update_sessions(session, ctx, series[SEP_08], {"topics": ["Cells", " "]})
    with pytest.raises(ValidationError, match="topics covered are a list of topics"):
        update_sessions(session, ctx, series[SEP_08], {"topics_covered": "Cells;Mitosis"})
    update_sessions(session, ctx, series[SEP_08], {"topics": []})
    assert get_session_details(session, ctx, series[SEP_08]).topics == ()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"priority_level": "critical"}, "priority_level",
         "'critical' is not a priority. Choose a priority: low, medium, high, urgent."),
        ({"teacher_attendance_status": "sick"}, "teacher_attendance_status",
         "Choose a teacher attendance: present, absent, late (or none)."),
        ({"alarm_before_minutes": 2000}, "alarm_before_minutes",
         "A reminder comes 0 to 1,440 minutes (a day) before the session, not 2,000"),
        ({"alarm_before_minutes": "soon"}, "alarm_before_minutes", "not a number of minutes"),
        ({"is_featured": "yes"}, "is_featured", "yes or no"),
        ({"series_id": None}, "series_id", "'series_id' cannot be edited"),
        ({"status": "postponed"}, "status", "Choose a status"),
    ],
)  # fmt: skip
def test_values_outside_their_sets_are_refused(session, ctx, series, changes, field, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        update_sessions(session, ctx, series[SEP_01], changes, "series")
    assert e.value.field == field


def test_the_other_fields_are_saved(session, ctx, series):
    update_sessions(session, ctx, series[SEP_01], {
        "is_featured": True, "teacher_attendance_status": "late", "alarm_enabled": True,
        "alarm_before_minutes": 30, "notification_enabled": False}, "following")  # fmt: skip
    details = get_session_details(session, ctx, series[SEP_29])
    assert (details.is_featured, details.teacher_attendance_status, details.alarm_enabled,
            details.alarm_before_minutes, details.notification_enabled) == (
        True, "late", True, 30, False)  # fmt: skip
    update_sessions(session, ctx, series[SEP_29], {"teacher_attendance_status": ""})
    assert get_session_details(session, ctx, series[SEP_29]).teacher_attendance_status is None


def test_details_place_the_session_in_its_series(session, ctx, series):
    details = get_session_details(session, ctx, series[SEP_15])
    assert (details.course_name, details.series_size, details.series_position) == (
        "Biology", 6, 3)  # fmt: skip
    assert details.in_series and details.following_count == 4
    assert details.next_statuses == ("in-progress", "cancelled")
    assert get_session_details(session, ctx, series[SEP_22]).next_statuses == ()
    once = _schedule(session, ctx, Recurrence(SessionFrequency.ONE_TIME, first=SEP_08))[0]
    alone = get_session_details(session, ctx, once)
    assert (alone.series_id, alone.series_size, alone.in_series) == (None, 1, False)
    # A one-time session is its own series: "following" is the session itself.
    assert update_sessions(session, ctx, once, {"location": "Lab 9"}, "series").changed == 1
    with pytest.raises(NotFound, match="no longer exists"):
        get_session_details(session, ctx, uuid.uuid4())


def test_a_stale_version_is_a_conflict(session, ctx, series):
    version = get_session_details(session, ctx, series[SEP_01]).row_version
    update_sessions(session, ctx, series[SEP_01], {"location": "Lab 5"})
    with pytest.raises(Conflict, match="changed this session meanwhile"):
        update_sessions(session, ctx, series[SEP_01], {"location": "Lab 6"},
                        expected_version=version)  # fmt: skip


def test_cancelling_sets_the_status_and_never_deletes(session, ctx, series):
    done = cancel_sessions(session, ctx, series[SEP_15], "following", "  Teacher on a course  ")
    assert done.summary == "3 sessions cancelled; 1 completed session left as it was."
    assert done.reason == "Teacher on a course"
    assert session.scalar(select(func.count()).select_from(ClassSession)) == 6
    assert session.scalar(select(func.count()).select_from(ClassSession)
                          .where(ClassSession.deleted_at.is_not(None))) == 0  # fmt: skip
    statuses = _column(session, "status")
    assert [statuses[d] for d in (SEP_01, SEP_08, SEP_15, SEP_22, SEP_29, OCT_06)] == [
        "scheduled", "scheduled", "cancelled", "completed", "cancelled", "cancelled"]  # fmt: skip
    reasons = _column(session, "cancel_reason")  # kept with each session it cancelled
    assert [reasons[d] for d in (SEP_08, SEP_15, SEP_22, OCT_06)] == [
        None, "Teacher on a course", None, "Teacher on a course"]  # fmt: skip
    again = cancel_sessions(session, ctx, series[SEP_01], "series")
    assert again.summary == ("2 sessions cancelled; 1 completed session and 3 cancelled "
                             "sessions left as they were.")  # fmt: skip
    with pytest.raises(ValidationError, match="A completed session cannot become cancelled"):
        cancel_sessions(session, ctx, series[SEP_22])


# ---------------------------------------------------------------- the command line
@pytest.fixture
def committed_series(db) -> dict[date, uuid.UUID]:
    with db.sessions.begin() as s:  # committed: the command line sees it
        create_course(s, db.context(), "Biology")
        return _six_tuesdays(s, db.context())


def _cli(db, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--database-url", db.url, "--school", "TEST", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_sessions_edit_from_the_command_line(db, capsys, committed_series):
    code, out, err = _cli(db, capsys, "sessions", "edit", str(committed_series[SEP_15]),
                          "--scope", "following", "--start", "10:00", "--end", "10:50",
                          "--location", "Lab 3", "--priority", "urgent", "--featured",
                          "--teacher", "present", "--topics", "Cells; Mitosis;",
                          "--covered", "", "--alarm", "20", "--no-announce")  # fmt: skip
    assert code == 0, err
    assert out.strip() == "3 sessions changed; 1 completed session left as it was."
    with db.sessions() as s:
        row = s.get(ClassSession, committed_series[OCT_06])
        assert (row.start_time, row.duration_minutes, row.location, row.priority_level,
                row.is_featured, row.teacher_attendance_status, row.topics, row.topics_covered,
                row.alarm_enabled, row.alarm_before_minutes, row.notification_enabled) == (
            time(10), 50, "Lab 3", "urgent", True, "present", ["Cells", "Mitosis"], [], True,
            20, False)  # fmt: skip
        assert s.get(ClassSession, committed_series[SEP_08]).location == "Lab 2"
    code, out, err = _cli(db, capsys, "sessions", "edit", str(committed_series[OCT_06]),
                          "--no-alarm", "--teacher", "none", "--not-featured", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert (result["changed"], result["session_ids"]) == (1, [str(committed_series[OCT_06])])
    assert result["summary"] == "1 session changed."
    with db.sessions() as s:
        row = s.get(ClassSession, committed_series[OCT_06])
        assert (row.alarm_enabled, row.teacher_attendance_status, row.is_featured) == (
            False, None, False)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scope", "series", "--date", "2026-09-16"], "A new date is for one session only"),
        (["--status", "completed"], "A scheduled session cannot become completed"),
        (["--mode", "hybrid", "--location", ""], "A hybrid session needs a location"),
        (["--alarm", "-5"], "A reminder comes 0 to 1,440 minutes"),
        ([], "Nothing to change: give at least one of"),
    ],
)
def test_sessions_edit_refusals_are_one_line_and_exit_2(db, capsys, committed_series, args,
                                                        message):  # fmt: skip
    code, out, err = _cli(db, capsys, "sessions", "edit", str(committed_series[SEP_01]), *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with db.sessions() as s:
        assert s.get(ClassSession, committed_series[SEP_01]).status == "scheduled"


def test_sessions_cancel_from_the_command_line(db, capsys, committed_series):
    code, out, err = _cli(db, capsys, "sessions", "cancel", str(committed_series[SEP_29]),
                          "--scope", "series", "--reason", "Lab closed")  # fmt: skip
    assert code == 0, err
    assert out.strip() == ("5 sessions cancelled; 1 completed session left as it was. "
                           "Reason: Lab closed")  # fmt: skip
    with db.sessions() as s:
        statuses = s.scalars(select(ClassSession.status)).all()
    assert sorted(statuses) == ["cancelled"] * 5 + ["completed"]
    code, out, err = _cli(db, capsys, "sessions", "cancel", "not-an-id")
    assert code == 2 and "'not-an-id' is not a session id" in err
    code, out, err = _cli(db, capsys, "sessions", "cancel", str(uuid.uuid4()), "--json")
    assert code == 2 and "no longer exists" in err
