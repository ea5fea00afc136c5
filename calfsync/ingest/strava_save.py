"""Strava's replies saved as rows: activities, deletions, shoes, the athlete, the sync state.

Rows only, no network: every ``save_*`` function takes JSON as Strava sent it (or the Activities
mapped from it) and writes through the tables' writers (:mod:`calfsync.store.activities`,
:mod:`calfsync.store.gear`, :mod:`calfsync.store.state`), each in one transaction, so tests feed
them saved replies with no server. The queries here tell the Strava step what to fetch next.
:mod:`calfsync.ingest.strava` pairs them with the ``fetch_*`` functions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from ..model import Activity, utc_iso
from ..sources.strava.listing import Listing
from ..sources.strava.mapping import ON_FOOT_SPORTS, gear_row
from ..sources.strava.state import Backfill, Key, Outcome, Status
from ..sources.strava.tokens import athlete_name
from ..store.activities import mark_gone_from_strava, mark_listed, save_activities
from ..store.db import write_tx
from ..store.gear import save_gear
from ..store.state import set_state

log = logging.getLogger(__name__)

GEAR_EVERY = timedelta(days=30)  # a known Strava shoe is fetched again after this long


def save_outcome(db: sqlite_utils.Database, outcome: Outcome) -> None:
    """Keep what a step's outcome means for later cycles in the ``strava.*`` state."""
    next_try = utc_iso(outcome.next_try) if outcome.next_try else None
    waiting = outcome.status in (Status.RATE_LIMITED, Status.PAUSED)
    with write_tx(db):
        set_state(db, Key.STATUS, str(outcome.status))
        set_state(db, Key.MESSAGE, outcome.message)
        set_state(db, Key.NEXT_TRY, next_try)
        set_state(db, Key.LIMITED_UNTIL, next_try if waiting else None)
        if outcome.failures is not None:
            set_state(db, Key.FAILURES, str(outcome.failures) if outcome.failures else None)
        if outcome.rejected_token:
            set_state(db, Key.REJECTED, outcome.rejected_token)
        if outcome.notice:
            set_state(db, Key.NOTICE, outcome.notice)
        if outcome.last_ok:
            set_state(db, Key.LAST_OK, utc_iso(outcome.last_ok))


def save_page(
    db: sqlite_utils.Database, listing: Listing, activities: list[Activity], *, replies: int
) -> set[str]:
    """Store one listed page (``replies`` activities sent, ``activities`` mapped from them)
    together with the pass's progress, in one transaction; returns the dirtied local dates."""
    changed: set[str] = set()
    with write_tx(db):
        if activities:
            changed = save_activities(db, activities).changed_dates
            mark_listed(db, listing.pass_id, [a.strava_id for a in activities if a.strava_id])
        listing.turn_page(replies, len(activities))
        set_state(db, Key.LISTING, listing.to_json())
        if listing.kind == "backfill":
            _save_backfill(db, listing, complete=False)
    return changed


def save_pass_end(db: sqlite_utils.Database, listing: Listing, now: datetime) -> None:
    """A pass done: forget it, date the last full re-list, mark a backfill complete."""
    with write_tx(db):
        set_state(db, Key.LISTING, None)
        if listing.kind in ("backfill", "relist"):
            set_state(db, Key.RELIST_AT, utc_iso(now))
        if listing.kind == "backfill":
            _save_backfill(db, listing, complete=True)


def _save_backfill(db: sqlite_utils.Database, listing: Listing, complete: bool) -> None:
    first, last = db.execute(
        "SELECT MIN(local_date), MAX(local_date) FROM activities WHERE strava_id IS NOT NULL"
    ).fetchone()
    progress = Backfill(listing.listed, listing.page - 1, first, last, complete)
    set_state(db, Key.BACKFILL, progress.to_json())


def unseen(db: sqlite_utils.Database, listing: Listing) -> list[int]:
    """Strava ids of stored, not deleted activities in the pass's window it did not list."""
    bounds = ["start_time < ?"]
    params: list[Any] = [utc_iso(datetime.fromtimestamp(listing.before, UTC))]
    if listing.after is not None:
        bounds.append("start_time > ?")
        params.append(utc_iso(datetime.fromtimestamp(listing.after, UTC)))
    found = db.execute(
        "SELECT strava_id FROM activities WHERE strava_id IS NOT NULL AND deleted = 0 "
        f"AND {' AND '.join(bounds)} "
        "AND (strava_listed_at IS NULL OR strava_listed_at != ?) ORDER BY start_time",
        [*params, listing.pass_id],
    )
    return [strava_id for (strava_id,) in found.fetchall()]


def save_checked(
    db: sqlite_utils.Database, listing: Listing, strava_id: int, activities: list[Activity]
) -> set[str]:
    """Store an activity the pass did not list but Strava still has (``activities``: its reply
    mapped, or nothing when it could not be), as seen by the pass; returns the dirtied dates."""
    with write_tx(db):
        changed = save_activities(db, activities).changed_dates
        mark_listed(db, listing.pass_id, [strava_id])
    return changed


def save_deleted(db: sqlite_utils.Database, strava_id: int, now: datetime) -> set[str]:
    """An activity deleted on Strava (its ``/activities/{id}`` answered 404): a Strava-only row
    stops counting, a row merged with a device file loses its Strava link. Returns the dirtied
    local dates."""
    dates = mark_gone_from_strava(db, strava_id, now)
    if dates:
        log.info("Strava activity %s was deleted on Strava", strava_id)
    return dates


def save_athlete(db: sqlite_utils.Database, athlete: Mapping[str, Any], now: datetime) -> int:
    """Store an ``/athlete`` reply: each of its shoes, the athlete's id and name, and when the
    list was read. Returns the number of shoes stored."""
    shoes = [s for s in athlete.get("shoes") or [] if isinstance(s, dict) and s.get("id")]
    with write_tx(db):
        for shoe in shoes:
            save_gear(db, gear_row(shoe, None))
        set_state(db, Key.ATHLETE, athlete_json(athlete))
        set_state(db, Key.ATHLETE_AT, utc_iso(now))
    return len(shoes)


def athlete_json(athlete: Mapping[str, Any]) -> str:
    """The athlete as kept in ``strava.athlete``: id and name, nothing else."""
    return json.dumps({"id": athlete.get("id"), "name": athlete_name(athlete)})


def gear_to_fetch(db: sqlite_utils.Database, now: datetime) -> list[str]:
    """Gear ids to read from Strava: shoes of stored runs, walks and hikes not in ``gear`` yet
    (bikes never), and Strava shoes last fetched 30 days ago or more."""
    sports = ", ".join(f"'{s}'" for s in sorted(ON_FOOT_SPORTS))
    found = db.execute(
        f"""
        SELECT DISTINCT a.gear_id AS id FROM activities a LEFT JOIN gear g ON g.id = a.gear_id
        WHERE a.gear_id IS NOT NULL AND a.deleted = 0 AND a.sport IN ({sports})
          AND a.strava_id IS NOT NULL AND g.id IS NULL
        UNION
        SELECT id FROM gear WHERE source = 'strava'
          AND (fetched_at IS NULL OR fetched_at <= ?)
        ORDER BY id
        """,
        [utc_iso(now - GEAR_EVERY)],
    )
    return [gear_id for (gear_id,) in found.fetchall()]


def save_gear_reply(
    db: sqlite_utils.Database, gear_id: str, reply: Mapping[str, Any] | None, now: datetime
) -> None:
    """Store a ``/gear/{id}`` reply fetched at ``now``; None (gone from Strava) only dates the
    look-up and keeps what was stored. A runner's own columns are never written."""
    with write_tx(db):
        if reply is None:
            save_gear(db, {"id": gear_id, "source": "strava", "fetched_at": utc_iso(now)})
        else:
            save_gear(db, gear_row(reply, utc_iso(now)))


def save_auth_state(db: sqlite_utils.Database, state: str | None) -> None:
    """Keep the OAuth ``state`` of the authorization address printed last."""
    with write_tx(db):
        set_state(db, Key.AUTH_STATE, state)


def save_authorized(db: sqlite_utils.Database, athlete: Mapping[str, Any]) -> None:
    """A new authorization (its tokens are already in the token file): forget every wait,
    rejection and owed push, and remember the athlete of the code exchange."""
    with write_tx(db):
        for key in (Key.REJECTED, Key.NEXT_TRY, Key.LIMITED_UNTIL, Key.FAILURES, Key.NOTICE):
            set_state(db, key, None)
        set_state(db, Key.AUTH_STATE, None)
        set_state(db, Key.STATUS, str(Status.OK))
        if athlete.get("id") is not None:
            set_state(db, Key.ATHLETE, athlete_json(athlete))
        set_state(db, Key.MESSAGE, "authorized; waiting for the first sync")
