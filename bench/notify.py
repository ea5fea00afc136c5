"""Benchmark the push outbox against a loopback ntfy.

1. 1,000 queued pushes, one flusher: throughput and duplicates (must be 0).
2. The same 1,000 pushes with two flusher processes at once: duplicates (must be 0) and how the
   work split between them.

Run: .venv/bin/python bench/notify.py [--pushes N]
``daily_cap = 0`` so each alert is its own push (with the default cap they would bundle).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fakes.ntfy import FakeNtfy  # noqa: E402
from notify_support import NOW, add_alert, add_run, make_config  # noqa: E402

from calfsync.notify import outbox  # noqa: E402
from calfsync.store.db import open_db, write_tx  # noqa: E402


def queue(db_path: Path, raw: dict, n: int) -> float:
    """Insert n alerts (each of its own run) and enqueue them; returns seconds taken."""
    from datetime import timedelta

    db = open_db(db_path)
    cfg = make_config(raw["notify"]["channels"], daily_cap=0)
    start = time.perf_counter()
    with write_tx(db):
        ids = []
        for i in range(n):
            add_run(db, f"run-{i:04d}", NOW - timedelta(hours=1))
            ids.append(
                add_alert(
                    db, "S1", f"S1:run-{i:04d}", activity_id=f"run-{i:04d}", title=f"push {i:04d}"
                )
            )
        outbox.enqueue(db, cfg, ids, NOW)
    elapsed = time.perf_counter() - start
    db.conn.close()
    return elapsed


def duplicates(ntfy: FakeNtfy) -> tuple[int, int]:
    titles = Counter(m["title"] for m in ntfy.pushes("calf"))
    return len(titles), sum(c - 1 for c in titles.values())


def one_flusher(n: int, workdir: Path) -> None:
    with FakeNtfy(token="tk_bench") as ntfy:
        raw = {
            "athlete": {"timezone": "UTC"},
            "notify": {
                "daily_cap": 0,
                "channels": [
                    {
                        "type": "ntfy",
                        "name": "phone",
                        "url": ntfy.url,
                        "topic": "calf",
                        "token": "tk_bench",
                    }
                ],
            },
        }
        db_path = workdir / "one.db"
        enqueue_s = queue(db_path, raw, n)
        db = open_db(db_path)
        cfg = make_config(raw["notify"]["channels"], daily_cap=0)
        start = time.perf_counter()
        report = outbox.deliver_due(db, cfg, NOW)
        elapsed = time.perf_counter() - start
        unique, dupes = duplicates(ntfy)
        print(f"one flusher: enqueue {n} alerts in one transaction: {enqueue_s * 1000:.0f} ms")
        print(
            f"one flusher: delivered {report.sent} pushes in {elapsed:.2f} s "
            f"= {report.sent / elapsed:.0f} pushes/s; unique {unique}, duplicates {dupes}, "
            f"still pending {report.pending}"
        )


def two_flushers(n: int, workdir: Path) -> None:
    with FakeNtfy() as ntfy:
        raw = {
            "athlete": {"timezone": "UTC"},
            "notify": {
                "daily_cap": 0,
                "channels": [{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}],
            },
        }
        db_path = workdir / "two.db"
        queue(db_path, raw, n)
        args = [
            sys.executable,
            str(ROOT / "tests" / "notify_support.py"),
            "flush",
            str(db_path),
            json.dumps(raw),
            NOW.isoformat(),
        ]
        start = time.perf_counter()
        procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        reports = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
        elapsed = time.perf_counter() - start
        unique, dupes = duplicates(ntfy)
        split = " + ".join(str(r["sent"]) for r in reports)
        print(
            f"two flusher processes: {unique} unique pushes in {elapsed:.2f} s "
            f"(split {split}, process start-up included); duplicates {dupes}"
        )
        db = open_db(db_path)
        states = dict(db.execute("SELECT state, COUNT(*) FROM notify_outbox GROUP BY state"))
        print(f"two flusher processes: outbox states {states}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        one_flusher(args.pushes, Path(tmp))
        two_flushers(args.pushes, Path(tmp))


if __name__ == "__main__":
    main()
