"""A full disk while writing: the step stops with "free disk space at <folder>", nothing is
half-written or marked failed, and the next run after space returns completes without duplicates.

SQLite's own ``PRAGMA max_page_count`` on the connection the code uses gives the same SQLITE_FULL
as a full disk; where the tests may mount one, a real tiny tmpfs is filled through the CLI."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from reliability_support import (
    NOW,
    cli,
    config,
    config_file,
    counts,
    write_runs,
)

from calfsync.store.db import open_db
from calfsync.sync import run_cycle

# ------------------------------------------------------------------------------ a full disk


def test_a_full_database_fails_the_cycle_with_the_fix_and_the_next_run_completes(tmp_path):
    cfg = config(tmp_path)
    write_runs(tmp_path / "inbox", 60)
    scratch = open_db(tmp_path / "scratch.db")  # how many pages all the files take
    empty = scratch.execute("PRAGMA page_count").fetchone()[0]
    run_cycle(scratch, config(tmp_path, path=str(tmp_path / "scratch.db")), NOW)
    needed = scratch.execute("PRAGMA page_count").fetchone()[0] - empty
    db = open_db(cfg.db_path)
    db.execute(f"PRAGMA max_page_count = {empty + needed * 2 // 3}")  # room for part of them

    report = run_cycle(db, cfg, NOW)

    assert set(report.errors) == {"fit"}  # the later steps did not run into the same wall
    assert f"Free disk space at {tmp_path}" in report.errors["fit"]
    assert not db.conn.in_transaction
    partial = counts(db)
    assert 0 < partial["activities"] < 60
    # Nothing half-written: every stored file has its activity and no file was marked failed
    # for the disk's fault (a failed row would never be read again).
    assert list(db.query("SELECT status, COUNT(*) n FROM fit_files GROUP BY status")) == [
        {"status": "imported", "n": partial["activities"]}
    ]
    assert partial["seen_paths"] <= partial["fit_files"]

    db.execute("PRAGMA max_page_count = 1073741823")  # space is back
    again = run_cycle(db, cfg, NOW + timedelta(minutes=1))
    assert again.ok, again.errors
    final = counts(db)
    assert final["activities"] == final["fit_files"] == final["seen_paths"] == 60
    assert list(db.query("SELECT COUNT(DISTINCT start_time) n FROM activities"))[0]["n"] == 60


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return result.returncode == 0


def test_a_full_disk_under_sync_and_import_names_the_fix_then_recovers(tmp_path):
    small = tmp_path / "small"
    if not _mount_tmpfs(small, "160k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        db_path = small / "c.db"
        cfg = config_file(tmp_path, db_path)
        write_runs(tmp_path / "inbox", 40)
        for command in (["sync"], ["import", str(tmp_path / "inbox")]):
            result = cli("--config", str(cfg), *command)
            assert result.returncode == 1, result
            assert "Traceback" not in result.stderr
            assert f"Free disk space at {small}" in result.stdout + result.stderr
        subprocess.run(["mount", "-o", "remount,size=16m", str(small)], check=True)
        result = cli("--config", str(cfg), "sync")
        assert result.returncode == 0, result
        conn = sqlite3.connect(db_path)
        assert conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 40
        assert conn.execute("SELECT status, COUNT(*) FROM fit_files GROUP BY 1").fetchall() == [
            ("imported", 40)
        ]
        conn.close()
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)
