"""``calfsync run`` with its heavy steps in child processes, killed and restarted as an
operator would: a SIGKILL while the child pushes, and a reload that turns children off."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_support import (
    Daemon,
    HealthyNtfy,
    count,
    daemon_config,
    drop_file,
    fit_run,
    utcnow,
    wait_until,
    write_config,
)


@pytest.fixture
def ntfy():
    with HealthyNtfy() as server:
        yield server


def _children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_the_one_shot_sync_starts_no_child_even_with_child_process_on(tmp_path: Path, ntfy) -> None:
    from click.testing import CliRunner

    from calfsync.child import Child
    from calfsync.cli import cli

    inbox, db = tmp_path / "inbox", tmp_path / "calfsync.db"
    now = utcnow()
    drop_file(inbox, "before-layoff.fit", fit_run(now - timedelta(days=30), 8.0))
    drop_file(inbox, "comeback.fit", fit_run(now - timedelta(hours=1), 6.0))  # RET1
    text = daemon_config(tmp_path, inbox=inbox, ntfy_url=ntfy.url, extra="child_process = true")
    config = write_config(
        tmp_path / "c.toml", text.replace("[fit]\n", "[fit]\nsettle_seconds = 0\n")
    )
    before = Child.started
    result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code == 0, result.output
    assert count(db) == 2 and len(ntfy.pushes("calves")) == 1
    assert Child.started == before


def test_a_daemon_killed_while_its_child_pushes_sends_it_once_and_the_next_carries_on(
    tmp_path: Path, ntfy
) -> None:
    """SIGKILL of the daemon mid-push: the child finishes the push and marks it sent, the
    restarted daemon neither resends it while the child's claim is live nor after, and goes on
    importing."""
    inbox, db = tmp_path / "inbox", tmp_path / "calfsync.db"
    now = utcnow()
    drop_file(inbox, "before-layoff.fit", fit_run(now - timedelta(days=30), 8.0))
    no_digest = '[notify]\ndigest = "off"'
    config = write_config(
        tmp_path / "c.toml",
        daemon_config(tmp_path, inbox=inbox, ntfy_url=ntfy.url, extra=no_digest),
    )
    first = Daemon(config, tmp_path / "first.log")
    try:
        wait_until(lambda: count(db) == 1, 30, "the old run to be imported")
        ntfy.hold()  # the push is received, its answer waits for release()
        drop_file(inbox, "comeback.fit", fit_run(now - timedelta(hours=1), 6.0))  # RET1
        assert ntfy.held.wait(30), first.log()
        pushing = _children_of(first.proc.pid)
        assert len(pushing) == 1, pushing  # the push is the child's
    finally:
        first.kill()
    second = Daemon(config, tmp_path / "second.log")
    try:
        second.wait_log("daemon started")
        time.sleep(3)  # three deliveries of the new daemon while the child's claim is live
        claimed = "SELECT COUNT(*) FROM notify_outbox WHERE state = 'sending'"
        assert count(db, claimed) == 1
        ntfy.release()
        sent = "SELECT COUNT(*) FROM notify_outbox WHERE state = 'sent'"
        wait_until(lambda: count(db, sent) == 1, 20, "the child to mark its push sent")
        wait_until(lambda: not Path(f"/proc/{pushing[0]}").exists(), 20, "the child to exit")
        assert count(db, claimed) == 0
        # the new daemon carries on
        drop_file(inbox, "layoff.fit", fit_run(now + timedelta(minutes=1), 5.0))
        wait_until(lambda: count(db) == 3, 30, "the next run to be imported")
        time.sleep(2)
    finally:
        assert second.stop() == 0, second.log()
    assert len(ntfy.pushes("calves")) == 1, ntfy.pushes("calves")
    assert count(db, "SELECT COUNT(*) FROM notify_outbox WHERE state != 'sent'") == 0
    for log in (first.log(), second.log()):
        assert "Traceback" not in log, log


def test_a_child_killed_mid_parse_loses_nothing_and_the_file_is_read_next_scan(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The out-of-memory killer takes the child while it parses a long file: that file is
    counted failed and not recorded, the other one is stored, and the next scan reads the long
    one once."""
    import os
    import signal
    import threading
    from datetime import UTC, datetime

    from calfsync import sync
    from calfsync.config import load_config
    from calfsync.daemon import daemon_config as daemon_cfg
    from calfsync.fitwriter import SessionSpec, encode_activity

    inbox = tmp_path / "inbox"
    start = datetime.now(UTC) - timedelta(days=3)
    day = SessionSpec(start=start, duration_s=24 * 3600, distance_m=150_000, record_step_s=1)
    drop_file(inbox, "ultra.fit", encode_activity([day], utc_offset_s=0))  # seconds to parse
    drop_file(inbox, "short.fit", fit_run(start - timedelta(days=2), 5.0))
    text = daemon_config(tmp_path, inbox=inbox).replace("[fit]\n", "[fit]\nsettle_seconds = 0\n")
    cfg = daemon_cfg(load_config(str(write_config(tmp_path / "c.toml", text))))
    killed: list[int] = []

    def kill_the_first_child() -> None:
        deadline = time.monotonic() + 30
        while not killed and time.monotonic() < deadline:
            found = _children_of(os.getpid())
            if found:
                time.sleep(2.0)  # started, set up, parsing the long file
                os.kill(found[0], signal.SIGKILL)
                killed.append(found[0])
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_first_child)
    killer.start()
    first = sync.run_job(cfg, "fit", datetime.now(UTC))
    killer.join()
    assert killed and not first.errors, first.line()
    assert "imported 1," in first.line() and "failed 1," in first.line()
    assert "was killed by SIGKILL (out of memory?)" in caplog.text
    db = tmp_path / "calfsync.db"
    assert count(db, "SELECT COUNT(*) FROM fit_files") == 1
    assert count(db, "SELECT COUNT(*) FROM seen_paths WHERE path LIKE '%short.fit'") == 1
    assert count(db, "SELECT COUNT(*) FROM seen_paths WHERE path LIKE '%ultra.fit'") == 0
    second = sync.run_job(cfg, "fit", datetime.now(UTC))
    assert "imported 1," in second.line() and "failed 0," in second.line()
    assert count(db, "SELECT COUNT(*) FROM fit_files") == 2
    assert count(db) == 2


def test_a_file_that_kills_its_reader_three_times_is_recorded_failed_and_left_alone(
    tmp_path: Path,
) -> None:
    """A file whose parse is killed every time (too big for the machine's memory) is retried by
    the next scans, and after the third crash recorded as failed with the reason: the scans stop
    starting a child for it until the file changes."""
    import os
    import signal
    import threading
    from datetime import UTC, datetime

    from calfsync import sync
    from calfsync.child import Child
    from calfsync.config import load_config
    from calfsync.daemon import daemon_config as daemon_cfg
    from calfsync.fitwriter import SessionSpec, encode_activity

    inbox = tmp_path / "inbox"
    start = datetime.now(UTC) - timedelta(days=3)
    day = SessionSpec(start=start, duration_s=24 * 3600, distance_m=150_000, record_step_s=1)
    drop_file(inbox, "ultra.fit", encode_activity([day], utc_offset_s=0))  # seconds to parse
    text = daemon_config(tmp_path, inbox=inbox).replace("[fit]\n", "[fit]\nsettle_seconds = 0\n")
    cfg = daemon_cfg(load_config(str(write_config(tmp_path / "c.toml", text))))
    db = tmp_path / "calfsync.db"

    def scan_killing_the_child() -> str:
        killed: list[int] = []

        def killer() -> None:
            deadline = time.monotonic() + 30
            while not killed and time.monotonic() < deadline:
                found = _children_of(os.getpid())
                if found:
                    time.sleep(1.0)  # started, set up, parsing
                    os.kill(found[0], signal.SIGKILL)
                    killed.append(found[0])
                time.sleep(0.02)

        thread = threading.Thread(target=killer)
        thread.start()
        line = sync.run_job(cfg, "fit", datetime.now(UTC)).line()
        thread.join()
        assert killed, line
        return line

    for _ in range(2):
        assert "failed 1," in scan_killing_the_child()
        assert count(db, "SELECT COUNT(*) FROM fit_files") == 0  # nothing recorded: tried again
    assert "failed 1," in scan_killing_the_child()
    reason = "the reader process crashed on this file 3 times (out of memory?)"
    assert (
        count(
            db,
            f"SELECT COUNT(*) FROM fit_files WHERE status = 'failed' AND reason LIKE '{reason}%'",
        )
        == 1
    )
    assert count(db, "SELECT COUNT(*) FROM state WHERE key LIKE 'fit.reader_crashes.%'") == 0

    started = Child.started
    later = sync.run_job(cfg, "fit", datetime.now(UTC))  # the file is known: no child, no retry
    assert Child.started == started and "failed" not in later.line()
