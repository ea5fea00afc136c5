-- A database created by calfsync 0.1.0 (commit fee07f1) with rows in every table;
-- made by its open_db, dumped with sqlite3 iterdump; see test_db_upgrade.py
BEGIN TRANSACTION;
CREATE TABLE "_sqlite_migrations" (
   "id" INTEGER PRIMARY KEY,
   "migration_set" TEXT,
   "name" TEXT,
   "applied_at" TEXT
);
INSERT INTO "_sqlite_migrations" VALUES(1,'calfsync','0001_initial','2026-12-03 12:05:55.757018+00:00');
INSERT INTO "_sqlite_migrations" VALUES(2,'calfsync','0002_store_dirty_dates','2026-12-03 12:05:55.758353+00:00');
INSERT INTO "_sqlite_migrations" VALUES(3,'calfsync','0002_notify_outbox','2026-12-03 12:05:55.759274+00:00');
INSERT INTO "_sqlite_migrations" VALUES(4,'calfsync','0003_rules_gear_assignments','2026-12-03 12:05:55.760417+00:00');
INSERT INTO "_sqlite_migrations" VALUES(5,'calfsync','0004_strava_listing','2026-12-03 12:05:55.761376+00:00');
CREATE TABLE activities (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            start_time TEXT NOT NULL,
            local_date TEXT NOT NULL,
            utc_offset_s INTEGER NOT NULL,
            sport TEXT NOT NULL,
            sub_sport TEXT,
            distance_m REAL NOT NULL DEFAULT 0,
            moving_time_s REAL,
            elapsed_time_s REAL,
            ascent_m REAL,
            descent_m REAL,
            avg_heart_rate_bpm REAL,
            max_heart_rate_bpm REAL,
            interval_time_s REAL,
            hr_histogram TEXT,
            laps TEXT,
            workout_type INTEGER,
            gear_id TEXT,
            name TEXT,
            device TEXT,
            altitude_source TEXT,
            indoor INTEGER NOT NULL DEFAULT 0,
            salvaged INTEGER NOT NULL DEFAULT 0,
            deleted INTEGER NOT NULL DEFAULT 0,
            strava_id INTEGER UNIQUE,
            external_id TEXT,
            fit_raw TEXT,
            strava_raw TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        , gear_source TEXT, strava_listed_at TEXT);
INSERT INTO "activities" VALUES('fit:3a1f','fit','2026-03-02T06:30:00Z','2026-03-02',3600,'running','generic',10012.5,3301.0,3420.0,84.0,80.5,148.0,171.0,0.0,'[0, 120, 900, 2000, 281]','[{"distance_m": 1000}]',NULL,'g111','Morning Run','Forerunner 255','barometer',0,0,0,987654321,'2026-03-02-06-30-00.fit','{"session": {"total_distance": 10012.5, "sport": "running"}}','{"id": 987654321, "gear_id": "g111", "name": "Morning Run"}','2026-03-02T08:00:00Z','2026-03-02T09:00:00Z',NULL,'2026-03-02T09:00:00Z');
INSERT INTO "activities" VALUES('fit:77b0','fit','2026-03-04T17:05:00Z','2026-03-04',3600,'running','treadmill',6000.0,2100.0,2150.0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'m1',NULL,NULL,NULL,1,1,0,NULL,NULL,'{"session": {"total_distance": 10012.5, "sport": "running"}}',NULL,'2026-03-04T18:00:00Z','2026-03-04T18:00:00Z','date',NULL);
INSERT INTO "activities" VALUES('strava:555','strava','2026-03-05T12:00:00Z','2026-03-05',3600,'cycling',NULL,40000.0,5400.0,5600.0,300.0,NULL,NULL,NULL,NULL,NULL,NULL,10,NULL,'Ride',NULL,NULL,0,0,1,555,NULL,NULL,'{"id": 555}','2026-03-05T14:00:00Z','2026-03-06T14:00:00Z',NULL,NULL);
CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            rule TEXT NOT NULL,
            episode_key TEXT NOT NULL UNIQUE,
            local_date TEXT NOT NULL,
            activity_id TEXT,
            severity TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            "values" TEXT NOT NULL,
            pushed TEXT NOT NULL DEFAULT 'pending',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
INSERT INTO "alerts" VALUES(1,'M1','M1:2026-03-02','2026-03-02','fit:3a1f','warn','Weekly jump: +40%','This week 42.0 km after 30.0 km.','{"ratio": 1.4}','sent','2026-03-02T09:00:01Z');
INSERT INTO "alerts" VALUES(2,'P1','P1:2026-03-04','2026-03-04',NULL,'stop','Calf sore for 8 days','See a physio.','{"days": 8}','pending','2026-03-04T19:00:01Z');
CREATE TABLE dirty_dates (local_date TEXT PRIMARY KEY);
INSERT INTO "dirty_dates" VALUES('2026-03-05');
INSERT INTO "dirty_dates" VALUES('2026-03-06');
CREATE TABLE fit_files (
            sha256 TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            size_bytes INTEGER,
            status TEXT NOT NULL CHECK (status IN ('imported', 'skipped', 'failed')),
            reason TEXT,
            activity_id TEXT,
            activity_ids TEXT,
            salvaged INTEGER NOT NULL DEFAULT 0,
            imported_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
INSERT INTO "fit_files" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','/srv/garmin/Activity/2026-03-02-06-30-00.fit',48213,'imported',NULL,'fit:3a1f','["fit:3a1f"]',0,'2026-03-02T08:00:00Z');
INSERT INTO "fit_files" VALUES('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','/srv/garmin/Activity/broken.fit',12,'failed','not a FIT file: header too short',NULL,NULL,0,'2026-03-03T08:00:00Z');
INSERT INTO "fit_files" VALUES('cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc','/srv/garmin/Activity/settings.fit',900,'skipped','no activity in file',NULL,NULL,0,'2026-03-03T08:00:01Z');
CREATE TABLE gear (
            id TEXT PRIMARY KEY,
            name TEXT,
            brand TEXT,
            model TEXT,
            distance_m REAL,
            drop_mm REAL,
            minimalist INTEGER NOT NULL DEFAULT 0,
            retired INTEGER NOT NULL DEFAULT 0,
            retire_at_m REAL,
            from_date TEXT,
            source TEXT NOT NULL DEFAULT 'manual',
            raw TEXT,
            fetched_at TEXT
        );
INSERT INTO "gear" VALUES('g111','Pegasus 40','Nike','Pegasus',612345.6,10.0,0,0,NULL,NULL,'strava','{"id": "g111", "distance": 612345.6}','2026-03-02T09:00:00Z');
INSERT INTO "gear" VALUES('m1','Vivo Primus',NULL,NULL,NULL,0.0,1,1,500000.0,'2026-03-03','manual',NULL,NULL);
CREATE TABLE gear_assignments (
            activity_id TEXT PRIMARY KEY,
            gear_id TEXT NOT NULL,
            assigned_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
INSERT INTO "gear_assignments" VALUES('fit:77b0','m1','2026-03-04T19:00:00Z');
CREATE TABLE notify_outbox (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL,
            channel TEXT NOT NULL,
            channel_type TEXT NOT NULL,
            dedupe_key TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            claimed_by TEXT,
            claimed_until TEXT,
            push_key TEXT,
            push_day TEXT,
            last_status INTEGER,
            last_error TEXT,
            provider_id TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
INSERT INTO "notify_outbox" VALUES(1,1,'phone','ntfy','1:phone','sent',1,'2026-03-02T09:00:01Z',NULL,NULL,'M1','2026-03-02',200,NULL,'abc123','2026-03-02T09:00:01Z','2026-03-02T09:00:02Z');
INSERT INTO "notify_outbox" VALUES(2,2,'phone','ntfy','2:phone','dead',5,'2026-03-04T20:00:00Z','pid:42','2026-03-04T19:01:00Z','P1','2026-03-04',401,'ntfy: 401 unauthorized',NULL,'2026-03-04T19:00:01Z',NULL);
CREATE TABLE seen_paths (
            path TEXT PRIMARY KEY,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            sha256 TEXT
        );
INSERT INTO "seen_paths" VALUES('/srv/garmin/Activity/2026-03-02-06-30-00.fit',48213,1772433000123456789,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
INSERT INTO "seen_paths" VALUES('/srv/garmin/Activity/broken.fit',12,1772519400000000000,NULL);
CREATE TABLE soreness (
            id INTEGER PRIMARY KEY,
            local_date TEXT NOT NULL,
            level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 10),
            note TEXT,
            source TEXT NOT NULL DEFAULT 'cli',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
INSERT INTO "soreness" VALUES(1,'2026-03-03',4,'left calf','cli','2026-03-03T20:00:00Z');
INSERT INTO "soreness" VALUES(2,'2026-03-04',5,'ntfy:Xy12','ntfy','2026-03-04T21:00:00Z');
CREATE TABLE state (
            key TEXT PRIMARY KEY,
            value TEXT,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
INSERT INTO "state" VALUES('notify.reply_cursor','Xy12','2026-03-04T21:00:00Z');
INSERT INTO "state" VALUES('strava.after','1772433000','2026-03-02T09:00:00Z');
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name"
    ON "_sqlite_migrations" ("migration_set", "name");
CREATE INDEX idx_activities_start ON activities(start_time);
CREATE INDEX idx_activities_local_date ON activities(local_date);
CREATE INDEX idx_notify_outbox_due ON notify_outbox(state, next_attempt_at);
CREATE INDEX idx_notify_outbox_alert ON notify_outbox(alert_id);
CREATE INDEX idx_notify_outbox_push ON notify_outbox(channel, push_day);
CREATE INDEX idx_alerts_rule_date ON alerts(rule, local_date);
CREATE VIEW runs AS SELECT id, start_time, local_date, sub_sport, distance_m, moving_time_s,
               elapsed_time_s, ascent_m, indoor, gear_id, name
        FROM activities WHERE sport = 'running' AND deleted = 0;
CREATE VIEW daily_load AS SELECT local_date,
               COUNT(*) AS runs,
               SUM(distance_m) AS distance_m,
               SUM(ascent_m) AS ascent_m,
               SUM(moving_time_s) AS moving_time_s
        FROM activities WHERE sport = 'running' AND deleted = 0
        GROUP BY local_date;
CREATE VIEW weekly_load AS SELECT date(local_date, '-' || ((CAST(strftime('%w', local_date) AS INTEGER) + 6) % 7)
                    || ' days') AS week_start,
               COUNT(*) AS runs,
               SUM(distance_m) AS distance_m,
               SUM(ascent_m) AS ascent_m,
               SUM(moving_time_s) AS moving_time_s
        FROM activities WHERE sport = 'running' AND deleted = 0
        GROUP BY week_start;
CREATE VIEW shoe_mileage AS SELECT g.id AS gear_id, g.name, g.brand, g.model, g.drop_mm, g.minimalist, g.retired,
               g.retire_at_m,
               COUNT(a.id) AS runs,
               COALESCE(SUM(a.distance_m), 0) AS run_distance_m,
               g.distance_m AS reported_distance_m,
               MIN(a.local_date) AS first_run, MAX(a.local_date) AS last_run
        FROM gear g LEFT JOIN activities a
             ON a.gear_id = g.id AND a.sport = 'running' AND a.deleted = 0
        GROUP BY g.id;
COMMIT;
PRAGMA user_version = 5;
