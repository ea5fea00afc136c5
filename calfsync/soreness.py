"""The soreness log: a day's calf soreness (0 none … 10), recorded and judged by P1 (pain lasting
more than a week) at once; what ``calfsync sore`` does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from .evaluation import evaluate_pending
from .store.soreness import add_report


def record_soreness(
    db: sqlite_utils.Database,
    cfg: Any,
    level: int,
    local_date: str,
    note: str | None,
    now: datetime,
    source: str = "cli",
) -> list[int]:
    """Store one report and evaluate the rules from its date on, queueing pushes for new alerts
    like a sync cycle does; returns the new alert ids. The date stays marked dirty until the
    evaluation commits, so a crash in between is picked up by the next cycle."""
    add_report(db, local_date, level, note, source)
    return evaluate_pending(db, cfg, now, extra_dates={local_date})
