"""The views a runner queries (``select * from weekly_load``): the database's user interface.

Views hold no data, so they are recreated on every start instead of migrated: changing one here
changes it in every database on its next open. Their names and columns are a public interface
(docs/schema.md).

A suspect activity (``activities.suspect``, RULES.md "Plausible") counts in no view until the
runner confirms it (``suspect_confirmed``): :data:`COUNTED` is the condition every view shares.
The load views read ``daily_totals``, ``weekly_totals`` and ``shoe_totals``, which triggers
keep with that same condition (migration ``0007_load_totals``): changing :data:`COUNTED` needs a
migration that recreates those triggers and refills the totals.
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
    # The sums are kept per day, week and shoe by triggers on activities (migration
    # 0007_load_totals), so these read a few rows however many years the file holds.
    "daily_load": """
        SELECT local_date, runs, distance_m, ascent_m, moving_time_s FROM daily_totals
        ORDER BY local_date
    """,
    "weekly_load": """
        SELECT week_start, runs, distance_m, ascent_m, moving_time_s FROM weekly_totals
        ORDER BY week_start
    """,
    "shoe_mileage": """
        SELECT g.id AS gear_id, g.name, g.brand, g.model, g.drop_mm, g.minimalist, g.retired,
               g.retire_at_m,
               COALESCE(t.runs, 0) AS runs,
               COALESCE(t.distance_m, 0) AS run_distance_m,
               g.distance_m AS reported_distance_m,
               t.first_run, t.last_run
        FROM gear g LEFT JOIN shoe_totals t ON t.gear_id = g.id
        ORDER BY g.id
    """,
}


def ensure_views(db: sqlite_utils.Database) -> None:
    """Create every view in :data:`VIEWS`; one whose SQL changed is replaced, in one
    transaction so a reader never finds a view missing."""
    with db.atomic():
        for name, sql in VIEWS.items():
            db.create_view(name, sql.strip(), replace=True)
