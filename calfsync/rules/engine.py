"""The trigger engine: judge days with the rules and keep the alert ledger; pure.

One core, :func:`judge`, walks days in order and turns findings into alerts through a
:class:`Ledger` (episode keys, cooldowns, escalation, re-arm). ``evaluation.evaluate_dates``
runs it on the days that changed data can affect, with the ledger of the stored alerts, and
stores the new alerts; :func:`replay` runs it over the whole history with an empty ledger and
returns what it found. Every rule only looks back from the day it judges, so judging days in
order is the same as living through them one by one.
Nothing here reads or writes the database.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from . import Finding
from .history import History
from .registry import ON_REPORT, ON_RUN, ON_WINDOW, RULES, delivery, render, severity_rank


def rule_params(cfg: Any) -> dict[str, dict[str, Any]]:
    """Each rule's parameters from the config; WU judges hardness with I1's settings."""
    params = {rid: dict(values) for rid, values in cfg.rules.items()}
    i1 = params.get("I1", {})
    wu = params.get("WU")
    if wu is not None:
        for key in ("hr_fraction", "min_hard_minutes"):
            wu.setdefault(key, i1.get(key))
    return params


# -- the ledger ---------------------------------------------------------------------------------
ESCALATED = "#"  # an episode alerted again at a higher severity: "<key>#<severity>"


def base_key(rule: str, key: str) -> str:
    """The episode key without the ``#<severity>`` of an escalated re-judgement."""
    head, _sep, tail = key.rpartition(ESCALATED)
    known = RULES.get(rule)
    if head and known is not None and tail in {s.name for s in known.severities}:
        return head
    return key


@dataclass
class Ledger:
    """Alerts so far: per episode key the highest severity rank it alerted with, every
    (episode key, severity rank) recorded, and per rule the (day, severity rank) of each alert."""

    keys: dict[str, int] = field(default_factory=dict)
    seen: set[tuple[str, int]] = field(default_factory=set)
    fired: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def record(self, rule: str, key: str, day: int, severity: str) -> None:
        rank = severity_rank(rule, severity)
        base = base_key(rule, key)
        self.keys[base] = max(rank, self.keys.get(base, 0))
        self.seen.add((base, rank))
        bisect.insort(self.fired.setdefault(rule, []), (day, rank))

    def admit(self, f: Finding, t: int, h: History, p: dict[str, Any]) -> Finding | None:
        """The alert finding ``f`` on day ``t`` becomes, recorded; None when it is no alert.

        None: its episode already alerted with this severity; the rule alerted in the last
        ``cooldown_days`` with the same or a higher severity; or (rules with a re-arm
        condition: W1, H1, A1) the ratio has not fallen back since the rule last alerted in
        this streak. An episode judged again (its run's data changed: a salvaged partial file
        replaced by the complete one, an edit) at a higher severity alerts under the key
        ``<key>#<severity>``; at a lower one not recorded yet it is recorded under that key as
        a ``lowered`` finding, which is never pushed and retracts nothing (RULES.md).
        """
        rank = severity_rank(f.rule, f.severity)
        alerted = self.keys.get(f.episode_key)
        if alerted is not None and rank <= alerted:
            if (f.episode_key, rank) in self.seen:
                return None
            f = replace(f, episode_key=f"{f.episode_key}{ESCALATED}{f.severity}", lowered=True)
            self.record(f.rule, f.episode_key, t, f.severity)
            return f
        past = self.fired.get(f.rule, [])
        upto = bisect.bisect_right(past, (t, 99))
        cooldown = int(p.get("cooldown_days", 7))
        k = upto - 1
        while k >= 0 and t - past[k][0] < cooldown:
            if rank <= past[k][1]:
                return None
            k -= 1
        if RULES[f.rule].fallen_back is not None and upto:
            if _still_armed(h, f.rule, past[upto - 1][0], t, p):
                return None
        if alerted is not None:
            f = replace(f, episode_key=f"{f.episode_key}{ESCALATED}{f.severity}")
        self.record(f.rule, f.episode_key, t, f.severity)
        return f


def _still_armed(h: History, rule: str, last: int, t: int, p: dict[str, Any]) -> bool:
    """Whether a ratio rule that alerted on day ``last`` may not fire on day t: ``last`` is in
    the streak in force and the ratio has not fallen back on a run day strictly between.

    In a window, the days whose check reads only the window are tried first: one that fell
    back settles it, without the streak's start or the days before (and their reads before the
    window)."""
    check = RULES[rule].fallen_back
    assert check is not None
    if h.past is None:
        return h.in_streak(last, t) and not any(check(h, d, p) for d in h.run_days(last, t))
    split = max(last, h.past.lo + RULES[rule].reach(p) - 1)  # days after it read the window
    if any(check(h, d, p) for d in h.run_days(split, t)):
        return False
    return h.in_streak(last, t) and not any(check(h, d, p) for d in h.run_days(last, split + 1))


# -- judging ------------------------------------------------------------------------------------
def judge(
    h: History, params: dict[str, dict[str, Any]], days: Iterable[int], ledger: Ledger
) -> list[Finding]:
    """Judge ``days`` in ascending order; return the findings the ledger admitted as alerts.

    Within a day: each run in start order through the per-run and per-shoe rules, then the
    window rules (their day t counting only that run and the ones before it, so a run synced in
    the morning is judged as a full evaluation judges it), then P1 at each of the day's soreness
    reports in the order they were made (the day counting only that report and the ones before
    it). The order of each stage is the registry's.
    """

    def enabled(rules: tuple[Any, ...]) -> list[Any]:
        return [r for r in rules if params.get(r.id, {}).get("enabled")]

    on_run = enabled(ON_RUN) + enabled(ON_WINDOW)
    on_report = enabled(ON_REPORT)
    out: list[Finding] = []

    def consider(f: Finding | None, t: int, p: dict[str, Any]) -> None:
        admitted = ledger.admit(f, t, h, p) if f is not None else None
        if admitted is not None:
            out.append(admitted)

    for t in sorted(set(days)):
        for i in h.by_day.get(t, ()):
            for rule in on_run:
                consider(rule.check(h, i, params[rule.id]), t, params[rule.id])
        for rule in on_report:
            for j in range(len(h.reports.get(t, ()))):
                consider(rule.check(h, t, params[rule.id], j), t, params[rule.id])
    return out


def days_from(h: History, start: int) -> list[int]:
    """Every day from ``start`` on that has a run or a soreness report."""
    return sorted(d for d in set(h.by_day) | set(h.reports) if d >= start)


def reach(params: dict[str, dict[str, Any]]) -> int:
    """How many days before a day it judges an enabled rule reads (its ``Rule.reach``) or
    looks at its own alerts (its cooldown)."""
    return max(
        (
            max(r.reach(params[r.id]), int(params[r.id].get("cooldown_days", 7)))
            for r in RULES.values()
            if params.get(r.id, {}).get("enabled")
        ),
        default=0,
    )


def judge_from(
    load: Callable[[int], tuple[History, Ledger]],
    params: dict[str, dict[str, Any]],
    start: int,
) -> list[Finding]:
    """Judge every day from ``start`` on, as :func:`judge` does over the whole history, reading
    only a window of it: ``load(since)`` returns the history from day ``since`` on (what came
    before summed up in its ``past``, or the whole history once ``since`` is before every
    activity) and a fresh ledger. The window starts :func:`reach` days before ``start``; when a
    read still went past it (``History.reached``: a re-arm check back to an old alert, a long
    soreness episode), the judgement is thrown away and made again with a longer window, so
    the result is always the whole history's."""
    span = reach(params)
    since = start - span
    while True:
        h, ledger = load(since)
        found = judge(h, params, days_from(h, start), ledger)
        if h.reached is None:
            return found
        since = min(h.reached - span, start - 2 * (start - since))


# -- replay -------------------------------------------------------------------------------------
def finding_dict(f: Finding, params: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON shape of an alert for ``replay --json``; ``delivery`` is its class under
    ``params`` (``[rules.X] delivery``) or the rule's default."""
    title, body = render(f)
    configured = (params or {}).get(f.rule, {}).get("delivery")
    return {
        "delivery": delivery(f.rule, f.severity, configured),
        "rule": f.rule,
        "local_date": f.local_date,
        "activity_id": f.activity_id,
        "severity": f.severity,
        "episode_key": f.episode_key,
        "values": f.values,
        "title": title,
        "body": body,
    }


def replay_findings(h: History, params: dict[str, dict[str, Any]]) -> list[Finding]:
    """Every alert the rules would have raised over ``h``, with a fresh in-memory ledger."""
    return judge(h, params, days_from(h, -(10**9)), Ledger())


def replay(
    h: History, params: dict[str, dict[str, Any]], since: str | None = None
) -> list[dict[str, Any]]:
    """Walk the whole history day by day with cooldowns simulated in memory.

    ``since`` (``YYYY-MM-DD``) only filters what is returned: earlier days still shape
    cooldowns, streaks and re-arm.
    """
    found = replay_findings(h, params)
    return [finding_dict(f, params) for f in found if since is None or f.local_date >= since]
