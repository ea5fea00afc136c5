"""Storing activities: upsert, dedupe of file copies, FIT/Strava merge in both orders."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calfsync.model import Activity
from calfsync.store.activities import save_activities, take_dirty
from calfsync.store.db import open_db

T0 = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)


def fit_run(id_: str, start: datetime = T0, distance_m: float = 10_000, **kw) -> Activity:
    return Activity(
        id=id_,
        source="fit",
        start_time=start,
        utc_offset_s=0,
        sport="running",
        distance_m=distance_m,
        moving_time_s=3000,
        ascent_m=80,
        raw={"file": id_},
        **kw,
    )


def strava_run(sid: int, start: datetime = T0, distance_m: float = 10_300, **kw) -> Activity:
    return Activity(
        id=f"strava:{sid}",
        source="strava",
        start_time=start,
        utc_offset_s=7200,
        sport="running",
        distance_m=distance_m,
        moving_time_s=2990,
        ascent_m=95,
        strava_id=sid,
        name="Morning Run",
        gear_id="g42",
        workout_type=3,
        raw={"id": sid},
        **kw,
    )


@pytest.fixture
def db(tmp_path: Path):
    return open_db(tmp_path / "c.db")


def all_rows(db):
    return list(db.query("SELECT * FROM activities ORDER BY id"))


def test_insert_and_reinsert_is_idempotent(db):
    first = save_activities(db, [fit_run("fit:1")])
    assert first.inserted == 1 and first.changed_dates == {"2026-05-01"}
    again = save_activities(db, [fit_run("fit:1")])
    assert again.inserted == 0 and again.updated == 0 and not again.changed_dates
    assert len(all_rows(db)) == 1


def test_file_copy_within_60s_and_3pct_is_one_activity(db):
    save_activities(db, [fit_run("fit:1")])
    dup = save_activities(db, [fit_run("fit:2", T0 + timedelta(seconds=59), 10_290)])
    assert dup.duplicates == 1 and dup.ids == {"fit:2": "fit:1"}
    assert len(all_rows(db)) == 1


@pytest.mark.parametrize(
    ("offset_s", "distance_m", "reason"),
    [(61, 10_000, "start 61 s later"), (0, 10_400, "distance 4% longer")],
)
def test_overlapping_recordings_are_one_run_the_fuller_wins(db, offset_s, distance_m, reason):
    # RULES.md "Same run twice": times overlapping by more than half of the shorter one (these
    # were two runs before issue 10); the fuller recording's measures win
    save_activities(db, [fit_run("fit:1")])
    result = save_activities(db, [fit_run("fit:2", T0 + timedelta(seconds=offset_s), distance_m)])
    (row,) = all_rows(db)
    assert row["id"] == "fit:1" and row["distance_m"] == max(10_000, distance_m), reason
    assert result.ids == {"fit:2": "fit:1"}


def test_two_devices_recording_one_run_keep_both_payloads(db):
    watch = fit_run("fit:watch", distance_m=3_540, device="watch")
    phone = fit_run("fit:phone", T0 + timedelta(seconds=69), 2_160, device="phone")
    save_activities(db, [phone])
    save_activities(db, [watch])  # the fuller recording arrives second: it wins
    (row,) = all_rows(db)
    assert row["id"] == "fit:phone" and row["distance_m"] == 3_540 and row["device"] == "watch"
    raw = json.loads(row["fit_raw"])
    assert raw["file"] == "fit:watch"  # the winner's payload on top, the other one kept
    assert [t["raw"]["file"] for t in raw["recorded_twice"]] == ["fit:phone"]
    again = save_activities(db, [phone, watch])  # either one again changes nothing
    assert not again.changed_dates and again.duplicates == 1  # the watch; the phone is the row
    assert len(all_rows(db)) == 1


def test_the_shorter_recording_second_is_kept_on_the_row(db):
    save_activities(db, [fit_run("fit:1")])
    save_activities(db, [fit_run("fit:2", T0 + timedelta(seconds=30), 9_000)])
    (row,) = all_rows(db)
    assert row["distance_m"] == 10_000  # the fuller stays
    assert json.loads(row["fit_raw"])["recorded_twice"][0]["id"] == "fit:2"


def test_a_plausible_recording_beats_a_suspect_longer_one(db):
    glitch = fit_run("fit:gps", distance_m=25_000)  # 25 km in 50 min: 8.3 m/s
    save_activities(db, [glitch])
    assert all_rows(db)[0]["suspect"] is not None
    save_activities(db, [fit_run("fit:2", T0 + timedelta(seconds=20), 10_000)])
    (row,) = all_rows(db)
    assert row["distance_m"] == 10_000 and row["suspect"] is None


def test_two_devices_files_imported_are_one_run(tmp_path: Path) -> None:
    # the import path (and the inbox, which saves the same way): a watch and a phone's file
    from fit_support import make_config, run

    from calfsync.fitwriter import encode_activity
    from calfsync.ingest.fit import import_paths

    cfg = make_config(tmp_path)
    db = open_db(cfg.db_path)
    watch = tmp_path / "watch.fit"
    watch.write_bytes(encode_activity([run(T0, 10.0, 50.0)], serial_number=111_111))
    phone = tmp_path / "phone.fit"
    phone_run = run(T0 + timedelta(seconds=69), 7.5, 48.0)
    phone.write_bytes(encode_activity([phone_run], serial_number=222_222))
    import_paths(db, cfg, [phone, watch], now=T0 + timedelta(hours=3))
    (row,) = all_rows(db)
    assert row["distance_m"] == pytest.approx(10_000, abs=1)
    assert len(json.loads(row["fit_raw"])["recorded_twice"]) == 1


def test_runs_that_do_not_overlap_by_half_are_kept_apart(db):
    save_activities(db, [fit_run("fit:1")])  # 50 min from 06:00
    save_activities(db, [fit_run("fit:2", T0 + timedelta(minutes=26))])  # overlap 24 min
    assert len(all_rows(db)) == 2


def test_suspect_runs_are_stored_with_their_reason(db):
    ride = fit_run("fit:1", distance_m=51_750)  # 51.75 km in 50 min: 17 m/s
    glitch = fit_run("fit:2", T0 + timedelta(days=1))
    glitch.moving_time_s = 0
    hill = fit_run("fit:3", T0 + timedelta(days=2), distance_m=5_000)
    hill.ascent_m = 8_039
    future = fit_run("fit:4", datetime(2099, 1, 1, tzinfo=UTC))
    fine = fit_run("fit:5", T0 + timedelta(days=3))
    save_activities(db, [ride, glitch, hill, future, fine], now=T0 + timedelta(days=4))
    reasons = {r["id"]: r["suspect"] for r in all_rows(db)}
    assert "17.2 m/s over 51.8 km: a ride or a drive" in reasons["fit:1"]
    assert "no moving time" in reasons["fit:2"]
    assert "8039 m of climb over 5.00 km" in reasons["fit:3"]
    assert "2099-01-01, more than a day in the future" in reasons["fit:4"]
    assert reasons["fit:5"] is None


def test_suspect_runs_count_in_no_view_until_confirmed(db):
    ride = fit_run("fit:1", distance_m=51_750)
    save_activities(db, [ride, fit_run("fit:2", T0 + timedelta(days=1))])
    assert [r["id"] for r in db.query("SELECT id FROM runs")] == ["fit:2"]
    assert [r["distance_m"] for r in db.query("SELECT * FROM weekly_load")] == [10_000]
    assert [r["distance_m"] for r in db.query("SELECT * FROM daily_load")] == [10_000]
    # the runner confirms it (calfsync activity confirm): counted although suspect
    db.execute("UPDATE activities SET suspect_confirmed = 1 WHERE id = 'fit:1'")
    assert [r["distance_m"] for r in db.query("SELECT * FROM weekly_load")] == [61_750]
    # a re-sync keeps the confirmation and the reason it was confirmed with
    ride.name = "Edited"
    save_activities(db, [ride])
    row = next(r for r in all_rows(db) if r["id"] == "fit:1")
    assert row["suspect_confirmed"] == 1 and "m/s" in row["suspect"]


def test_a_changed_run_is_judged_again(db):
    save_activities(db, [fit_run("fit:1", distance_m=51_750, salvaged=True)])
    assert all_rows(db)[0]["suspect"] is not None
    save_activities(db, [fit_run("fit:1", distance_m=10_000)])  # the complete file
    assert all_rows(db)[0]["suspect"] is None


def test_different_sport_is_not_a_duplicate(db):
    save_activities(db, [fit_run("fit:1")])
    ride = fit_run("fit:2")
    ride.sport = "cycling"
    save_activities(db, [ride])
    assert len(all_rows(db)) == 2


def test_complete_copy_replaces_salvaged_one_but_not_the_reverse(db):
    save_activities(db, [fit_run("fit:1", distance_m=9_800, salvaged=True)])
    save_activities(db, [fit_run("fit:1", distance_m=10_000)])
    assert all_rows(db)[0]["distance_m"] == 10_000 and all_rows(db)[0]["salvaged"] == 0
    save_activities(db, [fit_run("fit:1", distance_m=9_800, salvaged=True)])
    assert all_rows(db)[0]["distance_m"] == 10_000


@pytest.mark.parametrize("fit_first", [True, False])
def test_fit_and_strava_merge_into_one_row_in_either_order(db, fit_first):
    fit, strava = fit_run("fit:1"), strava_run(77, T0 + timedelta(seconds=100))
    for act in [fit, strava] if fit_first else [strava, fit]:
        save_activities(db, [act])
    # a re-sync of both changes nothing
    again = save_activities(db, [strava, fit])
    assert not again.changed_dates
    (row,) = all_rows(db)
    assert row["distance_m"] == 10_000 and row["ascent_m"] == 80  # device file measures
    assert row["name"] == "Morning Run" and row["gear_id"] == "g42" and row["workout_type"] == 3
    assert row["strava_id"] == 77 and row["fit_raw"] and row["strava_raw"]
    assert row["start_time"] == "2026-05-01T06:00:00Z"


def test_second_strava_activity_never_takes_the_strava_id_of_a_row_holding_another(db):
    save_activities(db, [fit_run("fit:1"), strava_run(1)])
    # a phone's upload of the same run (two were kept before issue 10): one run recorded twice,
    # the row keeps Strava id 1 and the fuller recording's measures
    save_activities(db, [strava_run(2, T0 + timedelta(seconds=5), 10_050)])
    (row,) = all_rows(db)
    assert row["strava_id"] == 1 and row["distance_m"] == 10_050
    raw = json.loads(row["strava_raw"])
    assert raw["id"] == 1 and raw["recorded_twice"] == [{"id": "strava:2", "raw": {"id": 2}}]
    # Strava's own re-sync of activity 1 keeps the other recording's payload
    again = save_activities(db, [strava_run(1), strava_run(2, T0 + timedelta(seconds=5), 10_050)])
    assert not again.changed_dates


def test_dirty_dates_are_recorded_with_the_rows_and_taken_once(db):
    save_activities(db, [fit_run("fit:1"), fit_run("fit:3", T0 + timedelta(days=3))])
    assert take_dirty(db) == {"2026-05-01", "2026-05-04"}
    assert take_dirty(db) == set()


def test_generic_upload_names_never_join_runs_of_the_same_day(db):
    morning = fit_run("fit:1", external_id="activity.fit")
    evening = strava_run(5, T0 + timedelta(hours=9), 5_000, external_id="activity.fit")
    save_activities(db, [morning, evening])
    assert len(all_rows(db)) == 2


def test_a_device_file_name_joins_beyond_the_time_window(db):
    fit = fit_run("fit:1", external_id="2026-05-01-06-00-00.fit")
    late = strava_run(6, T0 + timedelta(minutes=30), 10_900, external_id="2026-05-01-06-00-00.fit")
    save_activities(db, [fit, late])
    assert len(all_rows(db)) == 1
