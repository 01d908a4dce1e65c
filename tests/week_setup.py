"""A realistic school week for the Sessions page's week view: the week of Monday
7 December 2026, with Biology on Tuesdays and Thursdays (a series that runs the weeks
before and after too), History overlapping Tuesday's Biology, a completed and a
cancelled session, an online one in progress, and a deleted one that must not show."""

from __future__ import annotations

import uuid
from datetime import date

from attendance_setup import build_school
from sqlalchemy import text

from app.domain.enums import SessionFrequency, SessionMode
from app.domain.recurrence import Recurrence
from app.services.attendance import Mark, save_marks
from app.services.class_sessions import SessionPlan, schedule_sessions, update_session
from app.services.courses import create_course

WEEK = date(2026, 12, 7)  # a Monday


def _one(session, ctx, course: str, day: date, start: str, end: str, location: str | None,
         mode: str = SessionMode.IN_PERSON.value) -> uuid.UUID:  # fmt: skip
    plan = SessionPlan(course, Recurrence(SessionFrequency.ONE_TIME, first=day), start, end,
                       mode, location)  # fmt: skip
    return schedule_sessions(session, ctx, plan).session_ids[0]


def _set_status(session, ctx, session_id: uuid.UUID, *steps: str) -> None:
    for status in steps:  # a status only moves one step at a time
        update_session(session, ctx, session_id, {"status": status})


def build_week(session, ctx) -> dict[str, uuid.UUID]:
    """The sessions by a short name: bio_tue, bio_thu (this week), bio_prev_tue,
    bio_prev_thu, bio_next_tue (the weeks around it), history, maths_mon/wed/fri,
    chemistry (completed), art (cancelled), music (online, in progress), chess_sunday
    (the Sunday before) and deleted."""
    school = build_school(session, ctx)  # Biology, with students enrolled from September
    for name in ("Mathematics", "History", "Chemistry", "Art", "Music", "Chess club"):
        create_course(session, ctx, name)
    series = SessionPlan(
        "Biology",
        Recurrence(SessionFrequency.WEEKLY, first=date(2026, 12, 1), until=date(2026, 12, 17),
                   weekdays=(1, 3)),
        "09:00", "09:45", location="Lab 2",
    )  # fmt: skip
    scheduled = schedule_sessions(session, ctx, series)
    bio = dict(zip(scheduled.dates, scheduled.session_ids, strict=True))
    maths = schedule_sessions(session, ctx, SessionPlan(
        "Mathematics",
        Recurrence(SessionFrequency.WEEKLY, first=WEEK, until=date(2026, 12, 11),
                   weekdays=(0, 2, 4)),
        "10:00", "11:00", location="Room 12",
    )).session_ids  # fmt: skip
    ids = {
        "bio_prev_tue": bio[date(2026, 12, 1)],
        "bio_prev_thu": bio[date(2026, 12, 3)],
        "bio_tue": bio[date(2026, 12, 8)],
        "bio_thu": bio[date(2026, 12, 10)],
        "bio_next_tue": bio[date(2026, 12, 15)],
        "maths_mon": maths[0], "maths_wed": maths[1], "maths_fri": maths[2],
        "history": _one(session, ctx, "History", date(2026, 12, 8), "09:30", "10:30", "Room 5"),
        "chemistry": _one(session, ctx, "Chemistry", date(2026, 12, 9), "13:00", "14:30",
                          "Lab 1"),
        "art": _one(session, ctx, "Art", date(2026, 12, 10), "13:00", "14:30", "Studio"),
        "music": _one(session, ctx, "Music", date(2026, 12, 11), "14:00", "14:45", None,
                      SessionMode.ONLINE.value),
        "chess_sunday": _one(session, ctx, "Chess club", date(2026, 12, 6), "11:00", "12:00",
                             "Library"),
        "deleted": _one(session, ctx, "History", date(2026, 12, 7), "12:00", "13:00", "Room 5"),
    }  # fmt: skip
    _set_status(session, ctx, ids["chemistry"], "in-progress", "completed")
    _set_status(session, ctx, ids["art"], "cancelled")
    _set_status(session, ctx, ids["music"], "in-progress")
    # Tuesday's Biology register: two of its three students marked so far.
    enrollments = school["enrollments"]
    save_marks(session, ctx, ids["bio_tue"], [Mark(enrollments["S1"], "present"),
                                              Mark(enrollments["S2"], "late")])  # fmt: skip
    session.execute(text("UPDATE class_session SET deleted_at = now() WHERE id = :id"),
                    {"id": ids["deleted"]})  # fmt: skip
    return ids
