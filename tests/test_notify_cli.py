"""`calfsync notify test | flush [--now] | dead | retry ID` end to end on a config file."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from fakes.base import closed_port
from fakes.ntfy import FakeNtfy
from notify_support import alert_and_enqueue

from calfsync.cli import cli
from calfsync.config import load_config
from calfsync.notify import outbox
from calfsync.store.db import open_db


def _write_config(tmp_path: Path, ntfy_url: str, token: str = "tk_cli_token") -> Path:
    token_file = tmp_path / "ntfy-token"
    token_file.write_text(token + "\n")
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[database]
path = "{tmp_path / "cli.db"}"
[athlete]
timezone = "UTC"
[[notify.channels]]
type = "ntfy"
name = "phone"
url = "{ntfy_url}"
topic = "calf"
token_file = "{token_file}"
timeout_s = 2
"""
    )
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_notify_test_reports_each_channel(tmp_path: Path) -> None:
    with FakeNtfy(token="tk_cli_token") as ntfy:
        cfg_path = _write_config(tmp_path, ntfy.url)
        code, out = _run("--config", str(cfg_path), "notify", "test")
        assert code == 0 and "phone (ntfy): ok" in out
        assert ntfy.pushes("calf")[0]["title"] == "calfsync test push"
        ntfy.fail_next(401)
        code, out = _run("--config", str(cfg_path), "notify", "test", "--channel", "phone")
        assert code == 1 and "FAILED (permanent)" in out and "tk_cli_token" not in out


def test_flush_exits_1_while_pushes_stay_pending_then_0(tmp_path: Path) -> None:
    port = closed_port()
    cfg_path = _write_config(tmp_path, f"http://127.0.0.1:{port}")
    cfg = load_config(str(cfg_path))
    db = open_db(cfg.db_path)
    alert_and_enqueue(db, cfg, "S1", "S1:r1", now=outbox.utcnow())
    code, out = _run("--config", str(cfg_path), "notify", "flush")
    assert code == 1 and "1 retrying" in out and "1 queued" in out
    ntfy = FakeNtfy(token="tk_cli_token")
    ntfy.port = port
    with ntfy:
        code, out = _run("--config", str(cfg_path), "notify", "flush")  # still backing off
        assert code == 1 and ntfy.pushes() == []
        code, out = _run("--config", str(cfg_path), "notify", "flush", "--now")
        assert code == 0 and "sent 1 push(es)" in out
        assert len(ntfy.pushes("calf")) == 1


def test_dead_letters_listed_and_retried(tmp_path: Path) -> None:
    with FakeNtfy(token="tk_cli_token") as ntfy:
        bad = _write_config(tmp_path, ntfy.url, token="tk_revoked")
        cfg = load_config(str(bad))
        db = open_db(cfg.db_path)
        alert_and_enqueue(db, cfg, "S1", "S1:r1", now=outbox.utcnow())
        code, out = _run("--config", str(bad), "notify", "flush")
        assert code == 0 and "1 dead" in out
        code, out = _run("--config", str(bad), "notify", "dead")
        assert "HTTP 401" in out and "tk_revoked" not in out
        dead_id = outbox.dead_letters(db)[0]["id"]
        good = _write_config(tmp_path, ntfy.url)
        code, out = _run("--config", str(good), "notify", "retry", str(dead_id))
        assert code == 0 and "queued again" in out
        code, out = _run("--config", str(good), "notify", "flush")
        assert code == 0 and "sent 1" in out
        code, out = _run("--config", str(good), "notify", "dead")
        assert "no dead letters" in out
