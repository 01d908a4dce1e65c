"""What the benchmarks share about timings and query plans: the percentile of a list of
timings, and which tables a statement's plan reads by a sequential scan."""

from __future__ import annotations

from sqlalchemy import text

# A table this small is read whole faster than through an index (the school table has
# one row); the planner is right to, and the goal of no sequential scans is about the
# tables that grow with the school.
SMALL_TABLE_ROWS = 10_000


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def seq_scans(session, statement, params: dict) -> list[str]:
    """The tables a statement's plan reads by a sequential scan, as "table (rows)".
    EXPLAIN without ANALYZE: the plan the server would run, writing nothing."""
    plan = session.execute(text("EXPLAIN (FORMAT JSON) " + statement.text), params).scalar()
    found: list[str] = []

    def walk(node: dict) -> None:
        if node.get("Node Type") == "Seq Scan":
            table = node["Relation Name"]
            rows = session.scalar(text("SELECT count(*) FROM " + table))
            found.append(f"{table} ({rows})")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found
