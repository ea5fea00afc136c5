"""Mileage rules: S1 (one run far past your recent longest), W1 (a week's rise), A1 (ACWR)."""

from __future__ import annotations

from typing import Any

from . import Finding
from ._util import at_least, exceeds, km, window_key
from .history import History, date_of


def s1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """S1, rapid rise in mileage: one run more than 10% (and ≥ 1 km) past the longest run of the
    30 days before it, counting only runs of the current streak.

    Evidence grade: evidence. Frandsen et al., Br J Sports Med 2025 (Garmin-RUNSAFE, 5,205
    runners): hazard ratios 1.64 / 1.52 / 2.28 for rises of 10–30%, 30–100% and > 100%.
    """
    run = h.runs[i]
    streak = h.streak_of[i]
    longest = max(
        (h.runs[j].distance_m for j in h.before(i, p["lookback_days"]) if h.runs[j].day >= streak),
        default=0.0,
    )
    if longest <= 0:
        return None
    ratio = run.distance_m / longest - 1.0
    if not exceeds(ratio, p["threshold"]) or not at_least(
        run.distance_m - longest, p["min_increase_km"] * 1000.0
    ):
        return None
    if exceeds(ratio, p["large"]):
        severity = "large"
    elif exceeds(ratio, p["moderate"]):
        severity = "moderate"
    else:
        severity = "small"
    return Finding(
        rule="S1",
        episode_key=f"S1:{run.id}",
        local_date=run.local_date,
        activity_id=run.id,
        severity=severity,
        values={
            "distance_km": km(run.distance_m),
            "longest_km": km(longest),
            "increase_km": km(run.distance_m - longest),
            "ratio": round(ratio, 4),
            "threshold": p["threshold"],
            "min_increase_km": p["min_increase_km"],
            "window_days": p["lookback_days"],
        },
        run_name=run.name,
        run_start=run.start_time,
    )


def w1_ratio(h: History, t: int, i: int | None = None) -> float | None:
    """D7(t) / D7(t − 7) − 1 (day t up to run i when given), or None when the two weeks are
    not both inside the streak."""
    start = h.streak_start(t)
    if start is None or t - 13 < start:
        return None
    previous = h.d7(t - 7)
    if previous <= 0:
        return None
    return h.d7(t, i) / previous - 1.0


def w1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """W1, a rise of more than 20% in a week: D7(t) / D7(t − 7) − 1 > 0.20 and at least 5 km
    more; both weeks inside the current streak, so a return from a layoff is never a ramp.

    Judged on run i at its local date t; day t counts its runs up to and including run i.

    Evidence grade: the guide's figure; evidence for a weekly limit is weak (Buist 2008,
    Nielsen 2014, Damsted 2019).
    """
    t = h.runs[i].day
    ratio = w1_ratio(h, t, i)
    if ratio is None:
        return None
    current, previous = h.d7(t, i), h.d7(t - 7)
    if not exceeds(ratio, p["threshold"]) or not at_least(
        current - previous, p["min_increase_km"] * 1000.0
    ):
        return None
    run = h.runs[i]
    return Finding(
        rule="W1",
        episode_key=window_key("W1", t),
        local_date=date_of(t),
        activity_id=run.id,
        severity="normal",
        values={
            "week_km": km(current),
            "previous_week_km": km(previous),
            "increase_km": km(current - previous),
            "ratio": round(ratio, 4),
            "threshold": p["threshold"],
            "min_increase_km": p["min_increase_km"],
            "window_start": date_of(t - 6),
            "window_end": date_of(t),
            "window_days": 7,
        },
        run_name=run.name,
        run_start=run.start_time,
    )


def w1_fallen_back(h: History, t: int, p: dict[str, Any]) -> bool:
    """True when W1's ratio on day t is back below its re-arm level (+10%)."""
    ratio = w1_ratio(h, t)
    return ratio is not None and ratio < p["rearm_below"]


def a1_ratio(h: History, t: int, i: int | None = None) -> float | None:
    """Uncoupled ACWR: D7 / (distance over t − 27 … t − 7 ÷ 3), None outside the streak
    (day t up to run i when given)."""
    start = h.streak_start(t)
    if start is None or t - 27 < start:
        return None
    chronic = h.total("dist", t - 27, t - 7) / 3.0
    if chronic <= 0:
        return None
    return h.d7(t, i) / chronic


def a1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """A1, a load spike as a ratio (off by default): uncoupled ACWR ≥ 1.8.

    Evidence grade: contested (Impellizzeri 2020, Lolli 2019); not predictive in runners
    (Frandsen 2025). Off unless ``[rules.A1] enabled = true``.
    """
    t = h.runs[i].day
    ratio = a1_ratio(h, t, i)
    if ratio is None or not at_least(ratio, p["threshold"]):
        return None
    run = h.runs[i]
    return Finding(
        rule="A1",
        episode_key=window_key("A1", t),
        local_date=date_of(t),
        activity_id=run.id,
        severity="normal",
        values={
            "week_km": km(h.d7(t, i)),
            "chronic_week_km": km(h.total("dist", t - 27, t - 7) / 3.0),
            "acwr": round(ratio, 3),
            "threshold": p["threshold"],
            "window_days": 28,
        },
        run_name=run.name,
        run_start=run.start_time,
    )


def a1_fallen_back(h: History, t: int, p: dict[str, Any]) -> bool:
    ratio = a1_ratio(h, t)
    return ratio is not None and ratio < p["rearm_below"]
