"""What the outbox holds and what a delivery did: reads only, for ``status``, ``notify`` and the
sync runner. Every write to ``notify_outbox`` stays in :mod:`calfsync.notify.outbox`.

Split from the outbox so that module keeps to the queue's life cycle (enqueue, claim, send,
mark) and stays under the 500-line limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..secrets import redact

if TYPE_CHECKING:
    import sqlite_utils


@dataclass
class DeliveryReport:
    """What one :func:`calfsync.notify.outbox.deliver_due` call did. Counts are pushes
    (messages), except ``rows_sent``: outbox rows (alert × channel) those pushes carried."""

    sent: int = 0
    rows_sent: int = 0
    retrying: int = 0
    dead: int = 0
    deferred: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "rows_sent": self.rows_sent,
            "retrying": self.retrying,
            "dead": self.dead,
            "deferred": self.deferred,
            "pending": self.pending,
            "errors": list(self.errors),
        }


def pending_count(db: sqlite_utils.Database) -> int:
    """Rows still to deliver (pending, or claimed and not yet marked)."""
    row = db.execute(
        "SELECT COUNT(*) FROM notify_outbox WHERE state IN ('pending', 'sending')"
    ).fetchone()
    return int(row[0])


def dead_letters(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Dead rows with their alert, newest first (``last_error`` is already redacted)."""
    return list(
        db.query(
            """SELECT o.id, o.channel, o.channel_type, o.attempts, o.last_status, o.last_error,
                      o.created_at, a.rule, a.local_date, a.title, a.episode_key
               FROM notify_outbox o JOIN alerts a ON a.id = o.alert_id
               WHERE o.state = 'dead' ORDER BY o.id DESC""",
        )
    )


def summary(db: sqlite_utils.Database) -> dict[str, Any]:
    """Counts by state, the next due time and the last error, for ``calfsync status``."""
    counts = {state: 0 for state in ("pending", "sending", "sent", "dead")}
    for state, count in db.execute("SELECT state, COUNT(*) FROM notify_outbox GROUP BY state"):
        counts[state] = count
    next_due = db.execute(
        "SELECT MIN(next_attempt_at) FROM notify_outbox WHERE state = 'pending'"
    ).fetchone()[0]
    last_sent = db.execute("SELECT MAX(sent_at) FROM notify_outbox").fetchone()[0]
    last_error = db.execute(
        """SELECT channel, last_error FROM notify_outbox WHERE last_error IS NOT NULL
           AND state IN ('pending', 'dead') ORDER BY id DESC LIMIT 1"""
    ).fetchone()
    return {
        **counts,
        "next_attempt_at": next_due,
        "last_sent_at": last_sent,
        "last_error": f"{last_error[0]}: {redact(last_error[1])}" if last_error else None,
    }
