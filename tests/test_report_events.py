"""The event reports: event attendance (a sheet per event, check-in per day, certificate
eligibility by the certificate rule, feedback) and the certificate register (every
certificate in number order, revoked and flagged ones, a summary by event and kind),
written as a teacher opens them in Excel."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from event_setup import FAIR_DAYS, add_event, add_student, attend, build_events, register
from openpyxl import load_workbook
from sqlalchemy import text

from app.domain.errors import Cancelled, UnknownEvent, ValidationError
from app.jobs import Job
from app.reports import certificate_register
from app.reports.catalog import (
    EmptyReport,
    ReportFilters,
    ReportKind,
    preview_report,
    write_report,
)
from app.services.certificates import issue_certificates, plan_participation, revoke_certificate
from app.services.checkin import set_feedback

HYPERLINK = '=HYPERLINK("http://x","y")'
FAIR = ReportFilters(events=("Science Fair", "quiz night"))


def _sql(session, statement: str, **values) -> None:
    session.execute(text(statement), values)


def _team(session, ctx, event_id, name: str, *registrations) -> None:
    team_id = uuid.uuid4()
    _sql(session, "INSERT INTO event_team (id, school_id, event_id, name) VALUES (:id, :s, :e, :n)",
         id=team_id, s=ctx.school_id, e=event_id, n=name)  # fmt: skip
    _sql(session, "UPDATE event_registration SET team_id = :t WHERE id = ANY(:r)",
         t=team_id, r=list(registrations))  # fmt: skip


@pytest.fixture
def school(session, ctx):
    """The fair of tests/event_setup.py with two teams (Team 10: Ada, Ben; Team 2: Eve), a
    student whose surname is a formula, feedback, and certificates: participation for Ada
    and Finn (Finn's revoked), merit for Ben, Eve's older one flagged for revocation."""
    ids = build_events(session, ctx)
    ids["S9"] = add_student(session, ctx, "S9", "Zed", HYPERLINK)
    ids["reg_S9"] = register(session, ctx, ids["fair"], ids["S9"], "REG-2026-00008")
    attend(session, ctx, ids["reg_S9"], FAIR_DAYS[0])
    _team(session, ctx, ids["fair"], "Team 10", ids["reg_S1"], ids["reg_S2"])
    _team(session, ctx, ids["fair"], "Team 2", ids["reg_S5"])
    set_feedback(session, ctx, "REG-2026-00001", 5, "Loved the volcano")
    set_feedback(session, ctx, "REG-2026-00006", 3, "=too long")
    issue_certificates(session, ctx, ids["fair"])  # Ada 00001, Finn 00002
    issue_certificates(session, ctx, ids["fair"], "merit", ["REG-2026-00002"])  # Ben 00003
    revoke_certificate(session, ctx, "CERT-2026-00002", "Issued by mistake")
    _sql(session, """UPDATE certificate SET revocation_flagged_at = now(),
                     revocation_flag_reason = 'attendance removed'
                     WHERE certificate_no = 'CERT-2025-00012'""")  # fmt: skip
    ids["empty"] = add_event(session, ctx, "Open Day", date(2026, 12, 1))
    return ids


def _write(session, ctx, kind, filters, tmp_path: Path, job: Job | None = None):
    path = tmp_path / f"{kind}.xlsx"
    return write_report(session, ctx, job or Job(), kind, filters, path), path


def _header_row(ws) -> int:
    """The header row, from the autofilter that starts on it ("A9:R17")."""
    first = ws.auto_filter.ref.split(":")[0]
    return int(first[1:])


def _table(ws) -> tuple[list, list[tuple]]:
    header = _header_row(ws)
    rows = list(ws.iter_rows(min_row=header, values_only=True))
    return list(rows[0]), [tuple(r) for r in rows[1:]]


def _cf_ranges(ws) -> dict[str, list[str]]:
    """Conditional formats: the cells each applies to, with the values its rules look for."""
    return {str(cf.sqref): [rule.formula[0] for rule in cf.rules]
            for cf in ws.conditional_formatting}  # fmt: skip


# ---------------------------------------------------------------- event attendance


def test_event_attendance_has_a_sheet_per_event_with_check_ins_by_day(
    session, ctx, school, tmp_path
):
    saved, path = _write(session, ctx, ReportKind.EVENT_ATTENDANCE, FAIR, tmp_path)
    assert saved.sheets == ("Science Fair", "Quiz Night") and saved.rows == 8
    assert saved.summary == "2 events · 8 registrations · 6 attended · 3 eligible"
    book = load_workbook(path)
    assert book.sheetnames == ["Science Fair", "Quiz Night"]
    ws = book["Science Fair"]
    header, rows = _table(ws)
    h = _header_row(ws)
    assert header[:6] == ["Registration no", "Student no", "Name", "Class", "Team", "Status"]
    assert header[6:8] == [datetime(2026, 10, 10), datetime(2026, 10, 11)]  # real dates
    assert ws.cell(h, 7).number_format == "ddd d mmm"
    assert header[8:] == ["Days attended", "Eligible for certificate", "Why", "Certificates",
                          "Feedback rating", "Feedback comments"]  # fmt: skip
    assert ws.freeze_panes == f"D{h + 1}"  # the header and the names stay in view
    assert ws.auto_filter.ref == f"A{h}:N{h + len(rows)}"  # the rows, and nothing below
    assert ws.print_title_rows == f"${h}:${h}" and ws.page_setup.orientation == "landscape"
    # By team (in natural order), then the students on their own, by name.
    assert [(r[0], r[2], r[4], r[5]) for r in rows] == [
        ("REG-2026-00005", "Marsh, Eve", "Team 2", "Registered"),
        ("REG-2026-00001", "Marsh, Ada", "Team 10", "Registered"),
        ("REG-2026-00002", "Marsh, Ben", "Team 10", "Registered"),
        ("REG-2026-00008", f"{HYPERLINK}, Zed", None, "Registered"),
        ("REG-2026-00003", "Marsh, Cleo", None, "Waitlisted"),
        ("REG-2026-00004", "Marsh, Dan", None, "Cancelled"),
        ("REG-2026-00006", "Marsh, Finn", None, "Registered"),
    ]
    formula_name = ws.cell(h + 4, 3)
    assert formula_name.data_type == "s" and formula_name.value == f"{HYPERLINK}, Zed"
    by_no = {r[0]: r for r in rows}
    assert by_no["REG-2026-00002"][6:9] == ("Yes", None, 1)  # came on the first day only
    assert by_no["REG-2026-00003"][6:9] == (None, None, 0)
    assert by_no["REG-2026-00001"][9:] == ("Yes", "attended 2 days (2 required)",
                                           "CERT-2026-00001", 5, "Loved the volcano")  # fmt: skip
    assert by_no["REG-2026-00002"][11] == "CERT-2026-00003"  # merit
    assert by_no["REG-2026-00006"][11:] == (None, 3, "=too long")  # revoked: not listed
    assert ws.cell(h + 7, 14).data_type == "s"  # the comment stays text
    assert _cf_ranges(ws) == {f"G{h + 1}:H{h + 7}": ['"Yes"'], f"J{h + 1}:J{h + 7}": ['"Yes"'],
                              f"F{h + 1}:F{h + 7}": ['"Cancelled"']}  # fmt: skip
    quiz_header, quiz_rows = _table(book["Quiz Night"])
    assert quiz_header[6] == datetime(2026, 11, 5) and quiz_header[7] == "Days attended"
    assert quiz_rows == [("REG-2026-00007", "S7", "Marsh, Gus", None, None, "Registered", None,
                          0, "No", "attended 0 of 1 required day", None, None, None)]  # fmt: skip


def test_event_attendance_eligibility_is_the_certificate_rule(session, ctx, school, tmp_path):
    # Dan cancelled after he got a certificate (an older system did not revoke it).
    _sql(session, """INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no)
                     VALUES (gen_random_uuid(), :s, :r, 'participation', 'CERT-2025-00013')""",
         s=ctx.school_id, r=school["reg_S4"])  # fmt: skip
    _saved, path = _write(session, ctx, ReportKind.EVENT_ATTENDANCE, FAIR, tmp_path)
    _header, rows = _table(load_workbook(path)["Science Fair"])
    shown = {r[0]: (r[8], r[9], r[10]) for r in rows}
    plan = plan_participation(session, ctx, school["fair"])
    for d in plan.decisions:
        if d.holds is None:
            assert shown[d.registration_no] == (d.days_attended, "Yes" if d.gets_one else "No",
                                                d.reason)  # fmt: skip
    # Ada and Eve hold theirs: the rule's verdict is "already holds"; the sheet says they
    # meet the rule (the Certificates column says which they hold).
    assert shown["REG-2026-00001"] == (2, "Yes", "attended 2 days (2 required)")
    assert shown["REG-2026-00005"] == (2, "Yes", "attended 2 days (2 required)")
    assert shown["REG-2026-00008"] == (1, "No", "attended 1 of 2 required days")
    assert shown["REG-2026-00004"] == (2, "No", "registration cancelled")
    assert shown["REG-2026-00006"] == (2, "Yes", "attended 2 days (2 required)")  # revoked


def test_event_attendance_title_says_dates_counts_and_empty_events(session, ctx, school, tmp_path):
    filters = ReportFilters(events=("Science Fair", "Open Day"))
    saved, path = _write(session, ctx, ReportKind.EVENT_ATTENDANCE, filters, tmp_path)
    assert saved.sheets == ("Science Fair",)
    ws = load_workbook(path)["Science Fair"]
    title = [ws.cell(row, 1).value for row in range(1, _header_row(ws) - 1)]
    assert title[0] == "Event attendance — Science Fair" and title[1] == "Test School"
    assert title[2] == "Events: Science Fair, Open Day"
    assert title[3] == ("Sat 10 Oct 2026 – Sun 11 Oct 2026 · Status: open · Participation "
                        "certificate: 2 days required")  # fmt: skip
    assert title[4] == ("7 registrations (5 registered, 1 waitlisted, 1 cancelled) · 6 "
                        "attended · 3 eligible for a certificate · Feedback: 2 ratings, "
                        "average 4.0")  # fmt: skip
    assert title[5] == "No registrations: Open Day"
    assert title[6].startswith("Made ") and title[6].endswith(" by tester")


def test_event_attendance_preview_is_the_first_events_rows(session, ctx, school):
    shown = preview_report(session, ctx, ReportKind.EVENT_ATTENDANCE, FAIR, limit=3)
    assert shown.columns[5:9] == ("Status", "Sat 10 Oct", "Sun 11 Oct", "Days attended")
    assert [r[0] for r in shown.rows] == ["REG-2026-00005", "REG-2026-00001", "REG-2026-00002"]
    assert shown.total_rows == 7
    assert shown.summary == "2 events · 8 registrations · 6 attended · 3 eligible"


def test_event_attendance_needs_known_events_with_registrations(session, ctx, school, tmp_path):
    path = tmp_path / "events.xlsx"
    with pytest.raises(ValidationError, match="Choose the event"):
        write_report(session, ctx, Job(), ReportKind.EVENT_ATTENDANCE, ReportFilters(), path)
    with pytest.raises(UnknownEvent, match="Did you mean 'Science Fair'"):
        write_report(session, ctx, Job(), ReportKind.EVENT_ATTENDANCE,
                     ReportFilters(events=("Science Fare",)), path)  # fmt: skip
    with pytest.raises(EmptyReport) as info:
        write_report(session, ctx, Job(), ReportKind.EVENT_ATTENDANCE,
                     ReportFilters(events=("Open Day",)), path)  # fmt: skip
    assert str(info.value) == "Open Day has no registrations: nothing to export."
    with pytest.raises(EmptyReport):
        preview_report(session, ctx, ReportKind.EVENT_ATTENDANCE,
                       ReportFilters(events=(str(school["empty"]),)))  # fmt: skip
    assert not path.exists()


def test_cancel_between_events_leaves_the_old_file(session, ctx, school, tmp_path):
    path = tmp_path / "events.xlsx"
    path.write_bytes(b"last week's report")
    job = Job(on_progress=lambda report: job.cancel())  # Cancel once the first event is read
    with pytest.raises(Cancelled):
        write_report(session, ctx, job, ReportKind.EVENT_ATTENDANCE, FAIR, path)
    assert path.read_bytes() == b"last week's report"
    assert [p.name for p in tmp_path.iterdir()] == ["events.xlsx"]


# ---------------------------------------------------------------- certificate register

CERTIFICATE_HEADER = ["Certificate no", "Kind", "Student no", "Name", "Class", "Event",
                      "Event date", "Registration no", "Issued at", "Issued by", "Status",
                      "Revoked at", "Revoked by", "Revoke reason"]  # fmt: skip


def _issued_at(session, number: str) -> datetime:
    return session.scalar(text("SELECT issued_at FROM certificate WHERE certificate_no = :n"),
                          {"n": number}).astimezone().replace(tzinfo=None)  # fmt: skip


def test_certificate_register_lists_every_certificate_in_number_order(
    session, ctx, school, tmp_path
):
    saved, path = _write(session, ctx, ReportKind.CERTIFICATES, ReportFilters(), tmp_path)
    assert saved.sheets == ("Certificates", "Summary") and saved.rows == 4 + 1
    assert saved.summary == "4 certificates (1 revoked) · 1 event"
    book = load_workbook(path)
    assert book.sheetnames == ["Certificates", "Summary"]
    ws = book["Certificates"]
    header, rows = _table(ws)
    h = _header_row(ws)
    assert header == CERTIFICATE_HEADER
    assert ws.freeze_panes == f"B{h + 1}" and ws.auto_filter.ref == f"A{h}:N{h + 4}"
    assert ws.print_title_rows == f"${h}:${h}" and ws.page_setup.orientation == "landscape"
    assert [r[:4] + r[5:8] + r[9:11] for r in rows] == [
        ("CERT-2025-00012", "Participation", "S5", "Marsh, Eve", "Science Fair",
         datetime(2026, 10, 10), "REG-2026-00005", None, "Flagged for revocation"),
        ("CERT-2026-00001", "Participation", "S1", "Marsh, Ada", "Science Fair",
         datetime(2026, 10, 10), "REG-2026-00001", "tester", "Valid"),
        ("CERT-2026-00002", "Participation", "S6", "Marsh, Finn", "Science Fair",
         datetime(2026, 10, 10), "REG-2026-00006", "tester", "Revoked"),
        ("CERT-2026-00003", "Merit", "S2", "Marsh, Ben", "Science Fair",
         datetime(2026, 10, 10), "REG-2026-00002", "tester", "Valid"),
    ]  # fmt: skip
    for row in rows:  # times as this computer shows them, to the second
        assert isinstance(row[8], datetime)
        assert abs(row[8] - _issued_at(session, row[0])) < timedelta(seconds=1)
    revoked = rows[2]
    assert isinstance(revoked[11], datetime) and revoked[12:] == ("tester", "Issued by mistake")
    assert rows[0][11:] == (None, None, "attendance removed")  # the flag's reason
    assert _cf_ranges(ws) == {f"K{h + 1}:K{h + 4}": ['"Revoked"', '"Flagged for revocation"']}
    assert ws.cell(h + 1, 11).value == "Flagged for revocation"


def test_certificate_summary_counts_match_the_database(session, ctx, school, tmp_path):
    quiz_reg = session.scalar(text("SELECT id FROM event_registration "
                                   "WHERE registration_no = 'REG-2026-00007'"))  # fmt: skip
    attend(session, ctx, quiz_reg, date(2026, 11, 5))
    issue_certificates(session, ctx, school["quiz"])
    issue_certificates(session, ctx, school["quiz"], "winner", ["REG-2026-00007"])
    _saved, path = _write(session, ctx, ReportKind.CERTIFICATES, ReportFilters(), tmp_path)
    ws = load_workbook(path)["Summary"]
    header, rows = _table(ws)
    assert header == ["Event", "Event date", "Participation", "Merit", "Winner", "Revoked",
                      "Total valid"]  # fmt: skip
    counted = session.execute(text("""
        SELECT ev.name,
               count(*) FILTER (WHERE c.kind = 'participation' AND c.revoked_at IS NULL),
               count(*) FILTER (WHERE c.kind = 'merit' AND c.revoked_at IS NULL),
               count(*) FILTER (WHERE c.kind = 'winner' AND c.revoked_at IS NULL),
               count(*) FILTER (WHERE c.revoked_at IS NOT NULL),
               count(*) FILTER (WHERE c.revoked_at IS NULL)
        FROM certificate c JOIN event_registration r ON r.id = c.registration_id
        JOIN event ev ON ev.id = r.event_id GROUP BY ev.name, ev.starts_on
        ORDER BY ev.starts_on""")).all()  # fmt: skip
    assert [(r[0], *r[2:]) for r in rows] == [tuple(c) for c in counted]
    assert rows == [("Science Fair", datetime(2026, 10, 10), 2, 1, 0, 1, 3),
                    ("Quiz Night", datetime(2026, 11, 5), 1, 0, 1, 0, 2)]  # fmt: skip
    assert ws.auto_filter.ref == f"A{_header_row(ws)}:G{_header_row(ws) + 2}"  # no totals row
    notes = [ws.cell(row, 1).value for row in range(1, _header_row(ws) - 1)]
    assert ("Total: 6 certificates for 2 events · 5 valid (3 participation, 1 merit, 1 winner)"
            " · 1 revoked · 1 flagged for revocation") in notes  # fmt: skip


def test_certificate_register_preview(session, ctx, school):
    shown = preview_report(session, ctx, ReportKind.CERTIFICATES, ReportFilters(), limit=2)
    assert list(shown.columns) == CERTIFICATE_HEADER
    assert [r[0] for r in shown.rows] == ["CERT-2025-00012", "CERT-2026-00001"]
    assert shown.rows[1][8].tzinfo is None  # local time, as the sheet shows it
    assert (shown.total_rows, shown.summary) == (4, "4 certificates (1 revoked) · 1 event")


@pytest.fixture
def auckland():
    """This computer's clock in New Zealand (UTC+13 in October), whatever the server's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Pacific/Auckland")
        time.tzset()
        yield
    time.tzset()


def test_register_chooses_by_the_local_issue_date(session, ctx, school, tmp_path, auckland):
    # Ada's was issued at 00:30 on 1 Oct in Auckland: still 30 Sep in UTC.
    _sql(session, "UPDATE certificate SET issued_at = :at WHERE certificate_no = :n",
         at=datetime(2026, 10, 1, 0, 30).astimezone(), n="CERT-2026-00001")  # fmt: skip
    _sql(session, "UPDATE certificate SET issued_at = :at WHERE certificate_no <> :n",
         at=datetime(2026, 12, 1, 9, 0).astimezone(), n="CERT-2026-00001")  # fmt: skip
    october = ReportFilters(date_from=date(2026, 10, 1), date_to=date(2026, 10, 1))
    saved, path = _write(session, ctx, ReportKind.CERTIFICATES, october, tmp_path)
    header, rows = _table(load_workbook(path)["Certificates"])
    assert [r[0] for r in rows] == ["CERT-2026-00001"]
    assert rows[0][8] == datetime(2026, 10, 1, 0, 30)  # as the clock here showed it
    december = ReportFilters(events=("Science Fair",), date_from=date(2026, 12, 1))
    shown = preview_report(session, ctx, ReportKind.CERTIFICATES, december)
    assert [r[0] for r in shown.rows] == ["CERT-2025-00012", "CERT-2026-00002", "CERT-2026-00003"]
    september = ReportFilters(events=("Science Fair",), date_from=date(2026, 9, 1),
                              date_to=date(2026, 9, 30))  # fmt: skip
    path = tmp_path / "september.xlsx"
    with pytest.raises(EmptyReport) as info:
        write_report(session, ctx, Job(), ReportKind.CERTIFICATES, september, path)
    assert str(info.value) == ("No certificates issued between 1 Sep 2026 and 30 Sep 2026 for "
                               "Science Fair: nothing to export.")  # fmt: skip
    assert not path.exists()


def test_register_empty_and_unknown_event(session, ctx, school, tmp_path):
    path = tmp_path / "register.xlsx"
    with pytest.raises(EmptyReport, match="^No certificates issued for Quiz Night: nothing"):
        write_report(session, ctx, Job(), ReportKind.CERTIFICATES,
                     ReportFilters(events=("Quiz Night",)), path)  # fmt: skip
    with pytest.raises(UnknownEvent):
        write_report(session, ctx, Job(), ReportKind.CERTIFICATES,
                     ReportFilters(events=("Sciense Fair",)), path)  # fmt: skip
    assert not path.exists()


def test_cancel_while_streaming_certificates_leaves_no_file(
    session, ctx, school, tmp_path, monkeypatch
):
    monkeypatch.setattr(certificate_register, "BATCH", 1)
    reports = []

    def watch(report) -> None:
        reports.append(report.text)
        if report.done >= 2:  # Cancel after the second batch
            job.cancel()

    job = Job(on_progress=watch, min_interval_s=0)
    path = tmp_path / "register.xlsx"
    with pytest.raises(Cancelled):
        write_report(session, ctx, job, ReportKind.CERTIFICATES, ReportFilters(), path)
    assert reports == ["Counting the certificates…", "1 of 4 certificates", "2 of 4 certificates"]
    assert list(tmp_path.iterdir()) == []
