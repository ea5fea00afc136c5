"""Judging the dates whose data changed: the rules on the window they reach, the alerts stored,
their pushes queued in the same transaction.

``calfsync sync``, the daemon, ``calfsync import`` and the commands that change a run
(``activity``, ``shoes``, ``sore``) all evaluate through here; :mod:`calfsync.isolated` runs it in
a child process when the daemon must judge a long stretch of history at once.
"""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from .config import Config
from .notify import outbox
from .rules import engine
from .rules.history import day_of
from .store import alerts as alert_store
from .store.activities import take_dirty
from .store.db import write_tx
from .store.gear import assign_gear_by_date
from .store.history import load_window


def evaluate_dates(
    db: sqlite_utils.Database, cfg: Config, dates: set[str], now: datetime, mode: str = "push"
) -> list[int]:
    """Re-judge every day that data changed on ``dates`` can affect; store the new alerts.

    Rules look back only, so the affected days are the earliest changed date and every later
    day with a run or a soreness report; the history is read from the rules' reach before it
    on (:func:`calfsync.rules.engine.judge_from`), not whole. Shoes from ``shoes add --from``
    are first given to the changed dates' runs. ``mode`` sets the new alerts' ``pushed`` state (see
    :func:`calfsync.store.alerts.push_state`); nothing is queued here. Returns the ids of the
    new alerts, in order.
    """
    if mode not in alert_store.MODES:
        raise ValueError(f"unknown evaluation mode {mode!r}")
    if not dates:
        return []
    with write_tx(db):
        dates = set(dates) | assign_gear_by_date(db, dates)
        findings = engine.judge_from(
            lambda since: load_window(db, cfg, since),
            engine.rule_params(cfg),
            min(day_of(d) for d in dates),
        )
        return [alert_store.record_alert(db, f, mode, now, cfg) for f in findings]


def evaluate_pending(
    db: sqlite_utils.Database,
    cfg: Config,
    now: datetime,
    *,
    mode: str = "push",
    extra_dates: set[str] | None = None,
) -> list[int]:
    """Evaluate the rules for every dirty date; alerts and their pushes in one transaction.

    ``mode`` "push" queues pushes for fresh runs; "import" records alerts without pushing.
    """
    with write_tx(db):
        dates = take_dirty(db) | (extra_dates or set())
        if not dates:
            return []
        alert_ids = evaluate_dates(db, cfg, dates, now, mode=mode)
        if mode == "push" and alert_ids:
            outbox.enqueue(db, cfg, alert_ids, now)
        return alert_ids
