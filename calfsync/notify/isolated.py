"""The deliver step in a child process (the daemon, with ``[daemon] child_process``).

A push loads httpx, builds a TLS context and may draw a chart with Pillow: about 5 MiB that
would stay in the daemon for good. The daemon checks here whether anything is due, with one
indexed query, and only then starts a child that delivers with its own connection (the claims
carry the child's pid: a child that is killed has its claims released by the next delivery,
:mod:`.reclaim`). Every minute of nothing due costs the query, not a process.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING

from ..model import utc_iso
from ..store.db import open_db
from . import outbox
from .outbox_report import DeliveryReport, pending_count

if TYPE_CHECKING:
    import sqlite_utils

    from ..config import Config


def anything_due(db: sqlite_utils.Database, now: datetime) -> bool:
    """True when a delivery at ``now`` may have something to do: a pending row whose time has
    come (a push, a retry, a push to drop) or a claimed one (to finish or to release)."""
    row = db.execute(
        """SELECT 1 FROM notify_outbox
           WHERE (state = 'pending' AND next_attempt_at <= ?) OR state = 'sending' LIMIT 1""",
        [utc_iso(now)],
    ).fetchone()
    return row is not None


def deliver(db: sqlite_utils.Database, cfg: Config, now: datetime) -> DeliveryReport:
    """Deliver due pushes in a child process; nothing is started when nothing is due."""
    if not anything_due(db, now):
        return DeliveryReport(pending=pending_count(db))
    from ..child import Child

    with Child(cfg.daemon.log_level) as child:
        return child.call(deliver_alone, dataclasses.replace(cfg, children=False), now)


def deliver_alone(cfg: Config, now: datetime) -> DeliveryReport:
    """What the child runs: :func:`outbox.deliver_due` on a connection of its own."""
    db = open_db(cfg.db_path, busy_timeout_s=cfg.busy_timeout_s)
    try:
        return outbox.deliver_due(db, cfg, now)
    finally:
        db.close()
