"""The ``gear`` and ``gear_assignments`` tables: shoes, and the runs a runner put in one.

This module is their only writer. FIT files carry no shoe. Runners without Strava say
``shoes add NAME --from DATE``: runs from that date on are in that shoe until the next such
entry. ``shoes assign`` sets one run's shoe and wins over everything. A shoe Strava reports for
a run (``strava_raw.gear_id``) wins over the dates. Where a run's shoe came from is kept in
``activities.gear_source`` (written through :func:`.activities.set_gear`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from .activities import set_gear
from .db import write_tx

RUNS_SQL = """
    SELECT id, local_date, gear_id, gear_source,
           CASE WHEN json_valid(strava_raw) THEN json_extract(strava_raw, '$.gear_id') END
               AS strava_gear
    FROM activities WHERE sport = 'running' AND deleted = 0
"""


def save_gear(db: sqlite_utils.Database, row: dict[str, Any]) -> None:
    """Insert or update one shoe by ``id`` (a source's shoe, e.g. Strava's ``gear_row``);
    columns not in ``row`` keep their stored values."""
    db["gear"].upsert(row, pk="id")


def add_shoe(
    db: sqlite_utils.Database,
    name: str,
    from_date: str,
    *,
    drop_mm: float | None = None,
    minimalist: bool = False,
    retire_km: float | None = None,
) -> str:
    """Add a shoe worn from ``from_date`` on (until the next one added so); returns its id.

    Runs are assigned to it by :func:`assign_gear_by_date` (called by the caller or by the next
    evaluation), so no activity is touched here.
    """
    gear_id = _next_manual_id(db)
    db["gear"].insert(
        {
            "id": gear_id,
            "name": name,
            "drop_mm": drop_mm,
            "minimalist": int(minimalist),
            "retire_at_m": retire_km * 1000.0 if retire_km else None,
            "from_date": from_date,
            "source": "manual",
        }
    )
    return gear_id


def update_shoe(db: sqlite_utils.Database, gear_id: str, updates: dict[str, Any]) -> None:
    """Set some of a shoe's columns (``drop_mm``, ``minimalist``, ``retire_at_m``, ``retired``)."""
    db["gear"].update(gear_id, updates)


def assign_run(db: sqlite_utils.Database, activity_id: str, gear_id: str) -> None:
    """Record that the runner put one run in a shoe (``shoes assign``); it wins over the dates
    and Strava at the next :func:`assign_gear_by_date`."""
    db["gear_assignments"].upsert(
        {"activity_id": activity_id, "gear_id": gear_id}, pk="activity_id"
    )


def _next_manual_id(db: sqlite_utils.Database) -> str:
    numbers = [
        int(r[0][1:])
        for r in db.execute("SELECT id FROM gear WHERE id GLOB 'm[0-9]*'")
        if r[0][1:].isdigit()
    ]
    return f"m{max(numbers, default=0) + 1}"


def assign_gear_by_date(db: sqlite_utils.Database, dates: Iterable[str] | None = None) -> set[str]:
    """Give runs (of ``dates``, or all) their shoe; return the local dates whose shoe changed.

    Order of precedence: ``shoes assign`` (gear_assignments), then Strava's shoe for the run,
    then a shoe another source set (``gear_source`` NULL), then the shoe whose ``from_date``
    is the latest on or before the run's date (the later entry wins on the same date).
    """
    entries = list(
        db.query(
            "SELECT id, from_date FROM gear WHERE from_date IS NOT NULL ORDER BY from_date, rowid"
        )
    )
    starts = [e["from_date"] for e in entries]
    manual = dict(db.execute("SELECT activity_id, gear_id FROM gear_assignments").fetchall())
    sql, params = RUNS_SQL, []
    if dates is not None:
        dates = sorted(set(dates))
        if not dates:
            return set()
        sql += f" AND local_date IN ({', '.join('?' * len(dates))})"
        params = list(dates)
    changed: set[str] = set()
    with write_tx(db):
        for run in list(db.query(sql, params)):
            want = _wanted(run, manual, entries, starts)
            if want is None:
                continue
            if (run["gear_id"], run["gear_source"]) != want:
                set_gear(db, run["id"], *want)
                changed.add(run["local_date"])
    return changed


def _wanted(
    run: dict[str, Any],
    manual: dict[str, str],
    entries: list[dict[str, Any]],
    starts: list[str],
) -> tuple[str | None, str | None] | None:
    """(gear_id, gear_source) the run should have, or None to leave it as it is."""
    if run["id"] in manual:
        return manual[run["id"]], "manual"
    if run["strava_gear"]:
        return str(run["strava_gear"]), None
    if run["gear_id"] and run["gear_source"] is None:
        return None  # a source's own shoe
    k = bisect.bisect_right(starts, run["local_date"]) - 1
    if k >= 0:
        return entries[k]["id"], "date"
    if run["gear_source"] in ("date", "manual"):
        return None, None
    return None
