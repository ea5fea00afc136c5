"""Storing what a FIT file gave (``fit_files`` and ``seen_paths``), fed in code: no files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from calfsync.model import Activity
from calfsync.store.db import open_db, write_tx
from calfsync.store.fit_files import (
    FitFile,
    is_recorded,
    mark_seen,
    save_fit_file,
    seen_paths,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def fit_run(id_: str, day: int, sport: str | None = "running") -> Activity:
    return Activity(
        id=id_,
        source="fit",
        start_time=datetime(2026, 3, day, 7, tzinfo=UTC),
        utc_offset_s=3600,
        sport=sport,  # type: ignore[arg-type] - None: a row the schema refuses
        distance_m=10_000,
        moving_time_s=3000,
        raw={"total_distance": 10_000},
    )


def fit_file(sha256: str, *activities: Activity, **kw: object) -> FitFile:
    return FitFile(sha256, f"/inbox/{sha256}.fit", 1234, "imported", None, list(activities), **kw)


def rows(db: sqlite_utils.Database, table: str) -> list[dict]:
    return list(db.query(f"SELECT * FROM {table}"))


def test_an_imported_file_stores_its_activities_and_its_row(tmp_path: Path) -> None:
    db = open_db(tmp_path / "c.db")
    with write_tx(db):
        saved = save_fit_file(db, fit_file("aa", fit_run("fit:1:a", 1), fit_run("fit:1:b", 2)), NOW)
    assert saved is not None
    assert (saved.status, saved.activity_ids) == ("imported", ["fit:1:a", "fit:1:b"])
    assert saved.changed_dates == {"2026-03-01", "2026-03-02"}
    [row] = rows(db, "fit_files")
    assert row["status"] == "imported" and row["reason"] is None
    assert row["activity_id"] == "fit:1:a"
    assert json.loads(row["activity_ids"]) == ["fit:1:a", "fit:1:b"]
    assert (row["path"], row["size_bytes"], row["imported_at"]) == (
        "/inbox/aa.fit",
        1234,
        "2026-03-02T09:30:00Z",
    )
    assert len(rows(db, "activities")) == 2
    assert is_recorded(db, "aa") and not is_recorded(db, "bb")


def test_a_recorded_content_is_a_duplicate_and_writes_nothing(tmp_path: Path) -> None:
    db = open_db(tmp_path / "c.db")
    save_fit_file(db, fit_file("aa", fit_run("fit:1:a", 1)), NOW)
    before = rows(db, "fit_files")
    again = FitFile("aa", "/elsewhere/copy.fit", 1234, "failed", "other words")
    assert save_fit_file(db, again, NOW) is None
    assert rows(db, "fit_files") == before


def test_skipped_failed_and_salvaged_files_keep_status_and_reason(tmp_path: Path) -> None:
    db = open_db(tmp_path / "c.db")
    save_fit_file(db, FitFile("s", "s.fit", 10, "skipped", "not an activity: FIT file type x"), NOW)
    save_fit_file(db, FitFile("f", "f.fit", 0, "failed", "empty file (0 bytes)"), NOW)
    salvaged = fit_file("t", fit_run("fit:1:t", 3), salvaged=True)
    salvaged.reason = "salvaged: the file is truncated"
    assert save_fit_file(db, salvaged, NOW).salvaged  # type: ignore[union-attr]
    got = {r["sha256"]: (r["status"], r["reason"], r["salvaged"]) for r in rows(db, "fit_files")}
    assert got == {
        "s": ("skipped", "not an activity: FIT file type x", 0),
        "f": ("failed", "empty file (0 bytes)", 0),
        "t": ("imported", "salvaged: the file is truncated", 1),
    }


def test_activities_that_cannot_be_stored_fail_their_file_alone(tmp_path: Path) -> None:
    db = open_db(tmp_path / "c.db")
    with write_tx(db):
        good = save_fit_file(db, fit_file("good", fit_run("fit:1:a", 1)), NOW)
        bad = save_fit_file(db, fit_file("bad", fit_run("fit:1:b", 2, sport=None)), NOW)
    assert good is not None and bad is not None
    assert bad.status == "failed" and not bad.salvaged and bad.activity_ids == []
    assert bad.reason is not None and bad.reason.startswith("could not store its activities (")
    assert [a["id"] for a in rows(db, "activities")] == ["fit:1:a"]
    statuses = {r["sha256"]: r["status"] for r in rows(db, "fit_files")}
    assert statuses == {"good": "imported", "bad": "failed"}


def test_seen_paths_remember_size_and_mtime(tmp_path: Path) -> None:
    db = open_db(tmp_path / "c.db")
    mark_seen(db, "/inbox/a.fit", 100, 1_700_000_000_000_000_000, "aa")
    mark_seen(db, "/inbox/a.fit", 120, 1_700_000_000_500_000_000, "ab")
    assert seen_paths(db) == {"/inbox/a.fit": (120, 1_700_000_000_500_000_000)}
    assert rows(db, "seen_paths")[0]["sha256"] == "ab"
