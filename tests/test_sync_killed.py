"""``calfsync sync`` killed (SIGKILL) in the middle of many files: the next run completes with no
duplicate activity, alert or push."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from datetime import timedelta

from daemon_support import CALFSYNC
from fakes.ntfy import FakeNtfy
from reliability_support import (
    NOW,
    cli,
    config_file,
    counts,
    write_runs,
)

from calfsync.fitwriter import SessionSpec, encode_activity
from calfsync.store.db import open_db

# ---------------------------------------------------------------- killed in the middle

SYNC_BATCH = 160


def test_a_sync_killed_mid_import_recovers_without_duplicates_and_pushes_once(tmp_path):
    inbox = tmp_path / "inbox"
    write_runs(inbox, SYNC_BATCH, first=NOW - timedelta(days=SYNC_BATCH + 3))
    long = SessionSpec(
        start=NOW - timedelta(hours=3), duration_s=16 * 330, distance_m=16_000, record_step_s=10
    )
    (inbox / "zz-long.fit").write_bytes(encode_activity([long], utc_offset_s=0))
    with FakeNtfy() as ntfy:
        cfg = config_file(tmp_path, tmp_path / "c.db")
        cfg.write_text(
            cfg.read_text()
            + '[notify]\ndigest = "off"\n'  # the weekly digest is a push too: own tests
            + f'[[notify.channels]]\ntype = "ntfy"\nurl = "{ntfy.url}"\ntopic = "calf"\n'
        )
        proc = subprocess.Popen(
            [*CALFSYNC, "--config", str(cfg), "sync"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        db_path = tmp_path / "c.db"
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
                stored = conn.execute("SELECT COUNT(*) FROM fit_files").fetchone()[0]
                conn.close()
            except sqlite3.Error:
                stored = 0
            if stored:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the sync finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

        db = open_db(db_path)
        partial = counts(db)
        assert 0 < partial["fit_files"] < SYNC_BATCH + 1
        assert partial["activities"] == partial["fit_files"]
        assert ntfy.messages == []

        for _ in range(2):  # the recovering run, then one with nothing new
            result = cli("--config", str(cfg), "sync")
            assert result.returncode == 0, result
        final = counts(db)
        assert final["activities"] == final["fit_files"] == SYNC_BATCH + 1
        assert list(db.query("SELECT COUNT(DISTINCT start_time) n FROM activities"))[0]["n"] == (
            SYNC_BATCH + 1
        )
        episodes = list(
            db.query("SELECT episode_key, COUNT(*) n FROM alerts GROUP BY 1 HAVING n > 1")
        )
        assert episodes == []
        fresh = list(db.query("SELECT rule, pushed FROM alerts WHERE pushed NOT IN ('history')"))
        assert fresh and all(a["pushed"] == "sent" for a in fresh)
        assert len(ntfy.messages) == 1
