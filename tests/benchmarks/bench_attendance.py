"""The attendance register at scale.

Builds, in a throwaway data dir, a school with 1,000,000 attendance marks (by
default): classes of 40 students, each class taking 4 courses, each course taught
to 2 classes, 25 lessons per class and course, every lesson marked. Then, over 100
lessons picked at random, it measures what a teacher waits for:

- opening the register: ``session_register`` (the lesson, its 40 students and their
  marks), the call the register window makes;
- saving 40 marks: ``save_marks`` inside a transaction that is rolled back, so every
  save writes the same amount (the change capture's audit rows included);
- one student's attendance per course: ``course_attendance_summary``, the student
  panel's table;

and prints one JSON line:

    {"marks", "registers", "open_p50_ms", "open_p95_ms", "open_baseline_p95_ms",
     "open_ratio", "open_minimal_sql_p95_ms", "open_vs_minimal_sql", "save_…",
     "save_statements", "summary_…", "seq_scans", "small_table_seq_scans"}

Two baselines, measured in the same run, on the same transaction, per lesson:

- ``baseline``: the service's own statement run straight on the psycopg connection,
  as bench_search does: what the service layer adds (``ratio`` = p95 / its p95);
- ``minimal_sql``: the least SQL that gives this school the same rows, written by
  hand: the register as one join by the lesson's course, class and date (it knows
  every lesson here is for one class and nobody left the course); the save as one
  ``INSERT … ON CONFLICT`` of the 40 marks with no checks; the summary as one grouped
  join without the sessions held. ``vs_minimal_sql`` = p95 / its p95: what the
  register's rules cost (whole-course lessons, students marked before they left, the
  excused-absence rule, one round trip that refuses as a whole).

``save_statements`` is how many statements one
save sends (the goal: 1, one round trip). ``seq_scans`` lists every sequential scan
in the plans of the three service statements on a table of 10,000 rows or more (the
goal: none); ``small_table_seq_scans`` the others (the one-row school table, a
few hundred courses), which the planner rightly reads whole.
Goals: open p95 < 50 ms and open ratio <= 1.5 (against the same statement).

    uv run python tests/benchmarks/bench_attendance.py [--marks N] [--data-dir DIR]

``--data-dir`` keeps (and reuses) the generated school between runs.
"""

from __future__ import annotations

import argparse
import json
import random
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
from scratch import built_school  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

from app.services import attendance  # noqa: E402
from app.services.attendance import Mark  # noqa: E402

CLASS_SIZE = 40
COURSES_PER_CLASS = 4
CLASSES_PER_COURSE = 2
LESSONS = 25  # per class and course, weekly
REGISTERS = 100


def build_school(conn, school_id: uuid.UUID, marks: int) -> None:
    """The school, set-based: a handful of INSERT … SELECT statements."""
    pairs = max(COURSES_PER_CLASS * CLASSES_PER_COURSE,
                round(marks / (CLASS_SIZE * LESSONS)))  # class-and-course pairs  # fmt: skip
    classes = max(CLASSES_PER_COURSE, pairs // COURSES_PER_CLASS)
    courses = classes * COURSES_PER_CLASS // CLASSES_PER_COURSE
    p = {"school": school_id, "classes": classes, "courses": courses, "size": CLASS_SIZE,
         "per_class": COURSES_PER_CLASS, "lessons": LESSONS}  # fmt: skip
    # The load is the benchmark's set-up, not what it measures: the change capture's
    # triggers (and the foreign-key checks) are off for it.
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    conn.execute(text("""
        INSERT INTO course (id, school_id, code, name, term, active)
        SELECT gen_random_uuid(), :school, 'C' || n, 'Course ' || n, 'Year', true
        FROM generate_series(1, :courses) n"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO student (id, school_id, student_no, first_name, last_name, class_name, status)
        SELECT gen_random_uuid(), :school, 'B' || lpad(n::text, 8, '0'),
               (ARRAY['Zoë','Łukasz','Chloé','Søren','Ada','Ben','Omar','Mei'])[1 + n % 8],
               (ARRAY['Müller','Dvořák','O''Brien','García','Smith','Nguyen','Kowalski'])[1 + n % 7]
                   || ' ' || n,
               'K' || ((n - 1) / :size + 1), 'active'
        FROM generate_series(1, :classes * :size) n"""), p)  # fmt: skip
    # Class k takes courses ((k-1)*4 + j) mod courses, j = 0..3: every course is taught
    # to two different classes.
    conn.execute(text("""
        CREATE TEMP TABLE taught ON COMMIT DROP AS
        SELECT 'K' || k.k AS class_name, c.id AS course_id
        FROM generate_series(1, :classes) k CROSS JOIN generate_series(0, :per_class - 1) j
        JOIN course c ON c.school_id = :school
             AND c.code = 'C' || (((k - 1) * :per_class + j) % :courses + 1)"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO course_enrollment (id, school_id, course_id, student_id, active, enrolled_on,
                                       periods, source)
        SELECT gen_random_uuid(), :school, t.course_id, s.id, true, current_date - 200,
               datemultirange(daterange(current_date - 200, NULL)), 'import'
        FROM taught t JOIN student s ON s.school_id = :school AND s.class_name = t.class_name
        """), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO class_session (id, school_id, course_id, class_name, session_date,
                                   start_time, end_time, location, is_recurring,
                                   session_frequency, status)
        SELECT gen_random_uuid(), :school, t.course_id, t.class_name,
               current_date - 190 + 7 * w, '09:00', '09:45', 'Room 1', true, 'weekly',
               'completed'
        FROM taught t, generate_series(0, :lessons - 1) w"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status, note,
                                        minutes_late, marked_by)
        SELECT gen_random_uuid(), :school, cs.id, e.id, m.status,
               CASE m.status WHEN 'excused' THEN 'Doctor' END,
               CASE m.status WHEN 'late' THEN 5 END, 'teacher'
        FROM class_session cs
        JOIN student s ON s.school_id = :school AND s.class_name = cs.class_name
        JOIN course_enrollment e ON e.course_id = cs.course_id AND e.student_id = s.id
        CROSS JOIN LATERAL (SELECT CASE WHEN h < 90 THEN 'present' WHEN h < 94 THEN 'absent'
                                        WHEN h < 98 THEN 'late' ELSE 'excused' END AS status
                            FROM (SELECT abs(hashtext(cs.id::text || s.id::text)) % 100 AS h) x
                           ) m
        WHERE cs.school_id = :school"""), p)  # fmt: skip


def hand_register(raw, session_id: uuid.UUID) -> list:
    """The register as a person would write it: one join by course, class and date."""
    return raw.execute("""
        SELECT e.id, s.id, s.student_no, s.first_name || ' ' || s.last_name, s.class_name,
               a.status, a.note, a.minutes_late
        FROM class_session cs
        JOIN course_enrollment e ON e.course_id = cs.course_id
        JOIN student s ON s.id = e.student_id AND s.class_name = cs.class_name
        LEFT JOIN session_attendance a ON a.session_id = cs.id AND a.enrollment_id = e.id
        WHERE cs.id = %s AND e.periods @> cs.session_date AND s.status = 'active'
        ORDER BY s.sort_name""", (session_id,)).fetchall()  # fmt: skip


def hand_save(raw, school_id, session_id, marks: list[Mark]) -> None:
    raw.execute("""
        INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status, note,
                                        minutes_late, marked_by)
        SELECT gen_random_uuid(), %s, %s, m.e, m.s, m.n, m.l, 'teacher'
        FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::int[]) AS m(e, s, n, l)
        ON CONFLICT (session_id, enrollment_id) DO UPDATE
           SET status = EXCLUDED.status, note = EXCLUDED.note,
               minutes_late = EXCLUDED.minutes_late""",
                (school_id, session_id, [m.enrollment_id for m in marks],
                 [m.status for m in marks], [m.note for m in marks],
                 [m.minutes_late for m in marks]))  # fmt: skip


def hand_summary(raw, student_id) -> list:
    return raw.execute("""
        SELECT c.name, count(a.id),
               count(*) FILTER (WHERE a.status = 'present'), count(*) FILTER (WHERE a.status = 'absent'),
               count(*) FILTER (WHERE a.status = 'late'), count(*) FILTER (WHERE a.status = 'excused')
        FROM course_enrollment e JOIN course c ON c.id = e.course_id
        LEFT JOIN session_attendance a ON a.enrollment_id = e.id
        WHERE e.student_id = %s GROUP BY c.name ORDER BY c.name""", (student_id,)).fetchall()  # fmt: skip


def run_sql(raw, sql: str, params: dict) -> list:
    return raw.execute(sql, params).fetchall()


def flipped(rows) -> list[Mark]:
    """40 marks that differ from the saved ones, so every save writes every row."""
    flip = {"present": "absent", "absent": "present", "late": "present", "excused": "present"}
    return [Mark(r.enrollment_id, flip.get(r.status or "absent", "present")) for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marks", type=int, default=1_000_000)
    parser.add_argument("--registers", type=int, default=REGISTERS)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    db = built_school(
        args.data_dir,
        "rollbook-bench-attendance-",
        "session_attendance",
        lambda conn, school_id: build_school(conn, school_id, args.marks),
    )
    ctx = db.context()
    with db.sessions() as s:
        total = s.scalar(text("SELECT count(*) FROM session_attendance"))
        s.execute(text("SELECT setseed(:f)"), {"f": (args.seed % 1000) / 1000})
        lessons = s.scalars(text("SELECT id FROM class_session ORDER BY random() LIMIT :n"),
                            {"n": args.registers}).all()  # fmt: skip
    rng = random.Random(args.seed)

    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    timings: dict[str, list[float]] = defaultdict(list)

    def timed(name: str, work, *args):
        started = time.perf_counter()
        result = work(*args)
        timings[name].append((time.perf_counter() - started) * 1000)
        return result

    # The service statements as the service sends them, for the baseline that runs the
    # same statement straight on the psycopg connection.
    register_sql, save_sql, summary_sql = (
        str(statement.compile(db.engine))
        for statement in (attendance._REGISTER_SQL, attendance._SAVE_SQL,
                          attendance._SUMMARY_SQL)
    )  # fmt: skip
    save_statements: set[int] = set()
    for lesson in lessons:
        with db.sessions() as s:
            # The transaction is begun (and stamped with the actor) before the clock
            # starts: what is timed is the work, not the opening of a transaction.
            raw = s.connection().connection.driver_connection
            opened = {"session": lesson, "school": ctx.school_id}
            register = timed("open", attendance.session_register, s, ctx, lesson)
            timed("open_same_sql", run_sql, raw, register_sql, opened)
            hand = timed("open_minimal_sql", hand_register, raw, lesson)
            assert len(hand) == len(register.rows), (len(hand), len(register.rows))
            marks = flipped(register.rows)

            statements = 0
            event.listen(db.engine, "before_cursor_execute", count)
            timed("save", attendance.save_marks, s, ctx, lesson, marks)
            event.remove(db.engine, "before_cursor_execute", count)
            save_statements.add(statements)
            s.rollback()
            raw = s.connection().connection.driver_connection
            saved = {**opened, "actor": ctx.actor, "minutes": [m.minutes_late for m in marks],
                     "enrollments": [m.enrollment_id for m in marks],
                     "statuses": [m.status for m in marks], "notes": [m.note for m in marks]}  # fmt: skip
            timed("save_same_sql", run_sql, raw, save_sql, saved)
            s.rollback()
            raw = s.connection().connection.driver_connection
            timed("save_minimal_sql", hand_save, raw, ctx.school_id, lesson, marks)
            s.rollback()

            student = rng.choice(register.rows).student_id
            raw = s.connection().connection.driver_connection
            timed("summary", attendance.course_attendance_summary, s, ctx, student)
            asked = {"student": student, "school": ctx.school_id}
            timed("summary_same_sql", run_sql, raw, summary_sql, asked)
            timed("summary_minimal_sql", hand_summary, raw, student)

    with db.sessions() as s:
        lesson, student = lessons[0], register.rows[0].student_id
        marks = flipped(attendance.session_register(s, ctx, lesson).rows)
        scans = (
            seq_scans(s, attendance._REGISTER_SQL, {"session": lesson, "school": ctx.school_id})
            + seq_scans(s, attendance._SAVE_SQL, {
                "session": lesson, "school": ctx.school_id, "actor": "bench",
                "enrollments": [m.enrollment_id for m in marks],
                "statuses": [m.status for m in marks], "notes": [m.note for m in marks],
                "minutes": [m.minutes_late for m in marks]})
            + seq_scans(s, attendance._SUMMARY_SQL, {"student": student, "school": ctx.school_id})
        )  # fmt: skip
    db.close()

    def p95(name: str) -> float:
        return round(percentile(timings[name], 95), 2)

    def ratio(name: str, baseline: str) -> float | None:
        base = percentile(timings[f"{name}_{baseline}"], 95)
        return round(percentile(timings[name], 95) / base, 2) if base else None

    print(json.dumps({
        "marks": total,
        "registers": len(lessons),
        "register_size": len(register.rows),
        "open_p50_ms": round(statistics.median(timings["open"]), 2),
        "open_p95_ms": p95("open"),
        "open_baseline_p95_ms": p95("open_same_sql"),
        "open_ratio": ratio("open", "same_sql"),
        "open_minimal_sql_p95_ms": p95("open_minimal_sql"),
        "open_vs_minimal_sql": ratio("open", "minimal_sql"),
        "save_p95_ms": p95("save"),
        "save_baseline_p95_ms": p95("save_same_sql"),
        "save_ratio": ratio("save", "same_sql"),
        "save_minimal_sql_p95_ms": p95("save_minimal_sql"),
        "save_vs_minimal_sql": ratio("save", "minimal_sql"),
        "save_statements": sorted(save_statements),
        "summary_p95_ms": p95("summary"),
        "summary_baseline_p95_ms": p95("summary_same_sql"),
        "summary_ratio": ratio("summary", "same_sql"),
        "summary_minimal_sql_p95_ms": p95("summary_minimal_sql"),
        "summary_vs_minimal_sql": ratio("summary", "minimal_sql"),
        "seq_scans": [t for t in scans if int(t.split("(")[1][:-1]) >= SMALL_TABLE_ROWS],
        "small_table_seq_scans": sorted(set(t for t in scans
                                            if int(t.split("(")[1][:-1]) < SMALL_TABLE_ROWS)),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
