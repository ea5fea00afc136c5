"""An inbox folder calfsync may not read: the fit step fails naming the folder and the fix, the
readable files are imported (and a fresh one pushed in the same job), and once readable the rest
follow."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import timedelta

from fakes.ntfy import FakeNtfy
from reliability_support import (
    NOW,
    _without_dac_override,
    as_a_plain_user,
    cli,
    config_file,
    write_runs,
)
from test_sync_cycle import base_history, write_run

from calfsync import sync
from calfsync.config import validate

# The daemon's fit job, run in a child without root's power to ignore file modes.
FIT_JOB = """
import json, sys
from datetime import UTC, datetime
from calfsync import sync
from calfsync.config import validate
from calfsync.store.state import get_state
report = sync.run_job(validate(json.loads(sys.argv[1])), "fit", datetime.now(UTC))
db = sync.connect(validate(json.loads(sys.argv[1])))
print(json.dumps({
    "errors": report.errors,
    "imported": report.fit.imported if report.fit else None,
    "alerts": report.alert_ids,
    "sent": report.delivery.sent if report.delivery else None,
    "last_error": get_state(db, "cycle.fit.last_error"),
}))
"""


def test_an_unreadable_inbox_folder_fails_the_fit_step_with_the_fix(tmp_path):
    inbox = tmp_path / "inbox"
    write_runs(inbox, 2)
    locked = inbox / "watch"
    write_runs(locked, 1, first=NOW - timedelta(days=10))
    locked.chmod(0o000)
    try:
        cfg = config_file(tmp_path, tmp_path / "c.db")
        result = as_a_plain_user("--config", str(cfg), "sync")
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr
        assert f"cannot read the FIT inbox folder {locked}" in result.stdout
        assert "fit: imported 2, skipped 0, failed 0" in result.stdout  # what it did is kept
        assert "Make it readable by the user running calfsync" in result.stdout
        imported = as_a_plain_user("--config", str(cfg), "import", str(inbox))
        assert imported.returncode == 0 and f"{locked}: cannot read the folder" in imported.stderr
    finally:
        locked.chmod(0o755)
    assert cli("--config", str(cfg), "sync").returncode == 0
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 3
    conn.close()


def test_an_unreadable_subfolder_still_lets_the_fresh_run_be_pushed_in_the_same_job(tmp_path):
    ntfy = FakeNtfy()
    ntfy.start()
    try:
        raw = {
            "database": {"path": str(tmp_path / "c.db")},
            "fit": {"inbox": [str(tmp_path / "inbox")]},
            "athlete": {"timezone": "UTC"},
            "notify": {"channels": [{"type": "ntfy", "url": ntfy.url, "topic": "calf"}]},
        }
        base_history(tmp_path / "inbox")
        assert sync.run_job(validate(raw), "fit", NOW).ok  # the history: recorded, not pushed
        assert ntfy.messages == []
        lost = tmp_path / "inbox" / "lost+found"
        lost.mkdir(mode=0o000)
        write_run(tmp_path / "inbox", NOW - timedelta(hours=3), 16, "long")
        try:
            child = subprocess.run(
                [sys.executable, "-c", FIT_JOB, json.dumps(raw)],
                capture_output=True,
                text=True,
                timeout=60,
                preexec_fn=_without_dac_override,
            )
        finally:
            lost.chmod(0o755)
        assert child.returncode == 0, child.stderr
        job = json.loads(child.stdout)
        # The step is recorded as failed, with the folder and the fix, for status ...
        assert f"cannot read the FIT inbox folder {lost}" in job["errors"]["fit"]
        assert job["last_error"] == job["errors"]["fit"]
        # ... and what it imported is kept, evaluated and pushed in the same job.
        assert job["imported"] == 1 and job["alerts"] and job["sent"] >= 1
        assert len(ntfy.messages) == job["sent"]
    finally:
        ntfy.stop()
