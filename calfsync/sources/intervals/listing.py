"""intervals.icu's activity list, read into :class:`Entry` values (no I/O).

The fields used are those of the ``Activity`` schema of the published OpenAPI description
(``id`` string, ``start_date_local``, ``type``, ``name``, ``distance``, ``moving_time``,
``elapsed_time``, ``total_elevation_gain``, ``gear`` as ``StravaGear`` {``id``, ``name``,
``distance``, ``primary``}, ``source`` one of STRAVA, UPLOAD, MANUAL, GARMIN_CONNECT,
OAUTH_CLIENT, DROPBOX, POLAR, SUUNTO, COROS, WAHOO, ZWIFT, ZEPP) and of the ``Hidden`` stub the
list holds for a Strava-sourced activity (``id``, ``icu_athlete_id``, ``start_date_local``,
``source``, ``_note``: "STRAVA activities are not available via the API").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import IntervalsMalformed

RUN_TYPES = frozenset({"Run", "TrailRun", "VirtualRun"})
# The listing fields an edit on intervals.icu changes: a new fingerprint means "read it again".
# The shoe counts by id and name only: its ``distance`` (the shoe's total) grows with every run.
EDITABLE = ("name", "type", "start_date_local", "distance", "moving_time")


@dataclass(frozen=True)
class Entry:
    """One activity of the list."""

    id: str
    start_local: str  # local ISO date-time, as listed ("2026-03-01T07:02:11")
    source: str | None
    type: str | None
    name: str | None
    gear_id: str | None
    gear_name: str | None
    fingerprint: str

    @property
    def strava_stub(self) -> bool:
        """A Strava-sourced activity: the API holds back its data and its file."""
        return self.source == "STRAVA"

    @property
    def is_run(self) -> bool:
        return self.type in RUN_TYPES


def entries(reply: Any) -> tuple[list[Entry], int]:
    """The list reply as entries, and how many items could not be read (no id or start).

    Raises :class:`IntervalsMalformed` when the reply is not a list of objects."""
    if not isinstance(reply, list):
        raise IntervalsMalformed(
            f"intervals.icu sent {type(reply).__name__} where the API description has a list "
            "of activities: is [intervals] api_url right?"
        )
    out: list[Entry] = []
    unreadable = 0
    for item in reply:
        entry = to_entry(item)
        if entry is None:
            unreadable += 1
        else:
            out.append(entry)
    return out, unreadable


def to_entry(item: Any) -> Entry | None:
    """One listed activity as an :class:`Entry`; None without a usable id and start."""
    if not isinstance(item, dict):
        return None
    activity_id, start = item.get("id"), item.get("start_date_local")
    if activity_id in (None, "") or not isinstance(start, str) or _local(start) is None:
        return None
    gear = item.get("gear") if isinstance(item.get("gear"), dict) else {}
    editable = {k: item.get(k) for k in EDITABLE}
    editable["gear"] = [gear.get("id"), gear.get("name")]
    return Entry(
        id=str(activity_id),
        start_local=start,
        source=item.get("source") if isinstance(item.get("source"), str) else None,
        type=item.get("type") if isinstance(item.get("type"), str) else None,
        name=item.get("name") if isinstance(item.get("name"), str) else None,
        gear_id=str(gear["id"]) if gear.get("id") not in (None, "") else None,
        gear_name=str(gear["name"]) if gear.get("name") else None,
        fingerprint=hashlib.sha256(
            json.dumps(editable, sort_keys=True, default=str).encode()
        ).hexdigest()[:16],
    )


def _local(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.rstrip("Z"))
    except ValueError:
        return None


def local_start(entry: Entry) -> datetime:
    """The entry's local start as a naive datetime."""
    moment = _local(entry.start_local)
    assert moment is not None  # checked by to_entry
    return moment.replace(tzinfo=None)
