"""Events at scale: the universal lookup of one student.

Builds, in a throwaway data dir, a school with ``rollbook demo-data`` (1,000,000
students by default: classes, enrollments, attendance marks, the demo's events with
teams, days, feedback and certificates). The demo's events keep a venue's size
whatever the school's, so the build then gives about one student in ten a history of
events, set-based: a handful of past two-day events, each of those students
registered in one to three of them, four in ten in teams, with days attended,
feedback from about half of those who came, and certificates (some revoked, some
flagged). Then it looks up 200 students who have event registrations and 200 who
have none, by student number, with ``lookup_student`` — the call ``rollbook lookup``
and the Students page's detail panel make — and prints one JSON line:

    {"students", "students_with_events", "registrations", "certificates", "lookups",
     "p50_ms", "p95_ms", "with_events_p95_ms", "without_events_p95_ms",
     "baseline_p50_ms", "baseline_p95_ms", "ratio", "statements", "seq_scans",
     "small_table_seq_scans", "certificates_issued", "issue_ms", "issue_baseline_ms",
     "issue_ratio"}

The baseline is the service's own three statements run straight on the psycopg
connection, one after the other as the service runs them, measured in the same run
on the same students: what the service layer adds (``ratio`` = p95 / baseline p95).
``statements`` is how many statements one lookup sends (the goal: 3, one per
section). ``seq_scans`` lists every sequential scan in the three statements' plans on
a table of 10,000 rows or more (the goal: none); ``small_table_seq_scans`` the others,
which the planner rightly reads whole. Goals: p95 < 50 ms, ratio <= 1.5, no seq scans.

Then issuing: a finished two-day event with 10,000 registrations, everyone checked in
on both days. ``issue_certificates`` (eligibility plan, numbers from the school's
sequence, one INSERT … SELECT, the change capture) against the same rows written by
hand with one INSERT … SELECT numbered from a plain sequence, the median of five runs
each, every run rolled back. ``issue_ratio`` = hand / service (the goal: >= 0.5, the
service at most twice the hand-written statement).

    uv run python tests/benchmarks/bench_events.py [--students N] [--data-dir DIR]

``--data-dir`` keeps (and reuses) the generated school between runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
import warnings
from collections import defaultdict
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from plans import SMALL_TABLE_ROWS, percentile, seq_scans  # noqa: E402
from scratch import admin_engine, scratch_folder  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from app.cli import main as rollbook  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.runtime import open_database  # noqa: E402
from app.services import attendance, certificates, lookup  # noqa: E402

LOOKUPS = 200  # of each kind: with event registrations, without
WARM_UP = 100
BENCH_EVENTS = 6
# The share of students, in percent, given the added events history.
WITH_EVENTS_PERCENT = 10
# The added events history, set-based. ``h`` is a stable hash of the student: it picks
# who takes part, in how many events and which, who is in a team, who came on which
# day, who gave feedback, whose certificate was revoked or flagged.
EVENTS_SQL = """
INSERT INTO event (id, school_id, name, venue, starts_on, ends_on, capacity, team_size_min,
                   team_size_max, allow_individual, allow_teams, certificate_min_days, status)
SELECT gen_random_uuid(), :school, 'Bench Challenge ' || n, 'Hall ' || n,
       current_date - 30 * n, current_date - 30 * n + 1, NULL, 1, 3, true, true, 1, 'completed'
FROM generate_series(1, :events) n;

CREATE TEMP TABLE bench_event ON COMMIT DROP AS
SELECT id, row_number() OVER (ORDER BY name) - 1 AS k, starts_on
FROM event WHERE school_id = :school AND name LIKE 'Bench Challenge %';

CREATE TEMP TABLE bench_reg ON COMMIT DROP AS
SELECT gen_random_uuid() AS id, e.id AS event_id, e.starts_on, s.id AS student_id, s.h,
       CASE WHEN s.h % 5 < 2 THEN (row_number() OVER (PARTITION BY e.id, s.h % 5 < 2
                                                      ORDER BY s.id) - 1) / 3 END AS team_slot
FROM (SELECT id, abs(hashtext(id::text)::bigint) AS h FROM student
      WHERE school_id = :school AND deleted_at IS NULL) s
CROSS JOIN generate_series(0, 2) j
JOIN bench_event e ON e.k = (s.h / 100 + j) % :events
WHERE s.h % 100 < :percent AND j <= s.h / 7 % 3;

INSERT INTO event_team (id, school_id, event_id, name)
SELECT gen_random_uuid(), :school, event_id, 'Team ' || team_slot
FROM bench_reg WHERE team_slot IS NOT NULL GROUP BY event_id, team_slot;

INSERT INTO event_registration (id, school_id, event_id, student_id, team_id,
                                registration_no, status)
SELECT r.id, :school, r.event_id, r.student_id, t.id,
       'BR-' || lpad((row_number() OVER (ORDER BY r.id))::text, 8, '0'),
       CASE WHEN r.h % 31 = 0 THEN 'cancelled' ELSE 'registered' END
FROM bench_reg r
LEFT JOIN event_team t ON t.event_id = r.event_id AND t.name = 'Team ' || r.team_slot;

INSERT INTO event_attendance (id, school_id, registration_id, attended_on, checked_in_at)
SELECT gen_random_uuid(), :school, r.id, r.starts_on + d, (r.starts_on + d) + time '08:10'
FROM bench_reg r CROSS JOIN generate_series(0, 1) d
WHERE r.h % 31 <> 0 AND (d = 0 AND r.h % 10 < 9 OR d = 1 AND r.h % 10 < 7);

INSERT INTO event_feedback (id, school_id, registration_id, rating, comments)
SELECT gen_random_uuid(), :school, r.id, 1 + r.h % 5,
       CASE WHEN r.h % 3 = 0 THEN 'Well organised, thank you.' END
FROM bench_reg r WHERE r.h % 31 <> 0 AND r.h % 10 < 9 AND r.h % 2 = 0;

INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no, issued_at,
                         issued_by, revoked_at, revoke_reason, revocation_flagged_at,
                         revocation_flag_reason)
SELECT gen_random_uuid(), :school, r.id, 'participation',
       'BC-' || lpad((row_number() OVER (ORDER BY r.id))::text, 8, '0'),
       r.starts_on + 4, 'bench',
       CASE WHEN r.h % 50 = 1 THEN r.starts_on + 5 END,
       CASE WHEN r.h % 50 = 1 THEN 'Name misspelled; reissued' END,
       CASE WHEN r.h % 50 = 2 THEN r.starts_on + 20 END,
       CASE WHEN r.h % 50 = 2 THEN 'Attended fewer days than the event asks' END
FROM bench_reg r WHERE r.h % 31 <> 0 AND r.h % 10 < 9
"""


def add_event_histories(conn, school_id) -> None:
    # The load is the benchmark's set-up, not what it measures: the change capture's
    # triggers (and the foreign-key checks) are off for it.
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    params = {"school": school_id, "events": BENCH_EVENTS, "percent": WITH_EVENTS_PERCENT}
    for statement in EVENTS_SQL.split(";\n"):
        conn.execute(text(statement), params)


def sample_students(session, seed: int, count: int, with_events: bool) -> list[str]:
    """Student numbers of students with (or without) event registrations, the same ones
    every run for the same seed."""
    session.execute(text("SELECT setseed(:f)"), {"f": (seed % 1000) / 1000})
    has = "" if with_events else "NOT"
    return list(session.scalars(text(f"""
        SELECT s.student_no FROM student s
        WHERE s.deleted_at IS NULL
          AND {has} EXISTS (SELECT FROM event_registration r WHERE r.student_id = s.id)
        ORDER BY random() LIMIT :n"""), {"n": count}))  # fmt: skip


def by_hand(raw, sql: tuple[str, str, str], school_id, student_no: str) -> None:
    """The service's three statements straight on the connection, as it runs them."""
    student_sql, summary_sql, registrations_sql = sql
    rows = raw.execute(student_sql, {"school": school_id, "no": student_no, "id": None}).fetchall()
    asked = {"student": rows[0][0], "school": school_id}
    raw.execute(summary_sql, asked).fetchall()
    raw.execute(registrations_sql, asked).fetchall()


ISSUE_REGISTRATIONS = 10_000
ISSUE_REPEATS = 5


def add_issuing_event(conn, school_id, registrations: int) -> uuid.UUID:
    """A finished two-day event with ``registrations`` students registered, all of them
    checked in on both days, set-based; its certificates are what issuing is timed on."""
    event_id = uuid.uuid4()
    p = {"school": school_id, "event": event_id, "n": registrations}
    conn.execute(text("""
        INSERT INTO event (id, school_id, name, venue, starts_on, ends_on, capacity,
                           allow_individual, allow_teams, certificate_min_days, status)
        VALUES (:event, :school, 'Bench Festival', 'Sports hall', current_date - 10,
                current_date - 9, NULL, true, false, 1, 'completed')"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO event_registration (id, school_id, event_id, student_id, registration_no,
                                        status)
        SELECT gen_random_uuid(), :school, :event, s.id,
               'BENCH-' || lpad(row_number() OVER (ORDER BY s.id)::text, 6, '0'), 'registered'
        FROM (SELECT id FROM student WHERE school_id = :school AND status = 'active'
              ORDER BY hashtext(id::text) LIMIT :n) s"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO event_attendance (id, school_id, registration_id, attended_on, checked_in_at)
        SELECT gen_random_uuid(), :school, r.id, current_date - 10 + k,
               current_date - 10 + k + time '09:00'
        FROM event_registration r CROSS JOIN generate_series(0, 1) k
        WHERE r.event_id = :event"""), p)  # fmt: skip
    return event_id


# The same certificates written by hand: the eligible registrations numbered from a
# plain sequence in one INSERT … SELECT, no checks, no plan, no run.
HAND_ISSUE = """
CREATE TEMP SEQUENCE bench_certificate_no;
INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no, issued_by)
SELECT gen_random_uuid(), r.school_id, r.id, 'participation',
       'HAND-' || lpad(nextval('bench_certificate_no')::text, 5, '0'), 'bench'
FROM event_registration r
WHERE r.event_id = %(event)s AND r.status = 'registered'
  AND (SELECT count(*) FROM event_attendance a WHERE a.registration_id = r.id) >= 1
ORDER BY r.registration_no
"""


def time_issuing(db, ctx, event_id: uuid.UUID) -> tuple[list[float], list[float], int]:
    """Issuing the event's participation certificates with the service, then by hand,
    ISSUE_REPEATS times each, every time rolled back so each run issues them all."""
    service, hand, issued = [], [], 0
    for _ in range(ISSUE_REPEATS):
        with db.sessions() as s:
            s.connection()  # the transaction begun before the clock starts
            started = time.perf_counter()
            issued = len(certificates.issue_certificates(s, ctx, event_id).issued)
            service.append((time.perf_counter() - started) * 1000)
            s.rollback()
        with db.sessions() as s:
            raw = s.connection().connection.driver_connection
            started = time.perf_counter()
            for statement in HAND_ISSUE.strip().split(";\n"):
                raw.execute(statement, {"event": event_id} if "%(event)s" in statement else None)
            hand.append((time.perf_counter() - started) * 1000)
            s.rollback()
    return service, hand, issued


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=LOOKUPS,
                        help="students looked up of each kind (with events, without)")  # fmt: skip
    parser.add_argument("--warm-up", type=int, default=WARM_UP,
                        help="lookups (another seed) run before measuring; 0 = cold")  # fmt: skip
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    data_dir = args.data_dir or scratch_folder("rollbook-bench-events-")
    db = open_database(load_settings(data_dir=data_dir))
    ctx = db.context()
    with db.sessions.begin() as s:
        existing = s.scalar(text("SELECT count(*) FROM student"))
    if existing == 0:
        started = time.perf_counter()
        code = rollbook(["--data-dir", str(data_dir), "demo-data", "--students",
                         str(args.students), "--json"])  # fmt: skip
        if code != 0:
            return code
        admin = admin_engine(db)  # the set-up, with the triggers off
        with admin.begin() as conn:
            add_event_histories(conn, ctx.school_id)
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        admin.dispose()
        print(f"school: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with db.sessions() as s:
        figures = s.execute(text("""
            SELECT (SELECT count(*) FROM student),
                   (SELECT count(DISTINCT student_id) FROM event_registration),
                   (SELECT count(*) FROM event_registration),
                   (SELECT count(*) FROM certificate)""")).one()  # fmt: skip
        with_events = sample_students(s, args.seed, args.lookups, with_events=True)
        without_events = sample_students(s, args.seed, args.lookups, with_events=False)
        warm_up = sample_students(s, args.seed + 1, args.warm_up, with_events=True)

    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    # The service statements as the service sends them, for the baseline that runs the
    # same statements straight on the psycopg connection.
    sql = tuple(str(statement.compile(db.engine)) for statement in (
        lookup._STUDENT_SQL, attendance._SUMMARY_SQL, lookup._REGISTRATIONS_SQL))  # fmt: skip
    # Steady state, as in an app that has been open a while: other lookups have brought
    # the indexes' upper levels into the cache first.
    with db.sessions() as s:
        for number in warm_up:
            lookup.lookup_student(s, ctx, number)
    timings: dict[str, list[float]] = defaultdict(list)
    sent: set[int] = set()
    for kind, numbers in (("with_events", with_events), ("without_events", without_events)):
        for number in numbers:
            with db.sessions() as s:
                # The transaction is begun (and stamped with the actor) before the clock
                # starts: what is timed is the work, not the opening of a transaction.
                raw = s.connection().connection.driver_connection
                statements = 0
                event.listen(db.engine, "before_cursor_execute", count)
                started = time.perf_counter()
                lookup.lookup_student(s, ctx, number)
                timings[kind].append((time.perf_counter() - started) * 1000)
                event.remove(db.engine, "before_cursor_execute", count)
                sent.add(statements)
                started = time.perf_counter()
                by_hand(raw, sql, ctx.school_id, number)
                timings["baseline"].append((time.perf_counter() - started) * 1000)

    with db.sessions() as s:
        found = lookup.lookup_student(s, ctx, with_events[0])
        asked = {"student": found.student.id, "school": ctx.school_id}
        scans = (
            seq_scans(s, lookup._STUDENT_SQL, lookup.student_parameters(ctx, with_events[0]))
            + seq_scans(s, attendance._SUMMARY_SQL, asked)
            + seq_scans(s, lookup._REGISTRATIONS_SQL, asked)
        )
    with db.engine.begin() as conn:
        issuing_event = add_issuing_event(conn, ctx.school_id,
                                          min(ISSUE_REGISTRATIONS, figures[0] // 2))  # fmt: skip
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("SELECT rollbook_analyze('event_registration'), "
                 "rollbook_analyze('event_attendance')")
        )  # fmt: skip
    issue_service, issue_hand, issued = time_issuing(db, ctx, issuing_event)
    db.close()

    every = timings["with_events"] + timings["without_events"]
    p95, base95 = percentile(every, 95), percentile(timings["baseline"], 95)

    def rows(scan: str) -> int:
        return int(scan.split("(")[1][:-1])

    print(json.dumps({
        "students": figures[0],
        "students_with_events": figures[1],
        "registrations": figures[2],
        "certificates": figures[3],
        "lookups": len(every),
        "p50_ms": round(statistics.median(every), 2),
        "p95_ms": round(p95, 2),
        "with_events_p95_ms": round(percentile(timings["with_events"], 95), 2),
        "without_events_p95_ms": round(percentile(timings["without_events"], 95), 2),
        "baseline_p50_ms": round(statistics.median(timings["baseline"]), 2),
        "baseline_p95_ms": round(base95, 2),
        "ratio": round(p95 / base95, 2) if base95 else None,
        "statements": sorted(sent),
        "seq_scans": [scan for scan in scans if rows(scan) >= SMALL_TABLE_ROWS],
        "small_table_seq_scans": sorted({scan for scan in scans
                                         if rows(scan) < SMALL_TABLE_ROWS}),
        "certificates_issued": issued,
        "issue_ms": round(statistics.median(issue_service), 1),
        "issue_baseline_ms": round(statistics.median(issue_hand), 1),
        "issue_ratio": round(statistics.median(issue_hand) / statistics.median(issue_service), 2),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
