"""What Home Assistant over MQTT costs the daemon: start-up time and idle memory (RSS) and CPU of
``calfsync run`` with ``[mqtt] host`` set (a real mosquitto on a loopback port) against without.

    .venv/bin/python bench/mqtt.py              # 3 trials each, 30 s idle window
    .venv/bin/python bench/mqtt.py --trials 1 --idle 10
    .venv/bin/python bench/mqtt.py --charts     # charts and MQTT on against both off

``--charts``: both daemons push to a loopback ntfy, and a run 60% longer than the history's
longest lands in the inbox after the first scan, so each sends one S1 alert push; "off" has
``[notify] charts = false`` and no ``[mqtt]``, "on" draws the push's chart (Pillow loaded) and
publishes to the broker. The memory figures are then taken after that push.

Each trial starts the daemon on the same database (8 weeks of runs, imported beforehand) and
measures: the time from the process start to its "daemon started" log line; with MQTT, the
time until a subscriber holds the sensors' state (what Home Assistant would show); RSS once the
first scan is done, and RSS and CPU at the end of the idle window (one-minute scans, so the
window holds one idle scan at most). Needs /usr/sbin/mosquitto (Debian's mosquitto).
"""

from __future__ import annotations

import argparse
import re
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

from daemon import CALFSYNC, cpu_s, rss_mb, wait_for  # noqa: E402 - bench/daemon.py's probes
from daemon_support import count, drop_file, fit_run  # noqa: E402
from fakes.ntfy import FakeNtfy  # noqa: E402
from mqtt_support import Broker, Subscriber  # noqa: E402

TOPIC = "bench"


def prepare(folder: Path) -> Path:
    """A config on a database holding 8 weeks of runs (4 a week), imported once."""
    inbox = folder / "inbox"
    history = folder / "history"
    now = datetime.now(UTC)
    for n in range(32):
        start = now - timedelta(days=56 - n * 7 // 4, hours=1)
        drop_file(history, f"run-{n:02d}.fit", fit_run(start, 6.0 + n % 5))
    inbox.mkdir(parents=True)
    config = folder / "config.toml"
    config.write_text(
        f'[database]\npath = "{folder / "calfsync.db"}"\n[fit]\ninbox = ["{inbox}"]\n'
        '[athlete]\ntimezone = "UTC"\n[daemon]\nscan_seconds = 60\nflush_seconds = 60\n'
        '[notify]\ndigest = "off"\n[[notify.channels]]\ntype = "console"\n'
    )
    subprocess.run(
        [*CALFSYNC, "--config", str(config), "import", str(history)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return config


def with_push(config: Path, ntfy_url: str, charts: bool, trial_dir: Path) -> Path:
    """``config`` on a copy of its database (each trial imports its own long run) with an
    ntfy channel instead of the console, charts on or off."""
    trial_dir.mkdir(parents=True)
    source = sqlite3.connect(config.parent / "calfsync.db")
    with sqlite3.connect(trial_dir / "calfsync.db") as copy:
        source.backup(copy)
    source.close()
    (trial_dir / "inbox").mkdir()
    text = config.read_text().replace(str(config.parent), str(trial_dir))
    text = text.replace(
        '[notify]\ndigest = "off"\n[[notify.channels]]\ntype = "console"\n',
        f'[notify]\ndigest = "off"\nquiet_hours = "off"\ndaily_cap = 0\nask_shoe = false\n'
        f"charts = {str(charts).lower()}\n"
        f'[[notify.channels]]\ntype = "ntfy"\nurl = "{ntfy_url}"\ntopic = "{TOPIC}"\n',
    )
    path = trial_dir / "config.toml"
    path.write_text(text)
    return path


def with_mqtt(config: Path, port: int) -> Path:
    path = config.with_name("config-mqtt.toml")
    path.write_text(config.read_text() + f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n')
    return path


def trial(
    config: Path, log: Path, idle_s: float, port: int | None, ntfy: FakeNtfy | None = None
) -> dict[str, float]:
    """One daemon life: start-up figures, then (with ``ntfy``) one alert push, then RSS and
    CPU over the idle window."""
    sub = Subscriber(port) if port else None
    started = time.perf_counter()
    handle = open(log, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [*CALFSYNC, "--config", str(config), "run"], stdout=handle, stderr=handle
    )
    out: dict[str, float] = {}
    try:
        if not wait_for(lambda: "daemon started" in log.read_text(), 30):
            raise RuntimeError(f"the daemon did not start; see {log}")
        out["started_s"] = time.perf_counter() - started
        if sub is not None:
            sub.wait("calfsync/state", timeout=30)
            out["sensors_s"] = time.perf_counter() - started
        db = config.parent / "calfsync.db"
        query = "SELECT COUNT(*) FROM state WHERE key='cycle.fit.last_run' AND value >= ?"
        since = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        wait_for(lambda: count(db, query.replace("?", f"'{since}'")), 30)
        if ntfy is not None:
            before = len(ntfy.pushes(TOPIC))
            start = datetime.now(UTC) - timedelta(hours=1)
            drop_file(config.parent / "inbox", "long.fit", fit_run(start, 16.0))
            if not wait_for(lambda: len(ntfy.pushes(TOPIC)) > before, 60):
                raise RuntimeError(f"no push from the daemon; see {log}")
            out["attachments"] = sum("attachment" in m for m in ntfy.pushes(TOPIC)[before:])
        time.sleep(2)
        out["rss_start_mb"] = rss_mb(proc.pid)
        cpu0, t0 = cpu_s(proc.pid), time.monotonic()
        time.sleep(idle_s)
        out["rss_idle_mb"] = rss_mb(proc.pid)
        out["cpu_pct"] = 100 * (cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0)
        return out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        handle.close()
        if sub is not None:
            sub.close()


def paho_import_s() -> float:
    """Cumulative import time of paho.mqtt.client in a fresh interpreter (python -X importtime)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import paho.mqtt.client"],
        capture_output=True,
        text=True,
        check=True,
    )
    times = [
        int(m.group(1))
        for m in re.finditer(
            r"import time:\s+\d+ \|\s+(\d+) \| paho\.mqtt\.client$", result.stderr, re.M
        )
    ]
    return times[-1] / 1e6 if times else float("nan")


def read_states_ms(config: Path, runs: int = 20) -> float:
    """Median time to read every sensor's value from the database (what each publish reads)."""
    from calfsync.config import load_config
    from calfsync.outputs.mqtt_states import read_states
    from calfsync.store.db import open_db

    cfg = load_config(str(config))
    db = open_db(cfg.db_path)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        read_states(db, cfg, datetime.now(UTC))
        times.append(time.perf_counter() - start)
    db.close()
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30.0, help="idle window, seconds")
    parser.add_argument(
        "--charts", action="store_true", help="one alert push each: charts and MQTT on vs off"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="calfsync-bench-mqtt-") as tmp, FakeNtfy() as ntfy:
        folder = Path(tmp)
        config = prepare(folder / "data")
        broker = Broker(folder / "broker").start()
        try:
            runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
            for k in range(args.trials):
                for mode in ("off", "on"):
                    cfg, port = config, (broker.port if mode == "on" else None)
                    if args.charts:
                        cfg = with_push(config, ntfy.url, mode == "on", folder / f"{mode}-{k}")
                    if port:
                        cfg = with_mqtt(cfg, port)
                    log = folder / f"daemon-{mode}-{k}.log"
                    pushes = ntfy if args.charts else None
                    runs[mode].append(trial(cfg, log, args.idle, port, pushes))
            states_ms = read_states_ms(config)
        finally:
            broker.stop()
    what = "charts and MQTT" if args.charts else "MQTT"
    print(f"daemon with {what} off vs on: median of {args.trials} trial(s), idle {args.idle:.0f} s")
    keys = [
        ("started_s", "start to 'daemon started' (s)", "{:.2f}"),
        ("sensors_s", "start to the sensors' state at the broker (s)", "{:.2f}"),
        ("attachments", "alert pushes that carried the chart", "{:.0f}"),
        ("rss_start_mb", "RSS after the first scan (and the push) (MB)", "{:.1f}"),
        ("rss_idle_mb", "RSS at the end of the idle window (MB)", "{:.1f}"),
        ("cpu_pct", "CPU over the idle window (%)", "{:.2f}"),
    ]
    for key, label, fmt in keys:
        cells = []
        for mode in ("off", "on"):
            values = [r[key] for r in runs[mode] if key in r]
            cells.append(fmt.format(statistics.median(values)) if values else "-")
        print(f"  {label:<48} off {cells[0]:>7}   on {cells[1]:>7}")
    print(f"  import of paho.mqtt.client alone: {paho_import_s():.3f} s")
    print(f"  reading the sensors' values (8 weeks of runs): {states_ms:.1f} ms")


if __name__ == "__main__":
    main()
