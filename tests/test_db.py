"""The database: migrations, schema version, views a runner queries, errors that name the fix."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calfsync.errors import CalfsyncError
from calfsync.model import Activity
from calfsync.store.activities import save_activities
from calfsync.store.db import open_db
from calfsync.store.migrations import MIGRATIONS, schema_version
from calfsync.store.views import VIEWS


def act(
    id_: str,
    day: datetime,
    km: float,
    sport: str = "running",
    climb: float | None = 50,
    sub_sport: str | None = None,
    offset_s: int = 0,
) -> Activity:
    return Activity(
        id=id_,
        source="fit",
        start_time=day,
        utc_offset_s=offset_s,
        sport=sport,
        sub_sport=sub_sport,
        distance_m=km * 1000,
        moving_time_s=km * 330,
        ascent_m=climb,
    )


def test_new_database_is_migrated_wal_and_versioned(tmp_path: Path):
    db = open_db(tmp_path / "x.db")
    assert MIGRATIONS.pending(db) == []
    assert schema_version(db) == len(MIGRATIONS.applied(db)) >= 2
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert int(db.execute("PRAGMA busy_timeout").fetchone()[0]) >= 5000
    for table in ("activities", "fit_files", "gear", "alerts", "soreness"):
        assert db[table].exists()
    for view in ("weekly_load", "daily_load", "shoe_mileage", "runs"):
        assert view in db.view_names()


def test_reopening_keeps_data_and_applies_nothing_twice(tmp_path: Path):
    db = open_db(tmp_path / "x.db")
    save_activities(db, [act("a", datetime(2026, 3, 2, 8, tzinfo=UTC), 10)])
    db.close()
    db = open_db(tmp_path / "x.db")
    assert db["activities"].count == 1
    applied = list(db.query("SELECT name FROM _sqlite_migrations"))
    assert len(applied) == len({r["name"] for r in applied}) == schema_version(db)


def test_weekly_load_counts_runs_only_by_local_monday(tmp_path: Path):
    db = open_db(tmp_path / "x.db")
    monday = datetime(2026, 3, 2, 8, tzinfo=UTC)  # 2026-03-02 is a Monday
    save_activities(
        db,
        [
            act("r1", monday, 10),
            act("r2", monday + timedelta(days=6), 12, climb=None, sub_sport="treadmill"),
            act("ride", monday + timedelta(days=2), 40, sport="cycling"),
            act("r3", monday + timedelta(days=7), 8),
            # Sunday 23:30 in UTC-8 is Monday 07:30 UTC: it belongs to the local Sunday's week
            act("r4", datetime(2026, 3, 16, 7, 30, tzinfo=UTC), 5, offset_s=-8 * 3600),
        ],
    )
    weeks = list(db.query("SELECT * FROM weekly_load ORDER BY week_start"))
    assert [w["week_start"] for w in weeks] == ["2026-03-02", "2026-03-09"]
    assert weeks[0]["runs"] == 2 and weeks[0]["distance_m"] == 22_000
    assert weeks[0]["ascent_m"] == 50  # unknown treadmill climb is not counted as zero climb
    assert weeks[1]["runs"] == 2 and weeks[1]["distance_m"] == 13_000
    daily = list(db.query("SELECT * FROM daily_load WHERE local_date = '2026-03-15'"))
    assert daily[0]["distance_m"] == 5_000


def test_unwritable_location_names_the_fix(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CalfsyncError, match="--db"):
        open_db(blocker / "sub" / "x.db")


def test_not_a_database_names_the_fix(tmp_path: Path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CalfsyncError, match="not a calfsync database or is damaged"):
        open_db(bad)


def test_a_reader_holding_a_transaction_does_not_block_writes(tmp_path: Path):
    db = open_db(tmp_path / "x.db")
    reader = sqlite3.connect(tmp_path / "x.db")
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM activities").fetchone()
    save_activities(db, [act("a", datetime(2026, 3, 2, 8, tzinfo=UTC), 10)])
    reader.rollback()
    assert reader.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 1


def test_a_changed_view_is_replaced_and_an_unchanged_one_kept(tmp_path: Path):
    db = open_db(tmp_path / "x.db")
    db.execute("DROP VIEW weekly_load")
    db.execute("CREATE VIEW weekly_load AS SELECT 1 AS week_start")
    before = db["runs"].schema
    db.close()
    db = open_db(tmp_path / "x.db")
    assert db["weekly_load"].schema.endswith(VIEWS["weekly_load"].strip())
    assert db["runs"].schema == before
