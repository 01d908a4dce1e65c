"""Event attendance: a sheet per chosen event with every registration, its check-in on
each event day, whether it earns a participation certificate (and why not), the
certificates it holds and its feedback.

Rows go by team, then by name: the teacher running the day looks a team up and sees
its members together, with the students on their own after the teams; the registration
number (on the ticket) is the first column for a desk that searches by it. Waitlisted
and cancelled registrations are listed too, saying so, since they are who the desk is
asked about. Eligibility is the certificate rule itself (app.services.certificates), so
the sheet and the certificates issued never disagree.

Each event is read with two statements (its registrations with their days, certificates
and feedback; and the certificate rule's decisions), whatever its size.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.domain.context import ServiceContext
from app.domain.enums import RegistrationStatus
from app.domain.errors import ValidationError
from app.domain.wording import counted, plural
from app.jobs import Job
from app.reports import catalog
from app.reports.catalog import EmptyReport, ReportFilters, ReportKind, ReportPreview, ReportSaved
from app.reports.workbook import CellKind, Column, ReportSheet, report_workbook

# The certificate rule's own test of the days attended: for a registration that already
# holds its certificate the plan's verdict is "already holds …", which does not say
# whether it still meets the rule; this says it in the rule's words.
from app.services.certificates import (
    CertificateDecision,
    attendance_reason,
    plan_participation,
)
from app.services.event_setup import EventDetails, find_event
from app.services.permissions import Permission, needs

KIND = ReportKind.EVENT_ATTENDANCE
DAY_HEADER_FORMAT = "ddd d mmm"  # "Sat 10 Oct"
DAY_WIDTH = 6  # "Yes", under an upright date as the course attendance has it
DAY_HEADER_HEIGHT = 74  # points: room for "Wed 30 Sep" standing upright, in bold
DAYS_PER_PAGE = 21  # printed, a longer event takes more pages' width, names repeated
YES, NO = "Yes", "No"
STATUS_COLUMN, FIRST_DAY_COLUMN = 6, 7  # the days follow the six columns of who it is
STATUS_TEXT = {s.value: s.value.capitalize() for s in RegistrationStatus}

YES_FILL = PatternFill("solid", start_color="C6EFCE", end_color="C6EFCE")
YES_FONT = Font(color="006100")
CANCELLED_FONT = Font(color="808080", italic=True)


# Every live registration of the event with its check-in days, live certificates and
# feedback: one statement. Teams in natural order ("Team 2" before "Team 10"), the
# students on their own after them, then by name as every list sorts names.
_REGISTRATIONS_SQL = text("""
SELECT r.id, r.registration_no, s.student_no, s.last_name, s.first_name, s.class_name,
       t.name AS team, r.status,
       (SELECT array_agg(a.attended_on ORDER BY a.attended_on) FROM event_attendance a
        WHERE a.registration_id = r.id AND a.deleted_at IS NULL) AS days,
       (SELECT string_agg(c.certificate_no, ', '
                          ORDER BY length(c.certificate_no), c.certificate_no)
        FROM certificate c
        WHERE c.registration_id = r.id AND c.revoked_at IS NULL AND c.deleted_at IS NULL
       ) AS certificates,
       f.rating, f.comments
FROM event_registration r
JOIN student s ON s.id = r.student_id AND s.deleted_at IS NULL
LEFT JOIN event_team t ON t.id = r.team_id
LEFT JOIN event_feedback f ON f.registration_id = r.id AND f.deleted_at IS NULL
WHERE r.event_id = :event AND r.school_id = :school AND r.deleted_at IS NULL
ORDER BY t.name IS NULL, public.rollbook_natural_key(t.name), t.name, s.sort_name,
         length(r.registration_no), r.registration_no
""")


@dataclass(frozen=True)
class EventRows:
    """One event's sheet: its days and its rows, values in column order."""

    event: EventDetails
    days: tuple[date, ...]
    rows: tuple[tuple[Any, ...], ...]
    by_status: dict[str, int]
    attended: int  # registrations checked in on at least one day
    eligible: int
    ratings: tuple[int, ...]


def event_days(event: EventDetails) -> tuple[date, ...]:
    return tuple(event.starts_on + timedelta(days=n) for n in range(event.days))


def full_name(last: str | None, first: str | None) -> str:
    """ "Marsh, Ada"; just the one name when the other is blank."""
    return ", ".join(part for part in ((last or "").strip(), (first or "").strip()) if part)


@needs(Permission.VIEW)
def chosen_events(
    session: Session, ctx: ServiceContext, filters: ReportFilters
) -> list[EventDetails]:
    """The events of ``filters.events`` (names or ids), each once, in the order given."""
    events = find_events(session, ctx, filters.events)
    if not events:
        raise ValidationError("events", "Choose the event (or events) to report on.")
    return events


@needs(Permission.VIEW)
def find_events(session: Session, ctx: ServiceContext, typed: Sequence[str]) -> list[EventDetails]:
    """The events named (or given by id) in ``typed``, each once, in the order given; an
    unknown name raises UnknownEvent with the closest names."""
    events: dict[uuid.UUID, EventDetails] = {}
    for name in typed:
        if name and name.strip():
            event = find_event(session, ctx, name)
            events.setdefault(event.id, event)
    return list(events.values())


def _eligibility(decision: CertificateDecision | None,
                 min_days: int) -> tuple[str | None, str | None]:  # fmt: skip
    """Yes/No and why, from the certificate rule's decision for the registration."""
    if decision is None:  # the student was removed after the rows were read
        return None, None
    if decision.holds is not None and decision.status == RegistrationStatus.REGISTERED.value:
        # It got its certificate (the Certificates column says which); whether it still
        # meets the rule is what a teacher checks here.
        gets, reason = attendance_reason(decision.days_attended, min_days)
        return (YES if gets else NO), reason
    return (YES if decision.gets_one else NO), decision.reason


@needs(Permission.VIEW)
def read_event(session: Session, ctx: ServiceContext, event: EventDetails) -> EventRows:
    """The event's rows as the sheet shows them (two statements)."""
    days = event_days(event)
    plan = plan_participation(session, ctx, event.id)
    decisions = {d.registration_id: d for d in plan.decisions}
    found = session.execute(_REGISTRATIONS_SQL, {"event": event.id, "school": ctx.school_id})
    rows, by_status, attended, eligible, ratings = [], Counter(), 0, 0, []
    for row in found:
        (reg_id, reg_no, student_no, last, first, class_name, team, status, came, certs,
         rating, comments) = row  # fmt: skip
        came = set(came or ())
        decision = decisions.get(reg_id)
        days_attended = decision.days_attended if decision is not None else len(came)
        gets, why = _eligibility(decision, plan.min_days)
        by_status[status] += 1
        attended += days_attended > 0
        eligible += gets == YES
        if rating is not None:
            ratings.append(rating)
        rows.append((
            reg_no, student_no, full_name(last, first), class_name, team,
            STATUS_TEXT.get(status, status), *(YES if day in came else None for day in days),
            days_attended, gets, why, certs, rating, comments,
        ))  # fmt: skip
    return EventRows(event, days, tuple(rows), dict(by_status), attended, eligible,
                     tuple(ratings))  # fmt: skip


@needs(Permission.VIEW)
def read_events(session: Session, ctx: ServiceContext, job: Job | None,
                events: Sequence[EventDetails]) -> list[EventRows]:  # fmt: skip
    """Every chosen event's rows; progress per event, Cancel between events."""
    read = []
    for number, event in enumerate(events):
        if job is not None:
            job.check_cancel()
            job.progress(number, len(events), f"Reading {event.name}…")
        read.append(read_event(session, ctx, event))
    return read


def _day_title(day: date) -> str:
    return f"{day:%a %-d %b}"


def columns(days: Sequence[date]) -> list[Column]:
    return [
        Column("Registration no", CellKind.CODE),
        Column("Student no", CellKind.TEXT),
        Column("Name", CellKind.TEXT),
        Column("Class", CellKind.TEXT),
        Column("Team", CellKind.TEXT),
        Column("Status", CellKind.CODE),
        *(Column(_day_title(day), CellKind.CODE, width=DAY_WIDTH, header_value=day,
                 header_format=DAY_HEADER_FORMAT) for day in days),
        Column("Days attended", CellKind.NUMBER, width=10),
        Column("Eligible for certificate", CellKind.CODE, width=11),
        Column("Why", CellKind.CODE),
        Column("Certificates", CellKind.CODE),
        Column("Feedback rating", CellKind.NUMBER, width=9),
        Column("Feedback comments", CellKind.TEXT),
    ]  # fmt: skip


def _dates_text(event: EventDetails) -> str:
    if event.starts_on == event.ends_on:
        return f"{event.starts_on:%a %-d %b %Y}"
    return f"{event.starts_on:%a %-d %b %Y} – {event.ends_on:%a %-d %b %Y}"


def event_notes(read: EventRows) -> tuple[str, ...]:
    """What the sheet's title block says about its event: when, where, its status, and
    the counts a teacher asks for first."""
    event = read.event
    where = [_dates_text(event)]
    if event.venue:
        where.append(event.venue)
    where.append(f"Status: {event.status}")
    rule = ("no days required" if event.certificate_min_days == 0 else
            f"{counted(event.certificate_min_days, 'day')} required")  # fmt: skip
    where.append(f"Participation certificate: {rule}")
    total = sum(read.by_status.values())
    statuses = ", ".join(f"{read.by_status[s.value]} {s.value}" for s in RegistrationStatus
                         if read.by_status.get(s.value))  # fmt: skip
    counts = [f"{counted(total, 'registration')}" + (f" ({statuses})" if statuses else ""),
              f"{read.attended:,} attended", f"{read.eligible:,} eligible for a certificate"]  # fmt: skip
    if read.ratings:
        average = sum(read.ratings) / len(read.ratings)
        counts.append(f"Feedback: {counted(len(read.ratings), 'rating')}, average {average:.1f}")
    return (" · ".join(where), " · ".join(counts))


def _empty_note(empty: Sequence[EventRows]) -> tuple[str, ...]:
    if not empty:
        return ()
    names = ", ".join(r.event.name for r in empty)
    return (f"No registrations: {names}",)


def _check_not_empty(read: Sequence[EventRows]) -> list[EventRows]:
    with_rows = [r for r in read if r.rows]
    if not with_rows:
        names = ", ".join(r.event.name for r in read)
        raise EmptyReport(
            f"{names} {plural(len(read), 'has')} no registrations: nothing to export."
        )  # fmt: skip
    return with_rows


def _summary(read: Sequence[EventRows]) -> str:
    return " · ".join([
        counted(len(read), "event"),
        counted(sum(len(r.rows) for r in read), "registration"),
        f"{sum(r.attended for r in read):,} attended",
        f"{sum(r.eligible for r in read):,} eligible",
    ])  # fmt: skip


@needs(Permission.VIEW)
def preview(session: Session, ctx: ServiceContext, filters: ReportFilters,
            limit: int) -> ReportPreview:  # fmt: skip
    """The first event's rows (the first chosen event with registrations)."""
    read = read_events(session, ctx, None, chosen_events(session, ctx, filters))
    first = _check_not_empty(read)[0]
    titles = tuple(column.title for column in columns(first.days))
    return ReportPreview(KIND, titles, first.rows[:limit], len(first.rows), _summary(read))


def _after_rows(sheet: ReportSheet, days: int) -> None:
    """Green for each day checked in and each certificate earned, cancelled greyed
    (conditional formats: nothing per cell); a long event printed over several pages."""
    ws = sheet.ws
    yes = CellIsRule(operator="equal", formula=[f'"{YES}"'], fill=YES_FILL, font=YES_FONT)
    if days:
        first, last = sheet.first_data_row, max(sheet.last_row, sheet.first_data_row)
        ws.conditional_formatting.add(
            f"{get_column_letter(FIRST_DAY_COLUMN)}{first}:"
            f"{get_column_letter(FIRST_DAY_COLUMN + days - 1)}{last}", yes
        )  # fmt: skip
    eligible = FIRST_DAY_COLUMN + days + 1  # after Days attended
    ws.conditional_formatting.add(sheet.column_range(eligible), yes)
    cancelled = STATUS_TEXT[RegistrationStatus.CANCELLED.value]
    ws.conditional_formatting.add(
        sheet.column_range(STATUS_COLUMN),
        CellIsRule(operator="equal", formula=[f'"{cancelled}"'], font=CANCELLED_FONT),
    )  # fmt: skip
    if days > DAYS_PER_PAGE:
        ws.print_title_cols = "A:C"
        ws.page_setup.fitToWidth = -(-days // DAYS_PER_PAGE)


@needs(Permission.EXPORT_REPORTS)
def write(session: Session, ctx: ServiceContext, job: Job, filters: ReportFilters,
          path: Path) -> ReportSaved:  # fmt: skip
    """A sheet per chosen event that has registrations; EmptyReport (and no file) when
    none has any."""
    events = chosen_events(session, ctx, filters)
    read = read_events(session, ctx, job, events)
    with_rows = _check_not_empty(read)
    empty = _empty_note([r for r in read if not r.rows])
    filters_text = (f"{plural(len(events), 'Event')}: {', '.join(e.name for e in events)}",)
    title = catalog.title_block(session, ctx, KIND, filters_text, empty)
    job.progress(len(events), len(events) + 1, "Writing the workbook…")
    with report_workbook(path, title) as workbook:
        for r in with_rows:
            job.check_cancel()
            sheet = workbook.sheet(
                r.event.name, columns(r.days), sheet_title=r.event.name, freeze_columns=3,
                header_height=DAY_HEADER_HEIGHT, header_rotation=90,
                title=replace(title, notes=event_notes(r) + empty),
            )  # fmt: skip
            for row in r.rows:
                sheet.append(row)
            sheet.when_closed(partial(_after_rows, sheet, len(r.days)))
        job.check_cancel()
    job.progress(len(events) + 1, len(events) + 1, "Saved")
    return ReportSaved(path, tuple(s.ws.title for s in workbook.sheets),
                       sum(len(r.rows) for r in with_rows), _summary(read))  # fmt: skip
