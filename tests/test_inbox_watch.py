"""The watched inbox and the scan's stat cache (issue 14 items 1 and 2): real files, real inotify,
a real daemon subprocess.

- A file landing in a watched inbox is imported and its push queued without a scan tick
  (``scan_seconds = 3600``): without the watch it would wait an hour.
- A file written in chunks is imported once, whole (the stable-file rule decides).
- Where the watch cannot be set up (too many open files; an inbox on NFS) the watcher says so and
  the scan alone imports.
- The daemon's scan cache lists no unchanged folder, yet a file rewritten in place (its folder's
  mtime does not move) is read again by the rotation of the safety-net scan.
"""

from __future__ import annotations

import errno
import gzip
import logging
import os
import resource
import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_support import (
    Daemon,
    count,
    daemon_config,
    drop_file,
    fit_run,
    utcnow,
    wait_until,
    write_config,
)
from fit_support import at, make_config, make_db

from calfsync.config import validate
from calfsync.ingest import fit as fit_module
from calfsync.ingest import fit_watch
from calfsync.ingest.fit import scan_inboxes
from calfsync.ingest.fit_watch import (
    DaemonInboxes,
    InboxWatcher,
    filesystem_type,
    network_filesystem,
)
from calfsync.sources.fit.inbox import InboxCache, Walk
from calfsync.store.db import open_db


def test_a_file_landing_in_a_watched_inbox_is_pushed_without_a_scan_tick(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    now = utcnow().replace(microsecond=0)
    drop_file(inbox, "old.fit", fit_run(now - timedelta(days=30), 8.0))
    config = write_config(
        tmp_path / "config.toml",
        daemon_config(tmp_path, inbox=inbox, scan_seconds=3600, flush_seconds=3600),
    )
    db = tmp_path / "calfsync.db"
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watching the FIT inbox")
        wait_until(lambda: count(db) == 1, 30, "the first scan")
        # back after 30 days: a fresh run that pushes (RET1); whole FIT, so read at once
        landed = time.monotonic()
        drop_file(inbox, "comeback.fit", fit_run(now - timedelta(hours=1), 6.0))
        wait_until(lambda: count(db, "SELECT COUNT(*) FROM notify_outbox"), 20, "a queued push")
        assert time.monotonic() - landed < 15
        assert count(db) == 2
    finally:
        assert daemon.stop() == 0


def _watch(cfg, cache: InboxCache, db_path: Path, mountinfo: Path | None = None) -> tuple:
    """An InboxWatcher whose job is the daemon's scan (with the cache), counting its runs."""
    runs: list[str] = []
    done = threading.Event()

    def run_fit() -> None:
        db = open_db(db_path)
        try:
            summary = scan_inboxes(db, cfg, cache=cache)
        finally:
            db.close()
        runs.append(summary.line())
        if summary.imported:
            done.set()

    kwargs = {"mountinfo": mountinfo} if mountinfo else {}
    watcher = InboxWatcher(cfg.inboxes, cache, cfg.fit.settle_seconds, run_fit, **kwargs)
    return watcher, runs, done


@pytest.mark.parametrize("name", ["long.fit", "long.fit.gz"])
def test_a_file_written_in_chunks_is_imported_once_whole(tmp_path: Path, name: str) -> None:
    """A .fit is read at the close that makes it as long as its header says; a .fit.gz cannot
    tell, and is read when settle_seconds passed after its last write (no scan tick needed)."""
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=1)
    make_db(cfg).close()
    cache = InboxCache()
    watcher, runs, done = _watch(cfg, cache, cfg.db_path)
    assert watcher.start()
    try:
        data = fit_run(at(2026, 3, 20, 7), 30.0)
        data = gzip.compress(data) if name.endswith(".gz") else data
        target = cfg.inboxes[0] / name
        size = -(-len(data) // 8)
        for i in range(8):  # each chunk opened, written and closed: 8 close-after-write events
            with target.open("ab") as handle:
                handle.write(data[i * size : (i + 1) * size])
            time.sleep(0.15)
        assert done.wait(10), runs
    finally:
        watcher.close()
    db = make_db(cfg)
    rows = list(db.query("SELECT status, salvaged FROM fit_files"))
    km = [round(r["distance_m"] / 1000) for r in db.query("SELECT distance_m FROM activities")]
    assert rows == [{"status": "imported", "salvaged": 0}] and km == [30]
    assert sum(line.startswith("imported 1") for line in runs) == 1


@pytest.mark.parametrize("how", ["deleted", "moved away"])
def test_an_inbox_that_goes_away_and_comes_back_is_watched_again(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """The inbox folder is deleted (or renamed away: its watch would follow it) and made
    again: it is watched again, without a restart or a SIGHUP, and a file landing in it is
    imported with no scan tick."""
    monkeypatch.setattr(fit_watch, "RECHECK_S", 0.2)
    caplog.set_level(logging.INFO, "calfsync")
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=0)
    make_db(cfg).close()
    watcher, runs, done = _watch(cfg, InboxCache(), cfg.db_path)
    inbox = cfg.inboxes[0]
    assert watcher.start()
    try:
        if how == "deleted":
            shutil.rmtree(inbox)
        else:
            inbox.rename(tmp_path / "old-inbox")
        wait_until(lambda: "watched again once it is back" in caplog.text, 10, "the loss")
        inbox.mkdir()
        wait_until(lambda: "watching the FIT inbox" in caplog.text.split("once it is back")[-1])
        drop_file(inbox, "run.fit", fit_run(at(2026, 3, 20, 7), 10.0))
        assert done.wait(10), runs
    finally:
        watcher.close()


def test_a_new_folder_past_the_watch_limit_names_the_fix(tmp_path: Path, caplog) -> None:
    """A folder made in a watched inbox once fs.inotify.max_user_watches is reached: the log
    says which sysctl to raise, and the scan the watcher runs still reads what is in it."""
    caplog.set_level(logging.INFO, "calfsync")
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=0)
    make_db(cfg).close()
    watcher, runs, done = _watch(cfg, InboxCache(), cfg.db_path)
    assert watcher.start()
    try:
        real_add = watcher._inotify.add_watch

        def full(path: str, mask: int) -> int:
            if "2026" in path:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real_add(path, mask)

        watcher._inotify.add_watch = full
        new = tmp_path / "staging" / "2026"
        new.mkdir(parents=True)
        (new / "run.fit").write_bytes(fit_run(at(2026, 3, 20, 7), 10.0))
        new.rename(cfg.inboxes[0] / "2026")  # a folder moved in whole, files and all
        assert done.wait(10), runs
    finally:
        watcher.close()
    assert "cannot watch the new folder" in caplog.text
    assert "raise fs.inotify.max_user_watches" in caplog.text


def test_the_watch_falls_back_to_scans_when_it_cannot_be_set_up(tmp_path: Path, caplog) -> None:
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=0)
    make_db(cfg).close()
    cache = InboxCache()
    watcher, runs, _done = _watch(cfg, cache, cfg.db_path)
    # No descriptor left for inotify: the process is at its open-file limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fillers: list[int] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(64, len(os.listdir("/proc/self/fd"))), hard))
    try:
        while True:
            try:
                fillers.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                break
        assert not watcher.start()
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert "cannot watch the FIT inboxes" in caplog.text
    assert "max_user_instances" in caplog.text
    # The scan alone finds the file.
    drop_file(cfg.inboxes[0], "run.fit", fit_run(at(2026, 3, 20, 7), 10.0))
    time.sleep(0.5)
    assert runs == []  # nothing watches
    db = make_db(cfg)
    assert scan_inboxes(db, cfg, cache=cache).imported == 1


def test_an_inbox_on_a_network_file_system_is_not_watched(tmp_path: Path, caplog) -> None:
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=0)
    inbox = os.path.realpath(cfg.inboxes[0])
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        f"40 22 0:50 /export {inbox.replace(' ', chr(92) + '040')} rw - nfs4 nas:/export rw\n"
    )
    assert network_filesystem(inbox, mountinfo) == "nfs4"
    assert network_filesystem(str(tmp_path), mountinfo) is None
    assert filesystem_type("/srv/my inbox/a", "1 0 0:1 / /srv/my\\040inbox rw - cifs //x rw") == (
        "cifs"
    )
    watcher, _runs, _done = _watch(cfg, InboxCache(), cfg.db_path, mountinfo)
    caplog.set_level(logging.INFO, "calfsync")
    assert not watcher.start()
    assert "network file system (nfs4)" in caplog.text


def test_the_daemon_scan_lists_no_unchanged_folder_and_finds_a_file_rewritten_in_place(
    tmp_path: Path,
) -> None:
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=0)
    db = make_db(cfg)
    inbox = cfg.inboxes[0]
    for n in range(6):
        (inbox / "2026").mkdir(exist_ok=True)
        (inbox / "2026" / f"r{n}.fit").write_bytes(fit_run(at(2026, 3, 1 + n, 7), 8.0))
    stamp = time.time_ns() - 60 * 10**9  # folders older than the trust margin: a quiet minute
    for folder in (inbox, inbox / "2026"):
        os.utime(folder, ns=(stamp, stamp))
    cache = InboxCache(verify_per_scan=2)
    assert scan_inboxes(db, cfg, cache=cache).imported == 6
    assert scan_inboxes(db, cfg, cache=cache).files == 0  # idle: nothing pending any more
    walk = Walk()
    candidates = [c for batch in cache.walk(cfg.inboxes, walk) for c in batch]
    assert walk.listed == 0 and walk.folders == 2 and len(candidates) == 2  # the rotation
    # A watch app rewrites r3.fit in place: same name, the folder's mtime does not move.
    target = inbox / "2026" / "r3.fit"
    with target.open("r+b") as handle:
        handle.truncate(0)
        handle.write(fit_run(at(2026, 3, 20, 7), 12.0))
    assert os.stat(inbox / "2026").st_mtime_ns == stamp
    imported = [scan_inboxes(db, cfg, cache=cache).imported for _ in range(3)]
    assert sum(imported) == 1  # found within files / verify_per_scan scans
    assert max(r["distance_m"] for r in db.query("SELECT distance_m FROM activities")) == 12000
    assert count(cfg.db_path, "SELECT COUNT(*) FROM seen_paths") == 6


def test_an_unwatched_scan_finds_a_file_replaced_or_deleted_and_added_again_at_once(
    tmp_path: Path,
) -> None:
    """Between two scans of an unwatched inbox (a network mount) a file is replaced by a rename
    over it, another deleted and written again under its name: the folder's mtime moved, and
    the next scan reads both, without waiting for the rotation (here none at all)."""
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=0)
    db = make_db(cfg)
    inbox = cfg.inboxes[0]
    for n in range(3):
        (inbox / f"r{n}.fit").write_bytes(fit_run(at(2026, 3, 1 + n, 7), 8.0))
    cache = InboxCache(verify_per_scan=0)
    assert scan_inboxes(db, cfg, cache=cache).imported == 3
    assert scan_inboxes(db, cfg, cache=cache).files == 0
    drop_file(inbox, "r1.fit", fit_run(at(2026, 3, 20, 7), 12.0))  # temp name, renamed over
    (inbox / "r2.fit").unlink()
    (inbox / "r2.fit").write_bytes(fit_run(at(2026, 3, 21, 7), 14.0))
    assert scan_inboxes(db, cfg, cache=cache).imported == 2
    assert {r["distance_m"] for r in db.query("SELECT distance_m FROM activities")} >= {
        12000,
        14000,
    }


def test_the_rotation_looks_at_every_known_file_once_per_round(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, timezone="UTC", settle_seconds=0)
    inbox = cfg.inboxes[0]
    names = {inbox / "a" / f"{n}.fit" for n in range(4)} | {inbox / "b" / f"{n}.fit" for n in "xyz"}
    for path in names:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"not read here")
    stamp = time.time_ns() - 60 * 10**9
    for folder in (inbox, inbox / "a", inbox / "b"):
        os.utime(folder, ns=(stamp, stamp))
    cache = InboxCache(verify_per_scan=3)
    first = [c.path for batch in cache.walk(cfg.inboxes, Walk()) for c in batch]
    assert sorted(first) == sorted(map(str, names))  # a cold cache: every file is new
    rounds = [[c.path for b in cache.walk(cfg.inboxes, Walk()) for c in b] for _ in range(7)]
    assert [len(r) for r in rounds] == [3] * 7
    looked = [p for r in rounds for p in r]
    assert sorted(looked[:7]) == sorted(map(str, names)) == sorted(looked[7:14])


def test_the_daemon_restarts_its_watch_when_a_reload_changes_the_inboxes(tmp_path: Path) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    first = make_config(tmp_path / "a", timezone="UTC")
    second = make_config(tmp_path / "b", timezone="UTC")
    unwatched = validate({**_raw(second), "fit": {**_raw(second)["fit"], "watch": False}})
    inboxes = DaemonInboxes()
    try:
        inboxes.apply(first, lambda: None)
        watcher = inboxes.watcher
        assert watcher is not None and watcher.watched == first.inboxes
        inboxes.apply(first, lambda: None)  # SIGHUP, nothing the watch depends on changed
        assert inboxes.watcher is watcher
        inboxes.apply(second, lambda: None)
        assert inboxes.watcher is not None and inboxes.watcher.watched == second.inboxes
        assert watcher._thread is None  # the old one stopped
        inboxes.apply(unwatched, lambda: None)
        assert inboxes.watcher is None
    finally:
        inboxes.close()
    assert fit_module._kept_cache is None  # the daemon is gone: scans keep no listing


def _raw(cfg) -> dict:
    inbox = str(cfg.inboxes[0])
    return {
        "database": {"path": str(cfg.db_path)},
        "fit": {"inbox": [inbox]},
        "athlete": {"timezone": "UTC"},
    }


def test_an_inbox_inside_another_is_walked_once(tmp_path: Path) -> None:
    outer = tmp_path / "inbox"
    inner = outer / "garmin"
    inner.mkdir(parents=True)
    drop_file(inner, "run.fit", fit_run(at(2026, 3, 20, 7), 10.0))
    cfg = validate(
        {
            "database": {"path": str(tmp_path / "calfsync.db")},
            "fit": {"inbox": [str(outer), str(inner)], "settle_seconds": 0},
            "athlete": {"timezone": "UTC"},
        }
    )
    summary = scan_inboxes(make_db(cfg), cfg)
    assert (summary.imported, summary.duplicates) == (1, 0)
