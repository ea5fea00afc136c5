"""Upgrading a database written by the last release: every row of every table stays as it was.

``tests/data/release-0.1.0.sql`` is a database that calfsync 0.1.0 (commit fee07f1) created,
with rows in every table, dumped with sqlite3 ``iterdump`` (``tests/data/make_release_0_1_0.py``
made it). The test loads it, opens it with this calfsync (migrations run, views are recreated)
and compares every original row and column.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from calfsync.store.db import open_db
from calfsync.store.migrations import MIGRATIONS, ORDER, schema_version

DUMP = Path(__file__).parent / "data" / "release-0.1.0.sql"
RELEASE_TABLES = {
    "_sqlite_migrations",
    "activities",
    "alerts",
    "dirty_dates",
    "fit_files",
    "gear",
    "gear_assignments",
    "notify_outbox",
    "seen_paths",
    "soreness",
    "state",
}


def load_release(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(DUMP.read_text())
    conn.close()


def snapshot(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as dicts, in rowid order."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    out = {
        t: [dict(r) for r in conn.execute(f'SELECT * FROM "{t}" ORDER BY rowid')] for t in tables
    }
    conn.close()
    return out


def test_release_database_opens_with_every_row_and_column_intact(tmp_path: Path):
    path = tmp_path / "release.db"
    load_release(path)
    before = snapshot(path)
    assert set(before) == RELEASE_TABLES
    assert all(before[t] for t in RELEASE_TABLES), "the fixture has rows in every table"

    db = open_db(path)
    assert MIGRATIONS.pending(db) == []
    assert [m.name for m in MIGRATIONS.applied(db)] == [name for name, _m in ORDER]
    assert schema_version(db) == len(ORDER)
    for view in ("runs", "daily_load", "weekly_load", "shoe_mileage"):
        assert view in db.view_names()
    db.close()

    after = snapshot(path)
    for table, old_rows in before.items():
        new_rows = after[table]
        if table == "_sqlite_migrations":  # nothing recorded in 0.1.0 runs again
            assert new_rows[: len(old_rows)] == old_rows
            continue
        assert len(new_rows) == len(old_rows), table
        for old, new in zip(old_rows, new_rows, strict=True):
            assert {k: new[k] for k in old} == old, table


def test_release_database_answers_the_views_as_before(tmp_path: Path):
    path = tmp_path / "release.db"
    load_release(path)
    db = open_db(path)
    weeks = list(db.query("SELECT * FROM weekly_load"))
    assert weeks == [
        {
            "week_start": "2026-03-02",
            "runs": 2,
            "distance_m": 16012.5,
            "ascent_m": 84.0,
            "moving_time_s": 5401.0,
        }
    ]
    shoes = {r["gear_id"]: r for r in db.query("SELECT * FROM shoe_mileage")}
    assert shoes["g111"]["run_distance_m"] == 10012.5
    assert shoes["m1"]["runs"] == 1 and shoes["m1"]["retired"] == 1


def test_release_database_opened_twice_applies_nothing_twice(tmp_path: Path):
    path = tmp_path / "release.db"
    load_release(path)
    open_db(path).close()
    first = snapshot(path)
    open_db(path).close()
    assert snapshot(path) == first


def test_every_name_the_release_recorded_is_still_a_migration_here(tmp_path: Path):
    """Recorded names never change: a renamed migration would run again on old files."""
    path = tmp_path / "release.db"
    load_release(path)
    recorded = [r["name"] for r in snapshot(path)["_sqlite_migrations"]]
    names = [name for name, _m in ORDER]
    assert names[: len(recorded)] == recorded
    assert len(set(names)) == len(names)
