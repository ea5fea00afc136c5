"""Benchmark the report page over 1 and 10 years of history: the time to read, draw and write it,
the Python memory it allocates at its peak, the page's size, and ``calfsync report`` end to end
(a fresh process: start-up included, and its peak resident memory).

    .venv/bin/python bench/report.py [--years 1,10] [--weeks 26,52,520] [--repeat 5]

The history is bench/rules.py's (four runs a week, seeded, heart-rate histograms, a shoe every
half year), with every alert the rules raise over it stored as the daemon would have, and one
soreness report a month; it ends yesterday, as ``calfsync report`` draws the weeks up to today.
In-process times are the best of ``--repeat``; the command's is the best of 3.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calfsync.outputs.report import write_report  # noqa: E402
from calfsync.store.db import write_tx  # noqa: E402
from calfsync.store.soreness import add_report  # noqa: E402
from calfsync.sync import evaluate_dates  # noqa: E402


def _rules_bench():
    """bench/rules.py, for its seeded history (one definition of the benchmark runner)."""
    spec = importlib.util.spec_from_file_location("bench_rules", ROOT / "bench" / "rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(folder: Path, years: int):
    """The database: runs, shoes with a retirement distance, alerts and soreness reports."""
    rules = _rules_bench()
    # end the history yesterday: `calfsync report` draws the weeks up to the real today
    today = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0)
    start = today - timedelta(weeks=52 * years, days=1)
    rules.START = start - timedelta(days=start.weekday())
    db = rules.build_db(folder, years)
    dates = {r[0] for r in db.execute("SELECT DISTINCT local_date FROM activities")}
    now = datetime.now(UTC)
    evaluate_dates(db, rules.CFG, dates, now, mode="history")
    with write_tx(db):
        db.execute("UPDATE gear SET retire_at_m = 700000")
        for month in sorted({d[:7] for d in dates}):
            add_report(db, f"{month}-15", (len(month) + int(month[-2:])) % 5, "bench")
    return db, rules.CFG, now


def in_process(db, cfg, now, out: Path, weeks: int, repeat: int) -> tuple[float, float, int]:
    """(best seconds, peak MiB allocated by Python, page bytes) of one write_report call."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        write_report(db, cfg, now, out, weeks)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    write_report(db, cfg, now, out, weeks)
    _size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return min(times), peak / 2**20, out.stat().st_size


# Runs ``calfsync`` and, at exit, prints its peak resident memory (VmHWM: this process's own,
# from exec on; getrusage would report the parent's, which the child shares until exec).
PEAK_RSS = (
    "import atexit, sys\n"
    "def peak():\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
    "    sys.stderr.write(hwm[0])\n"
    "atexit.register(peak)\n"
    "from calfsync.cli import main\n"
    "main(sys.argv[1:])\n"
)


def command(db_path: Path, out: Path, weeks: int) -> tuple[float, float]:
    """(best seconds, peak RSS MiB) of ``calfsync report`` in a fresh process, 3 runs."""
    best, peak_kib = float("inf"), 0
    args = [sys.executable, "-c", PEAK_RSS, "--db", str(db_path), "report", "--out", str(out)]
    for _ in range(3):
        t0 = time.perf_counter()
        done = subprocess.run(
            [*args, "--weeks", str(weeks)], check=True, capture_output=True, text=True
        )
        best = min(best, time.perf_counter() - t0)
        peak_kib = max(peak_kib, int(done.stderr.split("VmHWM:")[1].split()[0]))
    return best, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--years", default="1,10", help="history lengths, comma-separated")
    parser.add_argument("--weeks", default="26,52,520", help="weeks shown, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="in-process repetitions (best of)")
    args = parser.parse_args()
    print(
        "calfsync report benchmark (four runs a week; in-process best of "
        f"{args.repeat}, command best of 3)"
    )
    print(
        "| years | runs | alerts | weeks shown | write_report | peak Python memory | page |"
        " `calfsync report` | its peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for years in (int(y) for y in args.years.split(",")):
            db, cfg, now = build(Path(tmp), years)
            runs = db.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
            alerts = db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0]
            db_path = Path(tmp) / f"bench-{years}y.db"
            for weeks in (int(w) for w in args.weeks.split(",")):
                if weeks > 52 * years + 1:
                    continue
                page = Path(tmp) / f"page-{years}-{weeks}.html"
                secs, peak, size = in_process(db, cfg, now, page, weeks, args.repeat)
                cmd_secs, rss = command(db_path, Path(tmp) / "site", weeks)
                print(
                    f"| {years} | {runs:,} | {alerts:,} | {weeks} | {secs * 1000:.0f} ms | "
                    f"{peak:.1f} MiB | {size / 1024:.0f} KB | {cmd_secs * 1000:.0f} ms | "
                    f"{rss:.0f} MiB |",
                    flush=True,
                )
            db.close()


if __name__ == "__main__":
    main()
