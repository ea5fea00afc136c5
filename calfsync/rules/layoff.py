"""RET1: a return after a long layoff."""

from __future__ import annotations

from typing import Any

from . import Basis, Finding, Rule, Severity, Text
from ._util import km, run_finding
from .history import History, date_of
from .messages import km_text


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
    return run_finding(
        "RET1",
        run,
        {
            "gap_days": gap,
            "previous_run_date": date_of(run.day - gap),
            "threshold_days": p["gap_days"],
            "long_threshold_days": p["long_gap_days"],
            "distance_km": km(run.distance_m),
        },
        key=f"RET1:{run.local_date}",
        severity="long" if gap >= p["long_gap_days"] else "normal",
    )


def ret1_text(v: dict[str, Any], sev: str) -> Text:
    """The words of each RET1 alert, from its finding's values."""
    return Text(
        f"Back after {v['gap_days']} days off",
        f"{v['gap_days']} days since your previous run on {v['previous_run_date']} (fires from "
        f"{v['threshold_days']} days; long from {v['long_threshold_days']}). "
        f"Today: {km_text(v['distance_km'])}.",
        "build back over 2-3 weeks: short easy runs, no hills or intervals"
        + (" - after this long, start shorter than before the break" if sev == "long" else ""),
        "convention; tendons stiffen within two weeks of rest (de Boer 2007).",
    )


RET1 = Rule(
    id="RET1",
    kind="per_run",
    check=ret1,
    params={"gap_days": 14, "long_gap_days": 28},
    severities=(Severity("normal", 6, "digest"), Severity("long", 1, "now")),
    build=ret1_text,
    trigger="returning after a long layoff",
    summary="return after a long layoff",
    episode="per return",
    basis=Basis(
        "convention", "tendon stiffness falls within two weeks of unloading (de Boer 2007)"
    ),
)
