"""The calf-soreness trigger rules of shared/RULES.md, as pure functions.

Each rule family lives in its own module (:mod:`.mileage`, :mod:`.layoff`, :mod:`.hills`,
:mod:`.gear`, :mod:`.intervals`, :mod:`.pain`) and declares each of its rules once, as a
:class:`Rule` beside its check function and its message builder; :mod:`.registry` collects them.
A check reads a :class:`~calfsync.rules.history.History` (runs, shoes and the soreness log,
already loaded), does no I/O and reads no clock, and returns a :class:`Finding` with the numbers
that fired it, or None. Whether a finding becomes an alert (episode keys, cooldowns,
escalation, re-arm) is the engine's business (:mod:`.engine`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Kind = Literal["per_run", "window", "per_shoe", "per_episode"]
Delivery = Literal["now", "digest"]
Grade = Literal["evidence", "guide", "convention", "contested"]


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
    # A per-run episode judged again after its data changed, lower than what it alerted
    # (RULES.md "Data that changes is judged again"): recorded, never pushed, retracts nothing.
    lowered: bool = False


class Text(NamedTuple):
    """What a message builder writes for one alert, in the runner's words.

    The message adds the run line, the guide trigger, the care advice and the disclaimer.
    """

    headline: str
    numbers: str
    next_step: str
    basis: str


@dataclass(frozen=True)
class Severity:
    """One severity of a rule: its push priority (0 is the most urgent, RULES.md's order) and
    its delivery class (``now``: an interrupting push; ``digest``: the weekly digest)."""

    name: str
    priority: int
    delivery: Delivery = "now"


@dataclass(frozen=True)
class Basis:
    """Why the threshold is what it is: ``grade`` and the citation RULES.md gives."""

    grade: Grade
    citation: str = ""

    def __str__(self) -> str:
        label = "the guide" if self.grade == "guide" else self.grade
        return f"{label}: {self.citation}" if self.citation else label


@dataclass(frozen=True)
class Rule:
    """Everything calfsync knows about one rule, declared once in its family module.

    - ``kind``: how it is judged and keyed: ``per_run`` and ``per_shoe`` on each run (in
      registry order), ``window`` on each run after those (a 7-day window, re-armed by
      ``fallen_back``), ``per_episode`` at each soreness report.
    - ``check``: ``(history, run index, params) -> Finding | None``; for ``per_episode``
      ``(history, day, params, report index)``.
    - ``params``: the defaults of its ``[rules.<id>]`` keys (``enabled`` and ``cooldown_days``
      apart). ``severities``: lowest first; the ledger escalates to a later one.
    - ``fallen_back``: ``(history, day, params) -> bool``, True when a ratio rule may fire again.
    - ``build``: ``(values, severity) -> Text``; ``trigger``: the guide's cause it matches.
    - ``summary`` and ``episode``: RULES.md's trigger and episode, for docs/rules.md.
    - ``reach``: ``params -> days``, how far before the day it judges the rule (and its
      ``fallen_back``) reads runs, soreness or suspect days; the engine reads that window of
      the history, and what lies before it only through the history's summary of the past
      (streak, last run, shoe totals). Default: the rule's ``lookback_days`` (else 0).
    """

    id: str
    kind: Kind
    check: Callable[..., Finding | None]
    params: Mapping[str, float | int]
    severities: tuple[Severity, ...]
    build: Callable[[dict[str, Any], str], Text]
    trigger: str
    summary: str
    episode: str
    basis: Basis
    enabled: bool = True
    fallen_back: Callable[..., bool] | None = None
    reach: Callable[[Mapping[str, Any]], int] = lambda p: int(p.get("lookback_days", 0))

    def severity(self, name: str | None) -> Severity:
        """The named severity; an unknown one is the rule's least urgent."""
        for sev in self.severities:
            if sev.name == name:
                return sev
        return max(self.severities, key=lambda s: s.priority)

    def rank(self, severity: str | None) -> int:
        """1 for the lowest severity, higher for each escalation (1 when unknown)."""
        names = [s.name for s in self.severities]
        return names.index(severity) + 1 if severity in names else 1
