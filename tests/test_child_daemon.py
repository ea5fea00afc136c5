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
