"""The ``soreness`` table: calf soreness reports (0 none … 10), from the CLI or the phone.

This module is its only writer. Every report marks its local date for re-evaluation in the
same transaction, so P1 judges the day the report is about, whenever and however it arrived
(an answer tapped at 23:59 and read after midnight included).
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from .activities import mark_dirty
from .db import write_tx


def add_report(
    db: sqlite_utils.Database,
    local_date: str,
    level: int,
    note: str | None = None,
    source: str = "cli",
) -> None:
    """Store one report about ``local_date`` and mark that date dirty, in one transaction
    (joining the caller's). Raises ValueError for a level outside 0–10."""
    if not 0 <= level <= 10:
        raise ValueError("soreness level must be between 0 and 10")
    with write_tx(db):
        db.execute(
            "INSERT INTO soreness(local_date, level, note, source) VALUES (?, ?, ?, ?)",
            [local_date, level, note, source],
        )
        mark_dirty(db, {local_date})


def has_note(db: sqlite_utils.Database, source: str, note: str) -> bool:
    """Whether a report from ``source`` with this note is stored (a phone answer's message id:
    the same answer is never recorded twice)."""
    found = db.execute(
        "SELECT 1 FROM soreness WHERE source = ? AND note = ?", [source, note]
    ).fetchone()
    return found is not None


def recent_soreness(db: sqlite_utils.Database, limit: int = 30) -> list[dict[str, Any]]:
    """The latest reports, newest first."""
    return list(
        db.query(
            "SELECT local_date, level, note, source, created_at FROM soreness "
            "ORDER BY local_date DESC, id DESC LIMIT ?",
            [limit],
        )
    )
