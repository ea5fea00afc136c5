"""Benchmark the PNG chart in the push (issue 13 item 2).

1. Importing Pillow (``PIL.Image``, ``ImageDraw``, ``ImageFont``) in a fresh interpreter.
2. Drawing one chart (``calfsync.outputs.chart.draw_png``), each with different numbers so no
   cache helps; the PNG's size.
3. A push's whole chart on a 10-year history: the ten 7-day totals read from ``daily_load`` and
   the drawing.
4. Memory: the resident size of a process that has imported the outbox, then drawn a chart.
5. Delivery to a loopback ntfy: N alert pushes with charts on, against off.

Run: .venv/bin/python bench/chart.py [--pushes N] [--clock cpu]
``--clock cpu`` times with this process's CPU time (``time.process_time``; the delivery's too,
which includes the loopback server's threads): steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.ntfy import FakeNtfy  # noqa: E402
from notify_support import NOW, add_alert, add_run, make_config  # noqa: E402

from calfsync.notify import attachments, outbox  # noqa: E402
from calfsync.outputs.chart import WeekBars, draw_png  # noqa: E402
from calfsync.store.db import open_db, write_tx  # noqa: E402

IMPORT_PIL = (
    "import time; t = time.{clock}(); from PIL import Image, ImageDraw, ImageFont; "
    "print(time.{clock}() - t)"
)
clock = time.perf_counter
RSS = """
import sys
sys.path.insert(0, {root!r})
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
from calfsync.notify import outbox
base = rss()
from datetime import date, timedelta
from calfsync.outputs.chart import WeekBars, draw_png
starts = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(10)]
draw_png(WeekBars("t", starts, [30.0] * 10, 30.0, "r", 36.0, "w"))
print(f"{{base:.1f}} {{rss():.1f}}")
"""


def import_cost(rounds: int = 5) -> list[float]:
    out = []
    for _ in range(rounds):
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PIL.format(clock=clock.__name__)],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(float(done.stdout))
    return out


def draw_cost(rounds: int = 50) -> tuple[list[float], list[int]]:
    rng = random.Random(7)
    starts = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(10)]
    times, sizes = [], []
    for _ in range(rounds):
        km = [round(rng.uniform(0, 80), 1) for _ in range(10)]
        chart = WeekBars(
            "Running km, 7 days to Sun 15 Mar", starts, km, km[-2], "r", km[-2] * 1.2, "W1"
        )
        start = clock()
        sizes.append(len(draw_png(chart)))
        times.append(clock() - start)
    return times, sizes


def ten_years(db_path: Path) -> object:
    db = open_db(db_path)
    with write_tx(db):
        day = NOW - timedelta(days=3650)
        i = 0
        while day < NOW:
            add_run(db, f"r{i}", day, km=8 + (i % 5))
            day += timedelta(days=2)
            i += 1
    return db


def push_chart_cost(db: object, rounds: int = 30) -> list[float]:
    cfg = make_config([])
    times = []
    for k in range(rounds):
        end = NOW.date() - timedelta(days=k)
        start = clock()
        draw_png(attachments.week_bars(db, cfg, end, "t"))
        times.append(clock() - start)
    return times


def delivery(n: int, charts: bool, workdir: Path) -> float:
    db = open_db(workdir / f"deliver-{charts}.db")
    with FakeNtfy() as ntfy:
        chan = {"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}
        cfg = make_config([chan], daily_cap=0, charts=charts, ask_shoe=False)
        with write_tx(db):
            ids = []
            for i in range(n):
                add_run(db, f"run-{i}", NOW - timedelta(hours=1, minutes=i % 50))
                day = (NOW - timedelta(days=i % 60)).date().isoformat()  # a chart each
                ids.append(
                    add_alert(
                        db,
                        "S1",
                        f"S1:{i}",
                        activity_id=f"run-{i}",
                        severity="large",
                        local_date=day,
                    )
                )
            outbox.enqueue(db, cfg, ids, NOW)
        start = clock()
        report = outbox.deliver_due(db, cfg, NOW)
        elapsed = clock() - start
        assert report.sent == n, report
        with_file = sum(1 for m in ntfy.pushes("calf") if "attachment" in m)
        assert with_file == (n if charts else 0)
    return elapsed


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    global clock
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"clock: {args.clock}")
    print(f"import Pillow (fresh interpreter, 5 runs): {ms(import_cost())}")
    times, sizes = draw_cost()
    print(f"draw one chart (50 charts): {ms(times)}; PNG {min(sizes)}-{max(sizes)} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db = ten_years(workdir / "ten.db")
        print(f"a push's chart on 10 years of runs (read + draw): {ms(push_chart_cost(db))}")
        done = subprocess.run(
            [sys.executable, "-c", RSS.format(root=str(ROOT))],
            capture_output=True,
            text=True,
            check=True,
        )
        base, drawn = (float(v) for v in done.stdout.split())
        print(f"RSS: {base:.1f} MB with the outbox imported, {drawn:.1f} MB after a chart")
        off = delivery(args.pushes, False, workdir)
        on = delivery(args.pushes, True, workdir)
        print(
            f"{args.pushes} pushes to a loopback ntfy: {off:.2f} s text only, {on:.2f} s with "
            f"charts ({(on - off) / args.pushes * 1000:.1f} ms more a push)"
        )


if __name__ == "__main__":
    main()
