"""``calfsync run`` as a real subprocess: inbox to activity to push, signals, the lock, reload,
sd_notify, and a reader and a foreign writer on the same database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_support import (
    CALFSYNC,
    Daemon,
    HealthyNtfy,
    NotifySocket,
    count,
    daemon_config,
    drop_file,
    fit_run,
    training_history,
    utcnow,
    wait_until,
    write_config,
)


@pytest.fixture
def ntfy():
    with HealthyNtfy() as server:
        yield server


@pytest.fixture
def setup(tmp_path: Path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return tmp_path, inbox, tmp_path / "calfsync.db"


def test_fit_file_in_inbox_becomes_activity_and_fresh_trigger_pushes(setup, ntfy) -> None:
    tmp, inbox, db = setup
    now = utcnow()
    history = training_history(now - timedelta(days=3), weeks=6)  # old: recorded, never pushed
    for name, data in history:
        drop_file(inbox, name, data)
    no_digest = '[notify]\ndigest = "off"'  # the weekly digest is a push too: own tests
    config = write_config(
        tmp / "c.toml", daemon_config(tmp, inbox=inbox, ntfy_url=ntfy.url, extra=no_digest)
    )
    daemon = Daemon(config, tmp / "daemon.log")
    try:
        wait_until(lambda: count(db) == len(history), 60, "the history to be imported")
        assert ntfy.pushes() == []  # runs older than 72 hours never push
        # Six weeks of 8 km, then a 16 km run this morning: S1 (rapid rise in mileage).
        drop_file(inbox, "long.fit", fit_run(now - timedelta(hours=2), 16.0))
        wait_until(lambda: count(db) == len(history) + 1, 30, "the new run to be imported")
        pushes = wait_until(lambda: ntfy.pushes("calves"), 30, "a push to the ntfy topic")
        assert count(db, "SELECT COUNT(*) FROM alerts WHERE rule = 'S1'") >= 1
        assert "16" in pushes[0]["message"]
        # The stand-in holds the push before the daemon has read the answer and marked it sent.
        sent = "SELECT COUNT(*) FROM notify_outbox WHERE state = 'sent'"
        wait_until(lambda: count(db, sent) >= 1, 10, "the push to be marked sent")
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
    assert "calfsync daemon stopped" in daemon.log()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_exit_zero(setup, signum: int) -> None:
    tmp, inbox, _db = setup
    config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox))
    daemon = Daemon(config, tmp / "daemon.log")
    try:
        daemon.wait_log("daemon started")
        daemon.signal(signum)
        assert daemon.wait(20) == 0
    finally:
        daemon.kill()
    assert f"{signal.Signals(signum).name}: stopping" in daemon.log()


def test_second_daemon_on_the_same_database_is_refused(setup) -> None:
    tmp, inbox, db = setup
    config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox))
    first = Daemon(config, tmp / "first.log")
    try:
        first.wait_log("daemon started")
        second = subprocess.run(
            [*CALFSYNC, "--config", str(config), "run"], capture_output=True, text=True, timeout=30
        )
        assert second.returncode == 1
        assert "already running" in second.stderr
        assert str(first.proc.pid) in second.stderr
        assert first.proc.poll() is None  # the first one keeps going
        # and still works
        drop_file(inbox, "a.fit", fit_run(utcnow() - timedelta(days=10), 5.0))
        wait_until(lambda: count(db) == 1, 30, "the first daemon to import")
    finally:
        assert first.stop() == 0


def test_sighup_reloads_the_configuration(setup) -> None:
    tmp, inbox, db = setup
    other = tmp / "other-inbox"
    config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox))
    daemon = Daemon(config, tmp / "daemon.log")
    try:
        daemon.wait_log("daemon started")
        write_config(config, daemon_config(tmp, inbox=other, scan_seconds=2))
        daemon.signal(signal.SIGHUP)
        daemon.wait_log("configuration reloaded")
        assert "fit job rescheduled" in daemon.log()
        assert "deliver job rescheduled" not in daemon.log()  # unchanged: left alone
        assert other.is_dir()  # the new inbox was created
        drop_file(other, "b.fit", fit_run(utcnow() - timedelta(days=10), 6.0))
        wait_until(lambda: count(db) == 1, 30, "a file in the new inbox to be imported")

        # A broken file on SIGHUP keeps the running configuration.
        config.write_text("[daemon]\nscan_seconds = 'often'\n")
        daemon.signal(signal.SIGHUP)
        daemon.wait_log("configuration not reloaded")
        drop_file(other, "c.fit", fit_run(utcnow() - timedelta(days=9), 7.0))
        wait_until(lambda: count(db) == 2, 30, "the daemon to keep scanning the new inbox")
    finally:
        assert daemon.stop() == 0


def test_sd_notify_ready_status_watchdog_stopping(setup) -> None:
    tmp, inbox, _db = setup
    sock = NotifySocket(tmp / "notify.sock")
    config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox))
    env = {"NOTIFY_SOCKET": str(sock.path), "WATCHDOG_USEC": "400000"}
    daemon = Daemon(config, tmp / "daemon.log", env)
    try:
        wait_until(lambda: "READY=1" in sock.fields(), 20, "READY=1")
        wait_until(lambda: sock.fields().count("WATCHDOG=1") >= 2, 20, "two watchdog pings")
        wait_until(
            lambda: any(f.startswith("STATUS=fit ok") for f in sock.fields()), 20, "a STATUS line"
        )
        assert f"MAINPID={daemon.proc.pid}" in sock.fields()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(20) == 0
        wait_until(lambda: "STOPPING=1" in sock.fields(), 5, "STOPPING=1")
    finally:
        daemon.kill()
        sock.close()


READER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], uri=True, isolation_level=None)
conn.execute("BEGIN")
print(conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0], flush=True)
sys.stdin.readline()  # hold the read transaction until told
print(conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0], flush=True)
conn.execute("COMMIT")
"""

WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # the write lock, as another tool holding a write would
conn.execute("INSERT INTO state(key, value) VALUES ('foreign.writer', 'was here')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))  # longer than a scan interval, shorter than busy_timeout
conn.execute("COMMIT")
print("released", flush=True)
"""


def test_a_reader_never_blocks_a_cycle_and_a_foreign_writer_only_delays_it(setup) -> None:
    tmp, inbox, db = setup
    config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox))
    daemon = Daemon(config, tmp / "daemon.log")
    try:
        daemon.wait_log("daemon started")
        drop_file(inbox, "one.fit", fit_run(utcnow() - timedelta(days=20), 5.0))
        wait_until(lambda: count(db) == 1, 30, "the first import")

        # A runner's read-only session holding a read transaction (a snapshot).
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, f"file:{db}?mode=ro"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout.readline().strip() == "1"
        drop_file(inbox, "two.fit", fit_run(utcnow() - timedelta(days=19), 6.0))
        wait_until(lambda: count(db) == 2, 30, "an import while a reader holds a snapshot")
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1"  # its snapshot did not move
        assert reader.wait(10) == 0

        # Another process holding the write lock: the cycle waits (busy_timeout), then runs.
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), "3"], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout.readline().strip() == "locked"
        drop_file(inbox, "three.fit", fit_run(utcnow() - timedelta(days=18), 7.0))
        assert writer.stdout.readline().strip() == "released"
        assert writer.wait(10) == 0
        wait_until(lambda: count(db) == 3, 30, "the import once the lock is released")
        assert daemon.proc.poll() is None
        assert "step failed" not in daemon.log()
        assert count(db, "SELECT COUNT(*) FROM state WHERE key = 'foreign.writer'") == 1
    finally:
        assert daemon.stop() == 0


EARLY_THREAD = """
import threading
import time

threading.Thread(target=time.sleep, args=(3600,), name="started-at-import", daemon=True).start()
"""


def early_thread_env(tmp: Path) -> dict[str, str]:
    """An environment whose interpreter starts a thread at import, before any calfsync code runs:
    a ``sitecustomize`` on ``PYTHONPATH``. It stands in for OpenBLAS, whose thread starts when
    sqlite-utils imports numpy (once numpy is importable), with the stop signals unblocked."""
    early = tmp / "early"
    early.mkdir()
    (early / "sitecustomize.py").write_text(EARLY_THREAD)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(early), os.getenv("PYTHONPATH")]))}


@pytest.mark.parametrize("early_thread", [False, True], ids=["plain", "thread-started-at-import"])
def test_sigterm_lets_the_step_in_progress_finish(setup, ntfy, early_thread: bool) -> None:
    tmp, inbox, db = setup
    now = utcnow()
    drop_file(inbox, "before-layoff.fit", fit_run(now - timedelta(days=30), 8.0))
    config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox, ntfy_url=ntfy.url))
    daemon = Daemon(config, tmp / "daemon.log", early_thread_env(tmp) if early_thread else None)
    try:
        wait_until(lambda: count(db) == 1, 30, "the old run to be imported")
        ntfy.hold()  # the service accepts the next push, then answers only when released
        drop_file(inbox, "comeback.fit", fit_run(now - timedelta(hours=1), 6.0))  # RET1
        assert ntfy.held.wait(30), daemon.log()
        daemon.signal(signal.SIGTERM)
        daemon.wait_log("SIGTERM: stopping after the fit step")
        assert daemon.proc.poll() is None  # still finishing the push
        ntfy.release()
        assert daemon.wait(30) == 0, daemon.log()  # not -15: the signal reached the daemon
    finally:
        daemon.kill()
    assert "calfsync daemon stopped" in daemon.log()
    assert len(ntfy.pushes("calves")) == 1
    assert count(db, "SELECT COUNT(*) FROM notify_outbox WHERE state = 'sent'") >= 1
    assert count(db, "SELECT COUNT(*) FROM notify_outbox WHERE state != 'sent'") == 0


def test_strava_is_polled_when_configured(setup) -> None:
    from fakes.strava_server import FakeStrava
    from strava_support import CLIENT_ID, CLIENT_SECRET, authorize, mark_athlete_checked

    from calfsync.store.db import open_db

    tmp, inbox, db = setup
    with FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        conn = open_db(db)
        authorize(conn, fake)
        mark_athlete_checked(conn, utcnow())
        conn.close()
        fake.add_activity(utcnow() - timedelta(days=3))
        strava = (
            f'[strava]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
            f'api_url = "{fake.api_url}"\noauth_url = "{fake.oauth_url}"\npoll_minutes = 1\n'
        )
        config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox, extra=strava))
        daemon = Daemon(config, tmp / "daemon.log")
        try:
            wait_until(
                lambda: count(db, "SELECT COUNT(*) FROM activities WHERE strava_id IS NOT NULL"),
                30,
                "the Strava activity to be stored",
            )
            wait_until(
                lambda: count(
                    db, "SELECT COUNT(*) FROM state WHERE key = 'strava.status' AND value = 'ok'"
                ),
                30,
                "strava.status ok",
            )
        finally:
            assert daemon.stop() == 0, daemon.log()
    assert CLIENT_SECRET not in daemon.log()


def test_secret_from_the_credentials_directory_reaches_the_channel(setup) -> None:
    """The unit's ``LoadCredential=ntfy_token`` lands in ``$CREDENTIALS_DIRECTORY/ntfy_token``;
    the channel uses it with no token line in the config, and the log never shows it."""
    tmp, inbox, db = setup
    token = "tk_from_credentials_dir_0123456789"
    credentials = tmp / "credentials"
    credentials.mkdir(mode=0o700)
    (credentials / "ntfy_token").write_text(token + "\n")
    now = utcnow()
    drop_file(inbox, "before-layoff.fit", fit_run(now - timedelta(days=30), 8.0))
    with HealthyNtfy(token=token) as ntfy:  # refuses pushes without the token
        config = write_config(tmp / "c.toml", daemon_config(tmp, inbox=inbox, ntfy_url=ntfy.url))
        daemon = Daemon(config, tmp / "daemon.log", {"CREDENTIALS_DIRECTORY": str(credentials)})
        try:
            wait_until(lambda: count(db) == 1, 30, "the old run to be imported")
            drop_file(inbox, "comeback.fit", fit_run(now - timedelta(hours=1), 6.0))  # RET1
            wait_until(lambda: ntfy.pushes("calves"), 30, "a push accepted with the token")
        finally:
            assert daemon.stop() == 0, daemon.log()
    assert ntfy.requests[-1].header("authorization") == f"Bearer {token}"
    assert token not in daemon.log()
