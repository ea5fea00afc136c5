"""The SQLite load history: connection, schema, forward migrations and views.

The schema is a public interface (runners query the file directly): columns are only ever added,
never renamed. Every migration is registered in :data:`MIGRATIONS` in order; each runs in its own
transaction together with the record that it ran. ``PRAGMA user_version`` mirrors the count.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from ..errors import CalfsyncError

BUSY_TIMEOUT_MS = 15_000
MIGRATIONS = Migrations("calfsync")


@MIGRATIONS(name="0001_initial")
def _m0001(db: sqlite_utils.Database) -> None:
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


@MIGRATIONS(name="0002_store_dirty_dates")
def _m0002_dirty_dates(db: sqlite_utils.Database) -> None:
    # Local dates whose load changed and whose rules are not evaluated yet (see store.py).
    db.execute("CREATE TABLE dirty_dates (local_date TEXT PRIMARY KEY)")


# Views are recreated on every start, so changing one needs no migration.
VIEWS: dict[str, str] = {
    "runs": """
        SELECT id, start_time, local_date, sub_sport, distance_m, moving_time_s,
               elapsed_time_s, ascent_m, indoor, gear_id, name
        FROM activities WHERE sport = 'running' AND deleted = 0
    """,
    "daily_load": """
        SELECT local_date,
               COUNT(*) AS runs,
               SUM(distance_m) AS distance_m,
               SUM(ascent_m) AS ascent_m,
               SUM(moving_time_s) AS moving_time_s
        FROM activities WHERE sport = 'running' AND deleted = 0
        GROUP BY local_date
    """,
    "weekly_load": """
        SELECT date(local_date, '-' || ((CAST(strftime('%w', local_date) AS INTEGER) + 6) % 7)
                    || ' days') AS week_start,
               COUNT(*) AS runs,
               SUM(distance_m) AS distance_m,
               SUM(ascent_m) AS ascent_m,
               SUM(moving_time_s) AS moving_time_s
        FROM activities WHERE sport = 'running' AND deleted = 0
        GROUP BY week_start
    """,
    "shoe_mileage": """
        SELECT g.id AS gear_id, g.name, g.brand, g.model, g.drop_mm, g.minimalist, g.retired,
               g.retire_at_m,
               COUNT(a.id) AS runs,
               COALESCE(SUM(a.distance_m), 0) AS run_distance_m,
               g.distance_m AS reported_distance_m,
               MIN(a.local_date) AS first_run, MAX(a.local_date) AS last_run
        FROM gear g LEFT JOIN activities a
             ON a.gear_id = g.id AND a.sport = 'running' AND a.deleted = 0
        GROUP BY g.id
    """,
}


def open_db(path: str | Path, *, busy_timeout_s: float | None = None) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path``, migrate it and refresh the views.

    ``busy_timeout_s`` is how long a write waits for another writer (``[database]
    busy_timeout_s``; default :data:`BUSY_TIMEOUT_MS`). Raises :class:`CalfsyncError` with the
    fix when the file cannot be created or written, is not a database, or was written by a newer
    calfsync; such a file is left as it was.
    """
    path = Path(path).expanduser()
    timeout_ms = BUSY_TIMEOUT_MS if busy_timeout_s is None else int(busy_timeout_s * 1000)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=timeout_ms / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise CalfsyncError(
            f"cannot open the database {path}: {getattr(exc, 'strerror', None) or exc}. Check "
            "that the folder exists and is writable by this user, or choose another file with "
            "--db or [database] path."
        ) from exc
    db = sqlite_utils.Database(conn)
    db.calfsync_path = path  # type: ignore[attr-defined] - read by database_error()
    try:
        db.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # not a database: fails here
        _refuse_newer_schema(db, path)
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.enable_wal()
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except sqlite3.Error as exc:
        conn.close()
        raise database_error(exc, path) from exc
    except BaseException:
        conn.close()
        raise
    return db


def _refuse_newer_schema(db: sqlite_utils.Database, path: Path) -> None:
    """Raise when the file holds migrations this calfsync does not know (a downgrade):
    migrating or recreating views there could break the newer schema."""
    known = [m.name for m in MIGRATIONS._migrations]
    applied = [m.name for m in MIGRATIONS.applied(db)]
    unknown = [name for name in applied if name not in known]
    version = schema_version(db)
    if unknown or version > len(known):
        raise CalfsyncError(
            f"the database {path} was written by a newer calfsync (schema version "
            f"{max(version, len(applied))}, this calfsync knows {len(known)}"
            + (f"; unknown migrations: {', '.join(unknown)}" if unknown else "")
            + "). Upgrade calfsync (pipx upgrade calfsync, or pip install -U calfsync in its "
            "venv), or restore a backup made before the upgrade. The file was left untouched."
        )


def database_path(db: sqlite_utils.Database) -> Path | None:
    """The file behind ``db`` (as :func:`open_db` opened it), or None."""
    path = getattr(db, "calfsync_path", None)
    if path is not None:
        return Path(path)
    try:
        for _seq, name, file in db.execute("PRAGMA database_list").fetchall():
            if name == "main" and file:
                return Path(file)
    except sqlite3.Error:
        pass
    return None


def is_busy(exc: BaseException) -> bool:
    """True for "database is locked": another writer held the lock past busy_timeout."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc)


def is_database_problem(exc: BaseException) -> bool:
    """True for SQLite errors that come from the file or the machine (full disk, lock held,
    read-only, damaged), not from one bad input: they stop a cycle instead of failing a file."""
    return isinstance(exc, sqlite3.OperationalError) or (
        isinstance(exc, sqlite3.DatabaseError)
        and not isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError)
    )


def database_error(exc: sqlite3.Error, path: str | Path | None) -> CalfsyncError:
    """A :class:`CalfsyncError` naming the fix for a SQLite error on the database at ``path``."""
    where = Path(path) if path is not None else None
    name = f"the database {where}" if where else "the database"
    folder = str(where.parent) if where else "the database's folder"
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    text = str(exc)
    if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
        return CalfsyncError(
            f"cannot write {name}: the disk is full ({text}). Free disk space at {folder}, "
            "then run again: nothing was half-written, the next run carries on where this one "
            "stopped."
        )
    if is_busy(exc):
        return CalfsyncError(
            f"{name} stayed locked by another process longer than the busy timeout ({text}). "
            "Close the other writer (an open sqlite3 session with a write transaction, a "
            "script), or raise [database] busy_timeout_s; the next run tries again."
        )
    if primary in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return CalfsyncError(
            f"{name} is not a calfsync database or is damaged ({text}). Point --db or "
            "[database] path at the right file, or restore it from a backup (or move it "
            "aside and a new one is created on the next run). The file was left untouched."
        )
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return CalfsyncError(
            f"cannot write {name} ({text}). Make the file, its -wal and -shm files and the "
            f"folder {folder} writable by the user running calfsync (the daemon's user: "
            "sudo chown calfsync: ...), or choose another file with --db or [database] path."
        )
    if primary == sqlite3.SQLITE_IOERR:
        return CalfsyncError(
            f"input/output error on {name} ({text}). Check the disk (free space at {folder}, "
            "dmesg for hardware errors), then run again."
        )
    return CalfsyncError(f"database error on {name}: {text}")


def migrate(db: sqlite_utils.Database) -> None:
    """Apply pending migrations (forward only) and recreate the views."""
    if MIGRATIONS.pending(db):
        MIGRATIONS.apply(db)
    version = len(MIGRATIONS.applied(db))
    if db.execute("PRAGMA user_version").fetchone()[0] != version:
        db.execute(f"PRAGMA user_version = {version}")
    ensure_views(db)


def ensure_views(db: sqlite_utils.Database) -> None:
    """Create every view in :data:`VIEWS`, replacing any whose SQL changed."""
    existing = {
        name: sql
        for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'")
    }
    for name, body in VIEWS.items():
        sql = f"CREATE VIEW {name} AS {body.strip()}"
        if existing.get(name) == sql:
            continue
        with db.atomic():
            db.execute(f"DROP VIEW IF EXISTS {name}")
            db.execute(sql)


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def get_state(db: sqlite_utils.Database, key: str, default: str | None = None) -> str | None:
    row = db.execute("SELECT value FROM state WHERE key = ?", [key]).fetchone()
    return row[0] if row else default


def set_state(db: sqlite_utils.Database, key: str, value: str | None) -> None:
    db.execute(
        "INSERT INTO state(key, value, updated_at) VALUES (?, ?, "
        "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value],
    )


def rows(db: sqlite_utils.Database, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts."""
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


class write_tx:  # noqa: N801 - used as a context manager: ``with write_tx(db):``
    """A write transaction taken with ``BEGIN IMMEDIATE``.

    Immediate mode takes the write lock up front, so a concurrent writer makes us wait up to
    ``busy_timeout`` instead of failing half-way with SQLITE_BUSY. Nested use falls back to a
    savepoint.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._inner: Any = None

    def __enter__(self) -> sqlite_utils.Database:
        if self.db.conn.in_transaction:
            self._inner = self.db.atomic()
            return self._inner.__enter__()
        self.db.conn.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._inner is not None:
            self._inner.__exit__(exc_type, exc, tb)
            return
        if exc_type is None:
            try:
                self.db.conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full, lock held) can leave the transaction open: roll it
                # back so nothing is half-written and later statements do not join it.
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
        elif self.db.conn.in_transaction:
            self.db.conn.execute("ROLLBACK")


@MIGRATIONS(name="0002_notify_outbox")
def _m0002_notify_outbox(db: sqlite_utils.Database) -> None:
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


@MIGRATIONS(name="0003_rules_gear_assignments")
def _m0003_rules_gear_assignments(db: sqlite_utils.Database) -> None:
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


@MIGRATIONS(name="0004_strava_listing")
def _m0004_strava_listing(db: sqlite_utils.Database) -> None:
    # The Strava listing pass that last saw this activity: a pass that completes without seeing
    # an activity in its time window has Strava asked whether it was deleted.
    db.execute("ALTER TABLE activities ADD COLUMN strava_listed_at TEXT")
