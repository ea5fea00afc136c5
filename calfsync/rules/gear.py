"""Shoe rules: G1 (a new pair), G2 (a lower drop), SW1 (worn shoes).

A shoe's distance before a run counts what it did before the first run calfsync knows of:
the source's reported total (Strava's gear distance) minus the runs stored in that shoe.
"""

from __future__ import annotations

from typing import Any

from . import Basis, Finding, Rule, Severity, Text
from ._util import at_least, km, run_finding
from .history import History
from .messages import km_text


def g1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """G1, change of shoes, a new pair: the first run in a shoe that had at most 20 km on it
    before, so a worn pair newly linked is not "new". The first run of the whole history is
    not a change of anything.

    Evidence grade: the guide; threshold convention.
    """
    run = h.runs[i]
    if not run.gear_id or not h.first_in_shoe[i] or h.is_first(i):
        return None
    before_m = h.shoe_before_m[i] or 0.0
    if before_m > p["max_prior_km"] * 1000.0:
        return None
    shoe = h.shoes.get(run.gear_id)
    return run_finding(
        "G1",
        run,
        {
            "gear_id": run.gear_id,
            "shoe": (shoe.name if shoe else None) or run.gear_id,
            "shoe_km_before": km(before_m),
            "max_prior_km": p["max_prior_km"],
            "distance_km": km(run.distance_m),
        },
        key=f"G1:{run.gear_id}",
    )


def g1_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each G1 alert, from its finding's values."""
    return Text(
        f"First run in new shoes ({v['shoe']})",
        f"{v['shoe']} had {km_text(v['shoe_km_before'])} on it before this run (new means at "
        f"most {v['max_prior_km']:g} km).",
        "mix them in with your old pair for short easy runs for a couple of weeks",
        f"convention: the guide names new shoes; the {v['max_prior_km']:g} km line is ours.",
    )


G1 = Rule(
    id="G1",
    kind="per_shoe",
    check=g1,
    params={"max_prior_km": 20.0},
    severities=(Severity("normal", 9, "digest"),),
    build=g1_text,
    trigger="a change of shoes",
    summary="change of shoes: a new pair",
    episode="per shoe",
    basis=Basis("guide", "threshold convention"),
)


def g2(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """G2, change of shoes to a lower drop: the run's shoe has a drop at least 4 mm below the
    distance-weighted drop of the shoes of the last 60 days' runs, or it is minimalist and none
    of those was. Only shoes with a user-entered drop count; with none known it stays silent.

    Evidence grade: direction from Malisoux 2016 (low drop, regular runners HR 1.67);
    threshold convention.
    """
    run = h.runs[i]
    shoe = h.shoes.get(run.gear_id or "")
    if shoe is None:
        return None
    weighted = 0.0
    known_m = 0.0
    shod = 0
    any_minimalist = False
    for j in h.before(i, p["lookback_days"]):
        other = h.shoes.get(h.runs[j].gear_id or "")
        if other is None:
            continue
        shod += 1
        any_minimalist = any_minimalist or other.minimalist
        if other.drop_mm is not None:
            weighted += other.drop_mm * h.runs[j].distance_m
            known_m += h.runs[j].distance_m
    reference = weighted / known_m if known_m > 0 else None
    lower = (
        shoe.drop_mm is not None
        and reference is not None
        and at_least(reference - shoe.drop_mm, p["min_drop_decrease_mm"])
    )
    minimalist = shoe.minimalist and shod > 0 and not any_minimalist
    if not (lower or minimalist):
        return None
    return run_finding(
        "G2",
        run,
        {
            "gear_id": shoe.id,
            "shoe": shoe.name or shoe.id,
            "drop_mm": shoe.drop_mm,
            "reference_drop_mm": round(reference, 1) if reference is not None else None,
            "min_drop_decrease_mm": p["min_drop_decrease_mm"],
            "minimalist": bool(shoe.minimalist),
            "window_days": p["lookback_days"],
        },
        key=f"G2:{shoe.id}",
    )


def g2_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each G2 alert, from its finding's values."""
    if v.get("drop_mm") is not None and v.get("reference_drop_mm") is not None:
        numbers = (
            f"{v['shoe']} has a {v['drop_mm']:g} mm drop against {v['reference_drop_mm']:g} mm "
            f"for your shoes of the last {v['window_days']} days (distance-weighted; fires at "
            f"{v['min_drop_decrease_mm']:g} mm lower)."
        )
    else:
        numbers = (
            f"{v['shoe']} is minimalist; none of your shoes of the last {v['window_days']} "
            "days was."
        )
    return Text(
        f"Lower-drop shoes ({v['shoe']})",
        numbers,
        "use them for short easy runs at first; a lower drop loads the calf more",
        "direction from Malisoux 2016 (low drop, regular runners); threshold convention.",
    )


G2 = Rule(
    id="G2",
    kind="per_shoe",
    check=g2,
    params={"min_drop_decrease_mm": 4.0, "lookback_days": 60},
    severities=(Severity("normal", 5, "now"),),
    build=g2_text,
    trigger="a change of shoes",
    summary="change of shoes: lower drop",
    episode="per shoe",
    basis=Basis(
        "convention",
        "direction from Malisoux 2016 (low drop, regular runners HR 1.67); threshold convention",
    ),
)


def sw1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """SW1, worn shoes: this run takes its shoe past its retirement distance (the shoe's own
    ``retire_at_m``, else 800 km). A shoe already past it when first seen fires on its first run.

    Evidence grade: convention; runners ask for it.
    """
    run = h.runs[i]
    if not run.gear_id:
        return None
    shoe = h.shoes.get(run.gear_id)
    limit = (shoe.retire_at_m if shoe and shoe.retire_at_m else None) or p["retire_km"] * 1000.0
    before_m = h.shoe_before_m[i] or 0.0
    after_m = before_m + run.distance_m
    if not at_least(after_m, limit):
        return None
    if at_least(before_m, limit) and not h.first_in_shoe[i]:
        return None
    return run_finding(
        "SW1",
        run,
        {
            "gear_id": run.gear_id,
            "shoe": (shoe.name if shoe else None) or run.gear_id,
            "shoe_km": km(after_m),
            "retire_km": km(limit),
        },
        key=f"SW1:{run.gear_id}",
    )


def sw1_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each SW1 alert, from its finding's values."""
    return Text(
        f"Shoes past {v['retire_km']:g} km ({v['shoe']})",
        f"{v['shoe']} now has {km_text(v['shoe_km'])} (retirement distance "
        f"{km_text(v['retire_km'])}).",
        "keep the next runs easy; plan a new pair and bring it in gradually beside this one",
        "a convention, not a research finding.",
    )


SW1 = Rule(
    id="SW1",
    kind="per_shoe",
    check=sw1,
    params={"retire_km": 800.0},
    severities=(Severity("normal", 11, "digest"),),
    build=sw1_text,
    trigger="a change of shoes (worn pair)",
    summary="worn shoes: a shoe passes its retirement distance",
    episode="per shoe",
    basis=Basis("convention", "runners ask for it"),
)
