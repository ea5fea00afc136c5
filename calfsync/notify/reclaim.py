"""Upkeep of the outbox before a delivery: claims left by dead flushers, unpushable rows.

A flusher claims rows (state ``sending``, ``claimed_by = "host:pid:nonce"``, a lease in
``claimed_until``) and then sends. Killed between the two, its rows wait for the lease
(``outbox.LEASE``, 5 minutes) before another flusher takes them: long enough for a slow
request of a live flusher, but after a crash or a restart of the daemon it delays a fresh alert
by minutes for nothing. So a claim whose owner is a process of *this* host that no longer runs
is released at once, and the row is taken by the usual path (the same push key, so a service
that deduplicates sees one message). Claims of other hosts (a database on a shared disk) and of
live processes keep their lease; a reused process id only makes the row wait for it.

Whether the dead flusher's request had left decides what the release costs: ``request_at`` is
written just before the request. Not set: nothing was sent, the push simply goes out. Set: the
service may hold a copy, so the release counts as an ambiguous send (``notify/ambiguity.py``),
which bounds a push to two copies however often the daemon is killed inside its requests.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..model import utc_iso
from ..store import alerts as alert_store
from ..store.db import write_tx
from . import ambiguity

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


def note_request(
    db: sqlite_utils.Database, claimed: list[dict[str, Any]], worker: str, now: datetime
) -> None:
    """Record that the request carrying ``claimed`` is about to leave (one small commit): a
    flusher killed after this may have delivered the push, one killed before it cannot have."""
    ids = [row["id"] for row in claimed]
    marks = ",".join("?" * len(ids))
    with write_tx(db):
        db.execute(
            f"""UPDATE notify_outbox SET request_at = ?
                WHERE id IN ({marks}) AND claimed_by = ? AND state = 'sending'""",
            [utc_iso(now), *ids, worker],
        )


def release_abandoned(db: sqlite_utils.Database, now: datetime) -> int:
    """Hand back the claims of flushers that died on this host (at once) or whose lease ended.

    A claim whose request had not left is simply released: no copy can exist. One whose request
    had left counts as an ambiguous send, as a timeout does: the resend carries the same push
    key and waits longer, and after :data:`~calfsync.notify.ambiguity.MAX_AMBIGUOUS` such sends
    the row is a dead letter rather than a third copy. Returns the rows dead-lettered."""
    now_iso = utc_iso(now)
    rows = db.execute(
        "SELECT id, claimed_by, claimed_until, request_at, ambiguous FROM notify_outbox "
        "WHERE state = 'sending'"
    ).fetchall()
    dead_owner: dict[str, bool] = {}
    released: list[int] = []
    resend: list[tuple[int, int]] = []
    stop: list[tuple[int, int]] = []
    for row_id, owner, until, request_at, ambiguous in rows:
        if owner not in dead_owner:
            dead_owner[owner] = owner_is_dead(owner or "")
        if not (dead_owner[owner] or (until or "") <= now_iso):
            continue  # a live claim keeps its lease
        if request_at is None:
            released.append(row_id)
        elif ambiguous + 1 >= ambiguity.MAX_AMBIGUOUS:
            stop.append((row_id, ambiguous + 1))
        else:
            resend.append((row_id, ambiguous + 1))
    if not (released or resend or stop):
        return 0
    with write_tx(db):
        for row_id in released:
            db.execute(
                "UPDATE notify_outbox SET claimed_until = ? WHERE id = ? AND state = 'sending'",
                [now_iso, row_id],
            )
        for row_id, count in resend:
            db.execute(
                """UPDATE notify_outbox SET claimed_until = ?, request_at = NULL, ambiguous = ?
                   WHERE id = ? AND state = 'sending'""",
                [now_iso, count, row_id],
            )
        for row_id, count in stop:
            db.execute(
                """UPDATE notify_outbox SET state = 'dead', claimed_by = NULL,
                   claimed_until = NULL, request_at = NULL, ambiguous = ?, last_error = ?
                   WHERE id = ? AND state = 'sending'""",
                [count, STOPPED_REASON.format(count=count), row_id],
            )
        if stop:
            alert_store.refresh_pushed(db, [row_id for row_id, _count in stop])
    return len(stop)


STOPPED_REASON = (
    "not resent: calfsync stopped (killed or crashed) during {count} requests of this push, so "
    "the service may have shown it already and each resend could add a copy. "
    "`calfsync notify retry ID` if it never arrived."
)


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
