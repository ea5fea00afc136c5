"""Strava sync against the loopback stand-in: listing, overlap, tokens, faults, gear, deletions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from strava_support import (
    authorize,
    mark_athlete_checked,
    now_utc,
    runs_every_day,
    state,
    strava_rows,
)

from calfsync.ingest import strava as strava_sync


def list_queries(server) -> list[dict[str, str]]:
    return [s.query for s in server.seen if s.path == "/api/v3/athlete/activities"]


def test_backfill_pages_200_and_stops_on_a_short_page(fake, cfg, db):
    now = now_utc()
    runs_every_day(fake, now - timedelta(days=460), 450, gear_id="g1")
    fake.add_gear("g1", "Kinvara")
    authorize(db, fake)
    mark_athlete_checked(db, now)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "ok", report.message
    queries = list_queries(fake)
    assert [q["page"] for q in queries] == ["1", "2", "3"]
    assert all(q["per_page"] == "200" for q in queries)
    assert "after" not in queries[0]  # nothing stored yet: the whole history
    assert len(strava_rows(db)) == 450
    # 3 list reads + 1 read for the one shoe
    assert report.reads == 4 == fake.api_reads()
    backfill = json.loads(state(db, "strava.backfill"))
    assert backfill["complete"] and backfill["activities"] == 450


def test_nothing_new_costs_one_read_with_a_seven_day_overlap(fake, cfg, db):
    now = now_utc()
    acts = runs_every_day(fake, now - timedelta(days=30), 20)
    authorize(db, fake)
    mark_athlete_checked(db, now)
    strava_sync.run(db, cfg, now)
    fake.clear_log()

    later = now + timedelta(hours=1)
    report = strava_sync.run(db, cfg, later)

    assert report.state == "ok" and report.reads == 1
    (query,) = list_queries(fake)
    newest = datetime.fromisoformat(acts[-1]["start_date"].replace("Z", "+00:00"))
    assert int(query["after"]) == int((newest - timedelta(days=7)).timestamp())
    assert report.changed_dates == set()


def test_an_edit_inside_the_overlap_updates_the_row_and_dirties_its_date(fake, cfg, db):
    now = now_utc()
    acts = runs_every_day(fake, now - timedelta(days=10), 5, gear_id="g1")
    fake.add_gear("g1", "Kinvara")
    fake.add_gear("g2", "Endorphin")
    authorize(db, fake)
    mark_athlete_checked(db, now)
    strava_sync.run(db, cfg, now)

    fake.edit_activity(acts[-2]["id"], gear_id="g2", sport_type="TrailRun", name="Trails")
    report = strava_sync.run(db, cfg, now + timedelta(hours=1))

    row = list(db.query("SELECT * FROM activities WHERE strava_id = ?", [acts[-2]["id"]]))[0]
    assert (row["gear_id"], row["sub_sport"], row["name"]) == ("g2", "trail", "Trails")
    assert report.changed_dates == {row["local_date"]}
    assert list(db.query("SELECT name FROM gear WHERE id = 'g2'"))[0]["name"] == "Endorphin"


def test_pages_resume_after_a_failure_and_order_does_not_matter(fake, cfg, db):
    fake.ascending_after = True
    now = now_utc()
    runs_every_day(fake, now - timedelta(days=500), 450)
    authorize(db, fake)
    mark_athlete_checked(db, now)
    fake.fail("500", path="/api/v3/athlete/activities", times=1)
    # the first page fails: nothing written
    report = strava_sync.run(db, cfg, now)
    assert report.state == "error" and "500" in report.message
    assert strava_rows(db) == []
    # page 1 succeeds, page 2 fails: page 1 is kept and the pass resumes at page 2
    fake.fail("500", path="/api/v3/athlete/activities", query={"page": "2"})
    report = strava_sync.run(db, cfg, now + timedelta(minutes=1))
    assert report.state == "error"
    assert len(strava_rows(db)) == 200
    # two failures in a row: the next try waits 15 minutes (back-off), sending nothing before
    fake.clear_log()
    report = strava_sync.run(db, cfg, now + timedelta(minutes=2))
    assert report.state == "error" and fake.seen == []
    report = strava_sync.run(db, cfg, now + timedelta(minutes=20))
    assert report.state == "ok", report.message
    assert [q["page"] for q in list_queries(fake)] == ["2", "3"]
    assert len(strava_rows(db)) == 450


def test_a_long_listing_is_cut_into_cycles(fake, cfg, db, monkeypatch):
    monkeypatch.setattr(strava_sync, "MAX_PAGES_PER_CYCLE", 2)
    now = now_utc()
    runs_every_day(fake, now - timedelta(days=500), 450)
    authorize(db, fake)
    mark_athlete_checked(db, now)

    first = strava_sync.run(db, cfg, now)
    assert first.state == "paused" and "backfill in progress: 400 activities" in first.message
    second = strava_sync.run(db, cfg, now)  # the next cycle goes straight on
    assert second.state == "ok" and len(strava_rows(db)) == 450


def test_a_server_that_ignores_page_numbers_cannot_loop_forever(fake, cfg, db):
    fake.ignore_page = True
    now = now_utc()
    runs_every_day(fake, now - timedelta(days=500), 450)
    authorize(db, fake)
    mark_athlete_checked(db, now)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "error" and "same activities" in report.message
    assert report.reads == 2
