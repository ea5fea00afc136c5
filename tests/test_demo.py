"""`calfsync demo`: the first thing a newcomer runs must work with no configuration at all."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from click.testing import CliRunner

from calfsync.cli import cli
from calfsync.demo import plan


def test_plan_spans_12_to_16_weeks_and_ends_today():
    today = date(2026, 11, 26)
    runs = plan(today)
    span_days = (runs[-1].day - runs[0].day).days
    assert 12 * 7 <= span_days <= 16 * 7
    assert runs[-1].day == today
    gaps = [(b.day - a.day).days for a, b in zip(runs, runs[1:], strict=False)]
    assert max(gaps) >= 14  # the layoff the demo returns from
    assert all(g >= 0 for g in gaps)


def test_demo_runs_the_whole_pipeline_and_shows_alerts(tmp_path: Path):
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Weekly load" in out and "sqlite3" in out
    assert "[calfsync push" in out  # the console 'phone' received the fresh alerts
    db = sqlite3.connect(tmp_path / "demo" / "calfsync-demo.db")
    rules = {r for (r,) in db.execute("SELECT DISTINCT rule FROM alerts")}
    assert {"S1", "RET1", "H1", "I1", "G1"} <= rules
    pushed = {r for (r,) in db.execute("SELECT DISTINCT rule FROM alerts WHERE pushed = 'sent'")}
    assert pushed and pushed <= rules
    # only fresh runs push: every sent alert is of the last three days
    old_sent = db.execute(
        "SELECT COUNT(*) FROM alerts WHERE pushed = 'sent' "
        "AND local_date < (SELECT date(MAX(local_date), '-3 days') FROM activities)"
    ).fetchone()[0]
    assert old_sent == 0
    weeks = db.execute("SELECT COUNT(*) FROM weekly_load").fetchone()[0]
    assert weeks >= 12


def test_demo_shows_a_suspect_ride_the_delivery_classes_and_a_digest(tmp_path: Path):
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.output
    db = sqlite3.connect(tmp_path / "demo" / "calfsync-demo.db")
    # the ride saved as a run: stored, listed with its reason, counted by nothing
    ((ride_id, reason, km),) = db.execute(
        "SELECT id, suspect, distance_m / 1000 FROM activities WHERE suspect IS NOT NULL"
    ).fetchall()
    assert km == 42 and "m/s" in reason
    assert "Suspect activities, counted by no rule and no load view:" in out
    assert f"  {ride_id}  " in out and reason in out
    assert f"activity sport {ride_id} cycling" in out
    assert (
        db.execute("SELECT COUNT(*) FROM alerts WHERE activity_id = ?", [ride_id]).fetchone()[0]
        == 0
    )
    # the fresh alerts: class now was pushed, class digest waits for the digest
    fresh = db.execute(
        "SELECT rule, delivery, pushed FROM alerts WHERE pushed NOT IN ('history', 'imported')"
    ).fetchall()
    assert {d for _, d, _ in fresh} == {"now", "digest"}
    assert all(p == ("sent" if d == "now" else "digest") for _, d, p in fresh)
    now_rules = ", ".join(r for r, d, _ in fresh if d == "now")
    digest_rules = ", ".join(r for r, d, _ in fresh if d == "digest")
    assert f"Pushed at once (now): {now_rules}" in out
    assert f"Waiting for the digest (digest): {digest_rules}" in out
    # one digest, composed and printed: it lists what waits for it
    digest = out.split("The weekly digest")[1]
    assert "Your week: " in digest and "The four weeks before" in digest
    assert "Findings that did not need a push at once" in digest
    assert "Not medical advice." in digest
    assert db.execute("SELECT COUNT(*) FROM alerts WHERE rule = 'DIGEST'").fetchone()[0] == 0


def test_plan_holds_one_ride_saved_as_a_run_in_the_push_window():
    today = date(2026, 11, 26)
    rides = [r for r in plan(today) if r.kind == "ride"]
    assert len(rides) == 1 and (today - rides[0].day).days <= 3


def test_demo_twice_starts_fresh(tmp_path: Path):
    runner = CliRunner()
    counts = []
    for _ in range(2):
        result = runner.invoke(cli, ["demo", "--dir", str(tmp_path / "d")])
        assert result.exit_code == 0, result.output
        db = sqlite3.connect(tmp_path / "d" / "calfsync-demo.db")
        counts.append(
            db.execute(
                "SELECT (SELECT COUNT(*) FROM activities), (SELECT COUNT(*) FROM alerts)"
            ).fetchone()
        )
        db.close()
    assert counts[0] == counts[1]
    assert counts[0][0] == len(plan(datetime.now(UTC).date()))  # tests run with TZ=UTC
