"""Another process holding the write lock longer than ``[database] busy_timeout_s``: the step
fails fast with the fix, the daemon keeps running and the next step imports."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from daemon_support import Daemon, daemon_config, drop_file, fit_run, write_config
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

# ------------------------------------------------------------- a lock held by another writer

HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def hold_lock(db: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    return holder


def release(holder: subprocess.Popen) -> None:
    holder.stdin.write("\n")
    holder.stdin.flush()
    assert holder.wait(10) == 0


def test_a_lock_held_past_the_busy_timeout_fails_the_cycle_quickly_and_names_the_fix(tmp_path):
    cfg = config(tmp_path, busy_timeout_s=0.3)
    write_runs(tmp_path / "inbox", 5)
    open_db(cfg.db_path).close()
    holder = hold_lock(cfg.db_path)
    try:
        db = open_db(cfg.db_path, busy_timeout_s=cfg.busy_timeout_s)
        started = time.monotonic()
        report = run_cycle(db, cfg, NOW)
        assert time.monotonic() - started < 5  # one wait, not one per step and state row
        assert set(report.errors) == {"fit"}
        assert "locked by another process" in report.errors["fit"]
        assert "Close the other writer" in report.errors["fit"]
        result = cli(
            "--config", str(config_file(tmp_path, cfg.db_path, "busy_timeout_s = 0.3")), "sync"
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "locked by another process" in result.stdout + result.stderr
    finally:
        release(holder)
    again = run_cycle(db, cfg, NOW)
    assert again.ok, again.errors
    assert counts(db)["activities"] == counts(db)["fit_files"] == 5


def test_the_daemon_survives_a_long_foreign_lock_and_imports_once_it_is_released(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    db_path = tmp_path / "calfsync.db"
    text = daemon_config(tmp_path, inbox=inbox).replace(
        "[database]\n", "[database]\nbusy_timeout_s = 0.3\n"
    )
    daemon = Daemon(write_config(tmp_path / "c.toml", text), tmp_path / "daemon.log")
    try:
        daemon.wait_log("daemon started")
        holder = hold_lock(db_path)
        try:
            drop_file(inbox, "one.fit", fit_run(NOW - timedelta(days=3), 6.0))
            log = daemon.wait_log(r"fit step failed: .*locked by another process", 15)
            assert "Close the other writer" in log and "Traceback" not in log
            assert daemon.proc.poll() is None
        finally:
            release(holder)

        def imported() -> bool:
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
            try:
                return conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 1
            finally:
                conn.close()

        deadline = time.monotonic() + 15
        while not imported():
            assert time.monotonic() < deadline, daemon.log()
            time.sleep(0.1)
    finally:
        assert daemon.stop() == 0
