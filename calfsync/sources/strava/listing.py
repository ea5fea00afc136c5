"""What calfsync reads from Strava: listing passes, single activities, the athlete, gear.

HTTP only: each ``fetch_*`` function sends one API read through a :class:`StravaClient` and
returns the reply's JSON, checked to be the shape the API describes; none touches the database.
Storing what they return is :mod:`calfsync.ingest.strava`'s job.

A *listing pass* reads ``/athlete/activities`` page by page between two fixed epoch times, so
page boundaries stay put and a pass stopped after page 7 resumes at page 8 in a later cycle,
whatever order Strava lists in. :class:`Listing` is that pass, kept in ``strava.listing``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ...model import utc_iso
from .client import StravaClient
from .errors import StravaMalformed, StravaNotFound

PER_PAGE = 200
OVERLAP = timedelta(days=7)  # a sync pass lists the last week again to catch edits
RELIST_WINDOW = timedelta(days=90)  # the weekly re-list covers this much history

PassKind = Literal["sync", "backfill", "relist"]


@dataclass
class Listing:
    """One listing pass: its window (``after``/``before``, epoch seconds; no ``after`` for a
    backfill), the next page to read, how many activities it listed, and its phase: ``list``
    while pages remain, ``check`` once a short page ended the list."""

    pass_id: str
    kind: PassKind
    after: int | None
    before: int
    page: int = 1
    listed: int = 0
    phase: Literal["list", "check"] = "list"

    def to_json(self) -> str:
        """The pass as kept in ``strava.listing``."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> Listing | None:
        """The pass kept in ``strava.listing``; None when there is none or it is unreadable."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(**data) if isinstance(data, dict) and "pass_id" in data else None
        except (ValueError, TypeError):
            return None

    def turn_page(self, replies: int, stored: int) -> None:
        """Count a page of ``replies`` activities read, ``stored`` of them mapped and stored; a
        short page ends the list."""
        self.listed += stored
        self.page += 1
        if replies < PER_PAGE:
            self.phase = "check"


def new_listing(
    kind: Literal["sync", "relist"], now: datetime, seq: int, newest_start: datetime | None
) -> Listing:
    """A pass starting at ``now``: ``relist`` covers the last 90 days; ``sync`` starts 7 days
    before the newest stored Strava start (``newest_start``), or is a ``backfill`` of the whole
    history when nothing is stored. ``seq`` makes the pass id unique."""
    after: int | None
    pass_kind: PassKind = kind
    if kind == "relist":
        after = int((now - RELIST_WINDOW).timestamp())
    elif newest_start is not None:
        after = int((newest_start - OVERLAP).timestamp())
    else:
        after, pass_kind = None, "backfill"
    return Listing(
        pass_id=f"{utc_iso(now)}#{seq}",
        kind=pass_kind,
        after=after,
        before=int(now.timestamp()) + 1,
    )


def fetch_page(client: StravaClient, listing: Listing, now: datetime) -> list[dict[str, Any]]:
    """The pass's next page of ``/athlete/activities`` (200 a page), as Strava sent it."""
    data = client.get_json(
        "/athlete/activities",
        now,
        after=listing.after,
        before=listing.before,
        page=listing.page,
        per_page=PER_PAGE,
    )
    if not isinstance(data, list) or not all(isinstance(a, dict) and "id" in a for a in data):
        raise StravaMalformed("Strava's activity list was not a list of activities")
    return data


def fetch_activity(client: StravaClient, now: datetime, activity_id: int) -> dict[str, Any] | None:
    """``/activities/{id}``; None when Strava says it does not exist (deleted)."""
    return _fetch_object(client, now, "/activities/{id}", activity_id, "activity", "an activity")


def fetch_gear(client: StravaClient, now: datetime, gear_id: str) -> dict[str, Any] | None:
    """``/gear/{id}``; None when the gear no longer exists."""
    return _fetch_object(client, now, "/gear/{id}", gear_id, "gear", "gear")


def fetch_athlete(client: StravaClient, now: datetime) -> dict[str, Any]:
    """``/athlete``: the authenticated athlete with their shoes."""
    return _object(client.get_json("/athlete", now), "athlete", "an athlete")


def _fetch_object(
    client: StravaClient, now: datetime, path: str, object_id: int | str, noun: str, what: str
) -> dict[str, Any] | None:
    """One object by id; None on a 404 (it is gone)."""
    try:
        data = client.get_json(path, now, id=object_id)
    except StravaNotFound:
        return None
    return _object(data, noun, what)


def _object(data: Any, noun: str, what: str) -> dict[str, Any]:
    """``data`` when it is a JSON object with an ``id``; else :class:`StravaMalformed` ("Strava's
    ``noun`` reply was not ``what``")."""
    if not isinstance(data, dict) or "id" not in data:
        raise StravaMalformed(f"Strava's {noun} reply was not {what}")
    return data
