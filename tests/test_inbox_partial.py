"""A file still being written into the inbox is not read until it is whole (issue 11 item 2).

The defect: a 30 km run copied into the inbox in 12 chunks while the daemon scanned was read
half-written, salvaged at 9.99 km, and pushed "S1 small"; the complete file then came under the
same episode. Here the scans are driven directly, one after each chunk, with the wall clock the
settle rule compares with passed in, so nothing sleeps.
"""

from __future__ import annotations

import gzip
import time
from datetime import timedelta
from pathlib import Path

from fit_support import at, make_config, make_db, run_file

from calfsync.ingest.fit import import_paths, scan_inboxes
from calfsync.sync import evaluate_pending

RUN_START = at(2026, 3, 20, 7)
NOW = RUN_START + timedelta(hours=5)  # the run is fresh: its alerts push


def _counts(db) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        for table in ("activities", "fit_files", "seen_paths")
    )


def _history(tmp_path: Path, cfg, db) -> None:
    """Six weeks of 8 km runs, three a week, imported from a folder outside the inbox."""
    folder = tmp_path / "history"
    folder.mkdir()
    for n in range(18):
        start = RUN_START - timedelta(days=44 - (n // 3) * 7 - (n % 3) * 2)
        (folder / f"h{n:02}.fit").write_bytes(run_file(start, km=8.0, minutes=44.0))
    assert import_paths(db, cfg, [folder]).imported == 18
    evaluate_pending(db, cfg, NOW - timedelta(days=1), mode="import")


def _write_in_chunks(path: Path, data: bytes, chunks: int, after_each) -> None:
    size = -(-len(data) // chunks)
    for i in range(chunks):
        with path.open("ab") as handle:
            handle.write(data[i * size : (i + 1) * size])
        after_each(i)


def test_a_run_copied_in_chunks_is_read_once_whole_and_alerts_once(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, timezone="UTC")
    db = make_db(cfg)
    _history(tmp_path, cfg, db)
    before = _counts(db)
    data = run_file(RUN_START, km=30.0, minutes=165.0)
    target = cfg.inboxes[0] / "long.fit"

    def scan(i: int) -> None:
        summary = scan_inboxes(db, cfg, now=NOW, wall_clock_s=time.time())
        evaluate_pending(db, cfg, NOW, mode="push")
        if i < 11:  # still being written: not read, no row of any kind left behind
            assert (summary.files, summary.waiting) == (0, 1)
            assert _counts(db) == before, f"a partial copy was read after chunk {i + 1}"

    _write_in_chunks(target, data, 12, scan)
    # The last chunk made it whole (its length is the one its header declares): read at once.
    assert _counts(db) == (before[0] + 1, before[1] + 1, before[2] + 1)
    (distance_m,) = db.execute(
        "SELECT distance_m FROM activities WHERE start_time LIKE '2026-03-20%'"
    ).fetchone()
    assert round(distance_m) == 30_000
    s1 = [tuple(r) for r in db.execute("SELECT severity, pushed FROM alerts WHERE rule = 'S1'")]
    assert [severity for severity, _pushed in s1] == ["large"], s1
    # Scanned again later: nothing new.
    assert scan_inboxes(db, cfg, now=NOW, wall_clock_s=time.time() + 60).files == 0


def test_a_gzip_being_written_waits_until_unchanged_for_settle_seconds(tmp_path: Path) -> None:
    """A .fit.gz cannot tell it is whole: it is read once nothing changed it for the settle
    time, and never half-written (a partial gzip would be recorded as damaged)."""
    cfg = make_config(tmp_path, settle_seconds=5)
    db = make_db(cfg)
    data = gzip.compress(run_file(RUN_START, km=12.0, minutes=60.0))
    target = cfg.inboxes[0] / "run.fit.gz"

    def scan(_i: int) -> None:
        assert scan_inboxes(db, cfg, wall_clock_s=time.time()).waiting == 1
        assert _counts(db) == (0, 0, 0)

    _write_in_chunks(target, data, 4, scan)
    assert scan_inboxes(db, cfg, wall_clock_s=time.time() + 2).waiting == 1  # 2 s: not yet
    summary = scan_inboxes(db, cfg, wall_clock_s=time.time() + 6)
    assert (summary.imported, summary.waiting) == (1, 0)
    assert _counts(db) == (1, 1, 1)


def test_settle_seconds_zero_reads_at_once(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, settle_seconds=0)
    db = make_db(cfg)
    (cfg.inboxes[0] / "run.fit.gz").write_bytes(gzip.compress(run_file(RUN_START)))
    assert scan_inboxes(db, cfg, wall_clock_s=time.time()).imported == 1


def test_temporary_names_of_sync_tools_are_never_read(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    whole = run_file(RUN_START)
    names = [
        ".syncthing.run.fit.tmp",
        "~syncthing~run.fit.tmp",
        "run.fit.part",
        "run.fit.tmp",
        ".run.fit",
        "~syncthing~run.fit",
    ]
    for name in names:
        (cfg.inboxes[0] / name).write_bytes(whole)
    summary = scan_inboxes(db, cfg, wall_clock_s=time.time() + 3600)
    assert (summary.files, summary.waiting) == (0, 0)
    assert _counts(db) == (0, 0, 0)
    # Renamed to its final name, it is read.
    (cfg.inboxes[0] / "run.fit.part").rename(cfg.inboxes[0] / "run.fit")
    assert scan_inboxes(db, cfg, wall_clock_s=time.time()).imported == 1
