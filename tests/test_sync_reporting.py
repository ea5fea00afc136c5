"""What `calfsync sync` and the daemon report (issue 11 item 12): a database path that is not a
file is refused before anything is created; a sync whose every push died exits 1 and says why;
the give-up reason reads "3 days"; a backlog alone is not news at INFO."""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.base import closed_port
from fakes.ntfy import FakeNtfy
from notify_support import NOW, alert_and_enqueue, make_config
from reliability_support import cli, config_file

from calfsync.errors import CalfsyncError
from calfsync.notify import outbox
from calfsync.notify.outbox_report import DeliveryReport
from calfsync.store.db import open_db
from calfsync.sync import CycleReport


def beside(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()} if path.parent.is_dir() else set()


def test_db_dev_null_a_folder_or_a_fifo_is_refused_creating_nothing(tmp_path: Path) -> None:
    cfg = config_file(tmp_path, tmp_path / "calfsync.db")
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    journal_existed = Path("/dev/null-journal").exists()
    for target, kind in (("/dev/null", "device"), (str(fifo), "pipe"), (str(folder), "folder")):
        before = beside(Path(target))
        for command in (["sync"], ["sore", "2"]):  # commands that write
            result = cli("--config", str(cfg), "--db", target, *command)
            assert result.returncode == 1, (target, command, result.stderr)
            assert "Traceback" not in result.stderr
            assert f"{target} is a" in result.stderr and kind in result.stderr, result.stderr
            assert "--db or [database] path" in result.stderr
        assert beside(Path(target)) == before  # no -journal, -wal, -shm or .db made
    if not journal_existed:
        assert not Path("/dev/null-journal").exists()


def test_db_in_a_folder_that_does_not_exist_is_refused_and_not_made(tmp_path: Path) -> None:
    cfg = config_file(tmp_path, tmp_path / "calfsync.db")
    target = tmp_path / "typo" / "calfsync.db"
    result = cli("--config", str(cfg), "--db", str(target), "sync")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"the folder {target.parent} does not exist" in result.stderr
    assert not target.parent.exists()
    # the configured path (or the default state dir) still gets its folder made
    cfg = config_file(tmp_path, tmp_path / "state" / "calfsync.db")
    assert cli("--config", str(cfg), "sync").returncode == 0
    assert (tmp_path / "state" / "calfsync.db").is_file()


def test_open_db_refuses_a_new_file_in_a_folder_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    fix = "new file's name in a writable folder"
    with pytest.raises(CalfsyncError, match=f"Not a directory.*{fix}"):
        open_db(tmp_path / "plain" / "c.db")


def test_sync_exits_1_and_says_why_when_every_push_it_tried_is_dead(tmp_path: Path) -> None:
    db_path = tmp_path / "calfsync.db"
    with FakeNtfy(token="tk_right_token") as ntfy:
        channel = (
            f'[[notify.channels]]\ntype = "ntfy"\nname = "phone"\nurl = "{ntfy.url}"\n'
            'topic = "calf"\ntoken = "tk_wrong_token"\n'
        )
        cfg_path = config_file(tmp_path, db_path, extra="")
        cfg_path.write_text(cfg_path.read_text() + channel)
        cfg = make_config(tomllib.loads(channel)["notify"]["channels"])
        db = open_db(db_path)
        now = datetime.now(UTC)
        alert_and_enqueue(db, cfg, "S1", "S1:r1", now=now)
        alert_and_enqueue(db, cfg, "W1", "W1:r2", now=now)
        db.conn.close()
        result = cli("--config", str(cfg_path), "sync")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "1 dead" in result.stdout  # the two alerts went as one bundled push
    assert "every push tried failed for good (1 dead)" in result.stderr
    assert "phone:" in result.stderr and "calfsync notify test" in result.stderr
    assert "tk_wrong_token" not in result.stdout + result.stderr


def test_sync_exits_0_when_a_failed_push_will_be_retried(tmp_path: Path) -> None:
    db_path = tmp_path / "calfsync.db"
    url = f"http://127.0.0.1:{closed_port()}"
    channel = f'[[notify.channels]]\ntype = "ntfy"\nurl = "{url}"\ntopic = "calf"\n'
    cfg_path = config_file(tmp_path, db_path)
    cfg_path.write_text(cfg_path.read_text() + channel)
    db = open_db(db_path)
    cfg = make_config(tomllib.loads(channel)["notify"]["channels"])
    alert_and_enqueue(db, cfg, "S1", "S1:r1", now=datetime.now(UTC))
    db.conn.close()
    result = cli("--config", str(cfg_path), "sync")
    assert result.returncode == 0, result.stderr
    assert "1 retrying" in result.stdout and "every push" not in result.stderr


def test_the_give_up_reason_reads_3_days(tmp_path: Path) -> None:
    db = open_db(tmp_path / "calfsync.db")
    cfg = make_config(
        [{"type": "ntfy", "topic": "calf", "url": f"http://127.0.0.1:{closed_port()}"}]
    )
    alert_and_enqueue(db, cfg, "S1", "S1:r1")
    assert outbox.deliver_due(db, cfg, NOW).retrying == 1
    assert outbox.deliver_due(db, cfg, NOW + timedelta(days=3, minutes=1)).dead == 1
    reason = outbox.dead_letters(db)[0]["last_error"]
    assert reason.startswith("gave up after 3 days: ") and "0:00:00" not in reason


def test_a_backlog_alone_is_idle_so_the_daemon_logs_it_at_debug() -> None:
    waiting = CycleReport()
    waiting.add("deliver", DeliveryReport(pending=3))
    assert waiting.idle  # the daemon's log level: DEBUG for an idle report
    sent = CycleReport()
    sent.add("deliver", DeliveryReport(sent=1, pending=3))
    assert not sent.idle and "sent 1" in sent.line() and "pending 3" in sent.line()
