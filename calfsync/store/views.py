"""The views a runner queries (``select * from weekly_load``): the database's user interface.

Views hold no data, so they are recreated on every start instead of migrated: changing one here
changes it in every database on its next open. Their names and columns are a public interface
(docs/schema.md).

A suspect activity (``activities.suspect``, RULES.md "Plausible") counts in no view until the
runner confirms it (``suspect_confirmed``): :data:`COUNTED` is the condition every view shares.
"""

from __future__ import annotations

import sqlite_utils


def counted(alias: str = "") -> str:
    """The SQL condition of the runs that count: running, not deleted, plausible or confirmed
    by the runner. ``alias`` prefixes the columns (``"a."``)."""
    a = alias
    return (
        f"{a}sport = 'running' AND {a}deleted = 0 "
        f"AND ({a}suspect IS NULL OR {a}suspect_confirmed = 1)"
    )


COUNTED = counted()

VIEWS: dict[str, str] = {
    "runs": f"""
        SELECT id, start_time, local_date, sub_sport, distance_m, moving_time_s,
               elapsed_time_s, ascent_m, indoor, gear_id, name
        FROM activities WHERE {COUNTED}
    """,
    "daily_load": f"""
        SELECT local_date,
               COUNT(*) AS runs,
               SUM(distance_m) AS distance_m,
               SUM(ascent_m) AS ascent_m,
               SUM(moving_time_s) AS moving_time_s
        FROM activities WHERE {COUNTED}
        GROUP BY local_date
    """,
    "weekly_load": f"""
        SELECT date(local_date, '-' || ((CAST(strftime('%w', local_date) AS INTEGER) + 6) % 7)
                    || ' days') AS week_start,
               COUNT(*) AS runs,
               SUM(distance_m) AS distance_m,
               SUM(ascent_m) AS ascent_m,
               SUM(moving_time_s) AS moving_time_s
        FROM activities WHERE {COUNTED}
        GROUP BY week_start
    """,
    "shoe_mileage": f"""
        SELECT g.id AS gear_id, g.name, g.brand, g.model, g.drop_mm, g.minimalist, g.retired,
               g.retire_at_m,
               COUNT(a.id) AS runs,
               COALESCE(SUM(a.distance_m), 0) AS run_distance_m,
               g.distance_m AS reported_distance_m,
               MIN(a.local_date) AS first_run, MAX(a.local_date) AS last_run
        FROM gear g LEFT JOIN activities a
             ON a.gear_id = g.id AND {counted("a.")}
        GROUP BY g.id
    """,
}


def ensure_views(db: sqlite_utils.Database) -> None:
    """Create every view in :data:`VIEWS`; one whose SQL changed is replaced, in one
    transaction so a reader never finds a view missing."""
    with db.atomic():
        for name, sql in VIEWS.items():
            db.create_view(name, sql.strip(), replace=True)
