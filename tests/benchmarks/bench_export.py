"""The course attendance report at scale, against a raw openpyxl loop.

Builds, in a throwaway data dir, a school whose registers hold 1,000,000 cells (by
default): 10,000 students in five course groups (Biology, Chemistry and Physics taught
to the whole course, Maths taught to 10A and to 10B separately), 100 lessons per group,
every cell marked with a mix of statuses. Then, each in a child process of its own (so
each has its own peak memory), it measures:

- ``report``: the Course attendance report through ``write_report`` into a temporary
  file — the summary with its chart, a register sheet per group, the sessions;
- ``raw``: the least anyone could write to put the same values in a workbook: the
  simplest query (every mark joined to its lesson and student, in register order,
  streamed through a server-side cursor like the report's, so neither side holds the
  million rows), pivoted in Python, appended to openpyxl's write-only workbook (lxml)
  without any styling, title, format or second sheet: student no, name, class, the
  marks, the totals and the rate.

and prints one JSON line:

    {"cells", "cells_per_s", "raw_cells_per_s", "ratio", "peak_rss_mb",
     "raw_peak_rss_mb", "rss_ratio", "rss_growth_mb", "raw_rss_growth_mb", "seconds",
     "raw_seconds", "students", "lessons", "file_mb", "raw_file_mb"}

``cells`` is students x lessons, the grid; both sides are timed from the query to the
saved file (imports and connecting are not timed). ``ratio`` = cells_per_s /
raw_cells_per_s, ``rss_ratio`` = peak_rss_mb / raw_peak_rss_mb (peak RSS of the child,
``ru_maxrss``); ``rss_growth_mb`` is what the work added to the child's peak after its
imports and connection (both stream, so it stays flat as the school grows; the rest of
the peak is what the process loaded before the work began). Goals: ratio >= 0.8 and
rss_ratio <= 1.5.

    uv run python tests/benchmarks/bench_export.py [--cells N] [--lessons N] [--data-dir DIR]

``--data-dir`` keeps (and reuses) the generated school between runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

LESSONS = 100  # per course group
# (course, class taught or None for the whole course, the class of its students)
GROUPS = [("Biology", None, "9A"), ("Chemistry", None, "9B"), ("Physics", None, "9C"),
          ("Maths", "10A", "10A"), ("Maths", "10B", "10B")]  # fmt: skip


def build_school(conn, school_id: uuid.UUID, students: int, lessons: int) -> None:
    """The school, set-based: a handful of INSERT … SELECT statements."""
    from sqlalchemy import text

    p = {"school": school_id, "students": students, "lessons": lessons,
         "groups": len(GROUPS), "course": [g[0] for g in GROUPS],
         "taught": [g[1] for g in GROUPS], "class": [g[2] for g in GROUPS]}  # fmt: skip
    # The load is the benchmark's set-up, not what it measures: the change capture's
    # triggers (and the foreign-key checks) are off for it.
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    conn.execute(text("""
        CREATE TEMP TABLE grp ON COMMIT DROP AS
        SELECT CAST(n - 1 AS integer) AS k, course, taught, class_name
        FROM unnest(CAST(:course AS text[]), CAST(:taught AS text[]), CAST(:class AS text[]))
             WITH ORDINALITY AS g(course, taught, class_name, n)"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO course (id, school_id, code, name, term, active)
        SELECT gen_random_uuid(), :school, upper(left(course, 3)), course, 'Year', true
        FROM (SELECT DISTINCT course FROM grp) c"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO student (id, school_id, student_no, first_name, last_name, class_name, status)
        SELECT gen_random_uuid(), :school, 'X' || lpad(n::text, 8, '0'),
               (ARRAY['Zoë','Łukasz','Chloé','Søren','Ada','Ben','Omar','Mei'])[1 + n % 8],
               (ARRAY['Müller','Dvořák','O''Brien','García','Smith','Nguyen','Kowalski'])[1 + n % 7]
                   || ' ' || n,
               grp.class_name, 'active'
        FROM generate_series(1, :students) n JOIN grp ON grp.k = n % :groups"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO course_enrollment (id, school_id, course_id, student_id, active, enrolled_on,
                                       periods, source)
        SELECT gen_random_uuid(), :school, c.id, s.id, true, DATE '2025-08-01',
               datemultirange(daterange(DATE '2025-08-01', NULL)), 'import'
        FROM grp JOIN course c ON c.school_id = :school AND c.name = grp.course
        JOIN student s ON s.school_id = :school AND s.class_name = grp.class_name"""), p)  # fmt: skip
    # Five lessons a week per group, from September, each group at its own hour.
    conn.execute(text("""
        INSERT INTO class_session (id, school_id, course_id, class_name, session_date,
                                   start_time, end_time, location, is_recurring,
                                   session_frequency, status, topics)
        SELECT gen_random_uuid(), :school, c.id, grp.taught,
               DATE '2025-09-01' + 7 * (w / 5) + w % 5, make_time(8 + grp.k, 0, 0),
               make_time(8 + grp.k, 50, 0), 'Room ' || (grp.k + 1), true, 'weekly', 'completed',
               '["Reading", "Practice"]'
        FROM grp JOIN course c ON c.school_id = :school AND c.name = grp.course
        CROSS JOIN generate_series(0, :lessons - 1) w"""), p)  # fmt: skip
    conn.execute(text("""
        INSERT INTO session_attendance (id, school_id, session_id, enrollment_id, status, note,
                                        minutes_late, marked_by)
        SELECT gen_random_uuid(), :school, cs.id, e.id, m.status,
               CASE m.status WHEN 'excused' THEN 'Doctor' END,
               CASE m.status WHEN 'late' THEN 5 END, 'teacher'
        FROM grp JOIN course c ON c.school_id = :school AND c.name = grp.course
        JOIN class_session cs ON cs.course_id = c.id
             AND cs.class_name IS NOT DISTINCT FROM grp.taught
        JOIN student s ON s.school_id = :school AND s.class_name = grp.class_name
        JOIN course_enrollment e ON e.course_id = c.id AND e.student_id = s.id
        CROSS JOIN LATERAL (SELECT CASE WHEN h < 85 THEN 'present' WHEN h < 92 THEN 'absent'
                                        WHEN h < 97 THEN 'late' ELSE 'excused' END AS status
                            FROM (SELECT abs(hashtext(cs.id::text || s.id::text)) % 100 AS h) x
                           ) m"""), p)  # fmt: skip


# ---------------------------------------------------------------- the two sides (children)
def run_report(url: str, school_id: str, out: Path) -> dict:
    """The report as the Reports page writes it."""
    from app.db.engine import make_engine, make_session_factory
    from app.domain.context import ServiceContext
    from app.domain.enums import UserRole
    from app.jobs import silent_job
    from app.reports.catalog import ReportFilters, ReportKind, write_report

    engine = make_engine(url)
    sessions = make_session_factory(engine, "bench")
    ctx = ServiceContext(school_id=uuid.UUID(school_id), actor="bench", role=UserRole.ADMIN)
    with sessions.begin() as s:
        s.connection()  # connected (and the transaction begun) before the clock starts
        before = peak_rss_mb()
        started = time.perf_counter()
        saved = write_report(s, ctx, silent_job(), ReportKind.COURSE_ATTENDANCE,
                             ReportFilters(), out)  # fmt: skip
        seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "rows": saved.rows, "rss_before_mb": before}


RAW_SQL = """
SELECT cs.course_id, cs.class_name, s.student_no, s.last_name || ', ' || s.first_name,
       s.class_name, a.status
FROM session_attendance a
JOIN class_session cs ON cs.id = a.session_id
JOIN course_enrollment e ON e.id = a.enrollment_id
JOIN student s ON s.id = e.student_id
ORDER BY cs.course_id, cs.class_name, s.sort_name, s.id, cs.session_date, cs.start_time
"""
CODES = {"present": "P", "absent": "A", "late": "L", "excused": "E"}


def run_raw(url: str, out: Path) -> dict:
    """The same values the plainest way: one query, a pivot, write-only openpyxl."""
    import psycopg
    from openpyxl import Workbook

    with (psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn,
          conn.transaction(), conn.cursor(name="raw_marks") as marks_cursor):  # fmt: skip
        marks_cursor.itersize = 10_000
        before = peak_rss_mb()
        started = time.perf_counter()
        book = Workbook(write_only=True)
        ws, group, student, marks = None, None, None, []

        def flush() -> None:
            p, a, late = marks.count("P"), marks.count("A"), marks.count("L")
            rate = (p + late) / (p + a + late) if p + a + late else None
            ws.append([*student, *marks, p, a, late, marks.count("E"), 0, rate])

        for course, taught, number, name, class_name, status in marks_cursor.execute(RAW_SQL):
            if (course, taught) != group:
                if student is not None:
                    flush()
                group, student, marks = (course, taught), None, []
                ws = book.create_sheet()
            if student is None or student[0] != number:
                if student is not None:
                    flush()
                student, marks = (number, name, class_name), []
            marks.append(CODES[status])
        if student is not None:
            flush()
        book.save(out)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss_before_mb": before}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(side: str, url: str, school_id: str, out: str) -> None:
    figures = run_report(url, school_id, Path(out)) if side == "report" else run_raw(url, Path(out))
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def measured(side: str, url: str, school_id: str, out: Path) -> dict:
    """Run one side in a fresh Python process of its own; its figures."""
    finished = subprocess.run(
        [sys.executable, __file__, "--child", side, "--url", url, "--school", school_id,
         "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if finished.returncode != 0:
        raise SystemExit(f"{side} failed:\n{finished.stderr[-3000:]}")
    figures = json.loads(finished.stdout.strip().splitlines()[-1])
    figures["file_mb"] = out.stat().st_size / 2**20
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--lessons", type=int, default=LESSONS)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--child", choices=("report", "raw"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--school", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.school, args.out)
        return 0

    from scratch import built_school
    from sqlalchemy import text

    db = built_school(
        args.data_dir,
        "rollbook-bench-export-",
        "session_attendance",
        lambda conn, school_id: build_school(
            conn, school_id, max(1, args.cells // args.lessons), args.lessons
        ),
    )
    ctx = db.context()
    with db.sessions() as s:
        students = s.scalar(text("SELECT count(*) FROM student"))
        cells = s.scalar(text("SELECT count(*) FROM session_attendance"))
        lessons = s.scalar(text("SELECT count(*) FROM class_session")) // len(GROUPS)
    url = db.engine.url.render_as_string(hide_password=False)
    db.engine.dispose()

    with tempfile.TemporaryDirectory(prefix="rb-export-") as folder:
        report = measured("report", url, str(ctx.school_id), Path(folder) / "report.xlsx")
        raw = measured("raw", url, str(ctx.school_id), Path(folder) / "raw.xlsx")
    db.close()

    cells_per_s, raw_cells_per_s = cells / report["seconds"], cells / raw["seconds"]
    print(json.dumps({
        "cells": cells,
        "cells_per_s": round(cells_per_s),
        "raw_cells_per_s": round(raw_cells_per_s),
        "ratio": round(cells_per_s / raw_cells_per_s, 2),
        "peak_rss_mb": round(report["peak_rss_mb"], 1),
        "raw_peak_rss_mb": round(raw["peak_rss_mb"], 1),
        "rss_ratio": round(report["peak_rss_mb"] / raw["peak_rss_mb"], 2),
        # What the work itself added to the process (after imports and connecting).
        "rss_growth_mb": round(report["peak_rss_mb"] - report["rss_before_mb"], 1),
        "raw_rss_growth_mb": round(raw["peak_rss_mb"] - raw["rss_before_mb"], 1),
        "seconds": round(report["seconds"], 2),
        "raw_seconds": round(raw["seconds"], 2),
        "students": students,
        "lessons": lessons,
        "file_mb": round(report["file_mb"], 1),
        "raw_file_mb": round(raw["file_mb"], 1),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
