"""The calf-soreness trigger rules of shared/RULES.md, as pure functions.

Each rule family lives in its own module and reads a :class:`~calfsync.rules.history.History`
(runs, shoes and the soreness log, already loaded); none does I/O or reads the clock. A rule
returns a :class:`Finding` with the numbers that fired it, or None. Whether a finding becomes an
alert (episode keys, cooldowns, escalation, re-arm) is the engine's business
(:mod:`calfsync.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RULE_IDS = ("S1", "W1", "RET1", "H1", "H2", "G1", "G2", "I1", "P1", "SW1", "A1", "WU")
# Rules judged once per run, in this order; then the window rules on the same run.
PER_RUN_RULES = ("RET1", "S1", "H2", "I1", "G1", "G2", "SW1", "WU")
WINDOW_RULES = ("W1", "H1", "A1")
# Ratio rules stay quiet after firing until their ratio has fallen back.
REARM_RULES = ("W1", "H1", "A1")

SEVERITY_RANK: dict[str, int] = {"normal": 1, "small": 1, "moderate": 2, "large": 3, "long": 2}


@dataclass(frozen=True)
class Finding:
    """One rule firing: what fired, on which run or day, and the numbers behind it.

    ``values`` holds plain numbers with units in their names (``dist_km``, ``climb_m``,
    ``ratio``, ``window_days``). ``run_name`` and ``run_start`` describe the run for messages
    (None for P1, which is about a day, not a run).
    """

    rule: str
    episode_key: str
    local_date: str
    activity_id: str | None
    severity: str
    values: dict[str, Any] = field(default_factory=dict)
    run_name: str | None = None
    run_start: str | None = None  # UTC ``YYYY-MM-DDTHH:MM:SSZ``

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 1)
