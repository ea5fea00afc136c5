"""A runner's years of history built in code, and the README's example queries, for the views
test (tests/test_views_plans.py) and benchmark (bench/views.py).

A runner-year here: 4 to 6 runs a week (a long one on Sundays), a ride and a walk most weeks,
the odd suspect run (a ride saved as a run) and a Strava run deleted on Strava, a new pair of
shoes every 5 months, and about 75 alerts (a weekly digest and ~23 rule alerts).
"""

from __future__ import annotations

import json
import random
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calfsync.model import Activity  # noqa: E402
from calfsync.store.activities import mark_gone_from_strava, save_activities  # noqa: E402
from calfsync.store.db import open_db, write_tx  # noqa: E402
from calfsync.store.gear import save_gear  # noqa: E402

README = ROOT / "README.md"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
RULE_ALERTS = ("W1", "S1", "RET1", "H1", "H2", "G1")
_TODAY = NOW.date()
# The views as docs/schema.md offers them, queried the way a runner does (beside the README's
# own examples): name -> SQL. ``flat``: the rows read do not grow with the years held.
VIEW_QUERIES = {
    "weekly_load, last 12 weeks": (
        f"select * from weekly_load where week_start >= '{_TODAY - timedelta(weeks=12)}'",
        True,
    ),
    "daily_load, last 28 days": (
        f"select * from daily_load where local_date > '{_TODAY - timedelta(days=28)}'",
        True,
    ),
    "runs, last 10": ("select * from runs order by start_time desc limit 10", True),
    "alerts, last 30 days": (
        "select rule, local_date, title from alerts "
        f"where local_date >= '{_TODAY - timedelta(days=30)}' order by local_date",
        True,
    ),
    "shoe_mileage (a row per shoe)": ("select * from shoe_mileage", False),
    "weekly_load, every week": ("select * from weekly_load", False),
    "daily_load, every day": ("select * from daily_load", False),
}


def readme_queries(text: str | None = None) -> list[str]:
    """The SQL of every ``sqlite3 … "select …"`` example in the code blocks of the README's
    section "Querying the database", in order: the queries it tells people to run."""
    text = README.read_text() if text is None else text
    section = re.search(r"^## Querying the database\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    text = section.group(1) if section else ""
    blocks = re.findall(r"```(?:sh|sql)\n(.*?)```", text, flags=re.S)
    found = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if line.lstrip().startswith("sqlite3"):
                quoted = re.findall(r"([\"'])((?:select|with)\b.*?)\1", line, flags=re.I)
                found += [sql for _quote, sql in quoted]
    return found


def make_history(years: int, seed: int = 1) -> tuple[list[Activity], list[int]]:
    """``years`` of activities ending at :data:`NOW`, and the Strava ids of the runs deleted
    on Strava afterwards (about one a year)."""
    rng = random.Random(seed)
    first_monday = (NOW - timedelta(weeks=52 * years)).replace(hour=6)
    first_monday -= timedelta(days=first_monday.weekday())
    acts: list[Activity] = []
    deleted: list[int] = []
    for week in range(52 * years):
        monday = first_monday + timedelta(weeks=week)
        days = sorted(rng.sample(range(6), rng.randint(3, 5))) + [6]
        for k, day in enumerate(days):
            start = monday + timedelta(days=day, hours=rng.randint(0, 12))
            km = rng.uniform(14, 24) if day == 6 else rng.uniform(5, 12)
            strava_id = 10_000_000 + week * 10 + k if rng.random() < 0.3 else None
            fast = rng.random() < 0.01  # a ride saved as a run: suspect
            acts.append(
                Activity(
                    id=f"strava:{strava_id}" if strava_id else f"fit:1:{week}-{k}",
                    source="strava" if strava_id else "fit",
                    start_time=start,
                    utc_offset_s=3600,
                    sport="running",
                    sub_sport="treadmill" if rng.random() < 0.1 else "road",
                    distance_m=km * 1000,
                    moving_time_s=km * (100 if fast else 330),
                    elapsed_time_s=km * (100 if fast else 345),
                    ascent_m=rng.uniform(0, 25) * km,
                    gear_id=f"g{week // 22}",
                    strava_id=strava_id,
                    name=f"Run {week}-{k}",
                )
            )
            if strava_id and rng.random() < 0.004:
                deleted.append(strava_id)
        for j, (sport, km) in enumerate((("cycling", 40.0), ("walking", 4.0))):
            if rng.random() < 0.7:
                acts.append(
                    Activity(
                        id=f"fit:2:{week}-{j}",
                        source="fit",
                        start_time=monday + timedelta(days=2 + 2 * j, hours=17),
                        utc_offset_s=3600,
                        sport=sport,
                        distance_m=km * 1000 * rng.uniform(0.7, 1.3),
                        moving_time_s=3600.0,
                        elapsed_time_s=3700.0,
                    )
                )
    return acts, deleted


def alert_rows(years: int, seed: int = 2) -> list[dict]:
    """About 75 alerts a runner-year: one weekly digest, rule alerts on ~45% of the weeks."""
    rng = random.Random(seed)
    end = NOW.date()
    rows = []
    for week in range(52 * years):
        day = end - timedelta(weeks=52 * years - week)
        rows.append(_alert("DIGEST", f"DIGEST:{day.isoformat()}", day))
        if rng.random() < 0.45:
            rule = rng.choice(RULE_ALERTS)
            hit = day + timedelta(days=rng.randint(0, 6))
            rows.append(_alert(rule, f"{rule}:{hit.isoformat()}:{week}", hit))
    return rows


def _alert(rule: str, key: str, day: date) -> dict:
    return {
        "rule": rule,
        "episode_key": key,
        "local_date": day.isoformat(),
        "severity": "normal",
        "title": f"{rule} on {day}",
        "body": "Your weekly load rose by 32% over the last four weeks' average.",
        "values": json.dumps({"week_km": 42.0, "ratio": 0.32}),
        "pushed": "sent",
    }


def build_db(path: Path, years: int) -> object:
    """A database of ``years`` of history written through the store's own writers (alerts as
    plain rows: their writer needs a rule's finding)."""
    db = open_db(path)
    acts, deleted = make_history(years)
    save_activities(db, acts, now=NOW)
    for strava_id in deleted:
        mark_gone_from_strava(db, strava_id, NOW)
    with write_tx(db):
        for g in sorted({a.gear_id for a in acts if a.gear_id}):
            save_gear(db, {"id": g, "name": f"Shoe {g}", "drop_mm": 8.0, "source": "manual"})
        db["alerts"].insert_all(alert_rows(years))
    return db
