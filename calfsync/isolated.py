"""The daemon's steps that run in a child process (``[daemon] child_process``, :mod:`.child`).

A push loads httpx, builds a TLS context and may draw a chart with Pillow; a Strava poll loads
stravalib and its pydantic models; judging years of history at once fills memory the allocator
keeps. Any of these would stay in the daemon for good (5 to 23 MB each, docs/performance.md).
The daemon hands such a step to a child that runs it on a connection of its own and exits:

- **deliver**: only when an outbox row is due (one indexed query decides; a minute with nothing
  due costs the query, not a process). Claims carry the child's pid, so a child that is killed
  has its claims released by the next delivery (:mod:`.notify.reclaim`).
- **evaluate**: when the earliest date to judge is more than :data:`LONG_STRETCH_DAYS` back (a
  first import of years of files; backfills). A fresh run is judged in the daemon, at once.
- **strava**, **intervals**: every poll (each ``poll_minutes``, 30 by default).
- **account exports** dropped in the inbox; FIT parsing itself is :mod:`.ingest.fit_pool`'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from .evaluation import evaluate_pending
from .model import utc_iso
from .notify import outbox
from .notify.outbox_report import DeliveryReport, pending_count
from .store.db import open_db

if TYPE_CHECKING:
    import sqlite_utils

    from .config import Config

R = TypeVar("R")
Step = Callable[..., R]  # (db, cfg, now, *args) -> a report

LONG_STRETCH_DAYS = 120


def anything_due(db: sqlite_utils.Database, now: datetime) -> bool:
    """True when a delivery at ``now`` may have something to do: a pending row whose time has
    come (a push, a retry, a push to drop) or a claimed one (to finish or to release)."""
    row = db.execute(
        """SELECT 1 FROM notify_outbox
           WHERE (state = 'pending' AND next_attempt_at <= ?) OR state = 'sending' LIMIT 1""",
        [utc_iso(now)],
    ).fetchone()
    return row is not None


def in_child(step: Step[R], cfg: Config, now: datetime, *args: Any) -> R:
    """Run ``step(db, cfg, now, *args)`` in a child process on a connection of its own; its
    report back.

    ``step`` must be a module-level function (it is named to the child, not sent)."""
    from .child import Child

    with Child(cfg.daemon.log_level) as child:
        return child.call(step_alone, step, dataclasses.replace(cfg, children=False), now, *args)


def step_alone(step: Step[R], cfg: Config, now: datetime, *args: Any) -> R:
    """What the child runs: ``step`` on a connection of its own."""
    db = open_db(cfg.db_path, busy_timeout_s=cfg.busy_timeout_s)
    try:
        return step(db, cfg, now, *args)
    finally:
        db.close()


def deliver(db: sqlite_utils.Database, cfg: Config, now: datetime) -> DeliveryReport:
    """Deliver due pushes in a child process; nothing is started when nothing is due."""
    if not anything_due(db, now):
        return DeliveryReport(pending=pending_count(db))
    return in_child(outbox.deliver_due, cfg, now)


def long_stretch(db: sqlite_utils.Database, cfg: Config, now: datetime) -> bool:
    """True when the earliest dirty date is more than :data:`LONG_STRETCH_DAYS` before today."""
    (earliest,) = db.execute("SELECT MIN(local_date) FROM dirty_dates").fetchone()
    if earliest is None:
        return False
    today = now.astimezone(cfg.timezone).date()
    return str(earliest) < (today - timedelta(days=LONG_STRETCH_DAYS)).isoformat()


def evaluate(db: sqlite_utils.Database, cfg: Config, now: datetime) -> list[int]:
    """:func:`evaluate_pending`, in a child process when it has a long stretch to judge."""
    if not long_stretch(db, cfg, now):
        return evaluate_pending(db, cfg, now)
    return in_child(evaluate_pending, cfg, now)
