"""Student search at scale.

Builds a school with ``rollbook demo-data`` (1,000,000 students by default) in a
throwaway data dir, then runs 200 searches of 1-3 word prefixes taken from real rows
through ``list_students`` — the call the Students page makes — and prints one JSON line:

    {"students", "searches", "p50_ms", "p95_ms", "seq_scans",
     "baseline_p50_ms", "baseline_p95_ms", "ratio"}

``seq_scans`` counts searches whose plan has a sequential scan on student. The baseline
is the same SQL statement run directly on the psycopg connection (no service layer),
measured in the same run; ``ratio`` = p95 / baseline p95. Goal: p95 < 50 ms, index
scans only.

    uv run python tests/benchmarks/bench_search.py [--students N] [--data-dir DIR]

``--data-dir`` keeps (and reuses) the generated school between runs.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scratch import scratch_folder  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from app.cli import main as rollbook  # noqa: E402
from app.config import load_settings  # noqa: E402
from app.db.models import Student  # noqa: E402
from app.runtime import open_database  # noqa: E402
from app.services import student_search as planner  # noqa: E402
from app.services.students import StudentQuery, list_students  # noqa: E402

SEARCHES = 200
PAGE = 100


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def sample_searches(session, school_id, count: int, seed: int) -> list[str]:
    """1-3 word prefixes (2-5 letters) of names, student numbers and e-mails of real rows."""
    rng = random.Random(seed)
    # The same students every run for the same seed, so runs can be compared.
    session.execute(text("SELECT setseed(:fraction)"), {"fraction": (seed % 1000) / 1000})
    rows = session.execute(
        select(Student.first_name, Student.last_name, Student.student_no, Student.email)
        .where(Student.school_id == school_id)
        .order_by(func.random())
        .limit(count)
    ).all()
    searches = []
    for first, last, number, email in rows:
        words = [first, last]
        kind = rng.random()
        if kind < 0.1:
            words = [number]
        elif kind < 0.2 and email:
            words = [email.split("@")[0].split(".")[0]]
        chosen = rng.sample(words, k=min(len(words), rng.randint(1, 3)))
        if rng.random() < 0.3 and first:
            chosen.append(first)
        prefixes = [w.split()[0][: rng.randint(2, 5)] for w in chosen if w and w.split()]
        searches.append(" ".join(prefixes[:3]))
    return searches


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--slowest", type=int, default=3, help="list this many slowest")
    parser.add_argument("--warm-up", type=int, default=SEARCHES,
                        help="searches (another seed) run before measuring; 0 = cold")  # fmt: skip
    args = parser.parse_args()

    data_dir = args.data_dir or scratch_folder("rollbook-bench-search-")
    settings = load_settings(data_dir=data_dir)
    db = open_database(settings)
    with db.sessions.begin() as s:
        existing = s.scalar(select(func.count()).select_from(Student))
    if existing == 0:
        started = time.perf_counter()
        code = rollbook(["--data-dir", str(data_dir), "demo-data", "--students",
                         str(args.students), "--json"])  # fmt: skip
        if code != 0:
            return code
        print(f"demo-data: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    ctx = db.context()
    with db.sessions.begin() as s:
        total = s.scalar(select(func.count()).select_from(Student))
        searches = sample_searches(s, ctx.school_id, SEARCHES, args.seed)

    timings, baseline, seq_scans = [], [], 0
    # Steady state, as in an app that has been open for a while: a different set of
    # searches (another seed) has brought the often-read pages into the cache first.
    with db.sessions.begin() as s:
        warm_up = sample_searches(s, ctx.school_id, args.warm_up, args.seed + 1)
    with db.sessions.begin() as s:
        for search in warm_up:
            list_students(s, ctx, StudentQuery(search=search, limit=PAGE))
    for search in searches:
        query = StudentQuery(search=search, limit=PAGE)
        with db.sessions.begin() as s:
            started = time.perf_counter()
            list_students(s, ctx, query)
            timings.append((time.perf_counter() - started) * 1000)

            count_column = planner.active_course_count_subquery().label("active_course_count")
            stmt = planner._filtered(query, ctx, select(*planner.ROW_COLUMNS, count_column))
            order = planner._sort_columns(query.sort, count_column) + [Student.id]
            compiled = (
                stmt.order_by(*order)
                .offset(0)
                .limit(PAGE + 1)
                .compile(db.engine, compile_kwargs={"literal_binds": True})
            )
            sql = str(compiled)
            raw = s.connection().connection.driver_connection
            started = time.perf_counter()
            raw.execute(sql).fetchall()
            baseline.append((time.perf_counter() - started) * 1000)
            plan = "\n".join(r[0] for r in s.execute(text(f"EXPLAIN {sql}")))
            if "Seq Scan on student" in plan:
                seq_scans += 1
                print(f"seq scan for {search!r}", file=sys.stderr)
    db.close()
    p95, base95 = percentile(timings, 95), percentile(baseline, 95)
    print(json.dumps({
        "students": total,
        "searches": len(searches),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(p95, 2),
        "seq_scans": seq_scans,
        "baseline_p50_ms": round(statistics.median(baseline), 2),
        "baseline_p95_ms": round(base95, 2),
        "ratio": round(p95 / base95, 2) if base95 else None,
        "slowest": sorted(zip(timings, searches, strict=True), reverse=True)[: args.slowest],
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
