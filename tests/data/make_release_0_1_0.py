"""Build tests/data/release-0.1.0.sql from calfsync 0.1.0 (commit fee07f1): a database created by
that release's open_db with rows in every table, dumped with sqlite3 iterdump.

Run with the release's code, not this tree's:
    mkdir /tmp/rel && git archive fee07f1 | tar -x -C /tmp/rel
    PYTHONPATH=/tmp/rel python tests/data/make_release_0_1_0.py /tmp/rel.db \
        tests/data/release-0.1.0.sql
    echo "PRAGMA user_version = 5;" >> tests/data/release-0.1.0.sql
(iterdump leaves out ``user_version``, which the release set to its 5 migrations.)
"""

import json
import sys

import calfsync.store.db as olddb
from calfsync.store.db import open_db, set_state

assert "/tmp/rel/" in olddb.__file__, olddb.__file__
path = sys.argv[1]
db = open_db(path)
raw_fit = json.dumps({"session": {"total_distance": 10012.5, "sport": "running"}})
raw_strava = json.dumps({"id": 987654321, "gear_id": "g111", "name": "Morning Run"})
db["activities"].insert_all(
    [
        dict(
            id="fit:3a1f",
            source="fit",
            start_time="2026-03-02T06:30:00Z",
            local_date="2026-03-02",
            utc_offset_s=3600,
            sport="running",
            sub_sport="generic",
            distance_m=10012.5,
            moving_time_s=3301.0,
            elapsed_time_s=3420.0,
            ascent_m=84.0,
            descent_m=80.5,
            avg_heart_rate_bpm=148.0,
            max_heart_rate_bpm=171.0,
            interval_time_s=0.0,
            hr_histogram=json.dumps([0, 120, 900, 2000, 281]),
            laps=json.dumps([{"distance_m": 1000}]),
            workout_type=None,
            gear_id="g111",
            name="Morning Run",
            device="Forerunner 255",
            altitude_source="barometer",
            indoor=0,
            salvaged=0,
            deleted=0,
            strava_id=987654321,
            external_id="2026-03-02-06-30-00.fit",
            fit_raw=raw_fit,
            strava_raw=raw_strava,
            created_at="2026-03-02T08:00:00Z",
            updated_at="2026-03-02T09:00:00Z",
            gear_source=None,
            strava_listed_at="2026-03-02T09:00:00Z",
        ),
        dict(
            id="fit:77b0",
            source="fit",
            start_time="2026-03-04T17:05:00Z",
            local_date="2026-03-04",
            utc_offset_s=3600,
            sport="running",
            sub_sport="treadmill",
            distance_m=6000.0,
            moving_time_s=2100.0,
            elapsed_time_s=2150.0,
            ascent_m=None,
            descent_m=None,
            avg_heart_rate_bpm=None,
            max_heart_rate_bpm=None,
            interval_time_s=None,
            hr_histogram=None,
            laps=None,
            workout_type=None,
            gear_id="m1",
            name=None,
            device=None,
            altitude_source=None,
            indoor=1,
            salvaged=1,
            deleted=0,
            strava_id=None,
            external_id=None,
            fit_raw=raw_fit,
            strava_raw=None,
            created_at="2026-03-04T18:00:00Z",
            updated_at="2026-03-04T18:00:00Z",
            gear_source="date",
            strava_listed_at=None,
        ),
        dict(
            id="strava:555",
            source="strava",
            start_time="2026-03-05T12:00:00Z",
            local_date="2026-03-05",
            utc_offset_s=3600,
            sport="cycling",
            sub_sport=None,
            distance_m=40000.0,
            moving_time_s=5400.0,
            elapsed_time_s=5600.0,
            ascent_m=300.0,
            descent_m=None,
            avg_heart_rate_bpm=None,
            max_heart_rate_bpm=None,
            interval_time_s=None,
            hr_histogram=None,
            laps=None,
            workout_type=10,
            gear_id=None,
            name="Ride",
            device=None,
            altitude_source=None,
            indoor=0,
            salvaged=0,
            deleted=1,
            strava_id=555,
            external_id=None,
            fit_raw=None,
            strava_raw=json.dumps({"id": 555}),
            created_at="2026-03-05T14:00:00Z",
            updated_at="2026-03-06T14:00:00Z",
            gear_source=None,
            strava_listed_at=None,
        ),
    ]
)
db["fit_files"].insert_all(
    [
        dict(
            sha256="a" * 64,
            path="/srv/garmin/Activity/2026-03-02-06-30-00.fit",
            size_bytes=48213,
            status="imported",
            reason=None,
            activity_id="fit:3a1f",
            activity_ids=json.dumps(["fit:3a1f"]),
            salvaged=0,
            imported_at="2026-03-02T08:00:00Z",
        ),
        dict(
            sha256="b" * 64,
            path="/srv/garmin/Activity/broken.fit",
            size_bytes=12,
            status="failed",
            reason="not a FIT file: header too short",
            activity_id=None,
            activity_ids=None,
            salvaged=0,
            imported_at="2026-03-03T08:00:00Z",
        ),
        dict(
            sha256="c" * 64,
            path="/srv/garmin/Activity/settings.fit",
            size_bytes=900,
            status="skipped",
            reason="no activity in file",
            activity_id=None,
            activity_ids=None,
            salvaged=0,
            imported_at="2026-03-03T08:00:01Z",
        ),
    ]
)
db["seen_paths"].insert_all(
    [
        dict(
            path="/srv/garmin/Activity/2026-03-02-06-30-00.fit",
            size_bytes=48213,
            mtime_ns=1772433000123456789,
            sha256="a" * 64,
        ),
        dict(
            path="/srv/garmin/Activity/broken.fit",
            size_bytes=12,
            mtime_ns=1772519400000000000,
            sha256=None,
        ),
    ]
)
db["gear"].insert_all(
    [
        dict(
            id="g111",
            name="Pegasus 40",
            brand="Nike",
            model="Pegasus",
            distance_m=612345.6,
            drop_mm=10.0,
            minimalist=0,
            retired=0,
            retire_at_m=None,
            from_date=None,
            source="strava",
            raw=json.dumps({"id": "g111", "distance": 612345.6}),
            fetched_at="2026-03-02T09:00:00Z",
        ),
        dict(
            id="m1",
            name="Vivo Primus",
            brand=None,
            model=None,
            distance_m=None,
            drop_mm=0.0,
            minimalist=1,
            retired=1,
            retire_at_m=500000.0,
            from_date="2026-03-03",
            source="manual",
            raw=None,
            fetched_at=None,
        ),
    ]
)
db["gear_assignments"].insert(
    dict(activity_id="fit:77b0", gear_id="m1", assigned_at="2026-03-04T19:00:00Z")
)
db["alerts"].insert_all(
    [
        {
            "id": 1,
            "rule": "M1",
            "episode_key": "M1:2026-03-02",
            "local_date": "2026-03-02",
            "activity_id": "fit:3a1f",
            "severity": "warn",
            "title": "Weekly jump: +40%",
            "body": "This week 42.0 km after 30.0 km.",
            "values": json.dumps({"ratio": 1.4}),
            "pushed": "sent",
            "created_at": "2026-03-02T09:00:01Z",
        },
        {
            "id": 2,
            "rule": "P1",
            "episode_key": "P1:2026-03-04",
            "local_date": "2026-03-04",
            "activity_id": None,
            "severity": "stop",
            "title": "Calf sore for 8 days",
            "body": "See a physio.",
            "values": json.dumps({"days": 8}),
            "pushed": "pending",
            "created_at": "2026-03-04T19:00:01Z",
        },
    ]
)
db["notify_outbox"].insert_all(
    [
        dict(
            id=1,
            alert_id=1,
            channel="phone",
            channel_type="ntfy",
            dedupe_key="1:phone",
            state="sent",
            attempts=1,
            next_attempt_at="2026-03-02T09:00:01Z",
            claimed_by=None,
            claimed_until=None,
            push_key="M1",
            push_day="2026-03-02",
            last_status=200,
            last_error=None,
            provider_id="abc123",
            created_at="2026-03-02T09:00:01Z",
            sent_at="2026-03-02T09:00:02Z",
        ),
        dict(
            id=2,
            alert_id=2,
            channel="phone",
            channel_type="ntfy",
            dedupe_key="2:phone",
            state="dead",
            attempts=5,
            next_attempt_at="2026-03-04T20:00:00Z",
            claimed_by="pid:42",
            claimed_until="2026-03-04T19:01:00Z",
            push_key="P1",
            push_day="2026-03-04",
            last_status=401,
            last_error="ntfy: 401 unauthorized",
            provider_id=None,
            created_at="2026-03-04T19:00:01Z",
            sent_at=None,
        ),
    ]
)
db["soreness"].insert_all(
    [
        dict(
            id=1,
            local_date="2026-03-03",
            level=4,
            note="left calf",
            source="cli",
            created_at="2026-03-03T20:00:00Z",
        ),
        dict(
            id=2,
            local_date="2026-03-04",
            level=5,
            note="ntfy:Xy12",
            source="ntfy",
            created_at="2026-03-04T21:00:00Z",
        ),
    ]
)
set_state(db, "notify.reply_cursor", "Xy12")
db.execute("UPDATE state SET updated_at = '2026-03-04T21:00:00Z'")
db["state"].insert(dict(key="strava.after", value="1772433000", updated_at="2026-03-02T09:00:00Z"))
db["dirty_dates"].insert_all([dict(local_date="2026-03-05"), dict(local_date="2026-03-06")])
# every table holds rows
for t in db.table_names():
    assert db[t].count > 0, t
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(sorted(db.table_names()), db.execute("PRAGMA user_version").fetchone())
with open(sys.argv[2], "w") as out:
    out.write(
        "-- A database created by calfsync 0.1.0 (commit fee07f1) with rows in every table;\n"
    )
    out.write("-- made by its open_db, dumped with sqlite3 iterdump; see test_db_upgrade.py\n")
    for line in db.conn.iterdump():
        out.write(line + "\n")
