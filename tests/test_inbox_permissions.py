"""An inbox folder calfsync may not read: the fit step fails naming the folder and the fix, the
readable files are imported, and once readable the rest follow."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from reliability_support import (
    NOW,
    as_a_plain_user,
    cli,
    config_file,
    write_runs,
)


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
        assert "Make it readable by the user running calfsync" in result.stdout
        imported = as_a_plain_user("--config", str(cfg), "import", str(inbox))
        assert imported.returncode == 0 and f"{locked}: cannot read the folder" in imported.stderr
    finally:
        locked.chmod(0o755)
    assert cli("--config", str(cfg), "sync").returncode == 0
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 3
    conn.close()
