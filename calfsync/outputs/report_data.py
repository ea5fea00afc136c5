"""What the report page shows, read from the store: weeks, runs, shoes, soreness and alerts.

A reader: it writes nothing. Only the weeks the page shows are read (and, for the runs, the
30 days before them plus one layoff, so each run's reference is S1's own), so a page over 10
years of history costs about what a page over one year does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlite_utils

from ..config import Config
from ..rules.history import History, Run
from ..rules.mileage import recent_longest
from ..rules.registry import RULE_IDS
from ..store.views import counted

# The training rules' alerts: the page leaves out the other rows of the alerts table (the weekly
# digest, the shoe question, notices about calfsync itself), which are no finding about a week.
_RULES = f"rule IN ({','.join(repr(r) for r in RULE_IDS)})"


@dataclass(frozen=True)
class AlertRow:
    """A stored alert: its rule, day, title and the whole message that was (or would be) pushed."""

    id: int
    rule: str
    local_date: str
    severity: str
    title: str
    body: str
    pushed: str


@dataclass
class Week:
    """One local week (Monday ``start``): its run count, distance, climb and alerts."""

    start: date
    runs: int = 0
    distance_m: float = 0.0
    ascent_m: float | None = None
    alerts: list[AlertRow] = field(default_factory=list)


@dataclass(frozen=True)
class RunPoint:
    """One run against the longest run of the ``lookback_days`` before it (S1's reference, 0
    when there is none); ``judged`` is False while S1 stays silent for lack of known history."""

    id: str
    local_date: str
    name: str | None
    distance_m: float
    longest_m: float
    judged: bool


@dataclass(frozen=True)
class ShoeRow:
    """A shoe's distance (its runs, or the source's total when larger) against its retirement."""

    name: str
    distance_m: float
    retire_at_m: float
    runs: int
    last_run: str | None
    retired: bool


@dataclass(frozen=True)
class SoreRow:
    """One soreness report (0 none ... 10)."""

    local_date: str
    level: int
    note: str | None
    source: str


@dataclass
class ReportData:
    """Everything the page shows; ``older_alerts`` counts the alerts before its first week."""

    now: datetime
    timezone: str
    weeks: list[Week]
    runs: list[RunPoint]
    shoes: list[ShoeRow]
    soreness: list[SoreRow]
    alerts: list[AlertRow]
    older_alerts: int
    lookback_days: int
    threshold: float

    @property
    def first_day(self) -> date:
        return self.weeks[0].start

    @property
    def last_day(self) -> date:
        return self.weeks[-1].start + timedelta(days=6)


def week_start(day: date) -> date:
    """The Monday of ``day``'s week (the ``weekly_load`` view's ``week_start``)."""
    return day - timedelta(days=day.weekday())


@contextmanager
def snapshot(db: sqlite_utils.Database) -> Iterator[None]:
    """One consistent view of the database for the page's several queries: a read transaction
    (in WAL mode it never blocks the daemon's writer), so a run and its alert written between
    two queries are both on the page or both not yet. Inside a caller's transaction, that one."""
    if db.conn.in_transaction:
        yield
        return
    db.conn.execute("BEGIN")
    try:
        yield
    finally:
        db.conn.execute("ROLLBACK")  # it only read


def read_report(db: sqlite_utils.Database, cfg: Config, now: datetime, weeks: int) -> ReportData:
    """The page's data: the ``weeks`` local weeks ending with the one holding ``now``."""
    with snapshot(db):
        return _read(db, cfg, now, weeks)


def _read(db: sqlite_utils.Database, cfg: Config, now: datetime, weeks: int) -> ReportData:
    today = now.astimezone(cfg.timezone).date()
    first = week_start(today) - timedelta(days=7 * (weeks - 1))
    shown = [Week(first + timedelta(days=7 * k)) for k in range(weeks)]
    last = shown[-1].start + timedelta(days=6)
    by_start = {w.start.isoformat(): w for w in shown}
    for row in db.execute(
        "SELECT week_start, runs, distance_m, ascent_m FROM weekly_load "
        "WHERE week_start >= ? AND week_start <= ?",
        [first.isoformat(), last.isoformat()],
    ):
        week = by_start[row[0]]
        week.runs, week.distance_m, week.ascent_m = row[1], row[2] or 0.0, row[3]
    alerts = _alerts(db, first, last)
    for alert in alerts:
        by_start[week_start(date.fromisoformat(alert.local_date)).isoformat()].alerts.append(alert)
    (older,) = db.execute(
        f"SELECT COUNT(*) FROM alerts WHERE local_date < ? AND {_RULES}", [first.isoformat()]
    ).fetchone()
    s1 = cfg.rule("S1")
    return ReportData(
        now=now.astimezone(cfg.timezone),
        timezone=str(cfg.timezone),
        weeks=shown,
        runs=_runs(db, first, last, int(s1["lookback_days"]), int(cfg.rule("RET1")["gap_days"])),
        shoes=_shoes(db, float(cfg.rule("SW1")["retire_km"]) * 1000.0),
        soreness=[
            SoreRow(*row)
            for row in db.execute(
                "SELECT local_date, level, note, source FROM soreness "
                "WHERE local_date >= ? AND local_date <= ? ORDER BY local_date, id",
                [first.isoformat(), last.isoformat()],
            )
        ],
        alerts=alerts,
        older_alerts=older,
        lookback_days=int(s1["lookback_days"]),
        threshold=float(s1["threshold"]),
    )


def _alerts(db: sqlite_utils.Database, first: date, last: date) -> list[AlertRow]:
    return [
        AlertRow(*row)
        for row in db.execute(
            "SELECT id, rule, local_date, severity, title, body, pushed FROM alerts "
            f"WHERE local_date >= ? AND local_date <= ? AND {_RULES} ORDER BY local_date, id",
            [first.isoformat(), last.isoformat()],
        )
    ]


def _runs(
    db: sqlite_utils.Database, first: date, last: date, lookback_days: int, gap_days: int
) -> list[RunPoint]:
    """The runs of the shown weeks, each with S1's reference. The runs of the ``lookback_days``
    and one layoff (``gap_days``) before the first week are read too: a streak that starts
    before them reaches back over them all, so every reference is the one S1 saw."""
    since = first - timedelta(days=lookback_days + gap_days + 1)
    (held,) = db.execute(
        "SELECT MIN(local_date) FROM activities WHERE deleted = 0 "
        "AND (suspect IS NULL OR suspect_confirmed = 1)"
    ).fetchone()
    history = History(
        runs=[
            Run(id=r[0], start_time=r[1], local_date=r[2], distance_m=r[3] or 0.0, name=r[4])
            for r in db.execute(
                "SELECT id, start_time, local_date, distance_m, name FROM activities "
                f"WHERE {counted()} AND local_date >= ? AND local_date <= ?",
                [since.isoformat(), last.isoformat()],
            )
        ],
        gap_days=gap_days,
        first_day=date.fromisoformat(held).toordinal() if held else None,
    )
    return [
        RunPoint(
            run.id,
            run.local_date,
            run.name,
            run.distance_m,
            recent_longest(history, i, lookback_days),
            history.known_since(i, lookback_days),
        )
        for i, run in enumerate(history.runs)
        if run.local_date >= first.isoformat()
    ]


def _shoes(db: sqlite_utils.Database, default_retire_m: float) -> list[ShoeRow]:
    """Every shoe (the ``shoe_mileage`` view), in use first, then by distance."""
    return [
        ShoeRow(*row)
        for row in db.execute(
            "SELECT COALESCE(name, gear_id), "
            "MAX(run_distance_m, COALESCE(reported_distance_m, 0)), "
            "COALESCE(retire_at_m, ?), runs, last_run, retired FROM shoe_mileage "
            "ORDER BY retired, 2 DESC",
            [default_retire_m],
        )
    ]
