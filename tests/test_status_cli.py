"""``calfsync status`` and ``calfsync doctor`` against real databases and loopback servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon_support import HealthyNtfy
from fakes.base import closed_port

from calfsync.cli import main
from calfsync.daemon import acquire_lock
from calfsync.model import utc_iso
from calfsync.store.db import open_db, write_tx
from calfsync.store.state import set_state

SECRET = "tk_status_must_never_show_this"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def make_config(tmp: Path, *, strava: bool = False, ntfy_url: str | None = None) -> Path:
    inbox = tmp / "inbox"
    inbox.mkdir(exist_ok=True)
    text = (
        f'[database]\npath = "{tmp / "c.db"}"\n[fit]\ninbox = ["{inbox}"]\n'
        '[athlete]\ntimezone = "UTC"\n[daemon]\nscan_seconds = 60\nflush_seconds = 60\n'
    )
    if strava:
        text += '[strava]\nclient_id = "42"\nclient_secret = "strava_secret_value"\n'
    text += (
        f'[[notify.channels]]\ntype = "ntfy"\nurl = "{ntfy_url or "http://127.0.0.1:9"}"\n'
        f'topic = "calves"\ntoken = "{SECRET}"\n'
    )
    path = tmp / "c.toml"
    path.write_text(text)
    return path


def healthy_state(db, now: datetime) -> None:
    with write_tx(db):
        for step in ("fit", "deliver", "evaluate", "strava"):
            set_state(db, f"cycle.{step}.last_run", utc_iso(now - timedelta(seconds=30)))
            set_state(db, f"cycle.{step}.last_ok", utc_iso(now - timedelta(seconds=30)))
        set_state(db, "daemon.next.fit", utc_iso(now + timedelta(seconds=30)))


def add_activity(db, day: str, activity_id: str) -> None:
    db.execute(
        "INSERT INTO activities(id, source, start_time, local_date, utc_offset_s, sport, "
        "distance_m) VALUES (?, 'fit', ?, ?, 0, 'running', 8000)",
        [activity_id, f"{day}T07:00:00Z", day],
    )


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_status_healthy_json(tmp_path: Path, capsys, now: datetime) -> None:
    config = make_config(tmp_path)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    add_activity(db, "2026-01-05", "a")
    add_activity(db, "2026-03-01", "b")
    db.close()
    code, out, err = cli(capsys, "--config", str(config), "status", "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["ok"] is True
    assert report["activities"] == {
        "count": 2,
        "runs": 2,
        "first_date": "2026-01-05",
        "last_date": "2026-03-01",
    }
    assert report["steps"]["fit"]["last_ok"] == utc_iso(now - timedelta(seconds=30))
    assert report["daemon"]["running"] is False
    assert report["steps"]["fit"]["next"] is None  # no daemon, nothing scheduled
    assert report["database"]["size_bytes"] > 0
    assert report["strava"] is None
    assert SECRET not in out


def test_status_lists_suspect_activities_without_failing(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    add_activity(db, "2026-03-01", "fine")
    add_activity(db, "2026-03-02", "ride")
    add_activity(db, "2026-03-03", "checked")
    db.execute(
        "UPDATE activities SET distance_m = 52000, suspect = 'average 8.1 m/s over 52.0 km: "
        "a ride or a drive?' WHERE id IN ('ride', 'checked')"
    )
    db.execute("UPDATE activities SET suspect_confirmed = 1 WHERE id = 'checked'")
    db.close()
    code, out, err = cli(capsys, "--config", str(config), "status")
    assert code == 0, out + err  # listed, not a problem
    assert "suspect    not counted until confirmed or corrected (calfsync activity):" in out
    lines = [line for line in out.splitlines() if line.startswith("  ride ")]
    assert lines == [
        "  ride  2026-03-02  52.00 km  average 8.1 m/s over 52.0 km: a ride or a drive?"
    ]
    assert "checked" not in out and "  fine " not in out
    code, out, _err = cli(capsys, "--config", str(config), "status", "--json")
    assert json.loads(out)["suspects"] == [
        {
            "id": "ride",
            "local_date": "2026-03-02",
            "sport": "running",
            "distance_km": 52.0,
            "reason": "average 8.1 m/s over 52.0 km: a ride or a drive?",
        }
    ]
    assert json.loads(out)["activities"]["runs"] == 2  # the suspect one is not a counted run


def test_status_shows_the_daemon_and_its_next_run(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    db.close()
    lock = acquire_lock(tmp_path / "c.db")  # as a running daemon holds it
    try:
        code, out, _err = cli(capsys, "--config", str(config), "status")
    finally:
        lock.close()
    assert code == 0
    assert "running (pid" in out
    assert "next " + utc_iso(now + timedelta(seconds=30)) in out


def test_status_exit_1_when_the_last_cycle_is_stale(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    set_state(db, "cycle.fit.last_ok", utc_iso(now - timedelta(minutes=4)))  # > 3 x 60 s
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "status")
    assert code == 1
    assert "NEEDS ATTENTION" in out
    assert "fit: last success" in out and "older than 3 intervals" in out


def test_status_exit_1_when_nothing_ran_yet(tmp_path: Path, capsys) -> None:
    config = make_config(tmp_path)
    open_db(tmp_path / "c.db").close()
    code, out, _err = cli(capsys, "--config", str(config), "status", "--json")
    assert code == 1
    assert any("no successful run yet" in p for p in json.loads(out)["problems"])


def test_status_exit_1_when_a_step_failed(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    set_state(db, "cycle.deliver.last_error", "ntfy: 401 unauthorized")
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "status")
    assert code == 1
    assert "deliver: the last attempt failed: ntfy: 401 unauthorized" in out


def test_status_strava_needs_reauthorization(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path, strava=True)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    set_state(db, "strava.status", "needs_reauth")
    set_state(db, "strava.message", "Strava refused the refresh token")
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "status", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["strava"]["status"] == "needs_reauth"
    assert any("calfsync auth strava" in p for p in report["problems"])
    assert "strava_secret_value" not in out


def test_status_strava_rate_limited_is_shown_not_a_problem(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path, strava=True)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    until = utc_iso(now + timedelta(hours=2))
    set_state(db, "strava.status", "rate_limited")
    set_state(db, "strava.rate_limited_until", until)
    set_state(db, "strava.last_ok", utc_iso(now - timedelta(hours=5)))  # paused, not stale
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "status")
    assert code == 0, out
    assert f"strava     rate_limited until {until}" in out


def test_status_strava_failing_for_three_polls_is_stale(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path, strava=True)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)  # the step itself ran a minute ago...
    set_state(db, "strava.status", "error")
    set_state(db, "strava.message", "Strava answered 503; retrying next poll")
    set_state(db, "strava.last_ok", utc_iso(now - timedelta(minutes=95)))  # ...Strava did not
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "status")
    assert code == 1
    assert "strava: last success" in out and "older than 3 intervals" in out
    assert "Strava answered 503" in out


def test_status_counts_pending_and_dead_pushes(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path)
    db = open_db(tmp_path / "c.db")
    healthy_state(db, now)
    with write_tx(db):
        db.execute(
            "INSERT INTO alerts(id, rule, episode_key, local_date, severity, title, body, "
            "\"values\") VALUES (1, 'S1', 'S1:a', '2026-11-25', 'moderate', 't', 'b', '{}')"
        )
        for i, state in enumerate(["pending", "pending", "dead"]):
            db.execute(
                "INSERT INTO notify_outbox(alert_id, channel, channel_type, dedupe_key, state, "
                "next_attempt_at, created_at, last_error) "
                "VALUES (1, 'ntfy', 'ntfy', ?, ?, ?, ?, ?)",
                [
                    f"k{i}",
                    state,
                    utc_iso(now),
                    utc_iso(now),
                    f"401 unauthorized for {SECRET}" if state == "dead" else None,
                ],
            )
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "status", "--json")
    assert code == 1  # a push died this week: the runner has to fix the channel
    report = json.loads(out)
    assert (report["pushes"]["pending"], report["pushes"]["dead"]) == (2, 1)
    assert SECRET not in out


def test_status_without_a_database_names_the_fix(tmp_path: Path, capsys) -> None:
    config = make_config(tmp_path)
    code, _out, err = cli(capsys, "--config", str(config), "status")
    assert code == 1
    assert "no database" in err and "calfsync sync" in err


# --------------------------------------------------------------------------- doctor


def test_doctor_all_good_with_a_healthy_ntfy(tmp_path: Path, capsys) -> None:
    with HealthyNtfy() as ntfy:
        config = make_config(tmp_path, ntfy_url=ntfy.url)
        open_db(tmp_path / "c.db").close()
        code, out, _err = cli(capsys, "--config", str(config), "doctor")
        assert [r.path for r in ntfy.requests] == [] or all(
            r.method == "GET" for r in ntfy.requests
        )
        assert ntfy.pushes() == []  # doctor never publishes
    assert code == 0, out
    assert "ok   push ntfy: ntfy http://127.0.0.1" in out and "healthy" in out
    assert "schema current" in out
    assert "all checks passed" in out
    assert SECRET not in out


def test_doctor_reports_unreachable_and_unhealthy_channels(tmp_path: Path, capsys) -> None:
    config = make_config(tmp_path, ntfy_url=f"http://127.0.0.1:{closed_port()}")
    code, out, _err = cli(capsys, "--config", str(config), "doctor")
    assert code == 1
    assert "FAIL push ntfy" in out and "unreachable" in out
    assert "fix: check the url" in out

    with HealthyNtfy() as ntfy:
        ntfy.healthy = False
        config = make_config(tmp_path, ntfy_url=ntfy.url)
        code, out, _err = cli(capsys, "--config", str(config), "doctor")
    assert code == 1
    assert "/v1/health answered 200" in out


def test_doctor_checks_plain_http_channels(tmp_path: Path, capsys) -> None:
    with HealthyNtfy() as server:  # any HTTP server answers a reachability check
        config = make_config(tmp_path)
        text = config.read_text() + (
            f'[[notify.channels]]\ntype = "gotify"\nurl = "{server.url}"\ntoken = "x1234"\n'
        )
        config.write_text(text.replace("http://127.0.0.1:9", server.url))
        code, out, _err = cli(capsys, "--config", str(config), "doctor")
    assert "ok   push gotify: gotify http://127.0.0.1" in out and "reachable (HTTP" in out
    assert code == 0, out


def test_doctor_inbox_and_strava_problems(tmp_path: Path, capsys) -> None:
    config = make_config(tmp_path, strava=True)
    (tmp_path / "inbox").rmdir()
    (tmp_path / "inbox").write_text("a file, not a folder")
    code, out, _err = cli(capsys, "--config", str(config), "doctor")
    assert code == 1
    assert "FAIL inbox" in out and "is not a folder" in out
    assert "FAIL strava token" in out and "calfsync auth strava" in out
    assert "strava_secret_value" not in out


def test_doctor_strava_token_state(tmp_path: Path, capsys, now) -> None:
    config = make_config(tmp_path, strava=True)
    db = open_db(tmp_path / "c.db")
    set_state(db, "strava.status", "ok")
    set_state(db, "strava.token_expires_at", utc_iso(now - timedelta(hours=1)))
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "doctor")
    assert "ok   strava token: access token expired" in out and "refreshed" in out

    db = open_db(tmp_path / "c.db")
    set_state(db, "strava.status", "inactive")
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "doctor")
    assert code == 1
    assert "Inactive" in out and "subscription" in out


def test_doctor_invalid_config(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[daemon]\nflush = 3\n")
    code, out, _err = cli(capsys, "--config", str(bad), "doctor")
    assert code == 1
    assert "FAIL config" in out and "unknown key 'flush'" in out
    assert "fix: edit the file" in out


def test_doctor_warns_about_pending_migrations(tmp_path: Path, capsys) -> None:
    ntfy = HealthyNtfy().start()
    config = make_config(tmp_path, ntfy_url=ntfy.url)
    db = open_db(tmp_path / "c.db")
    last = db.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid DESC LIMIT 1").fetchone()
    db.execute("DELETE FROM _sqlite_migrations WHERE name = ?", [last[0]])  # an older schema
    db.close()
    try:
        code, out, _err = cli(capsys, "--config", str(config), "doctor")
    finally:
        ntfy.stop()
    assert f"warn database: {tmp_path / 'c.db'}: 1 migration(s) pending ({last[0]})" in out
    assert "they run automatically at the next start" in out
    assert code == 0, out  # a warning, not a failure: the daemon migrates at start


def test_status_says_the_strava_state_once(tmp_path: Path, capsys) -> None:
    config = make_config(tmp_path, strava=True)
    db = open_db(tmp_path / "c.db")
    set_state(db, "strava.status", "inactive")
    set_state(db, "strava.message", "inactive: the Strava app needs a paid subscription")
    db.close()
    code, out, _err = cli(capsys, "--config", str(config), "status")
    assert code == 1
    assert "strava     inactive: the Strava app needs a paid subscription" in out
    assert "inactive: inactive" not in out
