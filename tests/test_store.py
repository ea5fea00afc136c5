"""Storing activities: upsert, dedupe of file copies, FIT/Strava merge in both orders."""

from __future__ import annotations

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
def test_close_but_different_runs_are_kept_apart(db, offset_s, distance_m, reason):
    save_activities(db, [fit_run("fit:1")])
    save_activities(db, [fit_run("fit:2", T0 + timedelta(seconds=offset_s), distance_m)])
    assert len(all_rows(db)) == 2, reason


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


def test_second_strava_activity_never_merges_into_a_row_holding_another(db):
    save_activities(db, [fit_run("fit:1"), strava_run(1)])
    save_activities(db, [strava_run(2, T0 + timedelta(seconds=5), 10_050)])
    assert len(all_rows(db)) == 2


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
