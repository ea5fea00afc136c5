"""Strava API budget: reads per sync for 0, 1 and 1,000 new activities, against the stand-in.

    .venv/bin/python bench/strava.py

Runs the real sync (stravalib over HTTP) against the loopback Strava stand-in of the tests and
counts the API requests the stand-in answered (token refreshes are not API reads and have no
rate limit). Expected: nothing new = 1 read; a backfill of N activities = ceil(N/200) list reads
(one more when N is a multiple of 200: the empty page that proves the end) + one read per
distinct shoe.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.strava_server import FakeStrava  # noqa: E402
from strava_support import CLIENT_ID, CLIENT_SECRET, make_config  # noqa: E402

from calfsync.ingest import strava as strava_sync  # noqa: E402
from calfsync.store.db import open_db  # noqa: E402

SHOES = 5


def authorize(db, cfg, fake, now) -> int:
    """What `calfsync auth strava` does: trade a code, read the athlete's shoe list once."""
    client = strava_sync.make_client(db, cfg, require_tokens=False)
    client.exchange_code(fake.issue_code())
    strava_sync.sync_athlete(db, client, now, strava_sync.StravaReport())
    return client.reads


def sync(db, cfg, fake, now) -> tuple[int, float, strava_sync.StravaReport]:
    before = fake.api_reads()
    started = time.perf_counter()
    report = strava_sync.run(db, cfg, now)
    elapsed = time.perf_counter() - started
    assert report.state == "ok", report.message
    assert fake.api_reads() - before == report.reads
    return report.reads, elapsed, report


def main() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeStrava(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, read_limits=(10_000, 100_000),
        overall_limits=(20_000, 200_000),
    ) as fake:  # fmt: skip
        for i in range(SHOES):
            fake.add_gear(f"g{i}", f"Shoe {i}")
        first = now - timedelta(days=1100)
        for i in range(1000):
            fake.add_activity(
                first + timedelta(days=i, hours=i % 5), gear_id=f"g{i % SHOES}",
                sport_type="Run" if i % 4 else "Ride",
            )  # fmt: skip
        cfg = make_config(Path(tmp), fake)
        db = open_db(cfg.db_path)
        auth_reads = authorize(db, cfg, fake, now)

        reads, secs, report = sync(db, cfg, fake, now)
        expect = math.ceil(1000 / 200) + (1 if 1000 % 200 == 0 else 0) + SHOES
        rows.append(("backfill of 1,000 new (5 shoes)", reads, expect, secs, report.saved))

        reads, secs, report = sync(db, cfg, fake, now + timedelta(minutes=30))
        rows.append(("nothing new", reads, 1, secs, report.saved))

        fake.add_activity(now + timedelta(minutes=40), gear_id="g1")
        reads, secs, report = sync(db, cfg, fake, now + timedelta(hours=1))
        rows.append(("1 new, known shoe", reads, 1, secs, report.saved))

        fake.add_gear("g9", "New pair")
        fake.add_activity(now + timedelta(hours=1, minutes=10), gear_id="g9")
        reads, secs, report = sync(db, cfg, fake, now + timedelta(hours=2))
        rows.append(("1 new, unseen shoe", reads, 2, secs, report.saved))
        db.close()

    print(f"auth strava: {auth_reads} read (the athlete's shoe list), plus the token exchange")
    print(f"{'sync':34} {'reads':>5} {'expected':>8} {'seconds':>8} {'listed':>7}")
    for name, reads, expected, secs, listed in rows:
        print(f"{name:34} {reads:>5} {expected:>8} {secs:>8.2f} {listed:>7}")
    default_window, default_day = 100 - 5, 1000 - 20
    print(
        f"default read limits 100/15 min, 1,000/day; calfsync stops at {default_window} and "
        f"{default_day}: a backfill lists up to {default_day * 200:,} activities a day"
    )


if __name__ == "__main__":
    main()
