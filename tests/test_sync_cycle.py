"""One sync cycle end to end: FIT inbox and Strava into the store, rules, outbox, push.

Real files, a real SQLite file, the loopback Strava stand-in and a loopback ntfy server.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fakes.ntfy import FakeNtfy
from strava_support import authorize, database, mark_athlete_checked, serve

from calfsync.cli import cli
from calfsync.config import validate
from calfsync.fitwriter import SessionSpec, encode_activity
from calfsync.store.db import open_db
from calfsync.sync import evaluate_pending, run_cycle, scan_fit

NOW = datetime.now(UTC).replace(microsecond=0)


def write_run(inbox: Path, start: datetime, km: float, name: str) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    spec = SessionSpec(
        start=start, duration_s=km * 330, distance_m=km * 1000, ascent_m=40, record_step_s=10
    )
    (inbox / f"{name}.fit").write_bytes(encode_activity([spec], utc_offset_s=0))


def base_history(inbox: Path, weeks: int = 5) -> None:
    """Four runs a week of 6, 7, 6 and 10 km, ending four days ago."""
    first = NOW - timedelta(days=weeks * 7 + 4)
    for w in range(weeks):
        for day, km in ((0, 6), (2, 7), (4, 6), (5, 10)):
            start = first + timedelta(days=7 * w + day)
            write_run(inbox, start, km, f"w{w}d{day}")


@pytest.fixture
def ntfy():
    server = FakeNtfy()
    server.start()
    yield server
    server.stop()


def config(tmp_path: Path, ntfy: FakeNtfy | None = None, **extra):
    raw = {
        "database": {"path": str(tmp_path / "c.db")},
        "fit": {"inbox": [str(tmp_path / "inbox")]},
        "athlete": {"timezone": "UTC"},
        **extra,
    }
    if ntfy is not None:
        raw["notify"] = {
            "channels": [{"type": "ntfy", "url": ntfy.url, "topic": "calf"}],
            "digest": "off",  # the weekly digest is a push too: test_notify_digest.py
        }
    return validate(raw)


def test_a_fresh_long_run_in_the_inbox_pushes_once_and_history_never(tmp_path, ntfy):
    cfg = config(tmp_path, ntfy)
    db = open_db(cfg.db_path)
    base_history(tmp_path / "inbox")
    first = run_cycle(db, cfg, NOW)
    assert first.ok, first.errors
    history_alerts = list(db.query("SELECT pushed FROM alerts"))
    assert all(a["pushed"] in ("history",) for a in history_alerts)
    assert ntfy.messages == []

    write_run(tmp_path / "inbox", NOW - timedelta(hours=3), 16, "long")
    second = run_cycle(db, cfg, NOW)
    assert second.ok, second.errors
    fresh = list(db.query("SELECT * FROM alerts WHERE pushed != 'history'"))
    assert [a["rule"] for a in fresh] == ["S1"] and fresh[0]["pushed"] == "sent"
    assert len(ntfy.messages) == 1 and "S1" in ntfy.messages[0]["title"]

    third = run_cycle(db, cfg, NOW + timedelta(minutes=1))  # nothing new: nothing pushed again
    assert third.ok and third.alert_ids == [] and len(ntfy.messages) == 1


def test_a_killed_cycle_between_store_and_rules_is_picked_up_next_time(tmp_path):
    cfg = config(tmp_path)
    db = open_db(cfg.db_path)
    base_history(tmp_path / "inbox")
    write_run(tmp_path / "inbox", NOW - timedelta(hours=2), 16, "long")
    scan_fit(db, cfg, NOW)  # only the FIT step ran: the process died right after storing
    assert list(db.query("SELECT COUNT(*) n FROM alerts"))[0]["n"] == 0
    db.close()
    db = open_db(cfg.db_path)  # a new process
    new_ids = evaluate_pending(db, cfg, NOW)
    assert "S1" in {r["rule"] for r in list(db.query("SELECT rule FROM alerts"))}
    assert new_ids
    assert evaluate_pending(db, cfg, NOW) == []  # and only once


def test_an_invalid_strava_token_is_pushed_once_and_fit_goes_on(tmp_path, ntfy):
    for fake in serve():
        cfg = config(
            tmp_path,
            ntfy,
            strava={
                "client_id": "4242",
                "client_secret": "app-secret-0123456789",
                "api_url": fake.api_url,
                "oauth_url": fake.oauth_url,
                "timeout_s": 1,
            },
        )
        for db in database(cfg):
            authorize(db, fake, expires_in=0)
            mark_athlete_checked(db, NOW)
            fake.grant()  # the stored refresh token has rotated elsewhere: it is now invalid
            write_run(tmp_path / "inbox", NOW - timedelta(days=2), 8, "easy")

            report = run_cycle(db, cfg, NOW)
            assert report.strava.state == "needs_reauth"
            assert list(db.query("SELECT COUNT(*) n FROM activities"))[0]["n"] == 1  # FIT went on
            notices = list(db.query("SELECT * FROM alerts WHERE rule = 'STRAVA'"))
            assert len(notices) == 1 and "calfsync auth strava" in notices[0]["body"]
            assert notices[0]["pushed"] == "sent"
            assert any("auth strava" in m["message"] for m in ntfy.messages)

            run_cycle(db, cfg, NOW + timedelta(hours=1))
            assert len(list(db.query("SELECT * FROM alerts WHERE rule = 'STRAVA'"))) == 1


def test_sync_command_exit_codes(tmp_path):
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text(
        f'[database]\npath = "{tmp_path / "c.db"}"\n[fit]\ninbox = ["{tmp_path / "inbox"}"]\n'
        "settle_seconds = 0\n"  # the broken file was just written: read it now
    )
    base_history(tmp_path / "inbox", weeks=1)
    (tmp_path / "inbox" / "broken.fit").write_bytes(b"\x0e\x20garbage")
    result = CliRunner().invoke(cli, ["--config", str(cfg_file), "sync"])
    assert result.exit_code == 0, result.output  # a bad file is recorded, not a failure
    assert "failed 1" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[fit]\ninbx = []\n")
    proc = subprocess.run(
        [sys.executable, "-m", "calfsync", "--config", str(bad), "sync"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "unknown key 'inbx' in [fit]" in proc.stderr


def test_sync_with_no_config_at_all_creates_the_default_inbox(isolated_env):
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 0, result.output
    assert (isolated_env / "calfsync" / "inbox").is_dir()
    assert (isolated_env / ".local" / "state" / "calfsync" / "calfsync.db").is_file()
