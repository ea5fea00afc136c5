"""A Strava run and the device file of the same run become one row, whichever arrives first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fit_support import hills, run
from strava_support import (
    authorize,
    database,
    make_config,
    mark_athlete_checked,
    strava_rows,
)

from calfsync.fitwriter import encode_activity
from calfsync.ingest import strava as strava_sync
from calfsync.ingest.fit import import_paths

START = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
MERGED_COLUMNS = (
    "start_time", "local_date", "utc_offset_s", "sport", "distance_m", "moving_time_s",
    "elapsed_time_s", "ascent_m", "name", "gear_id", "workout_type", "strava_id", "deleted",
)  # fmt: skip


def write_fit(tmp_path, name="run.fit", start=START, km=10.0):
    session = run(start, km, 50.0, ascent_m=123.0, altitude_profile=hills())
    path = tmp_path / name
    path.write_bytes(encode_activity([session], utc_offset_s=3600))
    return path


def strava_twin(fake, start=START + timedelta(seconds=40), distance_m=10_240.0, **kw):
    fake.add_gear("g1", "Kinvara")
    kw.setdefault("external_id", "garmin_ping_1")
    return fake.add_activity(
        start,
        distance_m=distance_m,
        name="Sunday tempo",
        gear_id="g1",
        workout_type=3,
        total_elevation_gain=98.0,
        **kw,
    )


def sync(db, cfg, now):
    mark_athlete_checked(db, now)
    return strava_sync.run(db, cfg, now)


def merged_view(db):
    (row,) = strava_rows(db)
    return {k: row[k] for k in MERGED_COLUMNS}, row


@pytest.mark.parametrize("fit_first", [True, False], ids=["fit-then-strava", "strava-then-fit"])
def test_same_single_row_whichever_arrives_first(tmp_path, fake, cfg, db, fit_first):
    path = write_fit(tmp_path)
    twin = strava_twin(fake)
    authorize(db, fake)
    now = START + timedelta(hours=3)
    if fit_first:
        import_paths(db, cfg, [path], now=now)
        report = sync(db, cfg, now)
    else:
        report = sync(db, cfg, now)
        import_paths(db, cfg, [path], now=now)
    assert report.state == "ok", report.message

    view, row = merged_view(db)
    # distance, time and climb from the device file; name, shoe and workout type from Strava
    assert view["distance_m"] == pytest.approx(10_000, abs=1)
    assert view["moving_time_s"] == pytest.approx(3000, abs=2)
    assert view["ascent_m"] == pytest.approx(123.0)
    assert view["start_time"] == "2026-03-01T07:00:00Z"
    assert (view["name"], view["gear_id"], view["workout_type"]) == ("Sunday tempo", "g1", 3)
    assert view["strava_id"] == twin["id"] and view["deleted"] == 0
    assert json.loads(row["strava_raw"])["id"] == twin["id"]
    assert json.loads(row["fit_raw"])  # both payloads kept

    # stable across re-syncs: no new row, nothing changes, no date dirtied
    again = sync(db, cfg, now + timedelta(hours=1))
    assert again.changed_dates == set()
    assert merged_view(db)[0] == view
    import_paths(db, cfg, [path], now=now)
    assert merged_view(db)[0] == view


def test_both_orders_give_the_same_columns(tmp_path, fake):
    views = []
    for fit_first in (True, False):
        folder = tmp_path / ("a" if fit_first else "b")
        folder.mkdir()
        cfg = make_config(folder, fake)
        db = next(database(cfg))
        path = write_fit(folder)
        if not views:
            strava_twin(fake)
        authorize(db, fake)
        now = START + timedelta(hours=3)
        if fit_first:
            import_paths(db, cfg, [path], now=now)
            sync(db, cfg, now)
        else:
            sync(db, cfg, now)
            import_paths(db, cfg, [path], now=now)
        view, row = merged_view(db)
        views.append((view, json.loads(row["fit_raw"]), json.loads(row["strava_raw"])))
        db.close()
    assert views[0] == views[1]


def test_external_id_naming_the_file_merges_beyond_the_time_window(tmp_path, fake, cfg, db):
    path = write_fit(tmp_path, name="2026-03-01-07-00-00.fit")
    strava_twin(
        fake,
        start=START + timedelta(minutes=6),
        distance_m=11_500,
        external_id="2026-03-01-07-00-00.fit",
    )
    authorize(db, fake)
    now = START + timedelta(hours=3)
    import_paths(db, cfg, [path], now=now)
    sync(db, cfg, now)
    view, _row = merged_view(db)
    assert view["distance_m"] == pytest.approx(10_000, abs=1) and view["name"] == "Sunday tempo"


def test_a_second_recording_of_the_same_time_is_one_run(tmp_path, fake, cfg, db):
    # RULES.md "Same run twice" (two rows before issue 10): a phone's recording on Strava of the
    # hour the watch recorded, 20% longer, is the same run recorded twice; the fuller wins
    path = write_fit(tmp_path)
    strava_twin(fake, distance_m=12_000, external_id=None)
    authorize(db, fake)
    now = START + timedelta(hours=3)
    import_paths(db, cfg, [path], now=now)
    sync(db, cfg, now)
    (row,) = strava_rows(db)
    assert row["distance_m"] == pytest.approx(12_000, abs=1)
    assert row["name"] == "Sunday tempo" and row["strava_id"] is not None
    assert row["fit_raw"] and row["strava_raw"]  # both recordings' payloads kept
    again = sync(db, cfg, now + timedelta(hours=1))
    assert again.state == "ok" and len(strava_rows(db)) == 1


def test_deleted_on_strava_a_merged_run_keeps_counting_from_its_file(tmp_path, fake, cfg, db):
    path = write_fit(tmp_path)
    twin = strava_twin(fake)
    authorize(db, fake)
    now = START + timedelta(hours=3)
    import_paths(db, cfg, [path], now=now)
    sync(db, cfg, now)
    fake.delete_activity(twin["id"])
    report = sync(db, cfg, now + timedelta(hours=1))
    (row,) = strava_rows(db)
    assert report.deleted == 1
    assert row["deleted"] == 0 and row["strava_id"] is None and row["strava_raw"] is None
    assert row["distance_m"] == pytest.approx(10_000, abs=1)
