"""The schema's forward migrations: one ordered list, applied in that order, never edited.

The schema is a public interface (runners query the file directly): columns are only ever added,
never renamed. sqlite-utils' :class:`~sqlite_utils.migrations.Migrations` records each applied
migration's name in ``_sqlite_migrations`` in the same transaction as the migration, and
``PRAGMA user_version`` mirrors their count. Every database written since 0.1.0 records these
names, so a name never changes: a renamed migration would run again. The two ``0002_`` names
are history (two branches each took 0002); their order is the order of :data:`ORDER`. A new
migration goes at the end of :data:`ORDER` with the next number.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlite_utils
from sqlite_utils.migrations import Migrations

from ..quality import row_suspect_reason


def _initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE activities (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            start_time TEXT NOT NULL,
            local_date TEXT NOT NULL,
            utc_offset_s INTEGER NOT NULL,
            sport TEXT NOT NULL,
            sub_sport TEXT,
            distance_m REAL NOT NULL DEFAULT 0,
            moving_time_s REAL,
            elapsed_time_s REAL,
            ascent_m REAL,
            descent_m REAL,
            avg_heart_rate_bpm REAL,
            max_heart_rate_bpm REAL,
            interval_time_s REAL,
            hr_histogram TEXT,
            laps TEXT,
            workout_type INTEGER,
            gear_id TEXT,
            name TEXT,
            device TEXT,
            altitude_source TEXT,
            indoor INTEGER NOT NULL DEFAULT 0,
            salvaged INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0,
            strava_id INTEGER UNIQUE,
            external_id TEXT,
            fit_raw TEXT,
            strava_raw TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )
        """
    )
    db.execute("CREATE INDEX idx_activities_start ON activities(start_time)")
    db.execute("CREATE INDEX idx_activities_local_date ON activities(local_date)")
    db.execute(
        """
        CREATE TABLE fit_files (
            sha256 TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            size_bytes INTEGER,
            status TEXT NOT NULL CHECK (status IN ('imported', 'skipped', 'failed')),
            reason TEXT,
            activity_id TEXT,
            activity_ids TEXT,
            salvaged INTEGER NOT NULL DEFAULT 0,
            imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )
        """
    )
    # Which paths were already looked at, so a scan parses only new or changed files.
    db.execute(
        """
        CREATE TABLE seen_paths (
            path TEXT PRIMARY KEY,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE gear (
            id TEXT PRIMARY KEY,
            name TEXT,
            brand TEXT,
            model TEXT,
            distance_m REAL,
            drop_mm REAL,
            minimalist INTEGER NOT NULL DEFAULT 0,
            retired INTEGER NOT NULL DEFAULT 0,
            retire_at_m REAL,
            from_date TEXT,
            source TEXT NOT NULL DEFAULT 'manual',
            raw TEXT,
            fetched_at TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            episode_key TEXT NOT NULL UNIQUE,
            local_date TEXT NOT NULL,
            activity_id TEXT,
            severity TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            "values" TEXT NOT NULL,
            pushed TEXT NOT NULL DEFAULT 'pending',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )
        """
    )
    db.execute(
        """
        CREATE TABLE soreness (
            id INTEGER PRIMARY KEY,
            local_date TEXT NOT NULL,
            level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 10),
            note TEXT,
            source TEXT NOT NULL DEFAULT 'cli',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )
        """
    )
    # Small key/value store for cursors, last-cycle times and source state.
    db.execute(
        """
        CREATE TABLE state (
            key TEXT PRIMARY KEY,
            value TEXT,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )
        """
    )


def _dirty_dates(db: sqlite_utils.Database) -> None:
    # Local dates whose load changed and whose rules are not evaluated yet (store/activities.py).
    db.execute("CREATE TABLE dirty_dates (local_date TEXT PRIMARY KEY)")


def _notify_outbox(db: sqlite_utils.Database) -> None:
    # One row per (alert, channel); see calfsync/notify/outbox.py and docs/schema.md.
    db.execute(
        """
        CREATE TABLE notify_outbox (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL,
            channel TEXT NOT NULL,
            channel_type TEXT NOT NULL,
            dedupe_key TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_by TEXT,
            claimed_until TEXT,
            push_key TEXT,
            push_day TEXT,
            last_status INTEGER,
            last_error TEXT,
            provider_id TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_notify_outbox_due ON notify_outbox(state, next_attempt_at)")
    db.execute("CREATE INDEX idx_notify_outbox_alert ON notify_outbox(alert_id)")
    db.execute("CREATE INDEX idx_notify_outbox_push ON notify_outbox(channel, push_day)")


def _gear_assignments(db: sqlite_utils.Database) -> None:
    # Shoes a runner gave one run (`calfsync shoes assign`); they win over any source's shoe.
    db.execute(
        """
        CREATE TABLE gear_assignments (
            activity_id TEXT PRIMARY KEY,
            gear_id TEXT NOT NULL,
            assigned_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        )
        """
    )
    # Where activities.gear_id came from: NULL = the source (Strava), 'date' = the shoe in use
    # from its `shoes add --from` date, 'manual' = `shoes assign`.
    db.execute("ALTER TABLE activities ADD COLUMN gear_source TEXT")
    db.execute("CREATE INDEX idx_alerts_rule_date ON alerts(rule, local_date)")


def _strava_listing(db: sqlite_utils.Database) -> None:
    # The Strava listing pass that last saw this activity: a pass that completes without seeing
    # an activity in its time window has Strava asked whether it was deleted.
    db.execute("ALTER TABLE activities ADD COLUMN strava_listed_at TEXT")


def _suspect_and_delivery(db: sqlite_utils.Database) -> None:
    # RULES.md "Plausible": NULL when the activity is plausible, else why it is suspect, in words
    # (calfsync/quality.py). A suspect activity counts for no rule and no load view unless the
    # runner confirmed it (suspect_confirmed = 1).
    db.execute("ALTER TABLE activities ADD COLUMN suspect TEXT")
    db.execute("ALTER TABLE activities ADD COLUMN suspect_confirmed INTEGER NOT NULL DEFAULT 0")
    # 1 when the runner corrected the sport (`calfsync activity sport`): a re-sync keeps it.
    db.execute("ALTER TABLE activities ADD COLUMN sport_by_runner INTEGER NOT NULL DEFAULT 0")
    # 'now' = pushed at once, 'digest' = waits for the weekly digest (RULES.md delivery classes).
    db.execute("ALTER TABLE alerts ADD COLUMN delivery TEXT NOT NULL DEFAULT 'now'")
    # Runs stored before this judged now, so a file dated 2099 stops counting on upgrade.
    now = datetime.now(UTC)
    runs = db.query(
        "SELECT id, sport, sub_sport, indoor, start_time, distance_m, moving_time_s, "
        "elapsed_time_s, ascent_m FROM activities WHERE sport = 'running'"
    )
    reasons = [(reason, r["id"]) for r in runs if (reason := row_suspect_reason(r, now))]
    db.conn.executemany("UPDATE activities SET suspect = ? WHERE id = ?", reasons)


def _outbox_ambiguous(db: sqlite_utils.Database) -> None:
    # Sends of this row that went out and got no answer (a read timeout, a reset): the service
    # may hold a copy. The outbox stops resending at 2 (calfsync/notify/ambiguity.py).
    db.execute("ALTER TABLE notify_outbox ADD COLUMN ambiguous INTEGER NOT NULL DEFAULT 0")


def _outbox_request_at(db: sqlite_utils.Database) -> None:
    # When the current claim's request left (NULL: not yet). A claim abandoned by a killed
    # flusher with it set may have reached the service: counted as an ambiguous send.
    db.execute("ALTER TABLE notify_outbox ADD COLUMN request_at TEXT")


# The runs every view counts (views.COUNTED, frozen here: a migration never changes; a new
# definition of COUNTED needs a new migration that recreates the triggers and refills the totals).
_COUNTED_0007 = (
    "{a}sport = 'running' AND {a}deleted = 0 AND ({a}suspect IS NULL OR {a}suspect_confirmed = 1)"
)
_LOAD = "COUNT(*), SUM(distance_m), SUM(ascent_m), SUM(moving_time_s)"


def _monday(day: str) -> str:
    """SQL for the local Monday of the week holding ``day`` (a ``YYYY-MM-DD`` expression)."""
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


def _refresh(row: str, unless_same_as: str | None = None) -> str:
    """Trigger statements that recompute the day, week and shoe of ``row`` (NEW or OLD) from
    ``activities``; with ``unless_same_as``, only the keys that differ from that row's."""
    counted = _COUNTED_0007.format(a="")
    day, week, shoe = f"{row}.local_date", _monday(f"{row}.local_date"), f"{row}.gear_id"
    keys = {"day": "", "week": "", "shoe": ""}
    if unless_same_as:
        o = unless_same_as
        keys = {
            "day": f" AND {day} IS NOT {o}.local_date",
            "week": f" AND {week} IS NOT {_monday(f'{o}.local_date')}",
            "shoe": f" AND {shoe} IS NOT {o}.gear_id",
        }
    return f"""
        DELETE FROM daily_totals WHERE local_date = {day}{keys["day"]};
        INSERT INTO daily_totals SELECT local_date, {_LOAD} FROM activities
            WHERE local_date = {day} AND {counted}{keys["day"]} GROUP BY local_date;
        DELETE FROM weekly_totals WHERE week_start = {week}{keys["week"]};
        INSERT INTO weekly_totals SELECT {week}, {_LOAD} FROM activities
            WHERE local_date BETWEEN {week} AND date({week}, '+6 days') AND {counted}
            {keys["week"]} GROUP BY 1;
        DELETE FROM shoe_totals WHERE gear_id = {shoe}{keys["shoe"]};
        INSERT INTO shoe_totals SELECT gear_id, COUNT(*), SUM(distance_m), MIN(local_date),
            MAX(local_date) FROM activities WHERE gear_id = {shoe} AND {counted}{keys["shoe"]}
            GROUP BY gear_id;
    """


def _load_totals(db: sqlite_utils.Database) -> None:
    # Per-day, per-week and per-shoe sums of the counted runs, so the views people query
    # (weekly_load, daily_load, shoe_mileage) read a few rows instead of every activity. Kept by
    # triggers on activities, in the transaction of whatever writes a run; docs/schema.md.
    load = "runs INTEGER NOT NULL, distance_m REAL, ascent_m REAL, moving_time_s REAL"
    db.execute(f"CREATE TABLE daily_totals (local_date TEXT PRIMARY KEY, {load})")
    db.execute(f"CREATE TABLE weekly_totals (week_start TEXT PRIMARY KEY, {load})")
    db.execute(
        "CREATE TABLE shoe_totals (gear_id TEXT PRIMARY KEY, runs INTEGER NOT NULL, "
        "distance_m REAL, first_run TEXT, last_run TEXT)"
    )
    counted = _COUNTED_0007.format(a="")
    # Covering what the shoe_totals trigger reads (the counted condition's columns included).
    # Not a partial index on that condition: the planner then read the `runs` view through it
    # and sorted every run for `order by start_time desc limit 10`.
    db.execute(
        "CREATE INDEX idx_activities_gear ON activities(gear_id, local_date, distance_m, sport, "
        "deleted, suspect, suspect_confirmed)"
    )
    db.execute("CREATE INDEX idx_alerts_local_date ON alerts(local_date)")
    db.execute(
        f"INSERT INTO daily_totals SELECT local_date, {_LOAD} FROM activities "
        f"WHERE {counted} GROUP BY local_date"
    )
    db.execute(
        f"INSERT INTO weekly_totals SELECT {_monday('local_date')}, {_LOAD} FROM activities "
        f"WHERE {counted} GROUP BY 1"
    )
    db.execute(
        "INSERT INTO shoe_totals SELECT gear_id, COUNT(*), SUM(distance_m), MIN(local_date), "
        f"MAX(local_date) FROM activities WHERE gear_id IS NOT NULL AND {counted} GROUP BY gear_id"
    )
    new, old = _COUNTED_0007.format(a="NEW."), _COUNTED_0007.format(a="OLD.")
    columns = (
        "local_date, sport, deleted, suspect, suspect_confirmed, distance_m, ascent_m, "
        "moving_time_s, gear_id"
    )
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns.split(", "))
    db.execute(
        f"CREATE TRIGGER activities_totals_insert AFTER INSERT ON activities WHEN {new} "
        f"BEGIN {_refresh('NEW')} END"
    )
    db.execute(
        f"CREATE TRIGGER activities_totals_delete AFTER DELETE ON activities WHEN {old} "
        f"BEGIN {_refresh('OLD')} END"
    )
    db.execute(
        f"CREATE TRIGGER activities_totals_update AFTER UPDATE OF {columns} ON activities "
        f"WHEN (({old}) OR ({new})) AND ({changed}) "
        f"BEGIN {_refresh('OLD')} {_refresh('NEW', unless_same_as='OLD')} END"
    )


# (recorded name, migration) in the order they run: the only place that orders them.
ORDER = (
    ("0001_initial", _initial),
    ("0002_store_dirty_dates", _dirty_dates),
    ("0002_notify_outbox", _notify_outbox),
    ("0003_rules_gear_assignments", _gear_assignments),
    ("0004_strava_listing", _strava_listing),
    ("0005_suspect_and_delivery", _suspect_and_delivery),
    ("0006_outbox_ambiguous", _outbox_ambiguous),
    ("0007_load_totals", _load_totals),
    ("0008_outbox_request_at", _outbox_request_at),
)
MIGRATIONS = Migrations("calfsync")
for _name, _migration in ORDER:
    MIGRATIONS(name=_name)(_migration)  # refuses a name used twice


def migrate(db: sqlite_utils.Database) -> None:
    """Apply pending migrations in :data:`ORDER` (forward only) and record the schema version."""
    if MIGRATIONS.pending(db):
        MIGRATIONS.apply(db)
    version = len(MIGRATIONS.applied(db))
    if schema_version(db) != version:
        db.execute(f"PRAGMA user_version = {version}")


def schema_version(db: sqlite_utils.Database) -> int:
    """``PRAGMA user_version``: how many migrations the file has had."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def unknown_migrations(db: sqlite_utils.Database) -> list[str]:
    """Migrations recorded in the file that this calfsync does not know (a newer calfsync
    wrote it). Read only."""
    known = {name for name, _migration in ORDER}
    return [m.name for m in MIGRATIONS.applied(db) if m.name not in known]
