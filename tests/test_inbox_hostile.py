"""Inbox entries a careful operator's attack put there: a file name that is not UTF-8, a FIFO and
a symlink to /dev/zero named ``*.fit``, a file larger than any FIT activity. Each is listed with
a readable reason (or imported), the files beside it import, and no scan hangs or dies."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

from reliability_support import NOW, cli, config, config_file, write_runs

from calfsync.ingest.fit import scan_inboxes
from calfsync.sources.fit import inputs
from calfsync.store.db import open_db

BAD_NAME = b"caf\xe9.fit"  # Latin-1 e-acute: not valid UTF-8


def rows(db: Path) -> dict[str, tuple[str, str | None]]:
    conn = sqlite3.connect(db)
    try:
        return {p: (s, r) for p, s, r in conn.execute("SELECT path, status, reason FROM fit_files")}
    finally:
        conn.close()


def test_a_file_name_that_is_not_utf8_blocks_nothing(tmp_path):
    inbox = tmp_path / "inbox"
    write_runs(inbox, 2)
    os.rename(os.fsencode(inbox / "run-000.fit"), os.path.join(os.fsencode(inbox), BAD_NAME))
    (inbox / "run-001.fit").rename(inbox / "zz.fit")
    cfg = config_file(tmp_path, tmp_path / "c.db")

    first = cli("--config", str(cfg), "sync", timeout=30)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "fit: imported 2, skipped 0, failed 0" in first.stdout
    stored = rows(tmp_path / "c.db")
    assert stored[f"{inbox}/zz.fit"][0] == "imported"
    assert stored[f"{inbox}/caf\\xe9.fit"][0] == "imported"  # stored, its bad byte shown escaped

    again = cli("--config", str(cfg), "sync", timeout=30)  # seen: not read again
    assert again.returncode == 0 and "fit: imported 0, skipped 0, failed 0, duplicates 0" in (
        again.stdout
    )
    imported = cli("--config", str(cfg), "import", str(inbox), timeout=30)
    assert imported.returncode == 0, imported.stderr
    assert "Traceback" not in imported.stderr and "duplicates 2" in imported.stdout


def test_a_fifo_and_a_symlink_to_dev_zero_are_listed_and_never_read(tmp_path):
    inbox = tmp_path / "inbox"
    write_runs(inbox, 1)
    os.mkfifo(inbox / "x.fit")
    (inbox / "y.fit").symlink_to("/dev/zero")
    cfg = config_file(tmp_path, tmp_path / "c.db")

    result = cli("--config", str(cfg), "sync", timeout=20)  # before the fix: hangs forever
    assert result.returncode == 0, result.stderr
    assert "fit: imported 1, skipped 0, failed 2" in result.stdout
    stored = rows(tmp_path / "c.db")
    status, reason = stored[f"{inbox}/x.fit"]
    assert status == "failed" and "a FIFO (named pipe), not a regular file" in reason
    status, reason = stored["/dev/zero"]  # the label is the resolved path; the reason names both
    assert status == "failed" and f"{inbox}/y.fit: the path is a device" in reason
    assert "reads regular files only" in reason

    again = cli("--config", str(cfg), "sync", timeout=20)  # recorded: not listed every scan
    assert "fit: imported 0, skipped 0, failed 0, duplicates 0" in again.stdout

    (inbox / "x.fit").unlink()  # replaced by a real file: read and imported
    write_runs(tmp_path / "other", 1, first=NOW - timedelta(days=10))
    (tmp_path / "other" / "run-000.fit").rename(inbox / "x.fit")
    assert "fit: imported 1, skipped 0, failed 0" in cli("--config", str(cfg), "sync").stdout


def test_a_file_larger_than_the_bound_is_refused_unread(tmp_path, monkeypatch):
    write_runs(tmp_path / "inbox", 2)
    big = tmp_path / "inbox" / "run-001.fit"
    size_bytes = big.stat().st_size
    big.write_bytes(big.read_bytes() + bytes(64))  # one byte over would do
    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", size_bytes)
    cfg = config(tmp_path)
    db = open_db(cfg.db_path)

    summary = scan_inboxes(db, cfg)

    assert summary.imported == 1 and summary.failed == 1
    [(label, reason)] = summary.problems
    assert label == str(big) and "a FIT file may be: calfsync does not read it" in reason
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 1
