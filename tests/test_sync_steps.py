"""The one step runner: what it records, what a failure lets run, and the daemon's jobs.

Real FIT files in a real SQLite file; a step is made to fail by registering a failing function
under its name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_sync_cycle import base_history, config, write_run

from calfsync import secrets, sync
from calfsync.errors import CalfsyncError
from calfsync.store.db import open_db
from calfsync.store.state import get_state

NOW = datetime.now(UTC).replace(microsecond=0)
LEAKED = "tok_0123456789_never_in_state"


def failing_fit(db, cfg, now):
    raise CalfsyncError(f"cannot read the inbox with token {LEAKED}")


def test_a_failed_step_is_recorded_redacted_and_the_next_steps_still_run(tmp_path, monkeypatch):
    secrets.register(LEAKED)
    monkeypatch.setitem(sync.REGISTRY, "fit", sync.Step("fit", failing_fit))
    cfg = config(tmp_path)
    db = open_db(cfg.db_path)

    report = sync.run_cycle(db, cfg, NOW)

    assert set(report.errors) == {"fit"} and report.failed == report.errors
    assert LEAKED not in report.errors["fit"] and secrets.MASK in report.errors["fit"]
    error = get_state(db, "cycle.fit.last_error")
    assert error == report.errors["fit"] and LEAKED not in error
    assert get_state(db, "cycle.fit.last_ok") is None
    for step in ("evaluate", "deliver"):  # the steps after the failed one ran, and say so
        assert get_state(db, f"cycle.{step}.last_ok") == get_state(db, "cycle.last_run")
        assert get_state(db, f"cycle.{step}.last_error") is None
    assert get_state(db, "cycle.last_ok") is None  # a cycle with a failed step is not ok


def test_a_success_clears_the_step_error(tmp_path):
    cfg = config(tmp_path)
    db = open_db(cfg.db_path)
    db.execute("INSERT INTO state(key, value) VALUES ('cycle.fit.last_error', 'old')")
    assert sync.run_cycle(db, cfg, NOW).ok
    assert get_state(db, "cycle.fit.last_error") is None


def test_the_fit_job_delivers_only_when_it_made_alerts(tmp_path):
    cfg = config(tmp_path)
    base_history(tmp_path / "inbox")
    history = sync.run_job(cfg, "fit", NOW)  # old runs: alerts recorded, never pushed
    assert history.ok and history.fit.imported
    assert history.line().startswith("imported ")

    write_run(tmp_path / "inbox", NOW - timedelta(hours=3), 16, "long")
    fresh = sync.run_job(cfg, "fit", NOW)
    assert fresh.ok and fresh.alert_ids and fresh.delivery is not None
    assert f"{len(fresh.alert_ids)} new alert(s); pushes:" in fresh.line()

    idle = sync.run_job(cfg, "fit", NOW + timedelta(minutes=1))
    assert idle.delivery is None and "deliver" not in idle.reports
    assert idle.idle and idle.line() == "nothing to do"


def test_a_job_whose_database_cannot_be_opened_reports_the_fix(tmp_path: Path):
    (tmp_path / "c.db").write_text("not a database, but a text file")
    report = sync.run_job(config(tmp_path), "deliver", NOW)
    assert set(report.errors) == {"deliver"} and not report.ok
    assert str(tmp_path / "c.db") in report.errors["deliver"]


@pytest.mark.parametrize("job", sorted(sync.JOBS))
def test_every_job_is_a_plan_of_registered_steps(job):
    assert sync.JOBS[job] and all(name in sync.STEPS for name, _when in sync.JOBS[job])


def test_steps_are_named_once():
    assert len(set(sync.STEPS)) == len(sync.STEPS)
    core = ("fit", "strava", "intervals", "evaluate", "digest", "deliver", "nightly", "replies")
    assert set(core) <= set(sync.STEPS)  # features add steps of their own (mqtt, report...)
    assert {name for name, _when in sync.CYCLE} <= set(sync.STEPS)
