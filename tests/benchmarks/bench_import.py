"""Roster import against the same writes done by hand in SQL, and a per-row ORM loop.

Generates a 100,000-row roster (8 columns, 60 courses, about 3 rows per student), then
in one process:

1. hand-written SQL (the baseline): COPY of the file into a temporary staging table,
   then ``INSERT … SELECT … ON CONFLICT`` into course (the 60 courses), student,
   course_enrollment and course_progress, in one committed transaction, with the
   change capture on (the audit_log triggers stay enabled, as in a real import);
2. the import, end to end: read + validate + plan (the preview) + apply (commit) of
   that preview (every row it decided about checked again first), as the import wizard
   does them (``rollbook import students FILE --commit`` skips the
   preview), the backup before the run included (embedded mode takes one);
3. a per-row ORM loop doing find-student / find-course / find-enrollment for each row,
   timed on a 5,000-row sample and scaled.

Fairness. The baseline and the import each load into an embedded database of their own,
created for them in the same run (a fresh data folder, as a new user's first start
makes it; nothing warmed up by hand): both start from the same empty cluster, and
neither pays for the other's rows — neither in bigger indexes nor in the backup the
import takes first (here a new school's: small; bench_backup measures backups of big
databases). Both commit; the figures include the commit.

Rounds. On a small machine timings swing by a fifth from one run to the next (shared cores,
a virtual disk), so the pair — baseline, then import — is measured ``--rounds`` times
(3 by default), each time in new databases; the figures are medians and
``round_ratios`` lists each round's ratio.

``ratio_commit_only`` is the same ratio for what ``import students FILE --commit`` does
(read, validate, apply — which plans again, against the data as it is then): the
import without the wizard's separate preview (estimated from the same run: the apply
here also checks the preview's fingerprints, which the command line has none of).

``peak_rss_mb`` is ru_maxrss read right after the imports, before the ORM loop (which
holds its sample's objects); ``rss_before_import_mb`` is the same figure before the
first import, so the baseline's share (COPY streams the file: small) can be seen.

Prints one JSON line:
    {"rows", "ratio_vs_insert_select", "ratio_vs_orm_loop", "preview_s", "peak_rss_mb",
     "rows_per_s", "insert_select_rows_per_s", "copy_rows_per_s", "orm_rows_per_s", ...}

Goals (issue 21): ratio_vs_insert_select >= 0.8, ratio_vs_orm_loop >= 20,
peak_rss_mb < 500.

    uv run python tests/benchmarks/bench_import.py [--rows N] [--rounds N]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg  # noqa: E402
from scratch import scratch_folder  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from app.config import load_settings  # noqa: E402
from app.db.engine import stop_embedded  # noqa: E402
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


def end_to_end(db, ctx, path: Path) -> tuple[float, float, float]:
    """(read + validate seconds, preview seconds: read + validate + plan, whole import
    seconds)."""
    started = time.perf_counter()
    prepared = prepare(path)
    read = time.perf_counter()
    with db.sessions.begin() as s:
        preview = plan_roster(s, ctx, prepared.validation)
        s.rollback()
    previewed = time.perf_counter()
    with db.sessions.begin() as s:
        # As the wizard does: the apply checks every row the preview decided about.
        outcome = apply_roster(s, ctx, prepared.validation, plan=preview.plan)
    elapsed = time.perf_counter() - started
    assert outcome.applied and not outcome.rejected, outcome.summary()
    return read - started, previewed - started, elapsed


# The same writes as the import's, by hand: the staged file into the real tables. The
# file's students are all new (a fresh school), so every insert creates its row; the
# ON CONFLICT clauses are what a re-run needs and cost what they cost the import.
HAND_SQL = """
ANALYZE hand_stage;

INSERT INTO course (id, school_id, name)
SELECT gen_random_uuid(), %(school)s, min(course) FROM hand_stage GROUP BY lower(course)
ON CONFLICT (school_id, lower(name)) WHERE deleted_at IS NULL DO NOTHING;

INSERT INTO student (id, school_id, student_no, email, first_name, last_name, class_name,
                     grade_level, status)
SELECT DISTINCT ON (student_no) gen_random_uuid(), %(school)s, student_no, email,
       first_name, last_name, class_name, grade::smallint, status
FROM hand_stage ORDER BY student_no
ON CONFLICT (school_id, student_no) WHERE deleted_at IS NULL DO NOTHING;

-- Without these the pairs below are joined row by row (9 s instead of 0.1 s).
SELECT rollbook_analyze('student', ARRAY['id', 'school_id', 'student_no']);
SELECT rollbook_analyze('course');

CREATE TEMP TABLE hand_pair ON COMMIT DROP AS
SELECT DISTINCT s.id AS student_id, c.id AS course_id
FROM hand_stage st
JOIN student s ON s.school_id = %(school)s AND s.deleted_at IS NULL
              AND s.student_no = st.student_no
JOIN course c ON c.school_id = %(school)s AND c.deleted_at IS NULL
             AND lower(c.name) = lower(st.course);

INSERT INTO course_enrollment (id, school_id, course_id, student_id, source, periods)
SELECT gen_random_uuid(), %(school)s, course_id, student_id, 'import',
       datemultirange(daterange(current_date, NULL))
FROM hand_pair ORDER BY student_id, course_id
ON CONFLICT ON CONSTRAINT uq_course_enrollment_once DO NOTHING;

INSERT INTO course_progress (id, school_id, student_id, course_id)
SELECT gen_random_uuid(), %(school)s, student_id, course_id
FROM hand_pair ORDER BY student_id, course_id
ON CONFLICT ON CONSTRAINT uq_course_progress_once DO NOTHING;
"""


def hand_sql(db, ctx, path: Path) -> tuple[float, float]:
    """(COPY seconds, whole load seconds, commit included)."""
    started = time.perf_counter()
    with db.engine.begin() as conn:
        raw = conn.connection.driver_connection
        raw.execute("CREATE TEMP TABLE hand_stage (student_no text, first_name text, "
                    "last_name text, email text, class_name text, grade text, course text, "
                    "status text) ON COMMIT DROP")  # fmt: skip
        with raw.cursor().copy("COPY hand_stage FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                path.open("rb") as handle:  # fmt: skip
            while chunk := handle.read(1 << 16):
                copy.write(chunk)
        copied = time.perf_counter()
        # Client-side binding: the statements go as one script, as the import's do.
        with psycopg.ClientCursor(raw) as cursor:
            cursor.execute(HAND_SQL, {"school": ctx.school_id})
    return copied - started, time.perf_counter() - started


def written_rows(db, ctx) -> dict[str, int]:
    """What a load left in a school, audit entries included: the baseline has to write
    what the import writes."""
    counts = {}
    with db.engine.connect() as conn:
        for table in ("student", "course", "course_enrollment", "course_progress", "audit_log"):
            counts[table] = conn.scalar(
                text(f"SELECT count(*) FROM {table} WHERE school_id = :school"),
                {"school": ctx.school_id},
            )  # fmt: skip
    return counts


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
    parser.add_argument("--rounds", type=int, default=3,
                        help="baseline and import pairs; the figures are their medians")  # fmt: skip
    args = parser.parse_args()
    work = scratch_folder("rollbook-bench-import-")
    roster = work / "roster.csv"
    write_roster(roster, args.rows)
    rounds = [one_round(work, roster, n) for n in range(max(1, args.rounds))]
    ratios = [r["hand_s"] / r["e2e_s"] for r in rounds]
    hand_s = statistics.median(r["hand_s"] for r in rounds)
    e2e_s = statistics.median(r["e2e_s"] for r in rounds)
    copy_s = statistics.median(r["copy_s"] for r in rounds)
    preview_s = statistics.median(r["preview_s"] for r in rounds)
    commit_only_ratio = statistics.median(r["hand_s"] / r["commit_only_s"] for r in rounds)
    last = rounds[-1]
    # The ORM loop is the slow baseline by two orders of magnitude: once is enough.
    db = open_database(load_settings(data_dir=last["data_dir"]))
    orm_s, orm_rows = orm_loop(db, fresh_school(db, "ORM"), roster, args.orm_sample)
    db.close()
    rows = args.rows
    rows_per_s = rows / e2e_s
    orm_rows_per_s = orm_rows / orm_s
    print(json.dumps({
        "rows": rows,
        "ratio_vs_insert_select": round(statistics.median(ratios), 3),
        "ratio_vs_orm_loop": round(rows_per_s / orm_rows_per_s, 1),
        "preview_s": round(preview_s, 2),
        "ratio_commit_only": round(commit_only_ratio, 3),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds),
        "rows_per_s": round(rows_per_s),
        "insert_select_rows_per_s": round(rows / hand_s),
        "copy_rows_per_s": round(rows / copy_s),
        "orm_rows_per_s": round(orm_rows_per_s),
        "end_to_end_s": round(e2e_s, 2),
        "insert_select_s": round(hand_s, 2),
        "copy_s": round(copy_s, 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "rss_before_import_mb": rounds[0]["rss_before_mb"],
        "orm_sample_rows": orm_rows,
        "written": last["written"],
    }))  # fmt: skip
    return 0


def one_round(work: Path, roster: Path, number: int) -> dict:
    """The baseline, then the import, each into a database of its own, new as a first
    start makes it: the same starting point for both, whatever the other left behind
    (see Fairness above). Each is stopped after its load, so that its autovacuum of the
    rows just loaded never runs beside the next measurement."""
    hand_settings = load_settings(data_dir=work / f"hand-{number}")
    db = open_database(hand_settings)
    hand_ctx = fresh_school(db, "HAND")
    copy_s, hand_s = hand_sql(db, hand_ctx, roster)
    written_by_hand = written_rows(db, hand_ctx)
    db.close()
    stop_embedded(hand_settings.pgdata_dir)
    import_settings = load_settings(data_dir=work / f"import-{number}")
    db = open_database(import_settings)
    import_ctx = fresh_school(db, "BENCH")
    rss_before = _rss_mb()
    read_s, preview_s, e2e_s = end_to_end(db, import_ctx, roster)
    peak_rss = _rss_mb()
    written = written_rows(db, import_ctx)
    assert written == written_by_hand, (written, written_by_hand)
    db.close()
    stop_embedded(import_settings.pgdata_dir)
    # What ``import students FILE --commit`` does: read, validate, apply (which plans
    # again, against the data as it is then); the wizard's preview comes on top.
    commit_only_s = read_s + (e2e_s - preview_s)
    return {"hand_s": hand_s, "copy_s": copy_s, "e2e_s": e2e_s, "preview_s": preview_s,
            "commit_only_s": commit_only_s,
            "peak_rss_mb": peak_rss, "rss_before_mb": rss_before, "written": written,
            "data_dir": import_settings.data_dir}  # fmt: skip


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


if __name__ == "__main__":
    sys.exit(main())
