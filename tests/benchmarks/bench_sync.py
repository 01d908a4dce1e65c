"""Offline sync at scale: the first copy of a school, a push and a pull, against COPY.

Two embedded clusters in one throwaway folder, as a school has them: a "server" (set
up with ``init_server``, as ``rollbook server init`` does) and a "desktop". The server's
school gets ``--students`` students (100,000 by default) with 3 enrollments each — a
course_enrollment and a course_progress row per pair, 60 courses — written set-based
in SQL with the change capture on, then analysed. On the desktop cluster, a migrated
database is the template of the two compared, each new and without a school:

1. the baseline, ``copy_rows_per_s``: plain COPY of exactly the rows the first copy
   moves (every synced table's rows of the school; ``initial_rows`` counts them, and
   both must move the same number) from the server (``COPY (SELECT …) TO STDOUT``,
   binary, in one REPEATABLE READ snapshot) into the desktop database
   (``COPY … FROM STDIN``), table by table, parents first, in one committed
   transaction, with the desktop's capture triggers and foreign keys on, captured as
   origin ``sync`` like the sync's writes: the triggers are part of what a copy costs;
2. ``initial_rows_per_s``: ``sync_once`` of a registered desktop with no school yet
   (hello, the school row, the resumable paged copy, an empty push and pull, the sync
   state kept), copied rows over its seconds; ``initial_ratio`` is this over the COPY.

The baseline's database is dropped and both clusters checkpointed before the sync is
timed, so neither pays for the other's leftover writes. The copy is timed once (minutes
at full size). The tables the copy filled are then vacuumed and analysed (untimed, as
autovacuum would after such a load), and ``--rounds`` times (3; the figures are the
medians, so one slow round — a new server's first push, say — does not decide them;
``round_push_s`` and ``round_pull_s`` list every round), each round on students of its
own, both clusters checkpointed before each timed step:

3. ``push_ops_per_s``: ``--ops`` (10,000) offline operations made with plain SQL in 10
   local transactions of a tenth each — 70% updates of students' class_name, 10% new
   students, 10% their enrollments, 10% their course_progress rows — are pushed by
   ``app.sync.push.push`` (the part of a sync that pushes, over a connection already
   open, as ``sync_once`` has it after its hello): pushed operations over its seconds.
   ``echo_s`` is the pull that follows, untimed in the figures: the pushed rows come
   back from the server (with the server's row versions) and are written again here;
4. ``pull_ops_per_s``: the same mix made on the server with plain SQL (other students),
   in 10 transactions, is pulled by ``app.sync.pull.pull``: the rows it sent and wrote
   here (each one changed; checked) over its seconds.

Then a desktop back after a term away: ``--ops`` operations made offline on the desktop
and as many on the server, the desktop's last contact moved 200 days back and the
server pruned (``rollbook server prune --commit``'s code), so that the desktop must
re-initialise:

5. ``reinit_rows_per_s``: ``app.sync.reinit.reinitialise`` (hello, the push of the
   waiting operations, the whole school read again and brought here in one local
   transaction): the rows it read over its seconds; ``reinit_ratio`` is this over the
   COPY baseline. Every waiting operation must be pushed and every server change
   written (checked).

Prints one JSON line:
    {"push_ops_per_s", "initial_rows_per_s", "copy_rows_per_s", "initial_ratio",
     "pull_ops_per_s", "students", "initial_rows", "initial_s", "copy_s", "push_ops",
     "push_s", "pull_rows", "pull_s", "echo_s", "round_push_s", "round_pull_s",
     "reinit_rows_per_s", "reinit_ratio", "reinit_s", ...}

Goals (2-core machine): initial_ratio >= 0.3, push_ops_per_s >= 2,000,
pull_ops_per_s >= 5,000.

    uv run python tests/benchmarks/bench_sync.py [--students N] [--ops N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from scratch import scratch_folder  # noqa: E402
from sqlalchemy import make_url, text  # noqa: E402

from app.db import migrate  # noqa: E402
from app.db.engine import make_engine, make_session_factory, start_embedded, stop_embedded  # noqa: E402
from app.db.roles import app_url  # noqa: E402
from app.school_server import with_password  # noqa: E402
from app.sync.engine import sync_once  # noqa: E402
from app.sync.link import ServerLink  # noqa: E402
from app.sync.prune import prune_tombstones  # noqa: E402
from app.sync.pull import pull  # noqa: E402
from app.sync.push import pending_transactions, push  # noqa: E402
from app.sync.reinit import reinitialise  # noqa: E402
from app.sync.server import accepted_revisions, add_device, init_server  # noqa: E402
from app.sync.tables import SYNCED_TABLES  # noqa: E402

SCHOOL = "BENCH"
DEVICE = "desk"
COURSES = 60
PER_STUDENT = 3
TRANSACTIONS = 10
FIRST = ["Zoë", "José", "Łukasz", "Anna", "Ben", "Chloé", "Søren", "Mia", "Omar", "Aoife"]
LAST = ["Müller", "Ñúñez", "Kowalska", "O'Brien", "Dvořák", "Smith", "García López", "Lee"]


def database(url: str, name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the cluster of ``url``."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def admin(url: str, *statements: str) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


# The school's rows, set-based. Course k of student n: (7n + 20k) mod 60, so a
# student's three courses differ. Plain SQL: the capture records it as the database
# user's, origin local, as on a server filled by an import.
BUILD = """
INSERT INTO course (id, school_id, name, code)
SELECT gen_random_uuid(), %(school)s, 'Course ' || lpad(n::text, 2, '0'), 'C' || n
FROM generate_series(0, %(courses)s - 1) n;

INSERT INTO student (id, school_id, student_no, first_name, last_name, email, class_name,
                     grade_level, status)
SELECT gen_random_uuid(), %(school)s, lpad(n::text, 7, '0'),
       (%(first)s::text[])[1 + n %% 10], (%(last)s::text[])[1 + (n / 10) %% 8],
       's' || n || '@example.org', (1 + n %% 12) || substr('ABC', 1 + n %% 3, 1),
       1 + n %% 12, 'active'
FROM generate_series(0, %(students)s - 1) n;

CREATE TEMP TABLE bench_pair ON COMMIT DROP AS
SELECT s.id AS student_id, c.id AS course_id
FROM (SELECT id, row_number() OVER (ORDER BY student_no) - 1 AS n FROM student
      WHERE school_id = %(school)s) s
CROSS JOIN generate_series(0, %(per_student)s - 1) k
JOIN (SELECT id, row_number() OVER (ORDER BY name) - 1 AS r FROM course
      WHERE school_id = %(school)s) c ON c.r = (s.n * 7 + k * 20) %% %(courses)s;

INSERT INTO course_enrollment (id, school_id, course_id, student_id, source, periods)
SELECT gen_random_uuid(), %(school)s, course_id, student_id, 'import',
       datemultirange(daterange(current_date, NULL))
FROM bench_pair;

INSERT INTO course_progress (id, school_id, student_id, course_id)
SELECT gen_random_uuid(), %(school)s, student_id, course_id FROM bench_pair;
"""


# What autovacuum would do after a load: the tables it filled, vacuumed and analysed.
# Not the sync's own tables: analysed while still empty, a plan made then could take a
# table that has since grown for an empty one (sync_applied_op, read once per pushed
# operation, is scanned whole each time), which autovacuum never leads to.
LOADED = "VACUUM ANALYZE school, course, student, course_enrollment, course_progress, audit_log"


def build_server(url: str, students: int):
    """The server, set up, with its school filled; the school's id."""
    init_server(url, school_code=SCHOOL, school_name="Bench School")
    with psycopg.ClientCursor(psycopg.connect(libpq(url))) as cursor:
        school = cursor.execute("SELECT id FROM school WHERE code = %s", (SCHOOL,)).fetchone()[0]
        cursor.execute(BUILD, {"school": school, "courses": COURSES, "students": students,
                               "per_student": PER_STUDENT, "first": FIRST, "last": LAST})  # fmt: skip
        cursor.connection.commit()
        cursor.connection.close()
    admin(url, LOADED, "CHECKPOINT")
    return school


def copy_baseline(server_url: str, target_url: str, school) -> tuple[float, int]:
    """Plain COPY of the school's rows from the server into ``target_url``: (seconds,
    rows), the commit included."""
    rows = 0
    with psycopg.connect(libpq(server_url)) as source, \
            psycopg.connect(libpq(target_url)) as target:  # fmt: skip
        # Every table read from one snapshot, as the sync's pages are.
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        source.read_only = True
        columns = {
            table: [r[0] for r in target.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (f"public.{table}",))]
            for table in SYNCED_TABLES
        }  # fmt: skip
        target.commit()
        started = time.perf_counter()
        # What the sync writes is captured as origin sync; the capture runs here too.
        target.execute("SELECT set_config('rollbook.origin', 'sync', true)")
        for table in SYNCED_TABLES:
            names = sql.SQL(", ").join(map(sql.Identifier, columns[table]))
            key = sql.Identifier("id" if table == "school" else "school_id")
            out = sql.SQL("COPY (SELECT {} FROM {} WHERE {} = {}) TO STDOUT (FORMAT binary)"
                          ).format(names, sql.Identifier(table), key, sql.Literal(school))  # fmt: skip
            into = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
                sql.Identifier(table), names)  # fmt: skip
            writer = target.cursor()
            with source.cursor().copy(out) as reading, writer.copy(into) as writing:
                for chunk in reading:
                    writing.write(chunk)
            rows += writer.rowcount
        target.commit()
        elapsed = time.perf_counter() - started
        source.rollback()
    return elapsed, rows


def offline_changes(run, ops: int, offset: int, tag: str) -> None:
    """``ops`` changes in TRANSACTIONS transactions, made with plain SQL through
    ``run(statement, params)`` (one call per transaction): per transaction 70% updates of
    existing students (from student number ``offset`` on), 10% new students, 10% their
    enrollments and 10% their progress rows."""
    per_tx = ops // TRANSACTIONS
    new = per_tx // 10
    updates = per_tx - 3 * new
    for n in range(TRANSACTIONS):
        run("""
            UPDATE student SET class_name = class_name || %(tag)s
            WHERE school_id = %(school)s AND student_no IN (
                SELECT lpad(g::text, 7, '0') FROM generate_series(%(first)s, %(last)s) g);
            CREATE TEMP TABLE bench_new ON COMMIT DROP AS
            SELECT gen_random_uuid() AS id, %(tag)s || '-' || %(n)s || '-' || g AS student_no,
                   (SELECT id FROM course WHERE school_id = %(school)s ORDER BY name
                    OFFSET g %% 60 LIMIT 1) AS course_id
            FROM generate_series(1, %(new)s) g;
            INSERT INTO student (id, school_id, student_no, first_name, last_name, class_name,
                                 grade_level)
            SELECT id, %(school)s, student_no, 'New', 'Student', '1A', 1 FROM bench_new;
            INSERT INTO course_enrollment (id, school_id, course_id, student_id, source, periods)
            SELECT gen_random_uuid(), %(school)s, course_id, id, 'manual',
                   datemultirange(daterange(current_date, NULL)) FROM bench_new;
            INSERT INTO course_progress (id, school_id, student_id, course_id)
            SELECT gen_random_uuid(), %(school)s, id, course_id FROM bench_new;
        """, {"tag": tag, "n": n, "new": new, "first": offset + n * updates,
              "last": offset + (n + 1) * updates - 1})  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--ops", type=int, default=10_000,
                        help="operations pushed, and changes pulled (a multiple of 100)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3,
                        help="pushes and pulls timed; the figures are their medians")  # fmt: skip
    args = parser.parse_args()
    ops = max(100, args.ops // 100 * 100)
    rounds = max(1, args.rounds)
    # Every round's push and pull update students of their own.
    # … and so does the re-initialise after them.
    if (rounds + 1) * 2 * ops * 7 // 10 > args.students:
        parser.error("--students must be at least 1.4 x --ops x (--rounds + 1)")

    work = scratch_folder("rollbook-bench-sync-")
    server_pgdata, desktop_pgdata = work / "server" / "pgdata", work / "desktop" / "pgdata"
    (work / "server").mkdir()
    (work / "desktop").mkdir()
    server_url = start_embedded(server_pgdata)
    desktop_cluster = start_embedded(desktop_pgdata)
    try:
        started = time.perf_counter()
        school = build_server(server_url, args.students)
        print(f"server school: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        figures = measure(server_url, desktop_cluster, school, args.students, ops, rounds)
    finally:
        stop_embedded(desktop_pgdata)
        stop_embedded(server_pgdata)
    print(json.dumps(figures))
    return 0


def measure(server_url: str, desktop_cluster: str, school, students: int, ops: int,
            rounds_wanted: int) -> dict:  # fmt: skip
    # A migrated database with no school: each compared database is a copy of it.
    engine = make_engine(desktop_cluster)
    migrate.upgrade(engine)
    engine.dispose()
    template = make_url(desktop_cluster).database
    for name in ("baseline", "desktop"):
        admin(desktop_cluster, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    baseline_url = database(desktop_cluster, "baseline")
    desktop_url = database(desktop_cluster, "desktop")

    copy_s, copy_rows = copy_baseline(server_url, baseline_url, school)
    admin(desktop_cluster, 'DROP DATABASE "baseline" WITH (FORCE)', "CHECKPOINT")
    admin(server_url, "CHECKPOINT")

    # As a desktop works: its database as the app's role, the server as its own login.
    device = add_device(server_url, school_code=SCHOOL, name=DEVICE)
    device_url = with_password(device.url, device.password)
    engine = make_engine(app_url(desktop_url))
    sessions = make_session_factory(engine, "registrar")
    revision = accepted_revisions()[0]
    started = time.perf_counter()
    report = sync_once(sessions, device_url, school_code=SCHOOL, device_name=DEVICE,
                       revision=revision)  # fmt: skip
    initial_s = time.perf_counter() - started
    assert report.status == "synced", report
    assert report.copied_rows == copy_rows, (report.copied_rows, copy_rows)
    admin(desktop_url, LOADED, "CHECKPOINT")
    admin(server_url, "CHECKPOINT")

    with sessions.begin() as s:
        school_id, device_id = s.execute(text("SELECT school_id, device_id FROM sync_state")).one()

    def on_desktop(statement: str, params: dict) -> None:
        with sessions.begin() as s:
            raw = s.connection().connection.driver_connection
            with psycopg.ClientCursor(raw) as cursor:
                cursor.execute(statement, {**params, "school": school_id})

    def on_server(statement: str, params: dict) -> None:
        with psycopg.connect(libpq(server_url)) as conn, psycopg.ClientCursor(conn) as cursor:
            cursor.execute(statement, {**params, "school": school_id})

    def settle() -> None:
        """Both clusters checkpointed: a timed phase starts with nothing left to flush."""
        admin(desktop_url, "CHECKPOINT")
        admin(server_url, "CHECKPOINT")

    updates = ops * 7 // 10
    rounds: list[dict] = []
    with ServerLink(device_url) as link:
        for number in range(rounds_wanted):
            # Each round changes students of its own: the push's, then the pull's.
            offset = number * 2 * updates
            offline_changes(on_desktop, ops, offset, f"d{number}")
            with sessions.begin() as s:
                floor = s.execute(text("SELECT push_floor FROM sync_state")).scalar_one()
                pending = sum(len(tx.entries)
                              for tx in pending_transactions(s, school_id, floor)[0])  # fmt: skip
            assert pending == ops, (pending, ops)
            settle()
            link.call("rollbook_sync_hello", SCHOOL, DEVICE)  # the connection a sync has open
            started = time.perf_counter()
            pushed = push(sessions, link, school_id=school_id, device_id=device_id,
                          revision=revision)  # fmt: skip
            push_s = time.perf_counter() - started
            assert pushed.operations == ops and pushed.applied == ops, pushed
            started = time.perf_counter()
            echo = pull(sessions, link, school_id=school_id, device_id=device_id)
            echo_s = time.perf_counter() - started

            offline_changes(on_server, ops, offset + updates, f"s{number}")
            settle()
            link.call("rollbook_sync_hello", SCHOOL, DEVICE)
            started = time.perf_counter()
            pulled = pull(sessions, link, school_id=school_id, device_id=device_id)
            pull_s = time.perf_counter() - started
            # A pull may send again rows a transaction near its cursor already brought (the
            # cursor is the oldest transaction running when the last pull read the server —
            # an autovacuum's ANALYZE, say); those are equal here and not written.
            assert pulled.rows >= ops and pulled.written == ops and not pulled.refused, pulled
            rounds.append({"push_s": push_s, "push_transactions": pushed.transactions,
                           "echo_s": echo_s, "echo_rows": echo.rows, "pull_s": pull_s})  # fmt: skip
            print(f"round {number + 1}: push {push_s:.2f} s, pull {pull_s:.2f} s",
                  file=sys.stderr)  # fmt: skip

    # A term away: changes on both sides, then the server's prune asks for a re-initialise.
    offset = len(rounds) * 2 * updates
    offline_changes(on_desktop, ops, offset, "dr")
    offline_changes(on_server, ops, offset + updates, "sr")
    admin(server_url, "UPDATE sync_device SET last_seen_at = now() - interval '200 days'")
    pruned = prune_tombstones(server_url, commit=True)
    assert [d.name for d in pruned.devices] == [DEVICE], pruned
    assert sync_once(sessions, device_url, school_code=SCHOOL, device_name=DEVICE,
                     revision=revision).status == "reinit_required"  # fmt: skip
    settle()
    started = time.perf_counter()
    again = reinitialise(sessions, device_url, school_code=SCHOOL, device_name=DEVICE,
                         revision=revision)  # fmt: skip
    reinit_s = time.perf_counter() - started
    assert again.pushed_operations == ops and again.open_conflicts == 0, again
    # The server's changes, and the pushed rows as the server keeps them.
    assert again.changed_rows >= ops and again.removed_rows == 0, again
    print(f"re-initialise: {reinit_s:.2f} s", file=sys.stderr)

    with sessions.begin() as s:
        here = s.execute(text("SELECT count(*) FROM student")).scalar_one()
    engine.dispose()
    with psycopg.connect(libpq(server_url)) as conn:
        there = conn.execute("SELECT count(*) FROM student").fetchone()[0]
    assert here == there == students + 2 * (len(rounds) + 1) * ops // 10, (here, there)
    push_s = statistics.median(r["push_s"] for r in rounds)
    pull_s = statistics.median(r["pull_s"] for r in rounds)
    initial_rows_per_s = copy_rows / initial_s
    copy_rows_per_s = copy_rows / copy_s
    return {
        "push_ops_per_s": round(ops / push_s),
        "initial_rows_per_s": round(initial_rows_per_s),
        "copy_rows_per_s": round(copy_rows_per_s),
        "initial_ratio": round(initial_rows_per_s / copy_rows_per_s, 3),
        "pull_ops_per_s": round(ops / pull_s),
        "students": students,
        "initial_rows": copy_rows,
        "initial_s": round(initial_s, 2),
        "copy_s": round(copy_s, 2),
        "push_ops": ops,
        "push_transactions": rounds[-1]["push_transactions"],
        "push_s": round(push_s, 2),
        "pull_rows": ops,
        "pull_s": round(pull_s, 2),
        "echo_rows": rounds[-1]["echo_rows"],
        "echo_s": round(statistics.median(r["echo_s"] for r in rounds), 2),
        "round_push_s": [round(r["push_s"], 2) for r in rounds],
        "round_pull_s": [round(r["pull_s"], 2) for r in rounds],
        "reinit_rows_per_s": round(again.copied_rows / reinit_s),
        "reinit_ratio": round(again.copied_rows / reinit_s / copy_rows_per_s, 3),
        "reinit_rows": again.copied_rows,
        "reinit_s": round(reinit_s, 2),
    }  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
