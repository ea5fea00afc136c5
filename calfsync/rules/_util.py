"""Small helpers shared by the rule modules."""

from __future__ import annotations

from typing import Any

from . import Finding
from .history import Run, date_of


def exceeds(value: float, limit: float) -> bool:
    """``value > limit``, immune to float noise (11/10 − 1 is not more than 0.10)."""
    return round(value - limit, 9) > 0


def at_least(value: float, limit: float) -> bool:
    """``value ≥ limit``, immune to float noise."""
    return round(value - limit, 9) >= 0


def km(metres: float) -> float:
    return round(metres / 1000.0, 2)


def window_key(rule: str, t: int) -> str:
    """Episode key of a 7-day window rule: the window's first and last local dates."""
    return f"{rule}:{date_of(t - 6)}/{date_of(t)}"


def run_finding(
    rule: str,
    run: Run,
    values: dict[str, Any],
    *,
    key: str | None = None,
    severity: str = "normal",
) -> Finding:
    """A finding on ``run``: its date, id, name and start; the episode key is ``key``, else one
    per run (``<rule>:<activity id>``)."""
    return Finding(
        rule=rule,
        episode_key=key or f"{rule}:{run.id}",
        local_date=run.local_date,
        activity_id=run.id,
        severity=severity,
        values=values,
        run_name=run.name,
        run_start=run.start_time,
    )
