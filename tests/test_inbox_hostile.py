"""Inbox entries a careful operator's attack put there: a file name that is not UTF-8. It is
imported under a printable name, the files beside it import, and no scan dies."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from reliability_support import cli, config_file, write_runs

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
