"""Enrollment audit and backfill at scale, against single hand-written SQL statements.

Builds (set-based, in a fresh embedded database) 200,000 students in 50 courses with
1,000,000 legacy memberships: each student in four courses, in two groups of one of
them, so 800,000 student–course pairs; 65% of the pairs have an active enrollment, 5%
an inactive one and 30% none. Then, in the same process:
- audit: ``audit_enrollments`` (counts + capped lists, recorded as a run) against one
  hand-written statement that counts covered / inactive / missing pairs of active
  memberships of students that are not removed (the same rule the audit applies);
- backfill: ``apply_backfill`` (courses, enrollments, reactivations, progress rows,
  audit entries, run record) against one hand-written INSERT ... ON CONFLICT DO UPDATE
  statement that creates and reactivates the enrollments and their progress rows.
Each is timed twice in a transaction that is rolled back (the best time counts), so
both sides see the same data and the same warm cache. Finally the backfill is applied
for real and planned again, which must find nothing.

Prints one JSON line:
    {"memberships", "audit_s", "audit_baseline_s", "audit_ratio", "backfill_s",
     "backfill_baseline_s", "backfill_ratio", ...}

    uv run python tests/benchmarks/bench_backfill.py [--students N] [--data-dir DIR]
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

from scratch import admin_engine, scratch_folder  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.config import load_settings  # noqa: E402
from app.domain.context import ServiceContext  # noqa: E402
from app.domain.enums import UserRole  # noqa: E402
from app.maintenance.backfill import apply_backfill, plan_backfill  # noqa: E402
from app.maintenance.enrollment_audit import audit_enrollments  # noqa: E402
from app.runtime import open_database  # noqa: E402
from app.services.schools import ensure_school  # noqa: E402

COURSES, GROUPS_PER_COURSE = 50, 40

BUILD_SQL = """
INSERT INTO student (id, school_id, student_no, first_name, last_name, status)
SELECT gen_random_uuid(), :school, 'B' || lpad(g::text, 7, '0'), 'First' || g,
       'Last' || (g % 997), 'active'
FROM generate_series(1, :students) g;

INSERT INTO course (id, school_id, name)
SELECT gen_random_uuid(), :school, 'Course ' || lpad(c::text, 2, '0')
FROM generate_series(0, :courses - 1) c;

INSERT INTO legacy_group (id, school_id, name, team_number, course_name, course_id)
SELECT gen_random_uuid(), :school, 'Group ' || t, t, c.name, c.id
FROM course c CROSS JOIN generate_series(0, :groups - 1) t WHERE c.school_id = :school;

CREATE TEMP TABLE bench_student AS
SELECT id, substring(student_no FROM 2)::int AS n FROM student WHERE school_id = :school;
CREATE TEMP TABLE bench_group AS
SELECT g.id, substring(c.name FROM 8)::int AS c, g.team_number AS t
FROM legacy_group g JOIN course c ON c.id = g.course_id WHERE g.school_id = :school;
CREATE INDEX ON bench_group (c, t);

-- four courses per student, and a second group in the first of them: 5 memberships
INSERT INTO legacy_group_member (id, school_id, group_id, student_id, active)
SELECT gen_random_uuid(), :school, g.id, s.id, true
FROM bench_student s
CROSS JOIN generate_series(0, 4) k
JOIN bench_group g ON g.c = (s.n * 7 + (CASE WHEN k = 4 THEN 0 ELSE k END) * 11) % :courses
                  AND g.t = (s.n + (k / 4)) % :groups;

-- per pair: 65% active enrollment, 5% inactive, 30% none
CREATE TEMP TABLE bench_pair AS
SELECT s.id AS student_id, c.id AS course_id, abs(hashtext(s.n || '-' || k)) % 100 AS bucket
FROM bench_student s CROSS JOIN generate_series(0, 3) k
JOIN course c ON c.school_id = :school
             AND c.name = 'Course ' || lpad(((s.n * 7 + k * 11) % :courses)::text, 2, '0');

INSERT INTO course_enrollment (id, school_id, course_id, student_id, active, source)
SELECT gen_random_uuid(), :school, course_id, student_id, bucket < 65, 'import'
FROM bench_pair WHERE bucket < 70;
INSERT INTO course_progress (id, school_id, student_id, course_id)
SELECT gen_random_uuid(), :school, student_id, course_id FROM bench_pair WHERE bucket < 65;
DROP TABLE bench_student, bench_group, bench_pair;
ANALYZE;
"""

BASELINE_AUDIT_SQL = """
SELECT count(*) FILTER (WHERE e.active AND e.deleted_at IS NULL) AS covered,
       count(*) FILTER (WHERE e.id IS NOT NULL AND NOT (e.active AND e.deleted_at IS NULL)),
       count(*) FILTER (WHERE e.id IS NULL)
FROM (SELECT DISTINCT m.student_id, g.course_id
      FROM legacy_group_member m JOIN legacy_group g ON g.id = m.group_id
      JOIN student s ON s.id = m.student_id AND s.deleted_at IS NULL
      WHERE g.school_id = :school AND m.active) p
LEFT JOIN course_enrollment e ON e.course_id = p.course_id AND e.student_id = p.student_id
"""

BASELINE_BACKFILL_SQL = """
WITH written AS (
  INSERT INTO course_enrollment (id, school_id, course_id, student_id, source)
  SELECT gen_random_uuid(), :school, p.course_id, p.student_id, 'backfill'
  FROM (SELECT DISTINCT m.student_id, g.course_id
        FROM legacy_group_member m JOIN legacy_group g ON g.id = m.group_id
        JOIN student s ON s.id = m.student_id AND s.deleted_at IS NULL
        WHERE g.school_id = :school AND m.active) p
  WHERE NOT EXISTS (SELECT 1 FROM course_enrollment e WHERE e.course_id = p.course_id
                    AND e.student_id = p.student_id AND e.active)
  ON CONFLICT ON CONSTRAINT uq_course_enrollment_once
  DO UPDATE SET active = true, ended_on = NULL, source = 'backfill'
  RETURNING student_id, course_id
)
INSERT INTO course_progress (id, school_id, student_id, course_id)
SELECT gen_random_uuid(), :school, student_id, course_id FROM written
ON CONFLICT ON CONSTRAINT uq_course_progress_once DO NOTHING
"""


def timed_rolled_back(db, work, repeats: int = 2) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        with db.sessions.begin() as session:
            started = time.perf_counter()
            result = work(session)
            best = min(best, time.perf_counter() - started)
            session.rollback()
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200_000)
    parser.add_argument("--data-dir", help="embedded database folder (default: a temp dir)")
    args = parser.parse_args()
    data_dir = Path(args.data_dir) if args.data_dir else scratch_folder("rollbook-bench-backfill-")
    db = open_database(load_settings(data_dir=data_dir))
    code = f"BF{int(time.time())}"
    with db.sessions.begin() as session:
        school = ensure_school(session, code)
    ctx = ServiceContext(school.id, "bench", UserRole.ADMIN)
    params = {"school": school.id, "students": args.students, "courses": COURSES,
              "groups": GROUPS_PER_COURSE}  # fmt: skip
    started = time.perf_counter()
    admin = admin_engine(db)  # the set-up analyses every table: the administrator's
    with admin.begin() as conn:
        for statement in BUILD_SQL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), params)
    admin.dispose()
    build_s = time.perf_counter() - started
    with db.engine.connect() as conn:
        memberships = conn.execute(
            text("SELECT count(*) FROM legacy_group_member WHERE school_id = :school"), params
        ).scalar_one()

    def baseline_audit(session):
        return session.execute(text(BASELINE_AUDIT_SQL), params).one()

    timed_rolled_back(db, baseline_audit, repeats=1)  # warm the cache for both sides
    audit_baseline_s, counts = timed_rolled_back(db, baseline_audit)
    audit_s, audit = timed_rolled_back(db, lambda s: audit_enrollments(s, ctx))
    assert (audit.covered, audit.inactive, audit.missing) == tuple(counts), (audit, counts)

    backfill_baseline_s, _ = timed_rolled_back(
        db, lambda s: s.execute(text(BASELINE_BACKFILL_SQL), params).rowcount
    )
    backfill_s, run = timed_rolled_back(db, lambda s: apply_backfill(s, ctx))
    assert run.succeeded, run.error

    with db.sessions.begin() as session:
        apply_backfill(session, ctx)
    with db.sessions.begin() as session:
        again = plan_backfill(session, ctx).counts
    print(json.dumps({
        "memberships": memberships,
        "audit_s": round(audit_s, 3),
        "audit_baseline_s": round(audit_baseline_s, 3),
        "audit_ratio": round(audit_s / audit_baseline_s, 2),
        "backfill_s": round(backfill_s, 3),
        "backfill_baseline_s": round(backfill_baseline_s, 3),
        "backfill_ratio": round(backfill_s / backfill_baseline_s, 2),
        "pairs": audit.pairs, "missing": audit.missing, "inactive": audit.inactive,
        "enrollments_created": run.value.counts.enrollments_created,
        "enrollments_reactivated": run.value.counts.enrollments_reactivated,
        "second_plan_changes": again.enrollments_created + again.enrollments_reactivated,
        "build_s": round(build_s, 1),
    }))  # fmt: skip
    db.close()


if __name__ == "__main__":
    main()
