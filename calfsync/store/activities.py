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
from ..quality import row_suspect_reason, suspect_reason
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


def save_activities(
    db: sqlite_utils.Database, activities: list[Activity], now: datetime | None = None
) -> SaveResult:
    """Upsert ``activities``; an activity already stored under another id, or a second
    recording of a stored run (RULES.md "Same run twice"), is merged into it.

    Every row written gets its plausibility judged at ``now`` (default: the clock):
    ``activities.suspect`` is the reason in words, or NULL. A row the runner confirmed
    (``suspect_confirmed``) keeps the reason it was confirmed with.
    """
    now = now or _now_utc()
    result = SaveResult()
    with write_tx(db):
        for act in activities:
            _save_one(db, act, result, now)
        mark_dirty(db, result.changed_dates)
    return result


def _save_one(db: sqlite_utils.Database, act: Activity, result: SaveResult, now: datetime) -> None:
    existing = _lookup(db, act)
    if existing is None:
        twin = merge.recorded_twice(act, _runs_overlapping(db, act))
        if twin is not None:
            _fold_twin(db, twin, act, result, now)
            return
        row = act.to_row()
        row["suspect"] = suspect_reason(act, now)
        db["activities"].insert(row)
        result.inserted += 1
        result.ids[act.id] = act.id
        result.changed_dates.add(row["local_date"])
        return
    result.ids[act.id] = existing["id"]
    if existing["id"] == act.id and existing["source"] == act.source:
        updates = _same_row_updates(existing, act, now)
    else:
        updates = merge.combine(existing, act)
    _apply(db, existing, updates, result, now, merged=existing["id"] != act.id)


def _fold_twin(
    db: sqlite_utils.Database,
    twin: dict[str, Any],
    act: Activity,
    result: SaveResult,
    now: datetime,
) -> None:
    """``act`` is a second recording of stored run ``twin``: one row, the fuller one wins."""
    result.ids[act.id] = twin["id"]
    stored_suspect = None if twin["suspect_confirmed"] else twin["suspect"]
    new_is_fuller = merge.fullness(
        suspect_reason(act, now), act.distance_m, act.moving_time_s
    ) > merge.fullness(stored_suspect, twin["distance_m"], twin["moving_time_s"])
    _apply(db, twin, merge.twin_updates(twin, act, new_is_fuller), result, now, merged=True)


# What `calfsync activity sport` sets, and so what a source may no longer change.
RUNNER_SPORT_KEYS = ("sport", "sub_sport", "indoor")


def _apply(
    db: sqlite_utils.Database,
    existing: dict[str, Any],
    updates: dict[str, Any] | None,
    result: SaveResult,
    now: datetime,
    *,
    merged: bool,
) -> None:
    """Write ``updates`` to stored row ``existing`` (its plausibility judged again), or count a
    duplicate when nothing changes and the activity came under another id (``merged``)."""
    if not updates or all(existing.get(k) == v for k, v in updates.items()):
        if merged:
            result.duplicates += 1
        return
    if existing.get("sport_by_runner"):  # the runner's correction outlives a re-sync
        for key in RUNNER_SPORT_KEYS:
            updates.pop(key, None)
        if all(existing.get(k) == v for k, v in updates.items()):
            return
    updates["updated_at"] = utc_iso(now)
    updates["deleted"] = 0
    if not existing.get("suspect_confirmed"):
        updates["suspect"] = row_suspect_reason({**existing, **updates}, now)
    db["activities"].update(existing["id"], updates)
    result.updated += 1
    result.changed_dates.add(existing["local_date"])
    result.changed_dates.add(updates.get("local_date", existing["local_date"]))


def _same_row_updates(
    existing: dict[str, Any], act: Activity, now: datetime
) -> dict[str, Any] | None:
    """The same id again: a re-sync or a re-parse. A salvaged copy never replaces a full one,
    nor a less full recording the measures of a run recorded twice."""
    if act.salvaged and not existing.get("salvaged"):
        return None
    raw_col = f"{act.source}_raw"
    row = act.to_row()
    row[raw_col] = merge.keep_twins(existing.get(raw_col), row[raw_col])
    merged_other_source = (act.source == "strava" and existing.get("fit_raw")) or (
        act.source == "fit" and existing.get("strava_raw")
    )
    if merged_other_source:
        fields = merge.STRAVA_FIELDS if act.source == "strava" else merge.DEVICE_FIELDS
        updates = {k: row[k] for k in (*fields, raw_col)}
    else:
        row.pop("id")
        updates = row
    return merge.keep_fullest(existing, act, updates, suspect_reason(act, now))


def _runs_overlapping(db: sqlite_utils.Database, act: Activity) -> list[dict[str, Any]]:
    """Stored runs (not deleted) that start from a day before ``act`` to its end: the
    candidates for a second recording of it."""
    if not act.is_run:
        return []
    span_s = act.elapsed_time_s or act.moving_time_s or 0.0
    return list(
        db.query(
            "SELECT * FROM activities WHERE sport = ? AND deleted = 0 "
            "AND start_time BETWEEN ? AND ?",
            [
                act.sport,
                utc_iso(act.start_time - timedelta(seconds=merge.TWICE_LOOKBACK_S)),
                utc_iso(act.start_time + timedelta(seconds=span_s)),
            ],
        )
    )


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


def set_details(
    db: sqlite_utils.Database, activity_id: str, *, name: str | None, gear_id: str | None
) -> set[str]:
    """Set a source's name and shoe on one stored activity (intervals.icu's listing: the FIT
    file carries neither). A shoe the runner assigned (``gear_source`` 'manual') is kept. Returns
    the local date when the shoe changed (marked dirty: the shoe rules judge it again)."""
    row = db.execute(
        "SELECT local_date, name, gear_id, gear_source FROM activities WHERE id = ?", [activity_id]
    ).fetchone()
    if row is None:
        return set()
    local_date, old_name, old_gear, gear_source = row
    if name and name != old_name:
        db.execute("UPDATE activities SET name = ? WHERE id = ?", [name, activity_id])
    if gear_id is None or gear_source == "manual" or (old_gear, gear_source) == (gear_id, None):
        return set()
    set_gear(db, activity_id, gear_id, None)
    mark_dirty(db, {local_date})
    return {local_date}


def set_name(db: sqlite_utils.Database, activity_id: str, name: str) -> None:
    """Name one activity (an account export's name for a FIT activity that had none)."""
    db.execute("UPDATE activities SET name = ? WHERE id = ?", [name, activity_id])


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


def correct_activity(
    db: sqlite_utils.Database,
    activity_id: str,
    now: datetime,
    *,
    confirm: bool = False,
    sport: str | None = None,
) -> dict[str, Any] | None:
    """The runner's word on one activity (``calfsync activity``): ``confirm`` counts it although
    suspect (``suspect_confirmed = 1``, the reason kept); ``sport`` corrects its sport
    (sub-sport 'generic', its plausibility judged again at ``now``). Its local date is marked
    dirty, so the history is judged again. Returns the row as it now is, or None when no
    activity has that id."""
    with write_tx(db):
        row = _first(db, "SELECT * FROM activities WHERE id = ? AND deleted = 0", [activity_id])
        if row is None:
            return None
        updates: dict[str, Any] = {"updated_at": utc_iso(now)}
        if confirm:
            updates["suspect_confirmed"] = 1
        if sport is not None and sport != row["sport"]:
            updates.update(sport=sport, sub_sport="generic", indoor=0, sport_by_runner=1)
            if not row["suspect_confirmed"]:
                updates["suspect"] = row_suspect_reason({**row, **updates}, now)
        db["activities"].update(activity_id, updates)
        mark_dirty(db, {row["local_date"]})
        return {**row, **updates}


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
