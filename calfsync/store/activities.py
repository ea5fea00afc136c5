"""The ``activities`` and ``dirty_dates`` tables: upsert, dedupe and merge, in one transaction.

This module is their only writer (shoes through :func:`set_gear`, Strava's listing and deletions
through :func:`mark_listed` and :func:`mark_gone_from_strava`).

Storing never does I/O beyond the database; reading sources never writes rows. Every local date
whose load changed is remembered in ``dirty_dates`` in the same transaction, so a cycle killed
between storing and evaluating picks the work up on the next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from ..model import Activity, utc_iso
from . import merge
from .db import write_tx


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
    found = _first(db, "SELECT * FROM activities WHERE id = ?", [act.id])
    if found is None and act.strava_id is not None:
        found = _first(db, "SELECT * FROM activities WHERE strava_id = ?", [act.strava_id])
    if found is not None:
        return found
    window = timedelta(seconds=merge.CANDIDATE_WINDOW_S)
    candidates = list(
        db.query(
            "SELECT * FROM activities WHERE start_time BETWEEN ? AND ? AND deleted = 0",
            [utc_iso(act.start_time - window), utc_iso(act.start_time + window)],
        )
    )
    if act.external_id:  # a Strava upload naming a device file (or the file of one)
        wide = timedelta(seconds=merge.EXTERNAL_ID_WINDOW_S)
        known = {r["id"] for r in candidates}
        candidates += [
            r
            for r in db.query(
                "SELECT * FROM activities WHERE start_time BETWEEN ? AND ? AND deleted = 0 "
                "AND external_id IS NOT NULL",
                [utc_iso(act.start_time - wide), utc_iso(act.start_time + wide)],
            )
            if r["id"] not in known and merge.names_same_file(r["external_id"], act.external_id)
        ]
    return merge.find_match(act, candidates)


def _first(db: sqlite_utils.Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    """The first row of a query by a unique key, or None (the query is read to its end)."""
    found = list(db.query(sql, params))
    return found[0] if found else None


def set_gear(
    db: sqlite_utils.Database, activity_id: str, gear_id: str | None, gear_source: str | None
) -> None:
    """Put one run in a shoe; ``gear_source`` says why (NULL: the source, 'date', 'manual')."""
    db.execute(
        "UPDATE activities SET gear_id = ?, gear_source = ? WHERE id = ?",
        [gear_id, gear_source, activity_id],
    )


def mark_listed(db: sqlite_utils.Database, pass_id: str, strava_ids: list[int]) -> None:
    """Stamp the Strava listing pass that saw these activities (``strava_listed_at``)."""
    db.conn.executemany(
        "UPDATE activities SET strava_listed_at = ? WHERE strava_id = ?",
        [(pass_id, strava_id) for strava_id in strava_ids],
    )


def mark_gone_from_strava(db: sqlite_utils.Database, strava_id: int, now: datetime) -> set[str]:
    """An activity deleted on Strava. A Strava-only row is marked ``deleted`` and stops
    counting; a row merged with a device file keeps counting (the file still says the run
    happened) but loses its link to Strava. Returns the dirtied local dates (marked)."""
    with write_tx(db):
        row = _first(
            db,
            "SELECT id, local_date, fit_raw IS NOT NULL AS has_fit FROM activities "
            "WHERE strava_id = ?",
            [strava_id],
        )
        if row is None:
            return set()
        if row["has_fit"]:
            db.execute(
                "UPDATE activities SET strava_id = NULL, strava_raw = NULL, source = 'fit', "
                "strava_listed_at = NULL, updated_at = ? WHERE id = ?",
                [utc_iso(now), row["id"]],
            )
        else:
            db.execute(
                "UPDATE activities SET deleted = 1, updated_at = ? WHERE id = ?",
                [utc_iso(now), row["id"]],
            )
        dates = {row["local_date"]}
        mark_dirty(db, dates)
    return dates


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


def _now_utc() -> datetime:
    return datetime.now(UTC)
