"""One daemon per database, whatever path reaches it: a symlink to the file, or to its folder,
names the same database and must find the first daemon's lock (issue 11 item 11)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from daemon_support import CALFSYNC, Daemon, daemon_config, write_config

from calfsync.daemon import acquire_lock, daemon_pid, lock_path
from calfsync.errors import CalfsyncError


def test_the_lock_is_beside_the_real_file_whatever_path_names_it(tmp_path: Path) -> None:
    real = tmp_path / "data" / "calfsync.db"
    real.parent.mkdir()
    real.touch()
    (tmp_path / "link.db").symlink_to(real)
    (tmp_path / "dirlink").symlink_to(real.parent)
    for other in (tmp_path / "link.db", tmp_path / "dirlink" / "calfsync.db",
                  tmp_path / "data" / ".." / "data" / "calfsync.db"):  # fmt: skip
        assert lock_path(other) == lock_path(real) == real.with_name("calfsync.db.lock")
    held = acquire_lock(real)
    try:
        with pytest.raises(CalfsyncError, match="already running"):
            acquire_lock(tmp_path / "link.db").close()
        with pytest.raises(CalfsyncError, match="already running"):
            acquire_lock(tmp_path / "dirlink" / "calfsync.db").close()
        assert daemon_pid(tmp_path / "link.db") == os.getpid()  # status through the link too
    finally:
        held.close()
    acquire_lock(tmp_path / "link.db").close()  # free once the holder is gone


def test_a_second_daemon_through_a_symlink_is_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = write_config(tmp_path / "c.toml", daemon_config(tmp_path, inbox=inbox))
    link = tmp_path / "other-name.db"
    link.symlink_to(tmp_path / "calfsync.db")
    first = Daemon(config, tmp_path / "first.log")
    try:
        first.wait_log("daemon started")
        second = subprocess.run(
            [*CALFSYNC, "--config", str(config), "--db", str(link), "run"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1, second.stderr
        assert "already running" in second.stderr
    finally:
        first.stop()
