"""Hill rules: H1 (a week with much more climb), H2 (one run with much more climb).

Climb is unknown (None) for indoor runs and for outdoor runs without altitude; unknown climb
is left out of every sum rather than counted as zero, so a treadmill block never looks flat.
"""

from __future__ import annotations

from typing import Any

from . import Finding
from ._util import at_least, exceeds, km, window_key
from .history import History, date_of


def h1_numbers(
    h: History, t: int, p: dict[str, Any], i: int | None = None
) -> dict[str, float] | None:
    """A7, CA and climb density for day t (up to run i when given); None when H1 cannot judge.

    H1 needs the 28 days t − 27 … t inside the current streak, climb known for at least 75% of
    the outdoor runs in them, and at least one outdoor run with known climb in the base weeks
    (t − 27 … t − 7), so a base of treadmill runs is unknown, not flat.
    """
    start = h.streak_start(t)
    if start is None or t - 27 < start:
        return None
    outdoor = h.through("outdoor", t - 27, t, i)
    known = h.through("known", t - 27, t, i)
    if outdoor <= 0 or known / outdoor < p["min_known_fraction"]:
        return None
    if h.total("known", t - 27, t - 7) <= 0:
        return None
    base = h.total("climb", t - 27, t - 7) / 3.0
    week = h.through("climb", t - 6, t, i)
    week_km = h.d7(t, i) / 1000.0
    density = week / week_km if week_km > 0 else 0.0
    return {
        "week_climb_m": week,
        "base_climb_m": base,
        "density_m_per_km": density,
        "known_fraction": known / outdoor,
    }


def h1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """H1, more hill running in a week: A7 ≥ 1.3 × CA (CA = mean weekly climb of t − 27 …
    t − 7) and A7 − CA ≥ 200 m and A7 / D7 ≥ 10 m/km; or CA < 50 m and A7 ≥ 300 m. D7 is the
    distance of every run of t − 6 … t, indoor runs included (they count for distance).

    Judged on run i at its local date t; day t counts its runs up to and including run i.

    Evidence grade: convention; uphill running shifts load to calf and Achilles (Vernillo 2017).
    """
    t = h.runs[i].day
    n = h1_numbers(h, t, p, i)
    if n is None:
        return None
    week, base, density = n["week_climb_m"], n["base_climb_m"], n["density_m_per_km"]
    rise = (
        at_least(week, p["ratio"] * base)
        and at_least(week - base, p["min_increase_m"])
        and at_least(density, p["min_climb_per_km"])
    )
    low_base = base < p["low_base_m"] and at_least(week, p["low_base_trigger_m"])
    if not (rise or low_base):
        return None
    run = h.runs[i]
    return Finding(
        rule="H1",
        episode_key=window_key("H1", t),
        local_date=date_of(t),
        activity_id=run.id,
        severity="normal",
        values={
            "week_climb_m": round(week),
            "base_climb_m": round(base),
            "ratio": round(week / base, 3) if base > 0 else None,
            "density_m_per_km": round(density, 1),
            "threshold_ratio": p["ratio"],
            "min_increase_m": p["min_increase_m"],
            "min_climb_per_km": p["min_climb_per_km"],
            "low_base": low_base and not rise,
            "low_base_m": p["low_base_m"],
            "low_base_trigger_m": p["low_base_trigger_m"],
            "window_start": date_of(t - 6),
            "window_end": date_of(t),
            "base_start": date_of(t - 27),
            "base_end": date_of(t - 7),
            "week_km": km(h.d7(t, i)),
        },
        run_name=run.name,
        run_start=run.start_time,
    )


def h1_fallen_back(h: History, t: int, p: dict[str, Any]) -> bool:
    """True when the week's climb is back under ``rearm_below`` × max(CA, low base)."""
    n = h1_numbers(h, t, p)
    if n is None:
        return False
    return n["week_climb_m"] < p["rearm_below"] * max(n["base_climb_m"], p["low_base_m"])


def h2(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """H2, more hill running in one run: climb > 1.3 × the biggest climb of the runs in the 30
    days before (current streak, known climb only) and at least 150 m.

    Evidence grade: convention, by analogy with S1.
    """
    run = h.runs[i]
    if run.climb_m is None:
        return None
    streak = h.streak_of[i]
    climbs = [
        h.runs[j].climb_m
        for j in h.before(i, p["lookback_days"])
        if h.runs[j].day >= streak and h.runs[j].climb_m is not None
    ]
    if not climbs:
        return None
    biggest = max(climbs)
    if not exceeds(run.climb_m, p["ratio"] * biggest) or not at_least(
        run.climb_m, p["min_climb_m"]
    ):
        return None
    return Finding(
        rule="H2",
        episode_key=f"H2:{run.id}",
        local_date=run.local_date,
        activity_id=run.id,
        severity="normal",
        values={
            "climb_m": round(run.climb_m),
            "biggest_climb_m": round(biggest),
            "ratio": round(run.climb_m / biggest, 3) if biggest > 0 else None,
            "threshold_ratio": p["ratio"],
            "min_climb_m": p["min_climb_m"],
            "window_days": p["lookback_days"],
            "distance_km": km(run.distance_m),
        },
        run_name=run.name,
        run_start=run.start_time,
    )
