"""Daemon figures: ``calfsync --help`` start-up, idle RSS and CPU of ``calfsync run``, and the
time from a FIT file landing in the inbox to its push being queued.

    .venv/bin/python bench/daemon.py            # full run (about 5 minutes: real intervals)
    .venv/bin/python bench/daemon.py --quick    # one-second scans, shorter idle window

Targets (issue 5): idle RSS <= 60 MB, idle CPU ~ 0, --help <= 0.3 s, inbox to queued push
<= 90 s with the default one-minute scan; (issue 14) a watched inbox: <= 5 s from the file being
stable to its push queued. Idle cost at 1k-20k inbox files: bench/scan.py.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import signal
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

from daemon_support import count, drop_file, fit_run  # noqa: E402

ENTRY = Path(sys.executable).parent / "calfsync"  # the installed console script
CALFSYNC = [str(ENTRY)] if ENTRY.exists() else [sys.executable, "-m", "calfsync"]
TICK = os.sysconf("SC_CLK_TCK")


def help_startup(runs: int = 15) -> tuple[float, float]:
    """Median and best wall time of ``calfsync --help`` in a fresh interpreter."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([*CALFSYNC, "--help"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def heavy_imports(limit: int = 8) -> list[tuple[str, float]]:
    """The slowest cumulative imports on the ``--help`` path (python -X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "calfsync", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, raw = line.split(":", 1)[1].split("|")
        depth = len(raw) - len(raw.lstrip())
        if depth <= 3:  # top-level imports and their direct children
            rows.append((raw.strip(), int(cumulative_us) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:limit]


def write_config(folder: Path, scan_s: int, flush_s: int, watch: bool = True) -> Path:
    inbox = folder / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'[database]\npath = "{folder / "calfsync.db"}"\n[fit]\ninbox = ["{inbox}"]\n'
        f"watch = {str(watch).lower()}\n"
        '[athlete]\ntimezone = "UTC"\n'
        f"[daemon]\nscan_seconds = {scan_s}\nflush_seconds = {flush_s}\n"
        '[[notify.channels]]\ntype = "console"\n'
    )
    return path


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [*CALFSYNC, "--config", str(config), "run"], stdout=handle, stderr=handle
    )


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def idle(folder: Path, window_s: float, scan_s: int) -> tuple[float, float, float]:
    """RSS after start-up, RSS at the end of the idle window, and CPU % over that window."""
    config = write_config(folder, scan_s, scan_s)
    proc = start(config, folder / "idle.log")
    try:
        db = folder / "calfsync.db"
        wait_for(lambda: count(db, "SELECT COUNT(*) FROM state WHERE key='cycle.fit.last_ok'"), 30)
        time.sleep(2)
        rss_start = rss_mb(proc.pid)
        cpu_before, t0 = cpu_s(proc.pid), time.monotonic()
        time.sleep(window_s)
        cpu_used = cpu_s(proc.pid) - cpu_before
        elapsed = time.monotonic() - t0
        return rss_start, rss_mb(proc.pid), 100 * cpu_used / elapsed
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def strava_rss(folder: Path) -> float:
    """RSS of a daemon that polls Strava (the loopback stand-in of the tests): stravalib and
    its pydantic models are loaded only then."""
    from fakes.strava_server import FakeStrava
    from strava_support import CLIENT_ID, CLIENT_SECRET, authorize, mark_athlete_checked

    from calfsync.store.db import open_db

    with FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        fake.add_activity(datetime.now(UTC) - timedelta(days=2))
        config = write_config(folder, 60, 60)
        config.write_text(
            config.read_text()
            + f'[strava]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
            f'api_url = "{fake.api_url}"\noauth_url = "{fake.oauth_url}"\n'
        )
        db_path = folder / "calfsync.db"
        db = open_db(db_path)
        authorize(db, fake)
        mark_athlete_checked(db, datetime.now(UTC))
        db.close()
        proc = start(config, folder / "strava.log")
        try:
            query = "SELECT COUNT(*) FROM activities WHERE strava_id IS NOT NULL"
            if not wait_for(lambda: count(db_path, query), 60):
                raise RuntimeError(f"Strava was not polled; see {folder / 'strava.log'}")
            time.sleep(5)
            return rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def latency(folder: Path, scan_s: int, *, watch: bool = True, chunked: bool = False) -> float:
    """Seconds from a fresh trigger being stable in the inbox to its push row in the outbox.

    The default lands a whole ``.fit`` by a rename (stable at once: it is as long as its header
    says). ``chunked`` writes a ``.fit.gz`` into the inbox in 10 pieces 0.3 s apart: stable once
    ``[fit] settle_seconds`` (5 s) passed after the last piece, from which the time counts.
    """
    config = write_config(folder, scan_s, scan_s, watch)
    now = datetime.now(UTC).replace(microsecond=0)
    inbox, db = folder / "inbox", folder / "calfsync.db"
    drop_file(inbox, "old.fit", fit_run(now - timedelta(days=30), 8.0))
    proc = start(config, folder / "latency.log")
    try:
        if not wait_for(lambda: count(db, "SELECT COUNT(*) FROM activities") == 1, 60):
            raise RuntimeError("the daemon did not import the first file")
        time.sleep(random.uniform(0, scan_s))  # land at a random point of the scan cycle
        data = fit_run(now - timedelta(hours=1), 6.0)  # back after 30 days: RET1, pushes
        if chunked:
            data = gzip.compress(data)
            piece = -(-len(data) // 10)
            with open(inbox / "comeback.fit.gz", "wb") as handle:
                for i in range(10):
                    handle.write(data[i * piece : (i + 1) * piece])
                    handle.flush()
                    time.sleep(0.3)
            stable = time.monotonic() + 5.0  # settle_seconds after the last write
        else:
            stable = time.monotonic()
            drop_file(inbox, "comeback.fit", data)
        if not wait_for(
            lambda: count(db, "SELECT COUNT(*) FROM notify_outbox") > 0, scan_s * 3 + 30
        ):
            raise RuntimeError(f"no push queued; see {folder / 'latency.log'}")
        return time.monotonic() - stable
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s scans, 20 s idle window")
    parser.add_argument("--trials", type=int, default=3, help="latency trials")
    args = parser.parse_args()
    scan_s = 1 if args.quick else 60
    window = 20.0 if args.quick else 120.0

    median, best = help_startup()
    print(f"calfsync --help start-up: median {median:.3f} s, best {best:.3f} s (target 0.3 s)")
    print("  slowest imports on that path (cumulative s):")
    for name, seconds in heavy_imports():
        print(f"    {seconds:.3f}  {name}")

    with tempfile.TemporaryDirectory(prefix="calfsync-bench-") as tmp:
        rss0, rss1, cpu = idle(Path(tmp) / "idle", window, scan_s)
        print(
            f"idle RSS of calfsync run: {rss0:.1f} MB after start, {rss1:.1f} MB after "
            f"{window:.0f} s idle (target 60 MB)"
        )
        print(
            f"idle CPU of calfsync run: {cpu:.2f} % of one core over {window:.0f} s "
            f"(scans every {scan_s} s)"
        )
        print(f"RSS of calfsync run polling Strava: {strava_rss(Path(tmp) / 'strava'):.1f} MB")
        watched = [latency(Path(tmp) / f"w{i}", scan_s) for i in range(args.trials)]
        print(
            f"watched inbox, a whole .fit renamed in -> queued push (scan every {scan_s} s): "
            + ", ".join(f"{t:.2f}" for t in watched)
            + f" s; worst {max(watched):.2f} s (target 5 s)"
        )
        chunks = [latency(Path(tmp) / f"c{i}", scan_s, chunked=True) for i in range(args.trials)]
        print(
            "watched inbox, a .fit.gz written in 10 pieces: stable (settle_seconds after the "
            "last piece) -> queued push: "
            + ", ".join(f"{t:.2f}" for t in chunks)
            + f" s; worst {max(chunks):.2f} s (target 5 s)"
        )
        times = [latency(Path(tmp) / f"lat{i}", scan_s, watch=False) for i in range(args.trials)]
        print(
            f"unwatched inbox ([fit] watch = false) to queued push (scan every {scan_s} s): "
            + ", ".join(f"{t:.1f}" for t in times)
            + f" s; worst {max(times):.1f} s (target 90 s)"
        )
        fast = [latency(Path(tmp) / f"fast{i}", 1, watch=False) for i in range(args.trials)]
        print(
            "inbox to queued push (scan every 1 s, processing only): "
            + ", ".join(f"{t:.2f}" for t in fast)
            + " s"
        )


if __name__ == "__main__":
    main()
