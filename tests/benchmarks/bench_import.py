"""Roster import throughput against a raw COPY and a naive per-row ORM loop.

Generates a 100,000-row roster (8 columns, 60 courses, about 3 rows per student), then
in one process and against the same embedded PostgreSQL:
- end to end: read + validate + plan (dry run) + apply (commit) into an empty school;
- baseline (a): psycopg COPY of the same file into an unindexed table;
- baseline (b): a per-row ORM loop doing find-student / find-course / find-enrollment
  for each row, timed on a 5,000-row sample and scaled.

Prints one JSON line:
    {"rows", "rows_per_s", "copy_rows_per_s", "orm_rows_per_s", "ratio_vs_copy",
     "ratio_vs_orm_loop", "peak_rss_mb", ...}

    uv run python tests/benchmarks/bench_import.py [--rows N]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scratch import scratch_folder  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app.config import load_settings  # noqa: E402
from app.db.models import Course, CourseEnrollment, CourseProgress, Student  # noqa: E402
from app.imports.roster import apply_roster, plan_roster  # noqa: E402
from app.imports.service import prepare  # noqa: E402
from app.runtime import open_database  # noqa: E402
from app.services.schools import ensure_school  # noqa: E402

FIRST = ["Zoë", "José", "Łukasz", "Anna", "Ben", "Chloé", "Søren", "Mia", "Omar", "Aoife"]
LAST = ["Müller", "Ñúñez", "Kowalska", "O'Brien", "Dvořák", "Smith", "García López", "Lee"]
HEADER = [
    "student_no",
    "first_name",
    "last_name",
    "email",
    "class_name",
    "grade",
    "course",
    "status",
]


def write_roster(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    courses = [f"Course {n:02d}" for n in range(60)]
    students = rows // 3 + 1
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        written = 0
        for n in range(students):
            grade = 1 + n % 12
            first, last = rng.choice(FIRST), rng.choice(LAST)
            for course in rng.sample(courses, 3):
                if written == rows:
                    return
                writer.writerow([f"{n:07d}", first, last, f"s{n}@example.org",
                                 f"{grade}{'ABC'[n % 3]}", grade, course, "active"])  # fmt: skip
                written += 1


def fresh_school(db, code: str):
    with db.sessions.begin() as s:
        school = ensure_school(s, code)
    from app.domain.context import ServiceContext

    return ServiceContext(school.id, "bench")


def end_to_end(db, ctx, path: Path) -> float:
    started = time.perf_counter()
    prepared = prepare(path)
    with db.sessions.begin() as s:
        plan_roster(s, ctx, prepared.validation)
        s.rollback()
    with db.sessions.begin() as s:
        outcome = apply_roster(s, ctx, prepared.validation)
    elapsed = time.perf_counter() - started
    assert outcome.applied and not outcome.rejected, outcome.summary()
    return elapsed


def raw_copy(db, path: Path) -> float:
    with db.engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.execute("CREATE TEMP TABLE copy_baseline (student_no text, first_name text, "
                    "last_name text, email text, class_name text, grade text, course text, "
                    "status text) ON COMMIT DROP")  # fmt: skip
        started = time.perf_counter()
        with raw.cursor().copy("COPY copy_baseline FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                path.open("rb") as handle:  # fmt: skip
            while chunk := handle.read(1 << 16):
                copy.write(chunk)
        return time.perf_counter() - started


def orm_loop(db, ctx, path: Path, sample: int) -> tuple[float, int]:
    """The naive way: one lookup after another, per row."""
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:sample]
    started = time.perf_counter()
    with db.sessions.begin() as s:
        for row in rows:
            student = s.scalar(select(Student).where(Student.school_id == ctx.school_id,
                                                     Student.student_no == row["student_no"]))  # fmt: skip
            if student is None:
                student = Student(school_id=ctx.school_id, student_no=row["student_no"],
                                  first_name=row["first_name"], last_name=row["last_name"],
                                  email=row["email"], class_name=row["class_name"],
                                  grade_level=int(row["grade"]), status=row["status"])  # fmt: skip
                s.add(student)
                s.flush()
            course = s.scalar(select(Course).where(Course.school_id == ctx.school_id,
                                                   func.lower(Course.name) == row["course"].lower()))  # fmt: skip
            if course is None:
                course = Course(school_id=ctx.school_id, name=row["course"])
                s.add(course)
                s.flush()
            enrollment = s.scalar(select(CourseEnrollment).where(
                CourseEnrollment.course_id == course.id, CourseEnrollment.student_id == student.id))  # fmt: skip
            if enrollment is None:
                s.add(CourseEnrollment(school_id=ctx.school_id, course_id=course.id,
                                       student_id=student.id, source="import"))  # fmt: skip
                s.add(CourseProgress(school_id=ctx.school_id, course_id=course.id,
                                     student_id=student.id))  # fmt: skip
                s.flush()
    return time.perf_counter() - started, len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description="Roster import benchmark")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--orm-sample", type=int, default=5_000)
    args = parser.parse_args()
    work = scratch_folder("rollbook-bench-import-")
    roster = work / "roster.csv"
    write_roster(roster, args.rows)
    db = open_database(load_settings(data_dir=work / "data"))
    copy_s = raw_copy(db, roster)
    e2e_s = end_to_end(db, fresh_school(db, "BENCH"), roster)
    orm_s, orm_rows = orm_loop(db, fresh_school(db, "ORM"), roster, args.orm_sample)
    db.close()
    rows = args.rows
    rows_per_s = rows / e2e_s
    copy_rows_per_s = rows / copy_s
    orm_rows_per_s = orm_rows / orm_s
    print(json.dumps({
        "rows": rows,
        "rows_per_s": round(rows_per_s),
        "copy_rows_per_s": round(copy_rows_per_s),
        "orm_rows_per_s": round(orm_rows_per_s),
        "ratio_vs_copy": round(rows_per_s / copy_rows_per_s, 3),
        "ratio_vs_orm_loop": round(rows_per_s / orm_rows_per_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "end_to_end_s": round(e2e_s, 2),
        "copy_s": round(copy_s, 3),
        "orm_sample_rows": orm_rows,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
