"""``calfsync activity``: list the suspect activities, confirm one, correct a sport; the history
is judged again after each change. End to end through the CLI on a real SQLite file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from rules_support import NOW, make_cfg, open_tmp_db, run, store, weeks

from calfsync.cli import main
from calfsync.store.db import open_db
from calfsync.sync import evaluate_pending

Capture = pytest.CaptureFixture[str]


def invoke(capsys: Capture, db_path: Path, *args: str) -> tuple[int, str]:
    """``calfsync --db DB ARGS`` as the shell runs it: the exit code, stdout and stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(db_path), *args])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out + err


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Six weeks of 8 km runs, then: a 30 km run with an altimeter fault (day 45), a ride saved
    as a run (day 48) and a 20 km run saved as a ride (day 50). Judged once, as an import."""
    fault = run(45, 30, climb=20_000.0, aid="fault")
    ride = dataclasses.replace(
        run(48, 45, aid="ride"), moving_time_s=45 * 130.0, elapsed_time_s=45 * 135.0
    )
    mislabeled = run(50, 20, sport="cycling", sub_sport="generic", aid="mislabeled")
    db = open_tmp_db(tmp_path)
    store(db, [*weeks(6, 32), fault, ride, mislabeled])
    evaluate_pending(db, make_cfg(), NOW, mode="import")
    db.close()
    return tmp_path / "calfsync.db"


def row(db_path: Path, activity_id: str) -> dict[str, Any]:
    db = open_db(db_path)
    found = next(iter(db.query("SELECT * FROM activities WHERE id = ?", [activity_id])))
    db.close()
    return found


def rules_on(db_path: Path, activity_id: str) -> set[str]:
    db = open_db(db_path)
    found = {
        r[0] for r in db.execute("SELECT rule FROM alerts WHERE activity_id = ?", [activity_id])
    }
    db.close()
    return found


def test_list_suspect_shows_id_date_distance_and_reason(capsys: Capture, db_path: Path) -> None:
    code, out = invoke(capsys, db_path, "activity", "list", "--suspect")
    assert code == 0, out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert set(lines) == {"fault", "ride"}
    assert "2025-02-20" in lines["fault"] and "30.00 km" in lines["fault"]
    assert "climb" in lines["fault"] and "m/s" in lines["ride"]
    assert "calfsync activity confirm ID" in out
    code, out = invoke(capsys, db_path, "activity", "list", "--limit", "3")
    assert code == 0 and out.splitlines()[0].startswith("mislabeled")
    assert "[suspect:" in out


def test_confirm_counts_the_run_and_judges_the_history_again(
    capsys: Capture, db_path: Path
) -> None:
    assert rules_on(db_path, "fault") == set()  # suspect: no rule saw it
    code, out = invoke(capsys, db_path, "activity", "confirm", "fault")
    assert code == 0, out
    assert "Confirmed fault" in out and "judged again from 2025-02-20" in out
    assert row(db_path, "fault")["suspect_confirmed"] == 1
    assert row(db_path, "fault")["suspect"]  # the reason is kept
    assert "S1" in rules_on(db_path, "fault")  # 30 km after 8 km runs
    assert "S1: " in out and "[history]" in out  # a 2025 run: recorded, never pushed
    code, out = invoke(capsys, db_path, "activity", "confirm", "fault")
    assert code == 0 and "confirmed already" in out
    code, out = invoke(capsys, db_path, "activity", "list", "--suspect")
    assert "fault" not in out and "ride" in out


def test_sport_correction_rederives_the_reason_and_rejudges(capsys: Capture, db_path: Path) -> None:
    code, out = invoke(capsys, db_path, "activity", "sport", "ride", "cycling")
    assert code == 0, out
    assert "ride is now cycling (was running)" in out and "0 new alert(s)" in out
    assert row(db_path, "ride")["sport"] == "cycling" and row(db_path, "ride")["suspect"] is None
    assert rules_on(db_path, "mislabeled") == set()
    code, out = invoke(capsys, db_path, "activity", "sport", "mislabeled", "Running")
    assert code == 0, out
    assert row(db_path, "mislabeled")["suspect"] is None  # a plausible run: it counts
    assert "S1" in rules_on(db_path, "mislabeled")  # 20 km after 8 km runs


def test_alerts_already_recorded_are_never_retracted(capsys: Capture, db_path: Path) -> None:
    assert invoke(capsys, db_path, "activity", "confirm", "fault")[0] == 0
    assert "S1" in rules_on(db_path, "fault")
    code, out = invoke(capsys, db_path, "activity", "sport", "fault", "hiking")
    assert code == 0, out
    assert "S1" in rules_on(db_path, "fault")


def test_errors_name_the_fix(capsys: Capture, db_path: Path) -> None:
    code, out = invoke(capsys, db_path, "activity", "confirm", "nope")
    assert code == 1 and "no activity 'nope'" in out and "calfsync activity list" in out
    code, out = invoke(capsys, db_path, "activity", "sport", "nope", "cycling")
    assert code == 1 and "no activity 'nope'" in out
    code, out = invoke(capsys, db_path, "activity", "sport", "ride", "skydiving")
    assert code == 2 and "'skydiving' is not a sport" in out
    assert "cycling" in out and "running" in out and "walking" in out
    assert row(db_path, "ride")["sport"] == "running"  # nothing written
    code, out = invoke(capsys, db_path, "activity", "confirm", "r00000h07")
    assert code == 0 and "is not suspect" in out
    code, out = invoke(capsys, db_path, "activity", "sport", "ride", "running")
    assert code == 0 and "nothing to change" in out
    code, out = invoke(capsys, db_path, "activity", "confirm")
    assert code == 2 and "Missing argument 'ID'" in out


def test_a_resync_keeps_the_runners_sport(capsys: Capture, db_path: Path) -> None:
    """The source sends the ride again, still saved as a run (a re-sync, an edit of its name on
    Strava): the runner's correction stays, the new name is taken."""
    code, out = invoke(capsys, db_path, "activity", "sport", "ride", "cycling")
    assert code == 0, out
    again = dataclasses.replace(
        run(48, 45, aid="ride"), moving_time_s=45 * 130.0, elapsed_time_s=45 * 135.0, name="Ride"
    )
    db = open_db(db_path)
    store(db, [again])
    db.close()
    stored = row(db_path, "ride")
    assert (stored["sport"], stored["sub_sport"], stored["sport_by_runner"]) == (
        "cycling",
        "generic",
        1,
    )
    assert stored["name"] == "Ride" and stored["suspect"] is None
