"""Consistency check at scale.

Builds a school of its own (1,000,000 enrollments by default) in a throwaway data dir
with set-based SQL (``INSERT ... SELECT generate_series``): a third as many students,
40 courses, progress rows, requests, a million session attendance rows, event
registrations in teams of three, two days of event attendance and a certificate each;
then spoils 1% of each kind the check looks for. It times ``plan_consistency`` (the
call the wizard and ``rollbook sync-check`` make: every kind counted in full, up to
MAX_LISTED_ITEMS findings listed with names and reasons) against the sum of the
equivalent hand-written anti-join queries, each fetching the offending ids, run on the
same connection in the same process. Each side is run once to warm the cache, then
timed. Prints one JSON line:

    {"enrollments", "findings", "check_s", "baseline_s", "ratio"}

Goal: ratio <= 2.

    uv run python tests/benchmarks/bench_consistency.py [--enrollments N] [--data-dir DIR]

``--data-dir`` keeps (and reuses) the generated school between runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scratch import scratch_folder  # noqa: E402

from app.config import load_settings  # noqa: E402
from app.maintenance.consistency import plan_consistency  # noqa: E402
from app.runtime import open_database  # noqa: E402

BUILD = """
SET LOCAL synchronous_commit = off;

INSERT INTO course (id, school_id, name)
SELECT md5('c' || k)::uuid, %(school)s, 'Course ' || k FROM generate_series(0, 39) k;

INSERT INTO student (id, school_id, student_no, first_name, last_name)
SELECT md5('s' || s)::uuid, %(school)s, 'S' || lpad(s::text, 7, '0'), 'First' || s, 'Last' || s
FROM generate_series(0, %(n)s / 3) s;

-- enrollment g: student g / 3, course (student * 7 + g %% 3) %% 40 - three distinct courses.
-- g %% 100 = 1: ended, progress left live (progress-only); = 2: no progress row
-- (enrollment-only); = 5: enrolled after its attended session (attendance-not-enrolled).
INSERT INTO course_enrollment (id, school_id, course_id, student_id, active, enrolled_on,
                               ended_on)
SELECT md5('e' || g)::uuid, %(school)s, md5('c' || ((g / 3) * 7 + g %% 3) %% 40)::uuid,
       md5('s' || g / 3)::uuid, g %% 100 <> 1,
       CASE WHEN g %% 100 = 5 THEN current_date - 5 ELSE current_date - 100 END,
       CASE WHEN g %% 100 = 1 THEN current_date - 10 END
FROM generate_series(0, %(n)s - 1) g;

INSERT INTO course_progress (id, school_id, student_id, course_id, percent)
SELECT md5('p' || g)::uuid, %(school)s, md5('s' || g / 3)::uuid,
       md5('c' || ((g / 3) * 7 + g %% 3) %% 40)::uuid, g %% 101
FROM generate_series(0, %(n)s - 1) g WHERE g %% 100 <> 2;

-- Requests: approved with their enrollment (consistent), approved for a course the
-- student does not take (= 3), pending for a course already taken (= 4).
INSERT INTO enrollment_request (id, school_id, student_id, course_id, status, decided_at,
                                decided_by)
SELECT md5('r' || g)::uuid, %(school)s, md5('s' || g / 3)::uuid,
       md5('c' || ((g / 3) * 7 + CASE WHEN g %% 100 = 3 THEN 3 ELSE g %% 3 END) %% 40)::uuid,
       CASE WHEN g %% 100 = 4 THEN 'pending' ELSE 'approved' END,
       CASE WHEN g %% 100 = 4 THEN NULL ELSE now() - interval '100 days' END,
       CASE WHEN g %% 100 = 4 THEN NULL ELSE 'registrar' END
FROM generate_series(0, %(n)s - 1) g WHERE g %% 100 BETWEEN 3 AND 15 AND g %% 3 = 0
   OR g %% 100 IN (3, 4);

-- Ten sessions per course; every enrollment attended one of them.
INSERT INTO class_session (id, school_id, course_id, session_date, start_time, end_time)
SELECT md5('cs' || k || '-' || j)::uuid, %(school)s, md5('c' || k)::uuid,
       current_date - 90 + 8 * j, '09:00', '10:00'
FROM generate_series(0, 39) k, generate_series(0, 9) j;

INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status)
SELECT md5('a' || g)::uuid, %(school)s,
       md5('cs' || ((g / 3) * 7 + g %% 3) %% 40 || '-' || g %% 10)::uuid,
       md5('e' || g)::uuid, 'present'
FROM generate_series(0, %(n)s - 1) g WHERE g %% 100 <> 1;

-- 100 two-day events, teams of 2-4; each student registers for event s %% 100 in a team
-- of three with the students 100 and 200 after them.
INSERT INTO event (id, school_id, name, starts_on, ends_on, team_size_min, team_size_max,
                   allow_teams, certificate_min_days, status)
SELECT md5('ev' || k)::uuid, %(school)s, 'Event ' || k, current_date - 30, current_date - 29,
       2, 4, true, 2, 'completed'
FROM generate_series(0, 99) k;

INSERT INTO event_team (id, school_id, event_id, name)
SELECT DISTINCT md5('t' || s / 300 || '-' || s %% 100)::uuid, %(school)s,
       md5('ev' || s %% 100)::uuid, 'Team ' || s / 300
FROM generate_series(0, %(n)s / 3) s;

-- (s / 100) %% 100 = 50: cancelled, attendance kept (event-attendance-cancelled);
-- (s / 300) %% 100 = 7 and not the first of the three: cancelled, no attendance, so the
-- team is left with one member (team-size).
INSERT INTO event_registration (id, school_id, event_id, student_id, team_id,
                                registration_no, status)
SELECT md5('er' || s)::uuid, %(school)s, md5('ev' || s %% 100)::uuid, md5('s' || s)::uuid,
       md5('t' || s / 300 || '-' || s %% 100)::uuid, 'R' || s,
       CASE WHEN (s / 100) %% 100 = 50 OR ((s / 300) %% 100 = 7 AND (s / 100) %% 3 <> 0)
            THEN 'cancelled' ELSE 'registered' END
FROM generate_series(0, %(n)s / 3) s;

-- Two days each; (s / 100) %% 100 = 60 came one day only but got a certificate
-- (certificate-ineligible).
INSERT INTO event_attendance (id, school_id, registration_id, attended_on)
SELECT md5('ea' || s || '-' || d)::uuid, %(school)s, md5('er' || s)::uuid,
       current_date - 30 + d
FROM generate_series(0, %(n)s / 3) s, generate_series(0, 1) d
WHERE NOT ((s / 300) %% 100 = 7 AND (s / 100) %% 3 <> 0)
  AND NOT ((s / 100) %% 100 = 60 AND d = 1);

INSERT INTO certificate (id, school_id, registration_id, kind, certificate_no)
SELECT md5('ce' || s)::uuid, %(school)s, md5('er' || s)::uuid, 'participation', 'C' || s
FROM generate_series(0, %(n)s / 3) s
WHERE (s / 100) %% 100 <> 50 AND NOT ((s / 300) %% 100 = 7 AND (s / 100) %% 3 <> 0);
"""

ANALYZE = [
    "student", "course", "course_enrollment", "course_progress", "enrollment_request",
    "class_session", "session_attendance", "event", "event_team", "event_registration",
    "event_attendance", "certificate", "audit_log",
]  # fmt: skip

# The same questions written the plain way: each returns the ids of the offending rows.
BASELINE = [
    """SELECT p.id FROM course_progress p WHERE p.school_id = %(school)s AND p.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM course_enrollment e WHERE e.course_id = p.course_id
                       AND e.student_id = p.student_id AND e.active AND e.deleted_at IS NULL)""",
    """SELECT e.id FROM course_enrollment e WHERE e.school_id = %(school)s AND e.active
       AND e.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM course_progress p WHERE p.student_id = e.student_id
                       AND p.course_id = e.course_id AND p.deleted_at IS NULL)""",
    """SELECT r.id FROM enrollment_request r WHERE r.school_id = %(school)s
       AND r.status = 'approved' AND r.deleted_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM course_enrollment e WHERE e.student_id = r.student_id
                       AND e.course_id = r.course_id AND e.active AND e.deleted_at IS NULL)""",
    """SELECT r.id FROM enrollment_request r WHERE r.school_id = %(school)s
       AND r.status = 'pending' AND r.deleted_at IS NULL
       AND EXISTS (SELECT 1 FROM course_enrollment e WHERE e.student_id = r.student_id
                   AND e.course_id = r.course_id AND e.active AND e.deleted_at IS NULL)""",
    """SELECT a.id FROM session_attendance a JOIN class_session cs ON cs.id = a.session_id
       JOIN course_enrollment e ON e.id = a.enrollment_id
       WHERE a.school_id = %(school)s AND a.deleted_at IS NULL
         AND NOT (e.deleted_at IS NULL AND e.periods @> cs.session_date)""",
    """SELECT ea.id FROM event_attendance ea JOIN event_registration r ON r.id = ea.registration_id
       WHERE ea.school_id = %(school)s AND ea.deleted_at IS NULL AND r.status = 'cancelled'""",
    """SELECT c.id FROM certificate c JOIN event_registration r ON r.id = c.registration_id
       JOIN event ev ON ev.id = r.event_id
       WHERE c.school_id = %(school)s AND c.revoked_at IS NULL AND c.deleted_at IS NULL
         AND (r.status = 'cancelled'
              OR (SELECT count(*) FROM event_attendance ea WHERE ea.registration_id = r.id
                  AND ea.deleted_at IS NULL) < ev.certificate_min_days)""",
    """SELECT r.id FROM event_registration r JOIN event ev ON ev.id = r.event_id
       JOIN (SELECT team_id, count(*) AS size FROM event_registration
             WHERE school_id = %(school)s AND team_id IS NOT NULL AND status <> 'cancelled'
             GROUP BY team_id) t ON t.team_id = r.team_id
       WHERE r.status <> 'cancelled' AND t.size NOT BETWEEN ev.team_size_min AND ev.team_size_max""",
]


def build(db, enrollments: int) -> None:
    with db.engine.begin() as conn:
        raw = conn.connection.driver_connection
        existing = raw.execute("SELECT count(*) FROM course_enrollment").fetchone()[0]
        if existing:
            if existing != enrollments:
                raise SystemExit(f"The data dir holds {existing:,} enrollments, not {enrollments:,}; "
                                 "use another --data-dir.")  # fmt: skip
            return
        started = time.perf_counter()
        import psycopg

        with psycopg.ClientCursor(raw) as cursor:
            cursor.execute(BUILD, {"n": enrollments, "school": db.school.id})
        for table in ANALYZE:
            raw.execute("SELECT rollbook_analyze(%s)", (table,))
        print(f"built {enrollments:,} enrollments in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)  # fmt: skip


def timed_check(db) -> tuple[float, int]:
    with db.sessions.begin() as session:
        started = time.perf_counter()
        plan = plan_consistency(session, db.context())
        seconds = time.perf_counter() - started
        session.rollback()
    return seconds, sum(plan.summary.values())


def timed_baseline(db) -> tuple[float, int]:
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        found = 0
        started = time.perf_counter()
        for sql in BASELINE:
            found += len(raw.execute(sql, {"school": db.school.id}).fetchall())
        seconds = time.perf_counter() - started
        conn.rollback()
    return seconds, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=1_000_000)
    parser.add_argument("--data-dir", help="keep the generated school here (reused if present)")
    args = parser.parse_args()
    data_dir = (
        Path(args.data_dir) if args.data_dir else scratch_folder("rollbook-bench-consistency-")
    )
    db = open_database(load_settings(data_dir=str(data_dir), school_code="BENCH"))
    try:
        build(db, args.enrollments)
        timed_check(db)  # warm the cache for both sides
        timed_baseline(db)
        check_s, findings = timed_check(db)
        baseline_s, baseline_found = timed_baseline(db)
    finally:
        db.close()
    if findings != baseline_found:
        print(f"warning: the check found {findings:,}, the baseline {baseline_found:,}",
              file=sys.stderr)  # fmt: skip
    print(json.dumps({"enrollments": args.enrollments, "findings": findings,
                      "check_s": round(check_s, 3), "baseline_s": round(baseline_s, 3),
                      "ratio": round(check_s / baseline_s, 2)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
