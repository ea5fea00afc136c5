"""Helpers for the daemon, status and config tests: a real ``calfsync run`` subprocess, an
ntfy server with ``/v1/health``, an sd_notify socket, and FIT runs built in code."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakes.base import Request, json_response
from fakes.ntfy import FakeNtfy

from calfsync.fitwriter import SessionSpec, encode_activity

CALFSYNC = [sys.executable, "-m", "calfsync"]


class HealthyNtfy(FakeNtfy):
    """The notify helper's fake ntfy plus ntfy's ``GET /v1/health`` (what doctor asks)."""

    healthy = True

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.method == "GET" and req.path == "/v1/health":
            return json_response(200, {"healthy": self.healthy})
        return super().handle(req)


def count(db: Path, sql: str = "SELECT COUNT(*) FROM activities") -> int:
    """One number from the database at ``db``, read-only as a runner would; 0 before it exists
    (or before its tables do)."""
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def fit_run(start: datetime, km: float, *, minutes_per_km: float = 5.5) -> bytes:
    """A FIT file of one outdoor run of ``km`` kilometres starting at ``start`` (UTC)."""
    duration_s = km * minutes_per_km * 60
    spec = SessionSpec(start=start, duration_s=duration_s, distance_m=km * 1000, record_step_s=30)
    return encode_activity([spec], utc_offset_s=0)


def drop_file(folder: Path, name: str, data: bytes) -> Path:
    """Land a file in an inbox the way a sync tool does: write elsewhere, then rename."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.part"
    tmp.write_bytes(data)
    final = folder / name
    os.replace(tmp, final)
    return final


def training_history(now: datetime, weeks: int = 6) -> list[tuple[str, bytes]]:
    """``weeks`` of steady 8 km runs three times a week, ending two days before ``now``."""
    files = []
    day = now - timedelta(days=weeks * 7)
    n = 0
    while day < now - timedelta(days=2):
        if day.weekday() in (0, 2, 4):
            start = day.replace(hour=7, minute=0, second=0, microsecond=0)
            files.append((f"base-{n:03d}.fit", fit_run(start, 8.0)))
            n += 1
        day += timedelta(days=1)
    return files


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def daemon_config(
    tmp: Path,
    *,
    inbox: Path,
    ntfy_url: str | None = None,
    scan_seconds: int = 1,
    flush_seconds: int = 1,
    extra: str = "",
) -> str:
    """A config for a fast test daemon (one-second intervals) on a database in ``tmp``."""
    channel = (
        f'[[notify.channels]]\ntype = "ntfy"\nurl = "{ntfy_url}"\ntopic = "calves"\n'
        if ntfy_url
        else '[[notify.channels]]\ntype = "console"\n'
    )
    return (
        f'[database]\npath = "{tmp / "calfsync.db"}"\n'
        f'[fit]\ninbox = ["{inbox}"]\n'
        '[athlete]\ntimezone = "UTC"\n'
        f"[daemon]\nscan_seconds = {scan_seconds}\nflush_seconds = {flush_seconds}\n"
        f"{extra}\n{channel}"
    )


class Daemon:
    """A ``calfsync run`` subprocess whose stderr goes to a file the test can search."""

    def __init__(
        self, config: Path, log: Path, env: dict[str, str] | None = None, *args: str
    ) -> None:
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 - closed in wait()
        full_env = {**os.environ, **(env or {})}
        full_env.pop("JOURNAL_STREAM", None)
        self.proc = subprocess.Popen(
            [*CALFSYNC, "--config", str(config), *args, "run"],
            stdout=self._log,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            env=full_env,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, pattern: str, timeout: float = 20.0, count: int = 1) -> str:
        """Wait until ``pattern`` (a regex) occurs ``count`` times in the log."""

        def found() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}):\n{self.log()}")
            text = self.log()
            return text if len(re.findall(pattern, text)) >= count else None

        try:
            return wait_until(found, timeout, f"log line /{pattern}/")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- daemon log ---\n{self.log()}") from None

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


class NotifySocket:
    """A unix datagram socket standing in for systemd's ``$NOTIFY_SOCKET``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append(data.decode())

    def fields(self) -> list[str]:
        return [line for message in list(self.messages) for line in message.split("\n")]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
