"""Benchmark the views people query: the README's example queries and the views' usual queries
at 1, 5, 10 and 20 years of history, before and after the load totals (migration
0007_load_totals), on the same data.

    .venv/bin/python bench/views.py              # markdown table, median of 30 runs each
    .venv/bin/python bench/views.py --clock cpu  # the same in CPU time (a shared machine)
    .venv/bin/python bench/views.py --plans      # EXPLAIN QUERY PLAN of each README query

A runner-year is built in code (tests/views_support.py: 4-6 runs a week, rides and walks, a
shoe every 5 months, ~75 alerts) and saved through the store's writers. "after" is this
calfsync; "before" is the same file with the schema's read side as it was before 0007: the
views aggregating ``activities`` again, the totals' triggers and the two indexes dropped.
Each figure is the median wall time of executing the query and fetching every row (sqlite3,
warm page cache). "save one run" is one more run saved with ``save_activities`` (its
transaction, its fsync and, after, the triggers keeping the totals); "import a year" saves a
year of activities in one call, once.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from views_support import NOW, VIEW_QUERIES, build_db, make_history, readme_queries  # noqa: E402

from calfsync.model import Activity  # noqa: E402
from calfsync.store.activities import save_activities  # noqa: E402
from calfsync.store.db import open_db  # noqa: E402
from calfsync.store.views import COUNTED, counted  # noqa: E402

WEEK = "date(local_date, '-' || ((CAST(strftime('%w', local_date) AS INTEGER) + 6) % 7) || ' days')"
LOAD = (
    "COUNT(*) AS runs, SUM(distance_m) AS distance_m, SUM(ascent_m) AS ascent_m, "
    "SUM(moving_time_s) AS moving_time_s"
)
# The load views as they were before migration 0007 (store/views.py at commit 8ed9081).
OLD_VIEWS = {
    "daily_load": f"SELECT local_date, {LOAD} FROM activities WHERE {COUNTED} GROUP BY local_date",
    "weekly_load": f"SELECT {WEEK} AS week_start, {LOAD} FROM activities WHERE {COUNTED} "
    "GROUP BY week_start",
    "shoe_mileage": "SELECT g.id AS gear_id, g.name, g.brand, g.model, g.drop_mm, g.minimalist, "
    "g.retired, g.retire_at_m, COUNT(a.id) AS runs, COALESCE(SUM(a.distance_m), 0) AS "
    "run_distance_m, g.distance_m AS reported_distance_m, MIN(a.local_date) AS first_run, "
    "MAX(a.local_date) AS last_run FROM gear g LEFT JOIN activities a ON a.gear_id = g.id AND "
    f"{counted('a.')} GROUP BY g.id",
}
# What a figure measures: wall time (default) or this thread's CPU time (--clock cpu: steadier
# when other work shares the machine).
CLOCK = [time.perf_counter_ns]
NEW_OBJECTS = (
    "TRIGGER activities_totals_insert",
    "TRIGGER activities_totals_update",
    "TRIGGER activities_totals_delete",
    "INDEX idx_activities_gear",
    "INDEX idx_alerts_local_date",
)


def queries() -> dict[str, str]:
    """name -> SQL: the README's examples first, then the views' usual queries."""
    found = {f"README: {sql}": sql for sql in readme_queries()}
    found.update({name: sql for name, (sql, _flat) in VIEW_QUERIES.items()})
    return found


def median_ms(db: object, sql: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = CLOCK[0]()
        db.execute(sql).fetchall()
        times.append(CLOCK[0]() - t0)
    return statistics.median(times) / 1e6


def save_one_ms(db: object, repeat: int, tag: str, first_day: int) -> float:
    """Median time to save one more run (a new id on a new day, from ``first_day`` after the
    history's end) into ``db``."""
    times = []
    for i in range(repeat):
        run = Activity(
            id=f"bench:{tag}:{i}",
            source="fit",
            start_time=NOW + timedelta(days=first_day + i, hours=-4),
            utc_offset_s=3600,
            sport="running",
            distance_m=10_000.0,
            moving_time_s=3300.0,
            elapsed_time_s=3400.0,
            ascent_m=80.0,
            gear_id="g0",
        )
        t0 = CLOCK[0]()
        save_activities(db, [run], now=NOW + timedelta(days=first_day + i + 1))
        times.append(CLOCK[0]() - t0)
    return statistics.median(times) / 1e6


def import_year_ms(db: object, tag: str, weeks_later: int) -> float:
    """Time to save one more year of activities in one call (a bulk import), ``weeks_later``
    weeks after the history's: what the triggers add per row shows here."""
    acts, _deleted = make_history(1, seed=weeks_later)
    shift = timedelta(weeks=weeks_later)
    year = [replace(a, id=f"{tag}:{a.id}", start_time=a.start_time + shift) for a in acts]
    t0 = CLOCK[0]()
    save_activities(db, year, now=NOW + shift)
    return (CLOCK[0]() - t0) / 1e6


def to_before(db: object) -> None:
    """The read side as it was before 0007: old views, no totals triggers, no new indexes."""
    for obj in NEW_OBJECTS:
        db.execute(f"DROP {obj}")
    for name, sql in OLD_VIEWS.items():
        db.execute(f"DROP VIEW {name}")
        db.execute(f"CREATE VIEW {name} AS {sql}")


def measure(folder: Path, years: int, repeat: int) -> dict[str, tuple[float, float]]:
    """name -> (before ms, after ms) at ``years`` of history: each side on its own copy of
    the same file, so the writes measured on one never reach the other's queries."""
    path = folder / f"{years}y.db"
    build_db(path, years).close()
    sides = {}
    for side in ("after", "before"):
        copy = folder / f"{years}y-{side}.db"
        shutil.copyfile(path, copy)
        db = open_db(copy)
        if side == "before":
            to_before(db)
        figures = {name: median_ms(db, sql, repeat) for name, sql in queries().items()}
        figures["save one run"] = save_one_ms(db, repeat, side, 1)
        figures["import a year (one call)"] = import_year_ms(db, side, 60)
        db.close()
        sides[side] = figures
    return {name: (sides["before"][name], sides["after"][name]) for name in sides["after"]}


def plans(folder: Path, years: int) -> None:
    db = build_db(folder / f"plans-{years}y.db", years)
    for sql in readme_queries():
        print(f"```sql\n{sql};\n```\n```")
        for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"):
            print(row[3])
        print("```\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--repeat", type=int, default=30, help="runs per figure (median)")
    parser.add_argument("--plans", action="store_true", help="print the README queries' plans")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    args = parser.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.thread_time_ns
    with tempfile.TemporaryDirectory() as tmp:
        if args.plans:
            plans(Path(tmp), max(args.years))
            return
        results = {years: measure(Path(tmp), years, args.repeat) for years in args.years}
    header = " | ".join(f"{y} year{'s' if y > 1 else ''}" for y in args.years)
    print(f"ms ({args.clock} time), median of {args.repeat}, before → after\n")
    print(f"| query | {header} |")
    print("|---" * (len(args.years) + 1) + "|")
    for name in results[args.years[0]]:
        cells = " | ".join(
            f"{results[y][name][0]:.2f} → {results[y][name][1]:.2f}" for y in args.years
        )
        print(f"| `{name}` | {cells} |")


if __name__ == "__main__":
    main()
