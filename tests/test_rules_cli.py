"""``calfsync replay``, ``alerts``, ``shoes`` and ``sore`` through click's CliRunner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from rules_support import REPLAY_KEYS, alert_rows, day, open_tmp_db, run, store, weeks

from calfsync.cli import cli


def invoke(db_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", str(db_path), *args], catch_exceptions=False)
    return result.exit_code, result.output


def seeded(tmp_path: Path, acts: list) -> Path:
    db = open_tmp_db(tmp_path)
    store(db, acts)
    db.close()
    return tmp_path / "calfsync.db"


def test_replay_prints_json_lines_and_writes_nothing(tmp_path: Path) -> None:
    path = seeded(tmp_path, [*weeks(6, 30), run(42, 16), run(60, 5)])
    code, out = invoke(path, "replay", "--json")
    assert code == 0
    found = [json.loads(line) for line in out.splitlines()]
    assert {"S1", "RET1"} <= {a["rule"] for a in found}
    for a in found:
        assert REPLAY_KEYS <= set(a)
    code, out = invoke(path, "replay", "--since", day(50), "--json")
    assert [json.loads(line)["rule"] for line in out.splitlines()] == ["RET1"]
    code, out = invoke(path, "replay", "-v")
    assert "would have fired" in out and "Not medical advice" in out
    assert alert_rows(open_tmp_db(tmp_path)) == []


def test_replay_rejects_a_bad_date(tmp_path: Path) -> None:
    path = seeded(tmp_path, [run(0, 5)])
    result = CliRunner().invoke(cli, ["--db", str(path), "replay", "--since", "March"])
    assert result.exit_code == 2 and "not a date" in result.output


def test_alerts_newest_first(tmp_path: Path) -> None:
    from rules_support import NOW, make_cfg

    from calfsync.sync import evaluate_dates

    db = open_tmp_db(tmp_path)
    evaluate_dates(db, make_cfg(), store(db, [*weeks(6, 30), run(42, 16), run(60, 5)]), NOW)
    db.close()
    path = tmp_path / "calfsync.db"
    code, out = invoke(path, "alerts", "--json")
    dates = [json.loads(line)["local_date"] for line in out.splitlines()]
    assert code == 0 and dates == sorted(dates, reverse=True) and len(dates) >= 3
    code, out = invoke(path, "alerts")
    assert "RET1" in out.splitlines()[0] and "[history]" in out


def test_shoes_add_assigns_runs_by_date_and_fires_g1(tmp_path: Path) -> None:
    path = seeded(tmp_path, [*weeks(4, 30), *weeks(2, 30, first_day=28, hour=8)])
    code, out = invoke(path, "shoes", "add", "Old trainer", "--drop", "10", "--from", day(0))
    assert code == 0 and "24 run(s)" in out
    code, out = invoke(path, "shoes", "add", "Racer", "--drop", "4", "--from", day(28))
    assert code == 0 and "8 run(s)" in out
    db = open_tmp_db(tmp_path)
    by_shoe = dict(db.execute("SELECT gear_id, COUNT(*) FROM activities GROUP BY gear_id"))
    assert by_shoe == {"m1": 16, "m2": 8}
    assert {r["rule"] for r in alert_rows(db)} >= {"G1", "G2"}
    code, out = invoke(path, "shoes")
    lines = out.splitlines()
    assert "Racer" in lines[1] and "4" in lines[1] and "800" in lines[1]
    assert "Old trainer" in lines[2] and " 16 " in lines[2]


def test_new_runs_get_the_shoe_of_their_date(tmp_path: Path) -> None:
    from rules_support import NOW, make_cfg

    from calfsync.sync import evaluate_dates

    path = seeded(tmp_path, weeks(2, 30))
    invoke(path, "shoes", "add", "Trainer", "--from", day(0))
    db = open_tmp_db(tmp_path)
    evaluate_dates(db, make_cfg(), store(db, [run(20, 8)]), NOW, mode="import")
    assert list(
        db.query("SELECT gear_id, gear_source FROM activities WHERE local_date = ?", [day(20)])
    ) == [{"gear_id": "m1", "gear_source": "date"}]
    strava = run(22, 8, gear="g9", aid="strava:9")
    strava.source, strava.raw = "strava", {"gear_id": "g9"}
    evaluate_dates(db, make_cfg(), store(db, [strava]), NOW, mode="import")
    invoke(path, "shoes", "add", "Racer", "--from", day(21))
    got = dict(
        db.execute("SELECT local_date, gear_id FROM activities WHERE local_date >= ?", [day(20)])
    )
    assert got == {day(20): "m1", day(22): "g9"}  # Strava's shoe wins over the dates


def test_shoes_set_and_assign(tmp_path: Path) -> None:
    acts = [*weeks(2, 30), run(14, 10, hour=9)]
    path = seeded(tmp_path, acts)
    invoke(path, "shoes", "add", "Trainer", "--from", day(0))
    invoke(path, "shoes", "add", "Spike", "--from", day(30))
    code, out = invoke(path, "shoes", "set", "Trainer", "--retire-at", "50", "--minimalist")
    assert code == 0
    db = open_tmp_db(tmp_path)
    assert [r["rule"] for r in alert_rows(db) if r["rule"] == "SW1"] == ["SW1"]
    code, out = invoke(path, "shoes", "assign", acts[-1].id, "m2")
    assert code == 0
    assert db.execute(
        "SELECT gear_id, gear_source FROM activities WHERE id = ?", [acts[-1].id]
    ).fetchone() == ("m2", "manual")
    result = CliRunner().invoke(cli, ["--db", str(path), "shoes", "assign", "nope", "m2"])
    assert result.exit_code == 1 and "no activity" in str(result.exception or result.output)
    result = CliRunner().invoke(cli, ["--db", str(path), "shoes", "set", "m1"])
    assert result.exit_code == 2


def test_sore_logs_lists_and_raises_p1(tmp_path: Path) -> None:
    path = tmp_path / "calfsync.db"
    today = datetime.now(UTC).date()
    for k in range(8, 0, -1):
        code, _ = invoke(path, "sore", "3", "--date", (today - timedelta(days=k)).isoformat())
        assert code == 0
    code, out = invoke(path, "sore", "4", "--note", "left calf")
    assert code == 0 and "P1" in out and "physiotherapist" in out
    code, out = invoke(path, "sore")
    assert out.splitlines()[0].startswith(today.isoformat()) and "left calf" in out
    db = open_tmp_db(tmp_path)
    assert [(r["rule"], r["pushed"]) for r in alert_rows(db)] == [("P1", "pending")]
    queued = db.execute("SELECT alert_id FROM notify_outbox").fetchall()
    assert queued == [(alert_rows(db)[0]["id"],)]  # queued for the console channel
    result = CliRunner().invoke(cli, ["--db", str(path), "sore", "11"])
    assert result.exit_code == 2
