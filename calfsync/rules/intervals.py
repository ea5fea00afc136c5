"""Intensity rules: I1 (a harder interval session) and WU (no warm-up, off by default)."""

from __future__ import annotations

from typing import Any

from . import Basis, Finding, Rule, Severity, Text
from ._util import at_least, exceeds, km, run_finding
from .history import History, Run


def i1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """I1, a harder interval session. A run is hard with interval laps, sub-sport track, Strava
    workout_type 3, or ≥ 10 min at ≥ 90% of the configured max heart rate (an observed maximum
    is never used). Fires when no hard run came in the 21 days before, or when its hard minutes
    exceed 1.3 × the most of any hard run in the 30 days before. Needs 21 days of the current
    streak behind the run.

    Evidence grade: convention.
    """
    hard, minutes = h.hard(i, p["hr_fraction"], p["min_hard_minutes"])
    if not hard:
        return None
    run = h.runs[i]
    if run.day - p["min_history_days"] < h.streak_of[i]:
        return None
    recent = [
        j
        for j in h.before(i, p["quiet_days"])
        if h.hard(j, p["hr_fraction"], p["min_hard_minutes"])[0]
    ]
    reference = None
    if recent:
        done = [
            m
            for j in h.before(i, p["lookback_days"])
            for is_hard, m in [h.hard(j, p["hr_fraction"], p["min_hard_minutes"])]
            if is_hard and m
        ]
        if minutes is None or not done:
            return None
        reference = max(done)
        if not exceeds(minutes, p["ratio"] * reference):
            return None
    return run_finding(
        "I1",
        run,
        {
            "hard_min": round(minutes, 1) if minutes is not None else None,
            "reference_hard_min": round(reference, 1) if reference is not None else None,
            "reason": "longer" if reference is not None else "first_in_window",
            "quiet_days": p["quiet_days"],
            "threshold_ratio": p["ratio"],
            "window_days": p["lookback_days"],
            "hard_because": _why_hard(run, h.max_heart_rate, p),
            "distance_km": km(run.distance_m),
        },
    )


def _why_hard(run: Run, max_hr: int | None, p: dict[str, Any]) -> str:
    if run.interval_time_s:
        return "interval laps"
    if run.sub_sport == "track":
        return "track session"
    if run.workout_type == 3:
        return "Strava workout"
    return f"≥ {p['min_hard_minutes']:g} min at ≥ {p['hr_fraction']:.0%} of {max_hr} bpm"


def i1_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each I1 alert, from its finding's values."""
    if v["reason"] == "longer":
        numbers = (
            f"{v['hard_min']:g} min of hard running against at most {v['reference_hard_min']:g} "
            f"min in the {v['window_days']} days before (fires above {v['threshold_ratio']:g}x)."
        )
    else:
        mins = f" ({v['hard_min']:g} min hard)" if v.get("hard_min") else ""
        numbers = f"The first hard session in {v['quiet_days']} days{mins}."
    return Text(
        "Harder interval session",
        f"{numbers} Hard because: {v['hard_because']}.",
        "make the next two days easy or rest",
        "a convention, not a research finding.",
    )


I1 = Rule(
    id="I1",
    kind="per_run",
    check=i1,
    params={
        "quiet_days": 21,
        "ratio": 1.3,
        "lookback_days": 30,
        "hr_fraction": 0.90,
        "min_hard_minutes": 10.0,
        "min_history_days": 21,
    },
    severities=(Severity("normal", 8, "digest"),),
    build=i1_text,
    trigger="a harder interval session on the track",
    summary="harder interval session",
    episode="per run",
    basis=Basis("convention"),
    reach=lambda p: int(max(p["quiet_days"], p["lookback_days"], p["min_history_days"])),
)


LAP_TIME_KEYS = ("timer_time_s", "moving_time_s", "elapsed_time_s", "total_timer_time", "time_s")
LAP_DIST_KEYS = ("distance_m", "total_distance")


def _lap_number(lap: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = lap.get(key)
        if isinstance(value, int | float):
            return float(value)
    return None


def wu(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """WU, no warm-up (off by default): a hard run with no warm-up lap whose first 5 minutes
    already run at ≥ 95% of its hard pace (the interval laps' speed, else the whole run's).
    Needs lap times and distances.

    Evidence grade: convention, low confidence.
    """
    hard, _minutes = h.hard(i, h_fraction(p), p.get("min_hard_minutes", 10.0))
    run = h.runs[i]
    if not hard or not run.laps:
        return None
    if str(run.laps[0].get("intensity") or "").lower() == "warmup":
        return None
    opening = p["warmup_minutes"] * 60.0
    time_s = dist_m = 0.0
    hard_time = hard_dist = 0.0
    for lap in run.laps:
        lap_t = _lap_number(lap, LAP_TIME_KEYS)
        lap_d = _lap_number(lap, LAP_DIST_KEYS)
        if not lap_t or lap_d is None:
            return None
        if time_s < opening:
            share = min(lap_t, opening - time_s) / lap_t
            dist_m += lap_d * share
            time_s += lap_t * share
        if str(lap.get("intensity") or "").lower() == "interval":
            hard_time += lap_t
            hard_dist += lap_d
    if not hard_time:
        hard_time = run.moving_time_s or 0.0
        hard_dist = run.distance_m
    if time_s < opening or not hard_time or not hard_dist:
        return None
    opening_speed = dist_m / time_s
    hard_speed = hard_dist / hard_time
    if not at_least(opening_speed, p["hard_pace_fraction"] * hard_speed):
        return None
    return run_finding(
        "WU",
        run,
        {
            "opening_min_per_km": round(1000.0 / opening_speed / 60.0, 2),
            "hard_min_per_km": round(1000.0 / hard_speed / 60.0, 2),
            "warmup_minutes": p["warmup_minutes"],
            "hard_pace_fraction": p["hard_pace_fraction"],
        },
    )


def h_fraction(p: dict[str, Any]) -> float:
    """WU judges hardness like I1; its own table may carry I1's heart-rate fraction."""
    return float(p.get("hr_fraction", 0.90))


def wu_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each WU alert, from its finding's values."""
    return Text(
        "Hard start without a warm-up",
        f"First {v['warmup_minutes']:g} min at {v['opening_min_per_km']:.2f} min/km against a "
        f"hard pace of {v['hard_min_per_km']:.2f} min/km, with no warm-up lap.",
        "start the next hard session with 10-15 min of easy running",
        "a convention with low confidence, not a research finding.",
    )


WU = Rule(
    id="WU",
    kind="per_run",
    check=wu,
    params={"warmup_minutes": 5.0, "hard_pace_fraction": 0.95},
    severities=(Severity("normal", 13, "digest"),),
    build=wu_text,
    trigger="a missing warm-up",
    summary="no warm-up (off by default)",
    episode="per run",
    basis=Basis("convention", "low confidence"),
    enabled=False,
)
