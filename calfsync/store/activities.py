"""Storing normalized activities: upsert, dedupe and merge, in one transaction.

Storing never does I/O beyond the database; reading sources never writes rows. Every local date
whose load changed is remembered in ``dirty_dates`` in the same transaction, so a cycle killed
between storing and evaluating picks the work up on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlite_utils

from ..model import Activity, utc_iso
from . import merge
from .db import rows, write_tx


@dataclass
class SaveResult:
    """What :func:`save_activities` did. ``ids`` maps each incoming id to the stored row's id."""

    ids: dict[str, str] = field(default_factory=dict)
    changed_dates: set[str] = field(default_factory=set)
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0


def save_activities(db: sqlite_utils.Database, activities: list[Activity]) -> SaveResult:
    """Upsert ``activities``; an activity already stored under another id is merged into it."""
    result = SaveResult()
    with write_tx(db):
        for act in activities:
            _save_one(db, act, result)
        mark_dirty(db, result.changed_dates)
    return result


def _save_one(db: sqlite_utils.Database, act: Activity, result: SaveResult) -> None:
    existing = _lookup(db, act)
    if existing is None:
        row = act.to_row()
        db["activities"].insert(row)
        result.inserted += 1
        result.ids[act.id] = act.id
        result.changed_dates.add(row["local_date"])
        return
    result.ids[act.id] = existing["id"]
    if existing["id"] == act.id and existing["source"] == act.source:
        updates = _same_row_updates(existing, act)
    else:
        updates = merge.combine(existing, act)
    if not updates or all(existing.get(k) == v for k, v in updates.items()):
        if existing["id"] != act.id:
            result.duplicates += 1
        return
    updates["updated_at"] = utc_iso(_now_utc())
    updates["deleted"] = 0
    db["activities"].update(existing["id"], updates)
    result.updated += 1
    result.changed_dates.add(existing["local_date"])
    result.changed_dates.add(updates.get("local_date", existing["local_date"]))


def _same_row_updates(existing: dict[str, Any], act: Activity) -> dict[str, Any] | None:
    """The same id again: a re-sync or a re-parse. A salvaged copy never replaces a full one."""
    if act.salvaged and not existing.get("salvaged"):
        return None
    merged_other_source = (act.source == "strava" and existing.get("fit_raw")) or (
        act.source == "fit" and existing.get("strava_raw")
    )
    if merged_other_source:
        fields = merge.STRAVA_FIELDS if act.source == "strava" else merge.DEVICE_FIELDS
        row = act.to_row()
        return {k: row[k] for k in (*fields, f"{act.source}_raw")}
    row = act.to_row()
    row.pop("id")
    return row


def _lookup(db: sqlite_utils.Database, act: Activity) -> dict[str, Any] | None:
    found = rows(db, "SELECT * FROM activities WHERE id = ?", [act.id])
    if found:
        return found[0]
    if act.strava_id is not None:
        found = rows(db, "SELECT * FROM activities WHERE strava_id = ?", [act.strava_id])
        if found:
            return found[0]
    window = timedelta(seconds=merge.CANDIDATE_WINDOW_S)
    candidates = rows(
        db,
        "SELECT * FROM activities WHERE start_time BETWEEN ? AND ? AND deleted = 0",
        [utc_iso(act.start_time - window), utc_iso(act.start_time + window)],
    )
    if act.external_id:  # a Strava upload naming a device file (or the file of one)
        wide = timedelta(seconds=merge.EXTERNAL_ID_WINDOW_S)
        known = {r["id"] for r in candidates}
        candidates += [
            r
            for r in rows(
                db,
                "SELECT * FROM activities WHERE start_time BETWEEN ? AND ? AND deleted = 0 "
                "AND external_id IS NOT NULL",
                [utc_iso(act.start_time - wide), utc_iso(act.start_time + wide)],
            )
            if r["id"] not in known and merge.names_same_file(r["external_id"], act.external_id)
        ]
    return merge.find_match(act, candidates)


def mark_dirty(db: sqlite_utils.Database, dates: set[str]) -> None:
    """Remember local dates whose load changed, until rules have been evaluated for them."""
    if dates:
        db.conn.executemany(
            "INSERT OR IGNORE INTO dirty_dates(local_date) VALUES (?)", [(d,) for d in dates]
        )


def take_dirty(db: sqlite_utils.Database) -> set[str]:
    """The dirty dates, removed; call inside the transaction that evaluates them."""
    dates = {r[0] for r in db.execute("SELECT local_date FROM dirty_dates")}
    db.execute("DELETE FROM dirty_dates")
    return dates


def _now_utc() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
