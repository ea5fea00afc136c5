"""Mileage rules: S1 (one run far past your recent longest), W1 (a week's rise), A1 (ACWR)."""

from __future__ import annotations

from typing import Any

from . import Basis, Finding, Rule, Severity, Text
from ._util import at_least, exceeds, km, run_finding, window_key
from .history import History, date_of
from .messages import km_text, pct


def s1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """S1, rapid rise in mileage: one run more than 10% (and ≥ 1 km) past the longest run of the
    30 days before it, counting only runs of the current streak and of at least 1 km (a blip is
    never the reference). Silent while those 30 days reach back before the first activity held,
    unless the streak began with a return (RULES.md "Known history": a runner importing their
    last month is not told off for their normal long run).

    Evidence grade: evidence. Frandsen et al., Br J Sports Med 2025 (Garmin-RUNSAFE, 5,205
    runners): hazard ratios 1.64 / 1.52 / 2.28 for rises of 10–30%, 30–100% and > 100%.
    """
    run = h.runs[i]
    if not h.known_since(i, p["lookback_days"]):
        return None
    longest = recent_longest(h, i, p["lookback_days"])
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
    return run_finding(
        "S1",
        run,
        {
            "distance_km": km(run.distance_m),
            "longest_km": km(longest),
            "increase_km": km(run.distance_m - longest),
            "ratio": round(ratio, 4),
            "threshold": p["threshold"],
            "min_increase_km": p["min_increase_km"],
            "window_days": p["lookback_days"],
        },
        severity=severity,
    )


def recent_longest(h: History, i: int, days: int) -> float:
    """The distance (m) S1 compares run i with: the longest run of the ``days`` days before it,
    counting only runs of its streak and of at least ``min_reference_m`` (0 when none). The
    report page draws the same figure beside every run."""
    streak = h.streak_of[i]
    return max(
        (
            h.runs[j].distance_m
            for j in h.before(i, days)
            if h.runs[j].day >= streak and h.is_reference(j)
        ),
        default=0.0,
    )


def s1_text(v: dict[str, Any], sev: str) -> Text:
    """The words of each S1 alert, from its finding's values."""
    return Text(
        f"Run {v['ratio'] * 100:.0f}% longer than your recent longest ({sev} rise)",
        f"{km_text(v['distance_km'])} against your longest of {km_text(v['longest_km'])} in the "
        f"{v['window_days']} days before (+{v['increase_km']:.1f} km). Fires above "
        f"{pct(v['threshold'])} and {v['min_increase_km']:g} km more.",
        f"keep the next runs easy and no longer than {km_text(v['longest_km'])}",
        "evidence-based: Frandsen 2025 (5,205 runners) linked rises past 10% to more injuries.",
    )


S1 = Rule(
    id="S1",
    kind="per_run",
    check=s1,
    params={
        "threshold": 0.10,
        "min_increase_km": 1.0,
        "lookback_days": 30,
        "moderate": 0.30,
        "large": 1.00,
    },
    severities=(
        Severity("small", 10, "digest"),
        Severity("moderate", 3, "now"),
        Severity("large", 2, "now"),
    ),
    build=s1_text,
    trigger="a rapid rise in mileage",
    summary="rapid rise in mileage: one run far past your recent longest",
    episode="per run",
    basis=Basis(
        "evidence",
        "Frandsen et al., Br J Sports Med 2025 (Garmin-RUNSAFE, 5,205 runners): hazard ratios "
        "1.64 / 1.52 / 2.28 for the three bands",
    ),
)


def w1_ratio(h: History, t: int, i: int | None = None) -> float | None:
    """D7(t) / D7(t − 7) − 1 (day t up to run i when given), or None when the two weeks are
    not both inside the streak or hold a suspect run not yet confirmed (their load is unknown)."""
    start = h.streak_start(t)
    if start is None or t - 13 < start or not h.window_clean(t - 13, t):
        return None
    previous = h.d7(t - 7)
    if previous <= 0:
        return None
    return h.d7(t, i) / previous - 1.0


def w1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """W1, a rise of more than 20% in a week: D7(t) / D7(t − 7) − 1 > 0.20 and at least 5 km
    more; both weeks inside the current streak, so a return from a layoff is never a ramp; and
    a new high: D7(t) > 1.1 × max(D7(t − 14), D7(t − 21), D7(t − 28)), so a return to your
    normal after one easy week is not a ramp (issue 10: 62% of W1 alerts on real histories were
    such rebounds). The weeks compared with must be known: t − 34 ≥ the first activity held.

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
    recent_high = w1_recent_high(h, t)
    if recent_high is None or not exceeds(current, p["new_high_factor"] * recent_high):
        return None
    run = h.runs[i]
    return run_finding(
        "W1",
        run,
        {
            "week_km": km(current),
            "previous_week_km": km(previous),
            "increase_km": km(current - previous),
            "ratio": round(ratio, 4),
            "threshold": p["threshold"],
            "min_increase_km": p["min_increase_km"],
            "recent_high_km": km(recent_high),
            "new_high_factor": p["new_high_factor"],
            "window_start": date_of(t - 6),
            "window_end": date_of(t),
            "window_days": 7,
        },
        key=window_key("W1", t),
    )


W1_HIGH_WEEKS_BACK = (14, 21, 28)  # D7 of the three weeks before the reference week


def w1_recent_high(h: History, t: int) -> float | None:
    """max(D7(t − 14), D7(t − 21), D7(t − 28)), or None when those weeks reach back before the
    first activity held (unknown, not empty)."""
    oldest = t - max(W1_HIGH_WEEKS_BACK) - 6
    if h.first_day is None or oldest < h.first_day:
        return None
    return max(h.d7(t - k) for k in W1_HIGH_WEEKS_BACK)


def w1_fallen_back(h: History, t: int, p: dict[str, Any]) -> bool:
    """True when W1's ratio on day t is back below its re-arm level (+10%)."""
    ratio = w1_ratio(h, t)
    return ratio is not None and ratio < p["rearm_below"]


def w1_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each W1 alert, from its finding's values."""
    return Text(
        f"Weekly distance up {v['ratio'] * 100:.0f}%",
        f"{km_text(v['week_km'])} over {v['window_start']} to {v['window_end']} against "
        f"{km_text(v['previous_week_km'])} the 7 days before (+{v['increase_km']:.1f} km), and a "
        f"new high: your most in the three weeks before that was {km_text(v['recent_high_km'])}. "
        f"Fires above {pct(v['threshold'])}, {v['min_increase_km']:g} km more and "
        f"{v['new_high_factor']:g}x that high.",
        f"hold next week near {km_text(v['previous_week_km'])} and keep the runs easy",
        "the guide's figure, a convention: evidence for a weekly limit is weak (Buist 2008, "
        "Nielsen 2014, Damsted 2019).",
    )


W1 = Rule(
    id="W1",
    kind="window",
    check=w1,
    params={
        "threshold": 0.20,
        "min_increase_km": 5.0,
        "rearm_below": 0.10,
        "new_high_factor": 1.1,
    },
    severities=(Severity("normal", 7, "digest"),),
    build=w1_text,
    trigger="a rise of more than 20% in a week",
    summary="rise of more than 20% in a week",
    episode="per 7-day window",
    basis=Basis(
        "guide",
        "its figure; evidence for a weekly limit is weak (Buist 2008; Nielsen 2014; Damsted 2019)",
    ),
    fallen_back=w1_fallen_back,
    reach=lambda _p: 6 + max(W1_HIGH_WEEKS_BACK),  # D7(t − 28) starts on t − 34
)


def a1_ratio(h: History, t: int, i: int | None = None) -> float | None:
    """Uncoupled ACWR: D7 / (distance over t − 27 … t − 7 ÷ 3), None outside the streak
    (day t up to run i when given), or with a suspect run not yet confirmed in its window."""
    start = h.streak_start(t)
    if start is None or t - 27 < start or not h.window_clean(t - 27, t):
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
    return run_finding(
        "A1",
        run,
        {
            "week_km": km(h.d7(t, i)),
            "chronic_week_km": km(h.total("dist", t - 27, t - 7) / 3.0),
            "acwr": round(ratio, 3),
            "threshold": p["threshold"],
            "window_days": 28,
        },
        key=window_key("A1", t),
    )


def a1_fallen_back(h: History, t: int, p: dict[str, Any]) -> bool:
    ratio = a1_ratio(h, t)
    return ratio is not None and ratio < p["rearm_below"]


def a1_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each A1 alert, from its finding's values."""
    return Text(
        f"Load spike (ACWR {v['acwr']:g})",
        f"{km_text(v['week_km'])} in the last 7 days against {km_text(v['chronic_week_km'])} a "
        f"week over the 3 weeks before (ratio {v['acwr']:g}, fires from {v['threshold']:g}).",
        f"keep the next runs easy and next week no longer than {km_text(v['chronic_week_km'])}",
        "contested evidence (Impellizzeri 2020); not predictive in runners (Frandsen 2025).",
    )


A1 = Rule(
    id="A1",
    kind="window",
    check=a1,
    params={"threshold": 1.8, "rearm_below": 1.5},
    severities=(Severity("normal", 12, "digest"),),
    build=a1_text,
    trigger="a period of increased training",
    summary="load spike as a ratio (off by default)",
    episode="per 7-day window",
    basis=Basis(
        "contested",
        "Impellizzeri 2020; Lolli 2019; not predictive in runners (Frandsen 2025)",
    ),
    enabled=False,
    fallen_back=a1_fallen_back,
    reach=lambda _p: 27,  # the chronic weeks: t − 27 … t − 7
)
