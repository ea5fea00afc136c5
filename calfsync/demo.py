"""The demo's training history: what ``calfsync demo`` runs through the real pipeline.

With no configuration at all the demo writes 14 weeks of runs as FIT files (our own encoder) into a
demo inbox, runs one sync cycle over them exactly as the daemon would (scan, store, evaluate,
queue, push to the console), then shows the weekly load, the alerts and how to query the file.

The history is built to show the guide's triggers: a steady base, a 17-day layoff and the
return, a rebuild, a week of hill running, and in the last days a new pair of lower-drop shoes,
a first interval session in weeks and a long run well past the recent longest. Three days ago
a bike ride was saved as a run: calfsync keeps it out as suspect (``calfsync activity``). The
fresh alerts show the two delivery classes: some are pushed at once, the others wait for the
weekly digest, which the demo composes and prints (its own schedule is off: the demo pushes
only what a cycle pushes).
"""

from __future__ import annotations

import math
import random
import shutil
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from .config import Config, validate
from .fitwriter import LapSpec, SessionSpec, encode_activity
from .store.db import write_tx
from .store.gear import add_shoe

DEMO_WEEKS = 14  # about: twelve 7-day blocks and the last ten days
PACE_S_PER_KM = 330.0


@dataclass(frozen=True)
class DemoRun:
    """One planned run of the demo history."""

    day: date
    km: float
    kind: str = "easy"  # easy | long | hills | intervals | ride (a bike ride saved as a run)
    climb_m: float = 40.0


def plan(today: date) -> list[DemoRun]:
    """The demo's runs, ending ``today``: pure, so tests can check what it should trigger.

    Twelve 7-day blocks, then the last ten days: a steady ~30 km base (blocks 0-4), 17 days off,
    the return and a rebuild (blocks 7-10), a week in the hills (block 11), then intervals on the
    track in new low-drop shoes and a long run well past the recent longest (today).
    """
    rng = random.Random(2026)
    runs: list[DemoRun] = []

    def block(i: int) -> date:
        return today - timedelta(days=9 + 7 * (12 - i))

    def week(i: int, kms: list[float], last_kind: str = "long", climb: float = 40) -> None:
        for offset, km in zip((1, 3, 5, 6), kms, strict=True):
            kind = last_kind if offset == 6 else "easy"
            climb_m = climb * km / 8 + rng.uniform(-8, 8)
            runs.append(DemoRun(block(i) + timedelta(days=offset), km, kind, climb_m))

    base = [[6, 7, 6, 10], [6, 7.5, 6, 10.5], [6.5, 7, 6, 11], [6, 7, 6.5, 11.5], [6, 7, 6, 11]]
    for i, kms in enumerate(base):
        week(i, kms)
    back = block(7) + timedelta(days=2)  # blocks 5 and 6 off: 17 days without a run
    runs += [
        DemoRun(back, 5),
        DemoRun(back + timedelta(days=2), 6),
        DemoRun(back + timedelta(days=4), 8, "long"),
    ]
    for i, kms in zip((8, 9, 10), [[5, 6, 5, 8], [6, 7, 6, 10], [6, 7, 6, 11]], strict=True):
        week(i, kms)
    week(11, [6, 8, 7, 12], last_kind="hills", climb=170)
    runs += [
        DemoRun(today - timedelta(days=8), 7),
        DemoRun(today - timedelta(days=6), 6),
        DemoRun(today - timedelta(days=4), 7),
        DemoRun(today - timedelta(days=RIDE_DAYS_AGO), 42, "ride", 60),
        DemoRun(today - timedelta(days=NEW_SHOES_FROM_DAYS_AGO), 10, "intervals", 10),
        DemoRun(today - timedelta(days=1), 5),
        DemoRun(today, 16.5, "long"),
    ]
    return runs


NEW_SHOES_FROM_DAYS_AGO = 2
RIDE_DAYS_AGO = 3
RIDE_S_PER_KM = 130.0  # 7.7 m/s: no runner holds that over 42 km
WARMUP_S, WARMUP_M = 900.0, 2500.0
REPS, REP_S, REP_M, JOG_S, JOG_M = 6, 180.0, 750.0, 90.0, 200.0


def _session(run: DemoRun, tz: ZoneInfo, rng: random.Random) -> SessionSpec:
    local_start = datetime.combine(run.day, time(7, rng.randint(0, 40)), tzinfo=tz)
    pace = PACE_S_PER_KM * (0.95 if run.kind == "intervals" else 1.0)
    if run.kind == "ride":
        pace = RIDE_S_PER_KM
    duration = run.km * pace * (1.08 if run.kind == "hills" else 1.0)
    laps = None
    if run.kind == "intervals":  # 2.5 km warm-up, 6 x (750 m hard, 200 m jog), cool-down
        cool_m = run.km * 1000 - WARMUP_M - REPS * (REP_M + JOG_M)
        laps = [LapSpec(WARMUP_S, WARMUP_M, "warmup")]
        for _ in range(REPS):
            laps += [LapSpec(REP_S, REP_M, "interval"), LapSpec(JOG_S, JOG_M, "recovery")]
        laps.append(LapSpec(cool_m * 0.36, cool_m, "cooldown"))
        duration = sum(lap.duration_s for lap in laps)
    climb = max(run.climb_m, 0.0)
    hills = max(1, round(climb / 40))

    def altitude(t: float) -> float:
        return 120 + climb / (2 * hills) * (1 - math.cos(2 * math.pi * hills * t / duration))

    def heart_rate(t: float) -> float:
        in_reps = WARMUP_S <= t < WARMUP_S + REPS * (REP_S + JOG_S)
        hard = run.kind == "intervals" and in_reps and (t - WARMUP_S) % (REP_S + JOG_S) < REP_S
        return (172 if hard else 142) + 4 * math.sin(t / 300)

    return SessionSpec(
        start=local_start.astimezone(ZoneInfo("UTC")),
        duration_s=duration,
        distance_m=run.km * 1000,
        sub_sport="track" if run.kind == "intervals" else "generic",
        altitude_profile=altitude,
        heart_rate_bpm=heart_rate,
        laps=laps,
        record_step_s=5,
    )


def write_history(inbox: Path, today: date, tz: ZoneInfo) -> list[DemoRun]:
    """Write the demo history as FIT files into ``inbox``; return the plan it followed."""
    rng = random.Random(7)
    runs = plan(today)
    inbox.mkdir(parents=True, exist_ok=True)
    for run in runs:
        session = _session(run, tz, rng)
        offset = int(session.start.astimezone(tz).utcoffset().total_seconds())
        data = encode_activity([session], utc_offset_s=offset)
        stamp = session.start.strftime("%Y-%m-%d-%H-%M-%S")
        (inbox / f"{stamp}.fit").write_bytes(data)
    return runs


def demo_config(directory: Path) -> Config:
    """A configuration of the demo's own: its database, inbox and a console 'phone'."""
    return validate(
        {
            "database": {"path": str(directory / "calfsync-demo.db")},
            "fit": {"inbox": [str(directory / "inbox")]},
            "notify": {
                "channels": [{"type": "console", "name": "phone (console)"}],
                "digest": "off",  # the demo prints its digest instead (see cli/demo.py)
            },
        }
    )


def clear(directory: Path) -> None:
    """Remove what an earlier demo left, and only that."""
    shutil.rmtree(directory / "inbox", ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        (directory / f"calfsync-demo.db{suffix}").unlink(missing_ok=True)


def add_shoes(db: sqlite_utils.Database, runs: list[DemoRun], today: date) -> None:
    """The runner's shoes, as `calfsync shoes add` records them: a daily trainer from the first
    run on, and lower-drop racing flats for the last days."""
    with write_tx(db):
        add_shoe(db, "Daily trainer", runs[0].day.isoformat(), drop_mm=10)
        new_from = (today - timedelta(days=NEW_SHOES_FROM_DAYS_AGO)).isoformat()
        add_shoe(db, "Racing flat", new_from, drop_mm=4)


def weekly_load(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The ``weekly_load`` view, oldest week first."""
    return list(db.query("SELECT * FROM weekly_load ORDER BY week_start"))


def all_alerts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every stored alert in date order, with its delivery class and push state."""
    return list(
        db.query(
            "SELECT rule, local_date, severity, title, delivery, pushed FROM alerts "
            "ORDER BY local_date, id"
        )
    )
