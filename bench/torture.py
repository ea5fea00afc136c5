"""Whole-daemon torture test: the real ``calfsync run`` SIGKILLed at random moments and restarted,
while FIT files land in its inbox (some written in chunks) and a loopback ntfy stand-in answers
slowly and fails a quarter of its requests. Then: no activity or alert duplicated, every ``now``
alert reached the server, and how many copies each push produced.

    .venv/bin/python bench/torture.py               # 30 kills (make torture)
    .venv/bin/python bench/torture.py --kills 5     # a quick look

Not part of ``make test``. Exit 1 when a check fails. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from daemon_support import (  # noqa: E402
    CALFSYNC,
    HealthyNtfy,
    count,
    drop_file,
    fit_run,
    training_history,
    utcnow,
)
from fakes.base import Request  # noqa: E402

from calfsync.notify.ntfy import sequence_id  # noqa: E402

TOPIC = "calves"
FRESH_KM = (11.0, 15.0, 20.0, 27.0, 36.0)  # each > 1.3 x the one before: S1 moderate or more


class FlakyNtfy(HealthyNtfy):
    """The tests' ntfy stand-in, slow (0-1.5 s) and failing 25 % of requests with 500/503
    (answered at once, nothing stored). A stored message is kept before the slow answer, so a
    client killed while waiting has delivered it. Every request is logged with its times."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.faulty = True
        self.log: list[dict[str, Any]] = []  # one per publish request

    def _dispatch(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.method == "GET":
            return super()._dispatch(req)
        entry: dict[str, Any] = {"t0": time.monotonic(), "t1": None, "status": None}
        try:
            entry["seq"] = req.json().get("sequence_id") or req.header("x-sequence-id")
        except (ValueError, AttributeError):
            entry["seq"] = req.header("x-sequence-id")
        with self._lock:
            self.log.append(entry)
            fail = self.faulty and self.rng.random() < 0.25
            delay = self.rng.uniform(0, 1.5) if self.faulty else 0.0
            status = self.rng.choice((500, 503))
        if fail:
            entry["status"] = status
            entry["t1"] = time.monotonic()
            return self.error(status)
        result = self.handle(req)  # stored now
        time.sleep(delay)
        entry["status"] = result[0]
        entry["t1"] = time.monotonic()
        return result


def config_text(tmp: Path, inbox: Path, url: str) -> str:
    return (
        f'[database]\npath = "{tmp / "calfsync.db"}"\n'
        f'[fit]\ninbox = ["{inbox}"]\nsettle_seconds = 1\n'
        '[athlete]\ntimezone = "UTC"\n'
        "[daemon]\nscan_seconds = 1\nflush_seconds = 1\n"
        '[notify]\ndaily_cap = 0\ndigest = "off"\nquiet_hours = "off"\n'
        '[rules.S1]\ncooldown_days = 0\ndelivery = "now"\n'
        f'[[notify.channels]]\ntype = "ntfy"\nurl = "{url}"\ntopic = "{TOPIC}"\ntimeout_s = 5\n'
    )


def write_in_chunks(folder: Path, name: str, data: bytes, rng: random.Random) -> None:
    """Write straight to the final name, in 4-8 chunks with short pauses (a slow copier)."""
    n = rng.randint(4, 8)
    step = len(data) // n + 1
    with open(folder / name, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i : i + step])
            fh.flush()
            time.sleep(rng.uniform(0.05, 0.3))


def lander(
    inbox: Path, files: list[tuple[str, bytes]], span: float, rng: random.Random, landed: list
) -> None:
    """Land ``files`` over ``span`` seconds, in order; a third of them written in chunks."""
    gap = span / max(1, len(files))
    for name, data in files:
        if rng.random() < 1 / 3:
            write_in_chunks(inbox, name, data, rng)
        else:
            drop_file(inbox, name, data)
        landed.append(name)
        time.sleep(rng.uniform(0.2, 2 * gap))


def start(config: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [*CALFSYNC, "--config", str(config), "run"],
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=env,
        )


def query(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--final-timeout", type=float, default=150.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="calfsync-torture-"))
    inbox = tmp / "inbox"
    inbox.mkdir()
    db = tmp / "calfsync.db"
    log = tmp / "daemon.log"

    now = utcnow()
    history = training_history(now - timedelta(days=3), weeks=6)
    fresh = [
        (f"fresh-{i}.fit", fit_run(now - timedelta(hours=60 - 12 * i), km))
        for i, km in enumerate(FRESH_KM)
    ]
    files = history + fresh
    ntfy = FlakyNtfy(rng)
    ntfy.start()
    config = tmp / "c.toml"
    config.write_text(config_text(tmp, inbox, ntfy.url), encoding="utf-8")

    kill_times: list[float] = []
    landed: list[str] = []
    span = max(10.0, args.kills * 1.9 * 0.8)  # land everything in the first 80 % of the kills
    first = history[:6]  # a head start, so the first kills fall inside an import
    for name, data in first:
        drop_file(inbox, name, data)
        landed.append(name)
    thread = threading.Thread(
        target=lander, args=(inbox, files[len(first) :], span, rng, landed), daemon=True
    )
    thread.start()
    restarts = 0
    for _ in range(args.kills):
        proc = start(config, log)
        restarts += 1
        time.sleep(rng.uniform(0.2, 3.0))
        kill_times.append(time.monotonic())
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    thread.join(timeout=300)
    kill_phase = time.monotonic() - began

    # The final clean run: the server behaves, the daemon finishes what is due, then SIGTERM.
    ntfy.faulty = False
    proc = start(config, log)
    restarts += 1
    deadline = time.monotonic() + args.final_timeout
    open_sql = "SELECT COUNT(*) FROM notify_outbox WHERE state IN ('pending', 'sending')"
    while time.monotonic() < deadline:
        if count(db) == len(files) and count(db, open_sql) == 0:
            time.sleep(3)  # one more scan and flush after the last change
            if count(db) == len(files) and count(db, open_sql) == 0:
                break
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    term_code = proc.wait(30)
    duration = time.monotonic() - began
    ntfy.stop()

    # ------------------------------------------------------------ checks
    failures: list[str] = []
    activities = count(db)
    distinct = count(db, "SELECT COUNT(DISTINCT start_time) FROM activities")
    fit_rows = count(db, "SELECT COUNT(*) FROM fit_files")
    if not (activities == distinct == len(files)):
        failures.append(f"{len(files)} files, {activities} activities ({distinct} distinct starts)")
    if fit_rows != len(files):
        failures.append(f"{fit_rows} fit_files rows for {len(files)} files")
    dup_keys = query(db, "SELECT episode_key FROM alerts GROUP BY 1 HAVING COUNT(*) > 1")
    dup_runs = query(
        db,
        "SELECT rule, activity_id FROM alerts WHERE activity_id IS NOT NULL "
        "GROUP BY 1, 2 HAVING COUNT(*) > 1",
    )
    if dup_keys or dup_runs:
        failures.append(f"duplicated alerts: keys {dup_keys}, rule+run {dup_runs}")
    alerts = query(db, "SELECT id, rule, severity, delivery, pushed FROM alerts")
    s1_fresh = query(
        db,
        "SELECT a.id, a.severity FROM alerts a JOIN activities r ON r.id = a.activity_id "
        f"WHERE a.rule = 'S1' AND r.start_time >= '{(now - timedelta(hours=72)).isoformat()}'",
    )
    if len(s1_fresh) != len(fresh):
        failures.append(f"{len(fresh)} fresh long runs, {len(s1_fresh)} S1 alerts on them")
    now_alerts = [a for a in alerts if a[3] == "now" and a[4] not in ("history", "imported")]
    rows = query(
        db,
        "SELECT o.alert_id, o.push_key, a.episode_key FROM notify_outbox o "
        "JOIN alerts a ON a.id = o.alert_id",
    )
    received = Counter(m.get("sequence_id") for m in ntfy.pushes(TOPIC))
    # One push = the outbox rows sharing a push key. ntfy's sequence id comes from the alert's
    # episode key when the push carries one alert, from the push key when it bundles several.
    groups: dict[str, list[tuple]] = {}
    for row in rows:
        if row[1]:
            groups.setdefault(row[1], []).append(row)
    push_seq = {
        key: sequence_id(group[0][2] if len(group) == 1 else key) for key, group in groups.items()
    }
    unreached = []
    for alert in now_alerts:
        seqs = {sequence_id(r[2]) for r in rows if r[0] == alert[0]}
        seqs |= {push_seq[r[1]] for r in rows if r[0] == alert[0] and r[1]}
        if not any(received[s] for s in seqs):
            unreached.append(alert[:2])
    if unreached:
        failures.append(f"now alerts that never reached the server: {unreached}")
    push_keys = set(groups)
    copies = Counter(received[push_seq[k]] for k in push_keys)
    if any(n > 2 for n in copies):
        failures.append(f"a push with more than 2 copies: {dict(copies)}")
    known = set(push_seq.values()) | {sequence_id(r[2]) for r in rows}
    stray = sum(n for s, n in received.items() if s not in known)
    if stray:
        failures.append(f"{stray} messages at the server match no push in the outbox")

    # For each push with two copies: did a kill fall inside one of its (stored) requests?
    in_request = 0
    doubles = [k for k in push_keys if received[push_seq[k]] == 2]
    for key in doubles:
        seq = push_seq[key]
        spans = [(e["t0"], e["t1"] or e["t0"] + 5) for e in ntfy.log if e["seq"] == seq]
        if any(t0 <= k <= t1 + 0.05 for t0, t1 in spans for k in kill_times):
            in_request += 1
    if in_request < len(doubles):
        lone = len(doubles) - in_request
        failures.append(f"{lone} pushes got 2 copies with no kill inside a request")
    if term_code != 0:
        failures.append(f"the final daemon exited {term_code} on SIGTERM")
    states = dict(query(db, "SELECT state, COUNT(*) FROM notify_outbox GROUP BY 1"))
    requests = len(ntfy.log)
    failed = sum(1 for e in ntfy.log if e["status"] in (500, 503))
    cut = sum(
        1 for e in ntfy.log if any(e["t0"] <= k <= (e["t1"] or e["t0"] + 5) for k in kill_times)
    )
    tracebacks = log.read_text(errors="replace").count("Traceback")

    print(f"calfsync torture (seed {seed}), {tmp}")
    print(f"  kills {len(kill_times)}, daemon starts {restarts}, duration {duration:.0f} s")
    print(f"    (kill phase {kill_phase:.0f} s, final clean run {duration - kill_phase:.0f} s)")
    print(f"  files {len(files)} ({len(history)} history, {len(fresh)} fresh long runs)")
    print(f"  activities {activities}, fit_files {fit_rows}, alerts {len(alerts)}")
    print(f"    now alerts {len(now_alerts)}, S1 on fresh runs {len(s1_fresh)}")
    print(f"  outbox {states}, pushes {len(push_keys)}")
    if states.get("sending"):
        failures.append(f"{states['sending']} push(es) still claimed ('sending') at the end")
    print(
        f"  server: {requests} publish requests, {failed} answered 500/503, "
        f"{cut} cut by a kill, {sum(received.values())} messages stored"
    )
    dist = ", ".join(f"{n} cop{'y' if n == 1 else 'ies'}: {c}" for n, c in sorted(copies.items()))
    print(f"  copies per push: {dist}")
    print(f"    pushes with 2 copies: {len(doubles)}, a kill inside their request: {in_request}")
    print(f"  tracebacks in the daemon log: {tracebacks}")
    if failures:
        print("FAILED:")
        for failure in failures:
            print(f"  - {failure}")
        print(f"  (kept {tmp})")
        return 1
    print("OK: no duplicate activity or alert; every now alert reached the server; copies <= 2")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
