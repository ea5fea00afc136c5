"""intervals.icu: requests and time for a backfill of 1,000 activities, then an idle poll.

    .venv/bin/python bench/intervals.py [--activities 1000] [--minutes 50]

Runs the real step (httpx over loopback, the client's real 0.1 s spacing between requests,
the FIT reader in-process) against the intervals.icu stand-in of the tests: 1,000 runs of
``--minutes`` minutes recorded at 1 s (a watch's rate), one a day, 5 % of them Strava-sourced
stubs, a third of the files gzipped. Polls follow each other until the first listing is done
(each poll stops at 250 downloads or 120 s), then one idle poll. Prints, per poll: requests
(list / file), activities imported, seconds; and the totals. Expected: the idle poll is one
request; the backfill is one file request per activity that is not a stub, plus
ceil(N / 200) + 1 listing requests per poll.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.intervals import API_KEY, ATHLETE_ID, FakeIntervals  # noqa: E402

from calfsync.config import validate  # noqa: E402
from calfsync.fitwriter import SessionSpec, encode_activity  # noqa: E402
from calfsync.ingest import intervals as ingest  # noqa: E402
from calfsync.store.db import open_db  # noqa: E402


def build(icu: FakeIntervals, count: int, minutes: float, first: datetime) -> int:
    """``count`` activities, one a day from ``first``; returns how many are Strava stubs."""
    stubs = 0
    for i in range(count):
        start = first + timedelta(days=i, hours=(i % 5))
        if i % 20 == 7:
            icu.add_run(start, source="STRAVA")
            stubs += 1
            continue
        spec = SessionSpec(
            start=start,
            duration_s=minutes * 60,
            distance_m=minutes * 200,
            heart_rate_bpm=150.0,
            record_step_s=1,
        )
        data = encode_activity([spec], utc_offset_s=3600, serial_number=3_900_000_000 + i)
        icu.add_run(
            start,
            km=minutes * 0.2,
            minutes=minutes,
            file=data,
            gzipped=i % 3 == 0,
            shoe=f"Shoe {i % 4}",
            shoe_id=f"g{i % 4}",
        )
    return stubs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=50.0)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp, FakeIntervals() as icu:
        started = time.perf_counter()
        first = now - timedelta(days=args.activities + 1)
        stubs = build(icu, args.activities, args.minutes, first)
        print(f"built {args.activities} activities in {time.perf_counter() - started:.1f} s")
        gz = sum(
            len(gzip.compress(a.file)) if a.gzipped else len(a.file)
            for a in icu.activities.values()
        )
        print(f"served bytes if each file is fetched once: {gz / 1e6:.1f} MB")
        cfg = validate(
            {
                "database": {"path": str(Path(tmp) / "calfsync.db")},
                "athlete": {"timezone": "Europe/Paris"},
                "intervals": {"athlete_id": ATHLETE_ID, "api_key": API_KEY, "api_url": icu.url},
            }
        )
        db = open_db(cfg.db_path)
        rows = []
        total_s = 0.0
        poll = 0
        while True:
            poll += 1
            before = len(icu.paths())
            t0 = time.perf_counter()
            report = ingest.run(db, cfg, now + timedelta(minutes=30 * poll))
            elapsed = time.perf_counter() - t0
            total_s += elapsed
            paths = icu.paths()[before:]
            lists = sum(p.endswith("/activities") for p in paths)
            files = sum(p.endswith("/file") for p in paths)
            rows.append((poll, lists, files, report.imported, elapsed))
            print(
                f"poll {poll}: {lists} list + {files} file requests, "
                f"{report.imported} imported, {elapsed:.1f} s  ({report.message})"
            )
            if report.imported == 0 and files == 0:
                break
        imported = db.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
        backfill = rows[:-1]
        print()
        print(
            f"backfill: {len(backfill)} polls, {sum(r[1] for r in backfill)} list + "
            f"{sum(r[2] for r in backfill)} file requests, {imported} activities stored "
            f"({stubs} Strava stubs skipped), {sum(r[4] for r in backfill):.1f} s, "
            f"{sum(r[4] for r in backfill) / max(imported, 1) * 1000:.0f} ms an activity"
        )
        idle = rows[-1]
        print(f"idle poll: {idle[1]} list + {idle[2]} file requests, {idle[4] * 1000:.0f} ms")
        db.close()


if __name__ == "__main__":
    main()
