"""RET1: a return after a long layoff."""

from __future__ import annotations

from typing import Any

from . import Finding
from ._util import km
from .history import History, date_of


def ret1(h: History, i: int, p: dict[str, Any]) -> Finding | None:
    """RET1, return after a long layoff: at least 14 days since the previous run (severity
    ``long`` from 28 days). The first run of the history is not a return.

    Evidence grade: convention; tendon stiffness falls within two weeks of unloading
    (de Boer 2007).
    """
    gap = h.gap_before[i]
    if gap is None or gap < p["gap_days"]:
        return None
    run = h.runs[i]
    return Finding(
        rule="RET1",
        episode_key=f"RET1:{run.local_date}",
        local_date=run.local_date,
        activity_id=run.id,
        severity="long" if gap >= p["long_gap_days"] else "normal",
        values={
            "gap_days": gap,
            "previous_run_date": date_of(run.day - gap),
            "threshold_days": p["gap_days"],
            "long_threshold_days": p["long_gap_days"],
            "distance_km": km(run.distance_m),
        },
        run_name=run.name,
        run_start=run.start_time,
    )
