"""Upkeep of the outbox before a delivery: claims left by dead flushers, unpushable rows.

A flusher claims rows (state ``sending``, ``claimed_by = "host:pid:nonce"``, a lease in
``claimed_until``) and then sends. Killed between the two, its rows wait for the lease
(``outbox.LEASE``, 5 minutes) before another flusher takes them: long enough for a slow
request of a live flusher, but after a crash or a restart of the daemon it delays a fresh alert
by minutes for nothing. So a claim whose owner is a process of *this* host that no longer runs
is released at once: its lease is set to end now and the row is taken by the usual path
(the same push key, so a service that deduplicates sees one message). Claims of other hosts
(a database on a shared disk) and of live processes keep their lease. A reused process id
only makes the row wait for its lease, as before.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import TYPE_CHECKING

from ..model import utc_iso
from ..store.db import write_tx

if TYPE_CHECKING:
    import sqlite_utils


def owner_is_dead(claimed_by: str, host: str | None = None) -> bool:
    """True when ``claimed_by`` ("host:pid:nonce") names a process of this host that no longer
    exists. Anything unparseable, of another host, or alive is not known to be dead."""
    parts = claimed_by.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != (host or socket.gethostname()):
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a live process of another user
        return False
    return False


def release_dead_claims(db: sqlite_utils.Database, now: datetime) -> int:
    """End the lease of every ``sending`` row whose flusher died on this host; the rows go out
    in this delivery (counted as a new attempt, keeping their push key). Returns the rows."""
    owners = [
        row[0]
        for row in db.execute(
            "SELECT DISTINCT claimed_by FROM notify_outbox "
            "WHERE state = 'sending' AND claimed_by IS NOT NULL AND claimed_until > ?",
            [utc_iso(now)],
        )
    ]
    dead = [owner for owner in owners if owner_is_dead(owner)]
    if not dead:
        return 0
    marks = ",".join("?" * len(dead))
    with write_tx(db):
        cursor = db.execute(
            f"""UPDATE notify_outbox SET claimed_until = ?
                WHERE state = 'sending' AND claimed_by IN ({marks})""",
            [utc_iso(now), *dead],
        )
    return cursor.rowcount


def drop_unpushable(db: sqlite_utils.Database) -> int:
    """Dead-letter queued rows whose alert was deleted or re-marked as history, so they never
    keep ``notify flush`` failing."""
    with write_tx(db):
        cursor = db.execute(
            """UPDATE notify_outbox SET state = 'dead', last_error = ?
               WHERE state = 'pending' AND alert_id NOT IN (
                   SELECT id FROM alerts WHERE pushed NOT IN ('history', 'imported'))""",
            ["the alert was removed or marked history: not pushed"],
        )
    return cursor.rowcount
