"""The ``state`` table: a small key/value store for cursors, last-cycle times and source state.

This module is its only writer; any module may read a key.
"""

from __future__ import annotations

import sqlite_utils


def get_state(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    """The value stored under ``key``, or ``default`` when there is none."""
    row = db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_state(db: sqlite_utils.Database, key: str, value: str | None) -> None:
    """Store ``value`` under ``key`` and stamp the time (UTC); joins the caller's transaction."""
    db.execute(
        "INSERT INTO state(key, value, updated_at) VALUES (?, ?, "
        "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value],
    )


def delete_state(db: sqlite_utils.Database, key: str) -> None:
    """Remove ``key`` (a value kept only for a while); joins the caller's transaction."""
    db.execute("DELETE FROM state WHERE key = ?", [key])
