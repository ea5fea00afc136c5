"""The trigger engine: load the history, judge days with the rules, keep the alert ledger.

One core, :func:`judge`, walks days in order and turns findings into alerts through a
:class:`Ledger` (episode keys, cooldowns, escalation, re-arm). :func:`evaluate` runs it on the
days that changed data can affect and stores the new alerts; :func:`replay` runs it over the
whole history in memory and stores nothing. Every rule only looks back from the day it judges,
so judging days in order is the same as living through them one by one.
"""

from __future__ import annotations

import bisect
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any

import sqlite_utils

from ..model import parse_utc
from ..store.db import rows, write_tx
from . import (
    PER_RUN_RULES,
    REARM_RULES,
    SEVERITY_RANK,
    WINDOW_RULES,
    Finding,
    hills,
    intervals,
    layoff,
    mileage,
    pain,
)
from . import gear as gear_rules
from .history import History, Run, Shoe, day_of
from .messages import render

log = logging.getLogger(__name__)

PerRun = Callable[[History, int, dict[str, Any]], Finding | None]

PER_RUN: dict[str, PerRun] = {
    "RET1": layoff.ret1,
    "S1": mileage.s1,
    "H2": hills.h2,
    "I1": intervals.i1,
    "G1": gear_rules.g1,
    "G2": gear_rules.g2,
    "SW1": gear_rules.sw1,
    "WU": intervals.wu,
}
# Window rules, judged on each run too: day t counts its runs up to and including that run.
WINDOW: dict[str, PerRun] = {"W1": mileage.w1, "H1": hills.h1, "A1": mileage.a1}
FALLEN_BACK: dict[str, Callable[[History, int, dict[str, Any]], bool]] = {
    "W1": mileage.w1_fallen_back,
    "H1": hills.h1_fallen_back,
    "A1": mileage.a1_fallen_back,
}

PUSH_STATES = ("pending", "history", "imported", "sent", "dead")


def rule_params(cfg: Any) -> dict[str, dict[str, Any]]:
    """Each rule's parameters from the config; WU judges hardness with I1's settings."""
    params = {rid: dict(values) for rid, values in cfg.section("rules").items()}
    i1 = params.get("I1", {})
    wu = params.get("WU")
    if wu is not None:
        for key in ("hr_fraction", "min_hard_minutes"):
            wu.setdefault(key, i1.get(key))
    return params


# -- loading ------------------------------------------------------------------------------------
RUN_COLUMNS = (
    "id, start_time, local_date, sub_sport, distance_m, ascent_m, indoor, gear_id, name, "
    "workout_type, interval_time_s, hr_histogram, laps, moving_time_s"
)


def load_history(db: sqlite_utils.Database, cfg: Any) -> History:
    """Runs (not deleted), shoes and the soreness log, as the rules read them."""
    athlete = cfg.section("athlete")
    params = cfg.section("rules")
    max_hr = athlete.get("max_heart_rate")
    want_laps = bool(params.get("WU", {}).get("enabled"))
    runs = []
    cursor = db.execute(
        f"SELECT {RUN_COLUMNS} FROM activities WHERE sport = 'running' AND deleted = 0"
    )
    for (
        aid, start, local_date, sub_sport, dist, ascent, indoor, gear_id, name,
        workout_type, interval_s, hist, laps, moving_s,
    ) in cursor:  # fmt: skip
        runs.append(
            Run(
                id=aid,
                start_time=start,
                local_date=local_date,
                distance_m=dist or 0.0,
                climb_m=ascent,
                indoor=bool(indoor),
                gear_id=gear_id,
                name=name,
                sub_sport=sub_sport,
                workout_type=workout_type,
                interval_time_s=interval_s,
                hr_histogram=(
                    {int(k): v for k, v in json.loads(hist).items()} if hist and max_hr else None
                ),
                laps=json.loads(laps) if laps and want_laps else None,
                moving_time_s=moving_s,
            )
        )
    shoes = {
        r["id"]: Shoe(
            id=r["id"],
            name=r["name"],
            drop_mm=r["drop_mm"],
            minimalist=bool(r["minimalist"]),
            retire_at_m=r["retire_at_m"],
            reported_m=r["distance_m"],
        )
        for r in rows(db, "SELECT id, name, drop_mm, minimalist, retire_at_m, distance_m FROM gear")
    }
    soreness_log = [
        (day_of(local_date), level)
        for local_date, level in db.execute(
            "SELECT local_date, level FROM soreness ORDER BY created_at, id"
        )
    ]
    return History(
        runs=runs,
        shoes=shoes,
        soreness_log=soreness_log,
        gap_days=int(params["RET1"]["gap_days"]),
        max_heart_rate=max_hr,
    )


# -- the ledger ---------------------------------------------------------------------------------
@dataclass
class Ledger:
    """Alerts so far: episode keys, and per rule the (day, severity rank) of each alert."""

    keys: set[str] = field(default_factory=set)
    fired: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def from_db(cls, db: sqlite_utils.Database) -> Ledger:
        ledger = cls()
        for rule, key, local_date, severity in db.execute(
            "SELECT rule, episode_key, local_date, severity FROM alerts"
        ):
            ledger.record(rule, key, day_of(local_date), SEVERITY_RANK.get(severity, 1))
        return ledger

    def record(self, rule: str, key: str, day: int, rank: int) -> None:
        self.keys.add(key)
        bisect.insort(self.fired.setdefault(rule, []), (day, rank))

    def admit(self, f: Finding, t: int, h: History, p: dict[str, Any]) -> bool:
        """Whether finding ``f`` on day ``t`` becomes an alert; records it when it does.

        No: its episode key already alerted; the rule alerted in the last ``cooldown_days``
        with the same or a higher severity; or (W1, H1, A1) the ratio has not fallen back since
        the rule last alerted in this streak.
        """
        if f.episode_key in self.keys:
            return False
        past = self.fired.get(f.rule, [])
        upto = bisect.bisect_right(past, (t, 99))
        cooldown = int(p.get("cooldown_days", 7))
        k = upto - 1
        while k >= 0 and t - past[k][0] < cooldown:
            if f.rank <= past[k][1]:
                return False
            k -= 1
        if f.rule in REARM_RULES and upto:
            last = past[upto - 1][0]
            start = h.streak_start(t)
            if (
                start is not None
                and last >= start
                and not _fallen_back_between(h, f.rule, last, t, p)
            ):
                return False
        self.record(f.rule, f.episode_key, t, f.rank)
        return True


def _fallen_back_between(h: History, rule: str, last: int, t: int, p: dict[str, Any]) -> bool:
    """Whether the rule's ratio fell back on some run day strictly between ``last`` and ``t``."""
    check = FALLEN_BACK[rule]
    lo = bisect.bisect_right(h.days, last)
    hi = bisect.bisect_left(h.days, t)
    seen = None
    for k in range(lo, hi):
        day = h.days[k]
        if day != seen:
            seen = day
            if check(h, day, p):
                return True
    return False


# -- judging ------------------------------------------------------------------------------------
def judge(
    h: History, params: dict[str, dict[str, Any]], days: Iterable[int], ledger: Ledger
) -> list[Finding]:
    """Judge ``days`` in ascending order; return the findings the ledger admitted as alerts.

    Within a day: each run in start order through the per-run rules, then the window rules
    (their day t counting only that run and the ones before it, so a run synced in the morning
    is judged as a full evaluation judges it), then P1 at each of the day's soreness reports
    in the order they were made (the day counting only that report and the ones before it).
    """
    enabled_run = [r for r in PER_RUN_RULES if params.get(r, {}).get("enabled")]
    enabled_day = [r for r in WINDOW_RULES if params.get(r, {}).get("enabled")]
    p1_on = bool(params.get("P1", {}).get("enabled"))
    out: list[Finding] = []
    for t in sorted(set(days)):
        run_ids = h.by_day.get(t, ())
        for i in run_ids:
            for rid in enabled_run:
                f = PER_RUN[rid](h, i, params[rid])
                if f is not None and ledger.admit(f, t, h, params[rid]):
                    out.append(f)
            for rid in enabled_day:
                f = WINDOW[rid](h, i, params[rid])
                if f is not None and ledger.admit(f, t, h, params[rid]):
                    out.append(f)
        if p1_on:
            for j in range(len(h.reports.get(t, ()))):
                f = pain.p1(h, t, params["P1"], j)
                if f is not None and ledger.admit(f, t, h, params["P1"]):
                    out.append(f)
    return out


def days_from(h: History, start: int) -> list[int]:
    """Every day from ``start`` on that has a run or a soreness report."""
    return sorted(d for d in set(h.by_day) | set(h.reports) if d >= start)


# -- storing ------------------------------------------------------------------------------------
def push_state(f: Finding, mode: str, now: datetime, cfg: Any) -> str:
    """'pending' only in push mode for a run that started within the push window of ``now``
    (P1: a report dated within it); 'imported' for imports; 'history' otherwise."""
    if mode == "import":
        return "imported"
    if mode != "push":
        return "history"
    window = timedelta(hours=float(cfg.section("notify").get("push_window_hours", 72)))
    if f.run_start:
        moment = parse_utc(f.run_start)
    else:
        next_day = datetime.fromisoformat(f.local_date).date() + timedelta(days=1)
        moment = datetime.combine(next_day, dtime(0, 0), tzinfo=cfg.timezone)
    return "pending" if now - moment <= window else "history"


def evaluate(
    db: sqlite_utils.Database,
    cfg: Any,
    dates: set[str],
    now: datetime,
    mode: str = "push",
) -> list[int]:
    """Re-judge every day that data changed on ``dates`` can affect; store the new alerts.

    Rules look back only, so the affected days are the earliest changed date and every later
    day with a run or a soreness report. Shoes from ``shoes add --from`` are first given to the
    changed dates' runs. Returns the ids of the newly inserted alerts, in order.
    """
    from ..shoes import assign_gear_by_date

    if mode not in ("push", "import", "replay", "history"):
        raise ValueError(f"unknown evaluation mode {mode!r}")
    if not dates:
        return []
    with write_tx(db):
        dates = set(dates) | assign_gear_by_date(db, dates)
        h = load_history(db, cfg)
        params = rule_params(cfg)
        start = min(day_of(d) for d in dates)
        ledger = Ledger.from_db(db)
        findings = judge(h, params, days_from(h, start), ledger)
        return [store_alert(db, f, push_state(f, mode, now, cfg)) for f in findings]


def store_alert(db: sqlite_utils.Database, f: Finding, pushed: str) -> int:
    """Insert one alert (its episode key is new) and return its id."""
    title, body = render(f)
    cursor = db.execute(
        "INSERT INTO alerts (rule, episode_key, local_date, activity_id, severity, title, body, "
        '"values", pushed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
            f.rule,
            f.episode_key,
            f.local_date,
            f.activity_id,
            f.severity,
            title,
            body,
            json.dumps(f.values, sort_keys=True),
            pushed,
        ],
    )
    log.info("alert %s %s on %s (%s)", f.rule, f.episode_key, f.local_date, pushed)
    return int(cursor.lastrowid)


# -- replay -------------------------------------------------------------------------------------
def finding_dict(f: Finding) -> dict[str, Any]:
    """The JSON shape of an alert for ``replay --json``."""
    title, body = render(f)
    return {
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


def replay(db: sqlite_utils.Database, cfg: Any, since: str | None = None) -> list[dict[str, Any]]:
    """Walk the whole history day by day with cooldowns simulated in memory; writes nothing.

    ``since`` (``YYYY-MM-DD``) only filters what is returned: earlier days still shape
    cooldowns, streaks and re-arm.
    """
    h = load_history(db, cfg)
    found = replay_findings(h, rule_params(cfg))
    return [finding_dict(f) for f in found if since is None or f.local_date >= since]
