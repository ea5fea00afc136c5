"""Small helpers shared by the rule modules."""

from __future__ import annotations

from .history import date_of


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
