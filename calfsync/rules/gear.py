"""Shoe rules: G1 (a new pair), G2 (a lower drop), SW1 (worn shoes).

A shoe's distance before a run counts what it did before the first run calfsync knows of:
the source's reported total (Strava's gear distance) minus the runs stored in that shoe.
"""

from __future__ import annotations

from typing import Any

from . import Finding
from ._util import at_least, km
from .history import History


def g1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """G1, change of shoes, a new pair: the first run in a shoe that had at most 20 km on it
    before, so a worn pair newly linked is not "new". The first run of the whole history is
    not a change of anything.

    Evidence grade: the guide; threshold convention.
    """
    run = h.runs[i]
    if not run.gear_id or not h.first_in_shoe[i] or i == 0:
        return None
    before_m = h.shoe_before_m[i] or 0.0
    if before_m > p["max_prior_km"] * 1000.0:
        return None
    shoe = h.shoes.get(run.gear_id)
    return Finding(
        rule="G1",
        episode_key=f"G1:{run.gear_id}",
        local_date=run.local_date,
        activity_id=run.id,
        severity="normal",
        values={
            "gear_id": run.gear_id,
            "shoe": (shoe.name if shoe else None) or run.gear_id,
            "shoe_km_before": km(before_m),
            "max_prior_km": p["max_prior_km"],
            "distance_km": km(run.distance_m),
        },
        run_name=run.name,
        run_start=run.start_time,
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
    return Finding(
        rule="G2",
        episode_key=f"G2:{shoe.id}",
        local_date=run.local_date,
        activity_id=run.id,
        severity="normal",
        values={
            "gear_id": shoe.id,
            "shoe": shoe.name or shoe.id,
            "drop_mm": shoe.drop_mm,
            "reference_drop_mm": round(reference, 1) if reference is not None else None,
            "min_drop_decrease_mm": p["min_drop_decrease_mm"],
            "minimalist": bool(shoe.minimalist),
            "window_days": p["lookback_days"],
        },
        run_name=run.name,
        run_start=run.start_time,
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
    return Finding(
        rule="SW1",
        episode_key=f"SW1:{run.gear_id}",
        local_date=run.local_date,
        activity_id=run.id,
        severity="normal",
        values={
            "gear_id": run.gear_id,
            "shoe": (shoe.name if shoe else None) or run.gear_id,
            "shoe_km": km(after_m),
            "retire_km": km(limit),
        },
        run_name=run.name,
        run_start=run.start_time,
    )
