"""Plausibility (RULES.md "Plausible"): why a record cannot be a run as recorded. Pure.

The pipeline's *check* stage, between normalizing and storing: a run that cannot be a run as
recorded (a ride or a drive saved as a run, an altimeter fault, a clock set to 2099, a watch left
running for days) is stored with the reason in words (``activities.suspect``) and counted by no
rule and no load view until the runner confirms it or corrects its sport. Without this, one bad
file fires alerts, becomes the 30-day reference and hides the next real rise (issue 10: 8,039 m
of climb on a 5 km run, 51.75 km at 2:40/km, a file dated 2099).

Only runs are judged: other sports are never counted anyway. An indoor run's climb is unknown
(NULL), so the climb check never applies to it. ``now`` is the caller's: nothing here reads the
clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .model import INDOOR_SUB_SPORTS, RUN_SPORT, Activity, parse_utc

MAX_SPEED_M_S = 6.0  # 2:47/km: faster than any run of 3 km or more
MIN_FAST_DISTANCE_M = 3_000.0  # the speed check needs this much distance (a sprint is fast)
MAX_CLIMB_M_PER_KM = 600.0  # steeper than the steepest vertical-kilometre races on average
MAX_FUTURE_S = 86_400.0  # a start more than a day after ``now``
EARLIEST_YEAR = 2000
MAX_DURATION_S = 86_400.0
MAX_DISTANCE_M = 300_000.0


def suspect_reason(act: Activity, now: datetime) -> str | None:
    """Why ``act`` cannot be a run as recorded, in words; None when it is plausible (or not a
    run). ``now`` is an aware datetime: the moment the record is judged."""
    return _reason(
        sport=act.sport,
        indoor=act.indoor,
        start_time=act.start_time,
        distance_m=act.distance_m or 0.0,
        moving_time_s=act.moving_time_s,
        elapsed_time_s=act.elapsed_time_s,
        ascent_m=act.ascent_m,
        now=now,
    )


def row_suspect_reason(row: Mapping[str, Any], now: datetime) -> str | None:
    """:func:`suspect_reason` of a stored ``activities`` row (its raw payloads are not read)."""
    return _reason(
        sport=row["sport"],
        indoor=bool(row.get("indoor")) or row.get("sub_sport") in INDOOR_SUB_SPORTS,
        start_time=parse_utc(row["start_time"]),
        distance_m=row.get("distance_m") or 0.0,
        moving_time_s=row.get("moving_time_s"),
        elapsed_time_s=row.get("elapsed_time_s"),
        ascent_m=row.get("ascent_m"),
        now=now,
    )


def _reason(
    *,
    sport: str,
    indoor: bool,
    start_time: datetime,
    distance_m: float,
    moving_time_s: float | None,
    elapsed_time_s: float | None,
    ascent_m: float | None,
    now: datetime,
) -> str | None:
    if sport != RUN_SPORT:
        return None
    if (start_time - now).total_seconds() > MAX_FUTURE_S:
        return f"starts on {start_time:%Y-%m-%d}, more than a day in the future: a clock set wrong?"
    if start_time.year < EARLIEST_YEAR:
        return f"starts on {start_time:%Y-%m-%d}, before {EARLIEST_YEAR}: a clock never set?"
    moving_s = moving_time_s if moving_time_s is not None else elapsed_time_s
    if not moving_s or moving_s <= 0:
        return f"no moving time over {distance_m / 1000:.2f} km: a recording that never started?"
    if moving_s > MAX_DURATION_S:
        return f"{moving_s / 3600:.1f} h of moving time, more than 24 hours: a watch left running?"
    if distance_m > MAX_DISTANCE_M:
        return f"{distance_m / 1000:.1f} km, more than 300 km: a drive saved as a run?"
    speed_m_s = distance_m / moving_s
    if distance_m >= MIN_FAST_DISTANCE_M and speed_m_s > MAX_SPEED_M_S:
        return (
            f"average speed {speed_m_s:.1f} m/s over {distance_m / 1000:.1f} km: a ride or a "
            "drive saved as a run?"
        )
    if not indoor and ascent_m is not None and ascent_m > MAX_CLIMB_M_PER_KM * distance_m / 1000:
        return (
            f"{ascent_m:.0f} m of climb over {distance_m / 1000:.2f} km, more than "
            f"{MAX_CLIMB_M_PER_KM:.0f} m per km: an altimeter fault?"
        )
    return None
