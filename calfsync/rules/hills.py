"""Hill rules: H1 (a week with much more climb), H2 (one run with much more climb).

Climb is unknown (None) for indoor runs and for outdoor runs without altitude; unknown climb
is left out of every sum rather than counted as zero, so a treadmill block never looks flat.
"""

from __future__ import annotations

from typing import Any

from . import Basis, Finding, Rule, Severity, Text
from ._util import at_least, exceeds, km, run_finding, window_key
from .history import History, date_of


def h1_numbers(
    h: History, t: int, p: dict[str, Any], i: int | None = None
) -> dict[str, float] | None:
    """A7, CA and climb density for day t (up to run i when given); None when H1 cannot judge.

    H1 needs the 28 days t − 27 … t inside the current streak, climb known for at least 75% of
    the outdoor runs in them, no suspect run not yet confirmed in them (its climb is unknown),
    and at least one outdoor run with known climb in the base weeks
    (t − 27 … t − 7), so a base of treadmill runs is unknown, not flat.
    """
    start = h.streak_start(t)
    if start is None or t - 27 < start or not h.window_clean(t - 27, t):
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
    return run_finding(
        "H1",
        run,
        {
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
        key=window_key("H1", t),
    )


def h1_fallen_back(h: History, t: int, p: dict[str, Any]) -> bool:
    """True when the week's climb is back under ``rearm_below`` × max(CA, low base)."""
    n = h1_numbers(h, t, p)
    if n is None:
        return False
    return n["week_climb_m"] < p["rearm_below"] * max(n["base_climb_m"], p["low_base_m"])


def h1_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each H1 alert, from its finding's values."""
    base = f"{v['base_climb_m']} m a week on average over {v['base_start']} to {v['base_end']}"
    rule = (
        f"Fires from {v['low_base_trigger_m']:g} m when the usual week climbs under "
        f"{v['low_base_m']:g} m."
        if v.get("low_base")
        else f"Fires at {v['threshold_ratio']:g}x, {v['min_increase_m']:g} m more and "
        f"{v['min_climb_per_km']:g} m/km."
    )
    return Text(
        f"Much more climbing this week ({v['week_climb_m']} m)",
        f"{v['week_climb_m']} m of climb over {v['window_start']} to {v['window_end']} "
        f"({v['density_m_per_km']} m/km) against {base}. {rule}",
        f"keep next week's climb near {v['base_climb_m']} m and run the hills easy",
        "convention; uphill running loads the calf and Achilles more (Vernillo 2017).",
    )


H1 = Rule(
    id="H1",
    kind="window",
    check=h1,
    params={
        "ratio": 1.3,
        "min_increase_m": 200.0,
        "min_climb_per_km": 10.0,
        "low_base_m": 50.0,
        "low_base_trigger_m": 300.0,
        "min_known_fraction": 0.75,
        "rearm_below": 1.0,
    },
    severities=(Severity("normal", 4, "now"),),
    build=h1_text,
    trigger="more hill running",
    summary="more hill running (week)",
    episode="per 7-day window",
    basis=Basis("convention", "uphill running shifts load to calf and Achilles (Vernillo 2017)"),
    fallen_back=h1_fallen_back,
    reach=lambda _p: 27,  # CA's base weeks: t − 27 … t − 7
)


def h2(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """H2, more hill running in one run: climb > 1.3 × the biggest climb of the runs in the 30
    days before (current streak, known climb only, runs of at least 1 km) and at least 150 m.
    Silent while those 30 days reach back before the first activity held, unless the streak
    began with a return (RULES.md "Known history").

    Evidence grade: convention, by analogy with S1.
    """
    run = h.runs[i]
    if run.climb_m is None or not h.known_since(i, p["lookback_days"]):
        return None
    streak = h.streak_of[i]
    climbs = [
        h.runs[j].climb_m
        for j in h.before(i, p["lookback_days"])
        if h.runs[j].day >= streak and h.runs[j].climb_m is not None and h.is_reference(j)
    ]
    if not climbs:
        return None
    biggest = max(climbs)
    if not exceeds(run.climb_m, p["ratio"] * biggest) or not at_least(
        run.climb_m, p["min_climb_m"]
    ):
        return None
    return run_finding(
        "H2",
        run,
        {
            "climb_m": round(run.climb_m),
            "biggest_climb_m": round(biggest),
            "ratio": round(run.climb_m / biggest, 3) if biggest > 0 else None,
            "threshold_ratio": p["ratio"],
            "min_climb_m": p["min_climb_m"],
            "window_days": p["lookback_days"],
            "distance_km": km(run.distance_m),
        },
    )


def h2_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each H2 alert, from its finding's values."""
    return Text(
        f"Hilliest run in a month ({v['climb_m']} m)",
        f"{v['climb_m']} m of climb against your biggest of {v['biggest_climb_m']} m in the "
        f"{v['window_days']} days before. Fires above {v['threshold_ratio']:g}x and from "
        f"{v['min_climb_m']:g} m.",
        "keep the next runs flat and easy",
        "convention, by analogy with the long-run rule.",
    )


H2 = Rule(
    id="H2",
    kind="per_run",
    check=h2,
    params={"ratio": 1.3, "min_climb_m": 150.0, "lookback_days": 30},
    severities=(Severity("normal", 4, "now"),),  # RULES.md ranks "H1/H2" together
    build=h2_text,
    trigger="more hill running",
    summary="more hill running (one run)",
    episode="per run",
    basis=Basis("convention", "by analogy with S1"),
)
