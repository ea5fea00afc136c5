"""Several commands opening a database that does not exist yet, at the same moment: the first
open creates the schema, the others wait for it and find it done (issue 11: 7 trials in 8
failed with "table activities already exists" or "duplicate column name")."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from calfsync.store.db import open_db
from calfsync.store.migrations import ORDER, schema_version

OPENERS = 4
TRIALS = 3

# Each process imports first, then waits for the same instant, so the opens really overlap.
OPEN_AT = """
import sys, time
from calfsync.store.db import open_db
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
db = open_db(sys.argv[1])
db.execute("SELECT COUNT(*) FROM activities").fetchone()
"""


def test_concurrent_first_open_of_a_new_database_all_succeed(tmp_path: Path) -> None:
    for trial in range(TRIALS):
        path = tmp_path / f"trial{trial}" / "calfsync.db"
        start = time.time() + 0.7  # after every import
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_AT, str(path), repr(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(OPENERS)
        ]
        results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
        for proc in procs:
            proc.stdout.close()  # type: ignore[union-attr]
            proc.stderr.close()  # type: ignore[union-attr]
        failed = [err.strip().splitlines()[-1] for code, err in results if code != 0]
        assert not failed, f"trial {trial}: {failed}"
        db = open_db(path)
        assert schema_version(db) == len(ORDER)
        names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations").fetchall()]
        assert len(names) == len(set(names)) == len(ORDER)  # each migration applied once
        db.conn.close()
