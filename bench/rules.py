"""Benchmark the trigger engine: replay over 1, 5 and 10 years of four runs a week, and one
incremental evaluation after a new run lands in a 10-year history.

    .venv/bin/python bench/rules.py

Histories are built in code (seeded, so every run measures the same data) and stored in a
temporary SQLite file through ``calfsync.store.save_activities``. Timings are the best of five
repetitions, wall clock, including loading the history from the database.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calfsync.config import validate  # noqa: E402
from calfsync.model import Activity, parse_utc  # noqa: E402
from calfsync.rules import engine  # noqa: E402
from calfsync.store.activities import save_activities  # noqa: E402
from calfsync.store.db import open_db, write_tx  # noqa: E402
from calfsync.store.history import load_history  # noqa: E402
from calfsync.sync import evaluate_dates  # noqa: E402

START = datetime(2016, 1, 4, 6, 0, tzinfo=UTC)
CFG = validate({"athlete": {"timezone": "Europe/Paris", "max_heart_rate": 190}})


def make_history(years: int, seed: int = 1) -> list[Activity]:
    """Four runs a week with varied distance, climb, intervals, heart rate and shoes."""
    rng = random.Random(seed)
    acts = []
    for week in range(52 * years):
        if rng.random() < 0.02:
            continue  # the odd week off (sometimes two in a row: a layoff)
        for k, offset in enumerate((0, 2, 4, 6)):
            start = START + timedelta(days=7 * week + offset, hours=rng.randint(0, 3))
            long_run = k == 3
            km = rng.uniform(12, 22) if long_run else rng.uniform(5, 11)
            hard = k == 1 and rng.random() < 0.5
            acts.append(
                Activity(
                    id=f"bench-{week}-{k}",
                    source="fit",
                    start_time=start,
                    utc_offset_s=3600,
                    sport="running",
                    sub_sport="treadmill" if rng.random() < 0.1 else "road",
                    distance_m=km * 1000,
                    moving_time_s=km * 330,
                    ascent_m=rng.uniform(0, 25) * km,
                    interval_time_s=rng.uniform(8, 25) * 60 if hard else None,
                    hr_histogram={150: km * 250, 172: rng.uniform(0, 700)},
                    gear_id=f"g{week // 26}",
                    name=f"Run {week}-{k}",
                )
            )
    return acts


def build_db(folder: Path, years: int) -> object:
    db = open_db(folder / f"bench-{years}y.db")
    acts = make_history(years)
    save_activities(db, acts)
    with write_tx(db):
        for g in {a.gear_id for a in acts}:
            db["gear"].insert({"id": g, "name": f"Shoe {g}", "drop_mm": 8.0}, replace=True)
    return db


def replay(db: object) -> list[dict]:
    """What ``calfsync replay`` does: load the history from the database, judge it all."""
    return engine.replay(load_history(db, CFG), engine.rule_params(CFG), None)


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    print("calfsync rules benchmark (four runs a week, best of 5)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dbs = {}
        for years in (1, 5, 10):
            db = build_db(folder, years)
            dbs[years] = db
            runs = db.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
            alerts = len(replay(db))
            secs = best_of(lambda db=db: replay(db))
            print(
                f"replay {years:>2} years: {runs:>5} runs, {alerts:>4} alerts, "
                f"{secs * 1000:7.1f} ms  ({secs / runs * 1e6:.0f} µs per run)"
            )
        db = dbs[10]
        first = evaluate_dates(
            db,
            CFG,
            {r[0] for r in db.execute("SELECT DISTINCT local_date FROM activities")},
            datetime.now(UTC),
            mode="import",
        )
        print(f"full evaluation of 10 years stored {len(first)} alerts")
        last = parse_utc(db.execute("SELECT MAX(start_time) FROM activities").fetchone()[0])
        samples = []
        for k in range(1, 8):
            new = Activity(
                id=f"bench-new-{k}",
                source="fit",
                start_time=last + timedelta(days=k),
                utc_offset_s=3600,
                sport="running",
                sub_sport="road",
                distance_m=9000 + 1500 * k,
                ascent_m=90,
                name=f"New run {k}",
            )
            dates = save_activities(db, [new]).changed_dates
            t0 = time.perf_counter()
            evaluate_dates(db, CFG, dates, new.start_time + timedelta(hours=1))
            samples.append(time.perf_counter() - t0)
        print(
            f"incremental evaluation after one new run (10 years): median "
            f"{statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
