"""Benchmark the trigger engine over 1, 5, 10 and 20 years of four runs a week: a full replay,
and one incremental evaluation after a new run lands (what the daemon does after each file).

    .venv/bin/python bench/rules.py [--years 1,5,10,20] [--repeat 5] [--clock cpu]

Histories are built in code (seeded, so every run measures the same data) and stored in a
temporary SQLite file through ``calfsync.store.save_activities``. Every run carries a heart-rate
histogram as a real FIT file gives one: one bin per bpm from 100 to 190 (about 90 keys), so
reading histograms costs what it costs on a real database. Replay times are the best of
``--repeat`` repetitions, wall clock, including loading the history from the database; the
incremental figure is the median (and max) of seven new runs landing one a day, each saved and
then evaluated as ``calfsync sync`` does (the save is not timed). ``--clock cpu`` measures the
process's CPU time instead of wall time: on a shared machine it is the figure that other
processes do not move.
"""

from __future__ import annotations

import argparse
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

START = datetime(2006, 1, 2, 6, 0, tzinfo=UTC)
CFG = validate({"athlete": {"timezone": "Europe/Paris", "max_heart_rate": 190}})
clock = time.perf_counter


def hr_histogram(rng: random.Random, seconds: float, hard: bool) -> dict[int, float]:
    """Seconds per bpm, 100 … 190, shaped like a real run's: a bell around an easy heart rate,
    with a second hump near the maximum for a hard session."""
    centre = rng.uniform(140, 155)
    weights = {bpm: 2.0 ** (-(((bpm - centre) / 9.0) ** 2)) for bpm in range(100, 191)}
    if hard:
        for bpm in range(168, 185):
            weights[bpm] += 0.8 * 2.0 ** (-(((bpm - 175) / 4.0) ** 2))
    total = sum(weights.values())
    return {bpm: round(seconds * w / total, 1) for bpm, w in weights.items()}


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
                    hr_histogram=hr_histogram(rng, km * 330, hard),
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


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times)


def incremental(db: object) -> list[float]:
    """Store the whole history's alerts, then time the evaluation after each of seven new
    runs landing a day apart (seconds each)."""
    evaluate_dates(
        db,
        CFG,
        {r[0] for r in db.execute("SELECT DISTINCT local_date FROM activities")},
        datetime.now(UTC),
        mode="import",
    )
    last = parse_utc(db.execute("SELECT MAX(start_time) FROM activities").fetchone()[0])
    rng = random.Random(7)
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
            moving_time_s=(9 + 1.5 * k) * 330,
            ascent_m=90,
            hr_histogram=hr_histogram(rng, (9 + 1.5 * k) * 330, k % 3 == 0),
            gear_id=db.execute("SELECT MAX(gear_id) FROM activities").fetchone()[0],
            name=f"New run {k}",
        )
        dates = save_activities(db, [new]).changed_dates
        t0 = clock()
        evaluate_dates(db, CFG, dates, new.start_time + timedelta(hours=1))
        samples.append(clock() - t0)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", default="1,5,10,20", help="history lengths, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="replay repetitions (best of)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    years_list = [int(y) for y in args.years.split(",")]
    print(
        f"calfsync rules benchmark (four runs a week, 91-bin heart-rate histograms, replay best "
        f"of {args.repeat}, {args.clock} clock)"
    )
    print("| years | runs | alerts | replay | per run | evaluate after one new run (median, max) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for years in years_list:
            db = build_db(Path(tmp), years)
            runs = db.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
            alerts = len(replay(db))
            secs = best_of(lambda db=db: replay(db), args.repeat)
            samples = incremental(db)
            print(
                f"| {years} | {runs:,} | {alerts} | {secs * 1000:.1f} ms | "
                f"{secs / runs * 1e6:.0f} µs | {statistics.median(samples) * 1000:.1f} ms, "
                f"{max(samples) * 1000:.1f} ms |",
                flush=True,
            )
            db.close()


if __name__ == "__main__":
    main()
