"""Helpers for the notify tests: a database with runs and alerts built in code, a config, and
a flusher that runs in its own process (``python tests/notify_support.py flush ...``)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calfsync.config import Config, validate  # noqa: E402
from calfsync.model import utc_iso  # noqa: E402
from calfsync.notify import outbox  # noqa: E402
from calfsync.store.db import open_db, write_tx  # noqa: E402

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday, noon UTC


def make_config(channels: list[dict[str, Any]], tz: str = "UTC", **notify: Any) -> Config:
    raw: dict[str, Any] = {
        "athlete": {"timezone": tz},
        "notify": {"channels": channels, **notify},
    }
    return validate(raw)


def add_run(
    db: Any,
    run_id: str,
    start: datetime,
    *,
    strava_id: int | None = None,
    name: str = "Run",
    km: float = 10.0,
    gear_id: str | None = None,
) -> None:
    db["activities"].insert(
        {
            "id": run_id,
            "source": "fit",
            "start_time": utc_iso(start),
            "local_date": start.date().isoformat(),
            "utc_offset_s": 0,
            "sport": "running",
            "distance_m": km * 1000.0,
            "name": name,
            "strava_id": strava_id,
            "gear_id": gear_id,
        }
    )


def add_weeks(
    db: Any, end: datetime, weekly_km: list[float], *, gear_id: str | None = None
) -> None:
    """Runs of the weeks before ``end`` (oldest first): each week's distance in four equal runs,
    on days 1, 3, 5 and 6 of the 7-day window ending the day before ``end`` (so the windows of
    7-day totals ending on ``end - 1 day`` hold exactly those weeks)."""
    last = end - timedelta(days=1)
    for back, km in enumerate(reversed(weekly_km)):
        for day in (0, 2, 4, 5):
            start = last - timedelta(days=7 * back + 6 - day)
            add_run(db, f"w{back}-{day}", start, km=km / 4, gear_id=gear_id)


def add_alert(
    db: Any,
    rule: str,
    episode_key: str,
    *,
    local_date: str = "2026-06-10",
    activity_id: str | None = None,
    severity: str = "warning",
    pushed: str = "pending",
    title: str | None = None,
) -> int:
    cursor = db.execute(
        """INSERT INTO alerts (rule, episode_key, local_date, activity_id, severity, title,
           body, "values", pushed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            rule,
            episode_key,
            local_date,
            activity_id,
            severity,
            title or f"{rule} {severity}: calf load warning",
            f"{rule} fired on {local_date}: keep the next runs easy. Not medical advice.",
            json.dumps({"value": 1.5, "reference": 1.0}),
            pushed,
        ],
    )
    return int(cursor.lastrowid)


def alert_and_enqueue(
    db: Any, cfg: Config, rule: str, key: str, now: datetime = NOW, **kw: Any
) -> int:
    """Insert a run of ``now - 1 h`` and its alert, and enqueue, in one transaction (as sync)."""
    with write_tx(db):
        run_id = kw.pop("activity_id", f"run-{key}")
        if db.execute("SELECT 1 FROM activities WHERE id = ?", [run_id]).fetchone() is None:
            add_run(db, run_id, now - timedelta(hours=1), strava_id=kw.pop("strava_id", None))
        alert_id = add_alert(db, rule, key, activity_id=run_id, **kw)
        outbox.enqueue(db, cfg, [alert_id], now)
    return alert_id


def states(db: Any) -> dict[str, int]:
    return dict(db.execute("SELECT state, COUNT(*) FROM notify_outbox GROUP BY state").fetchall())


def main(argv: list[str]) -> int:
    """``flush DB CONFIG_JSON NOW_ISO``: one deliver_due in this process; prints the report."""
    command, db_path, config_json, now_iso = argv
    assert command == "flush"
    cfg = validate(json.loads(config_json))
    db = open_db(db_path)
    report = outbox.deliver_due(db, cfg, datetime.fromisoformat(now_iso))
    print(json.dumps(report.as_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
