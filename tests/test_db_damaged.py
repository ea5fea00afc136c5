"""A damaged file, a database of a newer calfsync, a read-only database, an unreadable config or
database folder: a clear message with the fix, exit 1 (2 for the config), the file untouched."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from reliability_support import (
    as_a_plain_user,
    cli,
    config_file,
    file_digest,
)

from calfsync.errors import CalfsyncError
from calfsync.store.db import open_db

# ------------------------------------------------------------- a damaged or newer database


def test_a_file_that_is_not_a_database_is_refused_and_left_untouched(tmp_path):
    bad = tmp_path / "c.db"
    bad.write_bytes(b"SQLite format 2\x00" + os.urandom(8000))
    before = file_digest(bad)
    cfg = config_file(tmp_path, bad)
    for command in (["sync"], ["import", str(tmp_path)], ["sore", "3"]):
        result = cli("--config", str(cfg), *command)
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert "is not a calfsync database or is damaged" in result.stderr
        assert "restore it from a backup" in result.stderr
    assert file_digest(bad) == before
    assert not Path(f"{bad}-wal").exists()


def test_a_database_of_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "c.db"
    db = open_db(path)
    db.execute(
        "INSERT INTO _sqlite_migrations(migration_set, name, applied_at) "
        "VALUES ('calfsync', '0099_from_the_future', '2030-01-01')"
    )
    db.execute("PRAGMA user_version = 99")
    db.execute("DROP VIEW runs")
    db.execute("CREATE VIEW runs AS SELECT id FROM activities")  # the newer version's view
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = file_digest(path)

    with pytest.raises(CalfsyncError, match="written by a newer calfsync .*0099_from_the_future"):
        open_db(path)
    result = cli("--db", str(path), "sync")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "newer calfsync" in result.stderr and "Upgrade calfsync" in result.stderr
    assert file_digest(path) == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0] == (
        "CREATE VIEW runs AS SELECT id FROM activities"
    )
    conn.close()


def test_a_read_only_database_file_names_the_fix_without_a_traceback(tmp_path):
    db_path = tmp_path / "c.db"
    open_db(db_path).close()
    db_path.chmod(0o444)
    try:
        for command in (["sore", "3"], ["sync"]):
            result = as_a_plain_user("--config", str(config_file(tmp_path, db_path)), *command)
            assert result.returncode == 1, result
            assert "Traceback" not in result.stderr
            assert "writable by the user running calfsync" in result.stdout + result.stderr
    finally:
        db_path.chmod(0o644)


def test_an_unreadable_config_file_and_an_unwritable_database_folder(tmp_path):
    cfg = config_file(tmp_path, tmp_path / "ro" / "c.db")
    cfg.chmod(0o000)
    try:
        result = as_a_plain_user("--config", str(cfg), "sync")
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert f"cannot read config file {cfg}: permission denied" in result.stderr
    finally:
        cfg.chmod(0o644)
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        for command in (["sync"], ["run"], ["sore", "2"]):
            result = as_a_plain_user("--config", str(cfg), *command)
            assert result.returncode == 1, result
            assert "Traceback" not in result.stderr
            assert "writable by the user running calfsync" in result.stderr or (
                "writable by this user" in result.stderr
            )
    finally:
        (tmp_path / "ro").chmod(0o755)
