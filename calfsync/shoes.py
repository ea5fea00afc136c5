"""Shoes: finding and listing them, and what the ``calfsync shoes`` commands change.

Which run is in which shoe, and every write to the shoe tables, is :mod:`calfsync.store.gear`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from .config import Config
from .errors import CalfsyncError
from .evaluation import evaluate_pending
from .store.db import write_tx
from .store.gear import add_shoe, assign_gear_by_date, assign_run, update_shoe


def shoe_dates(db: sqlite_utils.Database, gear_id: str) -> set[str]:
    """Local dates of the runs in one shoe."""
    return {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT local_date FROM activities WHERE gear_id = ? AND deleted = 0",
            [gear_id],
        )
    }


def find_shoe(db: sqlite_utils.Database, ref: str) -> dict[str, Any]:
    """A shoe by id, else by unique name (case-insensitive). Raises with the fix."""
    found = list(db.query("SELECT * FROM gear WHERE id = ?", [ref]))
    if not found:
        found = list(db.query("SELECT * FROM gear WHERE lower(name) = lower(?)", [ref]))
    if len(found) == 1:
        return found[0]
    if not found:
        raise CalfsyncError(f"no shoe '{ref}': run `calfsync shoes` to see the ids")
    raise CalfsyncError(f"several shoes are named '{ref}': use the id from `calfsync shoes`")


def list_shoes(db: sqlite_utils.Database, default_retire_km: float) -> list[dict[str, Any]]:
    """Every shoe with its distance (km), runs, first and last use, drop and retirement."""
    out = []
    for r in db.query("SELECT * FROM shoe_mileage ORDER BY last_run IS NULL, last_run DESC, name"):
        run_m = r["run_distance_m"] or 0.0
        total_m = max(run_m, r["reported_distance_m"] or 0.0)
        out.append(
            {
                "id": r["gear_id"],
                "name": r["name"],
                "distance_km": round(total_m / 1000.0, 1),
                "runs": r["runs"],
                "first_run": r["first_run"],
                "last_run": r["last_run"],
                "drop_mm": r["drop_mm"],
                "minimalist": bool(r["minimalist"]),
                "retired": bool(r["retired"]),
                "retire_at_km": round((r["retire_at_m"] or default_retire_km * 1000) / 1000, 1),
            }
        )
    return out


def shoe_changes(
    *,
    drop_mm: float | None = None,
    minimalist: bool | None = None,
    retire_km: float | None = None,
    retired: bool | None = None,
) -> dict[str, Any]:
    """The ``gear`` columns that the given settings change (None leaves a setting as it is)."""
    changes: dict[str, Any] = {}
    if drop_mm is not None:
        changes["drop_mm"] = drop_mm
    if minimalist is not None:
        changes["minimalist"] = int(minimalist)
    if retire_km is not None:
        changes["retire_at_m"] = retire_km * 1000.0
    if retired is not None:
        changes["retired"] = int(retired)
    return changes


def set_shoe(
    db: sqlite_utils.Database, cfg: Config, gear_id: str, changes: dict[str, Any], now: datetime
) -> list[int]:
    """Change a shoe (:func:`shoe_changes`) and judge again the days of its runs; returns the
    new alerts' ids."""
    with write_tx(db):
        update_shoe(db, gear_id, changes)
        return _reevaluate(db, cfg, shoe_dates(db, gear_id), now)


def add_shoe_from(
    db: sqlite_utils.Database,
    cfg: Config,
    name: str,
    from_date: str,
    now: datetime,
    **settings: Any,
) -> tuple[str, int, list[int]]:
    """Add a shoe worn from ``from_date`` on (``settings``: those of
    :func:`calfsync.store.gear.add_shoe`), put the runs from that date in it and judge their days
    again. Returns the shoe's id, the runs now in it and the new alerts' ids."""
    with write_tx(db):
        gear_id = add_shoe(db, name, from_date, **settings)
        ids = _reevaluate(db, cfg, assign_gear_by_date(db), now)
    runs = db.execute("SELECT COUNT(*) FROM activities WHERE gear_id = ?", [gear_id]).fetchone()[0]
    return gear_id, runs, ids


def put_run_in_shoe(
    db: sqlite_utils.Database, cfg: Config, activity_id: str, gear_id: str, now: datetime
) -> list[int]:
    """Put one run in a shoe (wins over dates and Strava) and judge again the days of the runs
    in its old and new shoe; returns the new alerts' ids. Raises with the fix for an unknown
    run."""
    found = list(db.query("SELECT local_date, gear_id FROM activities WHERE id = ?", [activity_id]))
    if not found:
        raise CalfsyncError(f"no activity '{activity_id}': ids are in `select id from runs`")
    with write_tx(db):
        assign_run(db, activity_id, gear_id)
        old = found[0]["gear_id"]
        changed = assign_gear_by_date(db, {found[0]["local_date"]})
        dates = changed | (shoe_dates(db, old) if old else set()) | shoe_dates(db, gear_id)
        return _reevaluate(db, cfg, dates, now)


def _reevaluate(
    db: sqlite_utils.Database, cfg: Config, dates: set[str], now: datetime
) -> list[int]:
    """Evaluate from the earliest of ``dates`` on and queue pushes, as a sync cycle does."""
    if not dates:
        return []
    return evaluate_pending(db, cfg, now, extra_dates=set(dates))
