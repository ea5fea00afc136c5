"""Shoes (fetched once, refreshed monthly, athlete list daily), deletions, the weekly re-list,
and a backfill bigger than a day's read limit finishing over several days without a 429."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fakes.strava_server import FakeStrava
from strava_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    authorize,
    database,
    make_config,
    mark_athlete_checked,
    now_utc,
    runs_every_day,
    state,
    strava_rows,
)

from calfsync.ingest import strava as strava_sync
from calfsync.model import utc_iso
from calfsync.sources.strava.rate import next_quarter_hour, next_utc_midnight
from calfsync.sources.strava.state import Key
from calfsync.store.state import set_state


def gear_reads(fake) -> list[str]:
    return [s.path.rsplit("/", 1)[1] for s in fake.seen if s.path.startswith("/api/v3/gear/")]


def test_each_shoe_is_fetched_once_then_monthly_bikes_never(fake, cfg, db):
    now = now_utc()
    fake.add_gear("g1", "Kinvara", brand="Saucony", model="Kinvara 14", distance_m=321_000)
    fake.add_gear("g2", "Trail shoe", brand="Hoka", model="Speedgoat 5", retired=True)
    runs_every_day(fake, now - timedelta(days=20), 4, gear_id="g1")
    runs_every_day(fake, now - timedelta(days=10), 3, gear_id="g2", sport_type="TrailRun")
    fake.add_activity(now - timedelta(days=2), sport_type="Ride", gear_id="b99")
    authorize(db, fake)
    mark_athlete_checked(db, now)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "ok", report.message
    assert sorted(gear_reads(fake)) == ["g1", "g2"]
    gear = {r["id"]: r for r in list(db.query("SELECT * FROM gear"))}
    assert set(gear) == {"g1", "g2"}
    assert (gear["g1"]["name"], gear["g1"]["brand"], gear["g1"]["model"]) == (
        "Kinvara",
        "Saucony",
        "Kinvara 14",
    )
    assert gear["g1"]["distance_m"] == 321_000 and gear["g2"]["retired"] == 1
    # a runner's own figures survive every refresh
    db.execute("UPDATE gear SET drop_mm = 4, retire_at_m = 600000 WHERE id = 'g1'")

    fake.clear_log()
    strava_sync.run(db, cfg, now + timedelta(days=3))
    assert gear_reads(fake) == []  # seen gear is not fetched again
    fake.clear_log()
    strava_sync.run(db, cfg, now + timedelta(days=31))
    assert sorted(gear_reads(fake)) == ["g1", "g2"]  # monthly refresh
    g1 = list(db.query("SELECT * FROM gear WHERE id = 'g1'"))[0]
    assert (g1["drop_mm"], g1["retire_at_m"], g1["source"]) == (4, 600000, "strava")


def test_the_athletes_shoe_list_is_read_at_most_daily(fake, cfg, db):
    now = now_utc()
    fake.add_gear("g7", "New pair", distance_m=0)
    authorize(db, fake)

    strava_sync.run(db, cfg, now)
    athlete_reads = [s for s in fake.seen if s.path == "/api/v3/athlete"]
    assert len(athlete_reads) == 1
    assert list(db.query("SELECT id, brand FROM gear")) == [{"id": "g7", "brand": "Saucony"}]
    assert json.loads(state(db, "strava.athlete"))["name"] == "Marianne Teutenberg"

    fake.clear_log()
    strava_sync.run(db, cfg, now + timedelta(hours=23))
    assert not any(s.path == "/api/v3/athlete" for s in fake.seen)
    strava_sync.run(db, cfg, now + timedelta(hours=25))
    assert sum(1 for s in fake.seen if s.path == "/api/v3/athlete") == 1


def test_an_activity_deleted_on_strava_is_marked_deleted_and_stops_counting(fake, cfg, db):
    now = now_utc()
    acts = runs_every_day(fake, now - timedelta(days=5), 4)
    authorize(db, fake)
    mark_athlete_checked(db, now)
    strava_sync.run(db, cfg, now)
    gone = acts[2]
    fake.delete_activity(gone["id"])

    report = strava_sync.run(db, cfg, now + timedelta(hours=2))

    assert report.deleted == 1
    row = list(db.query("SELECT * FROM activities WHERE strava_id = ?", [gone["id"]]))[0]
    assert row["deleted"] == 1
    assert row["local_date"] in report.changed_dates
    assert [s.status for s in fake.seen if s.path == f"/api/v3/activities/{gone['id']}"] == [404]
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 3
    assert row["local_date"] in {d for (d,) in db.execute("SELECT local_date FROM dirty_dates")}
    # deleted stays deleted: no further look-ups
    fake.clear_log()
    assert strava_sync.run(db, cfg, now + timedelta(hours=3)).reads == 1


def test_weekly_relist_finds_old_deletions_and_edits_beyond_the_overlap(fake, cfg, db):
    now = now_utc()
    acts = runs_every_day(fake, now - timedelta(days=60), 30)
    authorize(db, fake)
    mark_athlete_checked(db, now)
    strava_sync.run(db, cfg, now)
    fake.delete_activity(acts[3]["id"])
    fake.edit_activity(acts[5]["id"], sport_type="Walk", type="Walk")

    # within the week: only the 7-day overlap is listed, old changes are not seen yet
    mark_athlete_checked(db, now + timedelta(days=3))
    strava_sync.run(db, cfg, now + timedelta(days=3))
    sql = "SELECT deleted FROM activities WHERE strava_id = ?"
    assert list(db.query(sql, [acts[3]["id"]])) == [{"deleted": 0}]
    fake.clear_log()
    later = now + timedelta(days=7, minutes=1)
    mark_athlete_checked(db, later)
    report = strava_sync.run(db, cfg, later)

    after_values = [int(s.query["after"]) for s in fake.seen if "after" in s.query]
    assert int((later - timedelta(days=90)).timestamp()) in after_values
    assert report.deleted == 1
    assert list(db.query(sql, [acts[3]["id"]])) == [{"deleted": 1}]
    assert list(db.query("SELECT sport FROM activities WHERE strava_id = ?", [acts[5]["id"]])) == [
        {"sport": "walking"}
    ]
    assert state(db, "strava.relist_at") == utc_iso(later)


def test_a_backfill_bigger_than_a_days_limit_finishes_over_days_without_a_429(tmp_path):
    # 7 reads a day once the margins are kept (12 - 5), 3 a window (5 - 2): 1,500 activities
    # are 8 list pages, so the backfill takes two days
    with FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, read_limits=(5, 12)) as fake:
        cfg = make_config(tmp_path, fake)
        db = next(database(cfg))
        start = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
        runs_every_day(fake, start - timedelta(days=1600), 1500)
        authorize(db, fake)
        set_state(db, Key.ATHLETE_AT, utc_iso(start + timedelta(days=30)))
        now, cycles, messages = start, 0, []
        while cycles < 40:
            cycles += 1
            report = strava_sync.run(db, cfg, now)
            messages.append(report.message)
            if report.state == "ok":
                break
            assert report.state == "paused", report.message
            resume = datetime.strptime(state(db, "strava.next_try"), "%Y-%m-%dT%H:%M:%SZ")
            resume = resume.replace(tzinfo=UTC)
            assert resume in (next_quarter_hour(now), next_utc_midnight(now))
            if resume.date() != now.date():
                fake.new_day()
            else:
                fake.new_window()
            now = resume
        assert report.state == "ok", messages
        assert all(s.status != 429 for s in fake.seen)
        assert len(strava_rows(db)) == 1500
        assert now.date() > start.date()  # it took more than one day
        assert any("backfill in progress" in m for m in messages)
        progress = json.loads(state(db, "strava.backfill"))
        assert progress["complete"] and progress["activities"] == 1500
        db.close()
