"""intervals.icu as a source, against the loopback stand-in (tests/fakes/intervals.py).

Each test polls through the daemon's ``intervals`` job (:data:`calfsync.sync.JOBS`): the step,
then the evaluation and delivery it triggers, on a real SQLite file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from fakes.intervals import API_KEY, ATHLETE_ID, FakeIntervals

from calfsync import sync
from calfsync.cli import main
from calfsync.config import Config, validate
from calfsync.daemon import Daemon
from calfsync.ingest import intervals as ingest
from calfsync.sources.intervals import client as icu_client
from calfsync.sources.intervals.state import Key, summary
from calfsync.store.db import open_db
from calfsync.store.gear import add_shoe
from calfsync.store.state import get_state, set_state

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_spacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests unspaced (the real client keeps 0.1 s between them): the tests stay fast."""
    monkeypatch.setattr(icu_client, "REQUEST_SPACING_S", 0.0)


@pytest.fixture
def icu() -> Iterator[FakeIntervals]:
    with FakeIntervals() as server:
        yield server


def make_config(tmp_path: Path, icu: FakeIntervals, **section: Any) -> Config:
    return validate(
        {
            "database": {"path": str(tmp_path / "calfsync.db")},
            "fit": {"inbox": [str(tmp_path / "inbox")]},
            "athlete": {"timezone": "Europe/Paris"},
            "intervals": {
                "athlete_id": ATHLETE_ID,
                "api_key": API_KEY,
                "api_url": icu.url,
                "timeout_s": 1,
                **section,
            },
        }
    )


@pytest.fixture
def icu_cfg(tmp_path: Path, icu: FakeIntervals) -> Config:
    return make_config(tmp_path, icu)


@pytest.fixture
def icu_db(icu_cfg: Config) -> Iterator[sqlite_utils.Database]:
    db = open_db(icu_cfg.db_path)
    yield db
    db.close()


def poll(db: sqlite_utils.Database, cfg: Config, now: datetime = NOW) -> sync.CycleReport:
    return sync.run_steps(db, cfg, now, sync.JOBS["intervals"])


def runs(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM activities WHERE deleted = 0 ORDER BY start_time"))


def status_of(db: sqlite_utils.Database) -> dict[str, Any]:
    return summary(dict(db.execute("SELECT key, value FROM state").fetchall()))


def lists(icu: FakeIntervals) -> list[str]:
    return [p for p in icu.paths() if p.endswith("/activities")]


# --------------------------------------------------------------------------- importing


def test_first_poll_imports_runs_with_names_and_shoes(icu, icu_cfg, icu_db) -> None:
    add_shoe(icu_db, "Pegasus 40", "2026-01-01")  # the runner's own entry, matched by name
    icu.add_run(at(2026, 3, 1, 6), name="Easy loop", shoe="PEGASUS 40", gzipped=True)
    icu.add_run(at(2026, 3, 3, 6), km=14, name="Long-ish", shoe="PEGASUS 40")
    icu.add_run(at(2026, 3, 5, 17), km=8, name="Hill reps", shoe="Trail Beast", shoe_id="g777")

    report = poll(icu_db, icu_cfg)

    assert report.errors == {}
    got = runs(icu_db)
    assert [r["name"] for r in got] == ["Easy loop", "Long-ish", "Hill reps"]
    assert [r["local_date"] for r in got] == ["2026-03-01", "2026-03-03", "2026-03-05"]
    assert [r["gear_id"] for r in got] == ["m1", "m1", "icu-g777"]
    assert all(r["gear_source"] is None for r in got)  # the source's shoe, kept by evaluation
    assert round(got[1]["distance_m"]) == 14000  # from the FIT file itself
    shoe = icu_db["gear"].get("icu-g777")
    assert (shoe["name"], shoe["source"]) == ("Trail Beast", "intervals")
    paths = [r[0] for r in icu_db.execute("SELECT path FROM fit_files ORDER BY path")]
    assert paths == sorted(f"intervals.icu {a}" for a in icu.activities)
    assert len(lists(icu)) == 1 and len(icu.downloads()) == 3
    assert status_of(icu_db)["imported"] == 3
    assert report.reports["intervals"].imported == 3


def test_idle_poll_costs_one_list_request_and_no_download(icu, icu_cfg, icu_db) -> None:
    for day in (1, 3, 5):
        icu.add_run(at(2026, 3, day, 6), shoe="Pegasus 40")
    poll(icu_db, icu_cfg)
    before = len(icu.paths())
    for activity in icu.activities.values():  # the shoe's own total grew (another run in it)
        activity.gear = {**(activity.gear or {}), "distance": 654321.0}

    report = poll(icu_db, icu_cfg, NOW + timedelta(minutes=30))

    assert report.errors == {}
    new = icu.paths()[before:]
    assert new == [f"/api/v1/athlete/{ATHLETE_ID}/activities"]
    req = icu.requests[-1]
    assert req.query["oldest"] == "2026-02-26"  # newest start seen (5 March) less 7 days
    assert report.reports["intervals"].imported == 0
    assert report.reports["intervals"].updated == 0
    assert sync.is_idle(report.reports["intervals"])  # logged at debug, no report rewrite
    assert len(runs(icu_db)) == 3


def test_an_edit_in_the_reread_window_renames_and_reshoes_without_a_download(
    icu, icu_cfg, icu_db
) -> None:
    first = icu.add_run(at(2026, 3, 1, 6), name="Morning Run", shoe="Pegasus 40")
    poll(icu_db, icu_cfg)
    downloads = len(icu.downloads())
    first.name = "Tempo 3x2k"
    first.gear = {"id": "g9", "name": "Vaporfly", "distance": 1.0, "primary": False}
    late = icu.add_run(at(2026, 2, 27, 6), name="Uploaded late")  # inside the 7 days

    report = poll(icu_db, icu_cfg, NOW + timedelta(hours=1))

    assert report.errors == {}
    by_name = {r["name"]: r for r in runs(icu_db)}
    assert set(by_name) == {"Tempo 3x2k", "Uploaded late"}
    assert by_name["Tempo 3x2k"]["gear_id"] == "icu-g9"
    assert icu.downloads()[downloads:] == [f"/api/v1/activity/{late.id}/file"]
    assert report.reports["intervals"].updated == 1


def test_strava_sourced_stubs_are_skipped_and_counted_in_status(
    tmp_path, icu, icu_db, capsys
) -> None:
    icu.add_run(at(2026, 3, 1, 6), name="From the watch")
    icu.add_run(at(2026, 3, 2, 6), source="STRAVA")
    icu.add_run(at(2026, 3, 4, 6), source="STRAVA")
    config = tmp_path / "c.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "calfsync.db"}"\n[athlete]\ntimezone = "UTC"\n'
        f'[intervals]\nathlete_id = "{ATHLETE_ID}"\napi_key = "{API_KEY}"\n'
        f'api_url = "{icu.url}"\n'
    )

    with pytest.raises(SystemExit):
        main(["--config", str(config), "sync"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--config", str(config), "status", "--json"])
    report = json.loads(capsys.readouterr().out)
    with pytest.raises(SystemExit):
        main(["--config", str(config), "status"])
    text = capsys.readouterr().out

    assert [r["name"] for r in runs(icu_db)] == ["From the watch"]
    assert len(icu.downloads()) == 1  # never asked for a stub's file
    assert report["intervals"]["imported"] == 1
    assert report["intervals"]["strava_skipped"] == 2
    assert "2 Strava-sourced skipped" in text
    steps = [line.split() for line in text.splitlines() if "last ok" in line]
    assert ["intervals", "last", "ok"] in [words[:3] for words in steps]  # not "intervalslast"
    assert report["steps"]["intervals"]["interval_s"] == 1800.0
    assert not any(p.startswith("intervals") for p in report["problems"])
    set_state(icu_db, "cycle.intervals.last_ok", "2026-01-01T00:00:00Z")  # no poll since
    with pytest.raises(SystemExit) as stale:
        main(["--config", str(config), "status", "--json"])
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert stale.value.code == 1
    assert any(p.startswith("intervals: last success 2026-01-01") for p in problems)
    assert API_KEY not in text


def test_a_long_history_is_listed_page_by_page_over_polls(
    icu, icu_cfg, icu_db, monkeypatch
) -> None:
    monkeypatch.setattr(ingest, "PAGE", 3)  # 3 activities a listing request ...
    monkeypatch.setattr(ingest, "MAX_DOWNLOADS", 4)  # ... 4 downloads a poll
    for day in range(1, 11):
        icu.add_run(at(2026, 2, day, 6), name=f"Run {day}")

    reports = [poll(icu_db, icu_cfg, NOW + timedelta(minutes=30 * i)) for i in range(4)]

    assert all(r.errors == {} for r in reports)
    assert [r.reports["intervals"].imported for r in reports] == [4, 4, 2, 0]
    assert "goes on next poll" in reports[0].reports["intervals"].message
    assert [r["name"] for r in runs(icu_db)] == [f"Run {d}" for d in range(1, 11)]
    assert len(icu.downloads()) == 10  # each file once
    assert get_state(icu_db, Key.BACKFILL) is None
    assert get_state(icu_db, Key.NEWEST) == "2026-02-10T07:00:00"
    last = [r for r in icu.requests if r.path.endswith("/activities")][-1]
    assert last.query["oldest"] == "2026-02-03"  # done: only the last 7 days again


def test_the_daemon_polls_every_poll_minutes_when_configured(tmp_path, icu) -> None:
    cfg = make_config(tmp_path, icu, poll_minutes=15)
    daemon = Daemon(cfg, reload=lambda: cfg)
    assert daemon._triggers(cfg)["intervals"].interval == timedelta(minutes=15)
    off = make_config(tmp_path, icu, enabled=False)
    assert "intervals" not in daemon._triggers(off)
    assert "intervals" not in daemon._triggers(make_config(tmp_path, icu, api_key=""))


def test_the_key_may_come_from_the_systemd_credential(tmp_path, icu, monkeypatch) -> None:
    credentials = tmp_path / "credentials"  # as the unit's LoadCredential=intervals_api_key
    credentials.mkdir()
    (credentials / "intervals_api_key").write_text(API_KEY + "\n")
    cfg = make_config(tmp_path, icu, api_key=None)
    assert not ingest.configured(cfg)  # no key anywhere: the step does not run
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert ingest.configured(cfg)
    icu.add_run(at(2026, 3, 1, 6), name="Via credential")
    db = open_db(cfg.db_path)
    assert poll(db, cfg).errors == {}
    assert [r["name"] for r in runs(db)] == ["Via credential"]
    db.close()


# --------------------------------------------------------------------------- failures


def test_wrong_key_fails_with_the_fix_and_pushes_one_notice(tmp_path, icu) -> None:
    cfg = make_config(tmp_path, icu, api_key="not-the-key-123")
    db = open_db(cfg.db_path)
    icu.add_run(at(2026, 3, 1, 6))

    first = poll(db, cfg)
    second = poll(db, cfg, NOW + timedelta(days=1))  # still wrong the next day: no new push

    error = first.errors["intervals"]
    assert "API key is wrong" in error and "401" in error and "api_key_file" in error
    assert "not-the-key-123" not in error
    assert "API key is wrong" in second.errors["intervals"]
    notices = list(db.query("SELECT * FROM alerts WHERE rule = 'INTERVALS'"))
    assert len(notices) == 1 and "API key is wrong" in notices[0]["body"]
    assert notices[0]["title"] == "intervals.icu needs you"
    queued = db.execute("SELECT COUNT(*) FROM notify_outbox WHERE alert_id = ?", [notices[0]["id"]])
    assert queued.fetchone()[0] >= 1  # its push is queued with it
    assert runs(db) == []
    assert get_state(db, Key.STATUS) == "wrong_key"
    db.close()


def test_rate_limit_ends_the_step_and_the_next_poll_continues(icu, icu_cfg, icu_db) -> None:
    for day in (1, 2, 3):
        icu.add_run(at(2026, 3, day, 6))
    icu.fail_next(429, headers={"Retry-After": "120"})

    first = poll(icu_db, icu_cfg)
    assert first.errors == {}  # not a failure: the service asked to wait
    assert first.reports["intervals"].state == "rate_limited"
    assert get_state(icu_db, Key.NEXT_TRY) == "2026-03-10T12:02:00Z"
    sent = len(icu.paths())

    waiting = poll(icu_db, icu_cfg, NOW + timedelta(seconds=60))
    assert len(icu.paths()) == sent  # nothing sent before Retry-After is over
    assert "waiting until" in waiting.reports["intervals"].message

    later = poll(icu_db, icu_cfg, NOW + timedelta(seconds=121))
    assert later.errors == {} and later.reports["intervals"].imported == 3
    assert len(runs(icu_db)) == 3


def test_a_429_between_downloads_keeps_what_was_imported(icu, icu_cfg, icu_db) -> None:
    icu.per_second = 3  # the list and two files, then 429 (Retry-After: 1)
    for day in (1, 2, 3, 4, 5):
        icu.add_run(at(2026, 3, day, 6))

    first = poll(icu_db, icu_cfg)
    assert first.reports["intervals"].state == "rate_limited"
    assert len(runs(icu_db)) == 2
    icu.per_second = None

    later = poll(icu_db, icu_cfg, NOW + timedelta(seconds=2))
    assert later.errors == {}
    assert len(runs(icu_db)) == 5
    assert len(icu.downloads()) == 3 + 3  # 2 imported + 1 answered 429, then the other 3
    assert len({r["id"] for r in runs(icu_db)}) == 5


def test_service_down_fails_the_step_and_loses_nothing(tmp_path, icu) -> None:
    cfg = make_config(tmp_path, icu, timeout_s=0.5)
    db = open_db(cfg.db_path)
    icu.add_run(at(2026, 3, 1, 6))
    icu.add_run(at(2026, 3, 2, 6))

    icu.fail_next(503)
    down = poll(db, cfg)
    assert "intervals.icu is having trouble (HTTP 503" in down.errors["intervals"]

    icu.delay_next(1.5)
    slow = poll(db, cfg, NOW + timedelta(minutes=30))
    assert "did not answer within 0.5 s" in slow.errors["intervals"]
    assert runs(db) == []

    icu.malformed_next()
    odd = poll(db, cfg, NOW + timedelta(minutes=60))
    assert "where the API description has a list" in odd.errors["intervals"]

    back = poll(db, cfg, NOW + timedelta(minutes=90))
    assert back.errors == {} and len(runs(db)) == 2
    again = poll(db, cfg, NOW + timedelta(minutes=120))
    assert again.reports["intervals"].imported == 0 and len(runs(db)) == 2
    assert get_state(db, "cycle.intervals.last_error") is None
    db.close()


def test_a_corrupt_or_refused_file_fails_alone_with_its_reason(icu, icu_cfg, icu_db) -> None:
    icu.add_run(at(2026, 3, 1, 6), name="Fine")
    junk = icu.add_run(at(2026, 3, 2, 6), file=b"this is no FIT file, just text " * 4)
    damaged = icu.add_run(at(2026, 3, 3, 6))
    damaged.file = damaged.file[:-1] + bytes([damaged.file[-1] ^ 0xFF])  # a bad file CRC
    gone = icu.add_run(at(2026, 3, 4, 6))
    icu.refuse[gone.id] = 404  # listed, but its file is gone by the time it is asked for
    held_back = icu.add_run(at(2026, 3, 4, 18))
    icu.refuse[held_back.id] = 422  # a Strava copy the list did not mark as one
    icu.add_run(at(2026, 3, 5, 6), name="Also fine", gzipped=True)

    report = poll(icu_db, icu_cfg)

    assert report.errors == {}
    assert [r["name"] for r in runs(icu_db)] == ["Fine", "Also fine"]
    step = report.reports["intervals"]
    problems = dict(step.problems)
    assert set(problems) == {junk.id, damaged.id, gone.id, held_back.id}
    assert "FIT" in problems[junk.id]
    assert "CRC" in problems[damaged.id]
    assert "not found" in problems[gone.id] and "HTTP 404" in problems[gone.id]
    assert "Strava-sourced" in problems[held_back.id] and "HTTP 422" in problems[held_back.id]
    assert (step.failed, step.refused, step.imported) == (2, 2, 2)
    failed = icu_db.execute("SELECT reason FROM fit_files WHERE status = 'failed'").fetchall()
    assert len(failed) == 2  # recorded like an inbox file, with the reason

    before = len(icu.downloads())
    poll(icu_db, icu_cfg, NOW + timedelta(minutes=30))
    assert len(icu.downloads()) == before  # not fetched again while its listing is unchanged
    counts = status_of(icu_db)
    assert (counts["imported"], counts["failed"], counts["refused"]) == (2, 2, 2)

    damaged.name = "Renamed"  # its listing changed: asked for again, the same reason
    again = poll(icu_db, icu_cfg, NOW + timedelta(hours=1)).reports["intervals"]
    assert icu.downloads()[before:] == [f"/api/v1/activity/{damaged.id}/file"]
    assert "CRC" in dict(again.problems)[damaged.id]


def test_an_athlete_id_the_key_cannot_read_names_the_fix(tmp_path, icu) -> None:
    cfg = make_config(tmp_path, icu, athlete_id="i99999")
    db = open_db(cfg.db_path)
    error = poll(db, cfg).errors["intervals"]
    assert "403" in error and "'i99999'" in error and "athlete_id" in error
    db.close()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, 60.0),
        ("120", 120.0),
        ("0", 1.0),
        ("999999", 6 * 3600.0),
        ("Tue, 10 Mar 2026 12:05:00 GMT", 300.0),
        ("soon", 60.0),
    ],
)
def test_retry_after_is_read_and_bounded(header, seconds) -> None:
    assert icu_client.retry_after(header, NOW) == seconds


# --------------------------------------------------------------------------- doctor


def _doctor(tmp_path: Path, icu: FakeIntervals, key: str, capsys) -> tuple[int, str]:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "c.db"}"\n[athlete]\ntimezone = "UTC"\n'
        f'[intervals]\nathlete_id = "0"\napi_key = "{key}"\napi_url = "{icu.url}"\n'
    )
    open_db(tmp_path / "c.db").close()
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "doctor"])
    return int(exit_info.value.code or 0), capsys.readouterr().out


def test_doctor_checks_the_key(tmp_path, icu, capsys) -> None:
    code, out = _doctor(tmp_path, icu, API_KEY, capsys)
    assert "ok   intervals: the API key reads athlete i12345 (Marianne Teutenberg)" in out
    assert icu.paths() == ["/api/v1/athlete/0"]

    code, out = _doctor(tmp_path, icu, "wrong-key-4567", capsys)
    assert code == 1
    assert "FAIL intervals: the API key is wrong (intervals.icu answered 401)" in out
    assert "Settings, Developer Settings" in out
    assert "wrong-key-4567" not in out
