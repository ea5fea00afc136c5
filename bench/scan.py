"""Idle inbox cost as the years pile up: one idle scan at 1k, 5k and 20k inbox files, and the idle
daemon's CPU and memory on the 20-year inbox (issue 14 items 2 and 5).

    .venv/bin/python bench/scan.py                 # 1, 5, 20 years; daemon idle for 10 minutes
    .venv/bin/python bench/scan.py --quick         # daemon scans every 5 s for 2 minutes
    .venv/bin/python bench/scan.py --years 1 5 10 20 --daemon-years 1 5 10 20 --quick

Each inbox holds about 1,000 files a year, junk included, in one folder a year (the layout a
watch's sync tool or a manual copy leaves): 208 runs (four a week) as ``.fit``, the same runs
again as ``.fit.gz`` and in a ``backup`` subfolder (duplicates), 176 ``.fit`` files of random
bytes (failed) and 200 ``.gpx`` files (not FIT inputs, listed and passed over). They are
imported for real (``scan_inboxes``, two workers), then the scans are timed on the database that
import left:

- **cold**: a scan without a cache (what ``calfsync sync`` does): every file ``stat``-ed and
  looked up in ``seen_paths``;
- **idle, daemon**: the daemon's scan with the cache it keeps across scans (folder mtimes, the
  rotation's 256 files).

Targets: the idle daemon scan at 20k files within 2x of the one at 1k; idle daemon CPU <= 2 s
an hour and RSS <= 40 MB (FIT only) on the 20-year inbox.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from daemon import CALFSYNC, cpu_s, rss_mb  # noqa: E402  (bench/daemon.py)
from daemon_support import count  # noqa: E402

from calfsync.config import Config, validate  # noqa: E402
from calfsync.fitwriter import SessionSpec, encode_activity  # noqa: E402
from calfsync.ingest.fit import scan_inboxes  # noqa: E402
from calfsync.sources.fit.inbox import InboxCache  # noqa: E402
from calfsync.store.db import open_db  # noqa: E402

RUNS_A_YEAR = 208


def build_inbox(inbox: Path, years: int) -> int:
    """Write ``years`` years of inbox files (about 1,000 a year); returns the file count."""
    rng = random.Random(years)
    start = datetime(2026, 11, 1, 7, tzinfo=UTC) - timedelta(days=365 * years)
    files = 0
    for year in range(years):
        folder = inbox / str(start.year + year)
        (folder / "backup").mkdir(parents=True, exist_ok=True)
        for n in range(RUNS_A_YEAR):
            when = start + timedelta(days=365 * year + n * 7 / 4, hours=rng.uniform(0, 4))
            km = rng.uniform(5, 20)
            spec = SessionSpec(
                start=when, duration_s=km * 330, distance_m=km * 1000, record_step_s=300
            )
            data = encode_activity([spec], utc_offset_s=0)
            name = f"{when:%Y-%m-%d-%H%M%S}"
            (folder / f"{name}.fit").write_bytes(data)
            (folder / f"{name}.fit.gz").write_bytes(gzip.compress(data, 1))
            (folder / "backup" / f"{name}.fit").write_bytes(data)
            files += 3
        for n in range(176):
            (folder / f"junk-{n:03}.fit").write_bytes(rng.randbytes(rng.randint(20, 400)))
        for n in range(200):
            (folder / f"track-{n:03}.gpx").write_text("<gpx/>\n")
        files += 376
    return files


def config(folder: Path, workers: int = 1) -> Config:
    return validate(
        {
            "database": {"path": str(folder / "calfsync.db")},
            "fit": {"inbox": [str(folder / "inbox")], "settle_seconds": 0, "workers": workers},
            "athlete": {"timezone": "UTC"},
        }
    )


def timed(fn, repeat: int) -> tuple[float, float, float]:
    """Median and best wall time of ``fn()``, and its median CPU time, in milliseconds (CPU time
    hardly moves when other work loads the machine; wall time does)."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(times), min(times), statistics.median(cpu)


def cold_scans(folder: Path, repeat: int) -> tuple[float, float, float]:
    cfg = config(folder)
    db = open_db(cfg.db_path)
    try:
        return timed(lambda: scan_inboxes(db, cfg), max(3, repeat // 4))
    finally:
        db.close()


def idle_scans(folders: dict[int, Path], repeat: int) -> dict[int, tuple[float, float, float]]:
    """The daemon's idle scan on each inbox, timed in turn (1k, 20k, 1k, 20k, ...) so that the
    machine's drift falls on every size alike; each cache first warmed by a full rotation."""
    runs = {}
    for years, folder in folders.items():
        cfg = config(folder)
        db = open_db(cfg.db_path)
        cache = InboxCache()
        for _ in range(4 + (years * 1000) // 256):  # listed, then every file verified once
            scan_inboxes(db, cfg, cache=cache)
        runs[years] = (db, cfg, cache)
    times: dict[int, list[float]] = {y: [] for y in folders}
    cpu: dict[int, list[float]] = {y: [] for y in folders}
    try:
        for _ in range(repeat):
            for years, (db, cfg, cache) in runs.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                scan_inboxes(db, cfg, cache=cache)
                times[years].append((time.perf_counter() - start) * 1000)
                cpu[years].append((time.process_time() - start_cpu) * 1000)
    finally:
        for db, _cfg, _cache in runs.values():
            db.close()
    return {
        y: (statistics.median(times[y]), min(times[y]), statistics.median(cpu[y])) for y in folders
    }


def daemon_idle(
    folder: Path, scan_s: int, window_s: float, child_process: bool = True
) -> tuple[float, float, float, int, float]:
    """The idle daemon on ``folder``'s inbox and a copy of its database (every date of the
    import still to judge, as after a daemon's first import), pushing to an ntfy stand-in: RSS
    after start, RSS at the end, CPU seconds used over the window, the number of fit jobs it ran
    meanwhile; then a run back after a month lands in a new folder of the inbox (RET1: parsed,
    judged, pushed with its chart), and the RSS 10 s after that push reached the server."""
    from fakes.ntfy import FakeNtfy

    work = folder / "daemon.db"  # a copy: each daemon starts with the whole history to judge
    shutil.copyfile(folder / "calfsync.db", work)
    with FakeNtfy() as ntfy:
        path = folder / "config.toml"
        path.write_text(
            f'[database]\npath = "{work}"\n'
            f'[fit]\ninbox = ["{folder / "inbox"}"]\n[athlete]\ntimezone = "UTC"\n'
            f"[daemon]\nscan_seconds = {scan_s}\nflush_seconds = {scan_s}\n"
            f"child_process = {str(child_process).lower()}\n"
            f'[[notify.channels]]\ntype = "ntfy"\nurl = "{ntfy.url}"\ntopic = "bench"\n'
        )
        with open(folder / "daemon.log", "wb") as log:
            proc = subprocess.Popen(
                [*CALFSYNC, "--config", str(path), "run"], stdout=log, stderr=log
            )
        back = folder / "inbox" / f"back-{time.time_ns()}"
        try:
            db = work
            first = "SELECT COUNT(*) FROM state WHERE key = 'cycle.fit.last_ok'"
            deadline = time.monotonic() + 120
            while not count(db, first) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(min(scan_s * 2 + 1, 15))  # past start-up and a first idle scan
            rss_start, cpu_before, t0 = rss_mb(proc.pid), cpu_s(proc.pid), time.monotonic()
            time.sleep(window_s)
            used, elapsed = cpu_s(proc.pid) - cpu_before, time.monotonic() - t0
            rss_end = rss_mb(proc.pid)
            pushes = len(ntfy.pushes())
            back.mkdir()
            latest = db_latest_start(db)
            when = datetime.now(UTC) - timedelta(hours=2)  # fresh: pushed, not history
            if when - latest < timedelta(days=28):
                raise RuntimeError("the inbox's runs end less than 28 days ago: no RET1 push")
            (back / "back.fit").write_bytes(fit_file(when, 6.0))
            deadline = time.monotonic() + 120
            while len(ntfy.pushes()) == pushes and time.monotonic() < deadline:
                time.sleep(0.2)
            if len(ntfy.pushes()) == pushes:
                raise RuntimeError(f"no push for the run back; see {folder / 'daemon.log'}")
            time.sleep(10)
            jobs = int(window_s // scan_s)
            return rss_start, rss_end, used * window_s / elapsed, jobs, rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            shutil.rmtree(back, ignore_errors=True)
            for leftover in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
                leftover.unlink(missing_ok=True)  # a stale -wal would replay into the next copy


def db_latest_start(db: Path) -> datetime:
    """The start of the newest run in ``db`` (the run back lands a month after it)."""
    [latest] = sqlite3.connect(db).execute("SELECT MAX(start_time) FROM activities").fetchone()
    return datetime.fromisoformat(latest.replace("Z", "+00:00"))


def fit_file(start: datetime, km: float) -> bytes:
    """One run's FIT file, as the inboxes' runs are written."""
    return encode_activity(
        [SessionSpec(start=start, distance_m=km * 1000, duration_s=km * 330)], serial_number=7
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s scans for 2 minutes")
    parser.add_argument("--years", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--repeat", type=int, default=40, help="idle scans timed per size")
    parser.add_argument("--no-daemon", action="store_true", help="time the scans only")
    parser.add_argument(
        "--daemon-years",
        type=int,
        nargs="+",
        help="idle the daemon on each of these inboxes (among --years); default: the largest",
    )
    parser.add_argument("--keep", help="build the inboxes in this folder and reuse them")
    parser.add_argument(
        "--compare-in-process",
        action="store_true",
        help="idle the daemon a second time with [daemon] child_process = false",
    )
    args = parser.parse_args()
    scan_s, window = (5, 120.0) if args.quick else (60, 600.0)
    with tempfile.TemporaryDirectory(prefix="calfsync-scan-") as tmp:
        base = Path(args.keep or tmp)
        results = {}
        for years in args.years:
            folder = base / f"y{years}"
            if (folder / "calfsync.db").exists():  # built by an earlier --keep run
                files = sum(len(f) for _, _, f in os.walk(folder / "inbox"))
            else:
                started = time.perf_counter()
                files = build_inbox(folder / "inbox", years)
                cfg = config(folder, workers=2)
                db = open_db(cfg.db_path)
                summary = scan_inboxes(db, cfg)
                db.close()
                print(
                    f"{years:2d} years: {files} inbox files, imported in "
                    f"{time.perf_counter() - started:.0f} s ({summary.line()})"
                )
            results[years] = (files, {"cold": cold_scans(folder, args.repeat)})
        idle = idle_scans({y: base / f"y{y}" for y in results}, args.repeat)
        for years in results:
            results[years][1]["idle"] = idle[years]
        print(
            "\n| years | inbox files | cold scan (no cache): wall median / best, CPU median "
            "| idle daemon scan: wall median / best, CPU median |"
        )
        print("|---|---|---|---|")
        for years, (files, r) in results.items():
            cold, idle = r["cold"], r["idle"]
            print(
                f"| {years} | {files:,} | {cold[0]:.1f} / {cold[1]:.1f} ms, {cold[2]:.1f} ms | "
                f"{idle[0]:.2f} / {idle[1]:.2f} ms, {idle[2]:.2f} ms |"
            )
        first, last = results[min(results)][1]["idle"], results[max(results)][1]["idle"]
        print(
            f"idle daemon scan, {max(results)} years / {min(results)} year(s): wall median "
            f"{last[0] / first[0]:.2f}x, best {last[1] / first[1]:.2f}x, CPU "
            f"{last[2] / first[2]:.2f}x (target <= 2x)"
        )
        if args.no_daemon:
            return
        for years in args.daemon_years or [max(results)]:
            for child in (True, False) if args.compare_in_process else (True,):
                rss0, rss1, cpu, jobs, pushed = daemon_idle(
                    base / f"y{years}", scan_s, window, child
                )
                per_hour = cpu * 3600 / window * (scan_s / 60)  # scaled to one-minute scans
                how = "child_process = true" if child else "child_process = false"
                print(
                    f"idle daemon ({how}), {years} years ({results[years][0]:,} files): RSS "
                    f"{rss0:.1f} MiB after start, {rss1:.1f} MiB after {window:.0f} s, "
                    f"{pushed:.1f} MiB after a run parsed and pushed (target 40 MB = 38.1 MiB); "
                    f"CPU {cpu:.2f} s over {window:.0f} s with {scan_s} s scans and flushes "
                    f"(~{jobs} of each) = {per_hour:.2f} s an hour at one-minute scans "
                    "(target 2 s)"
                )


if __name__ == "__main__":
    main()
