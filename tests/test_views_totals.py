"""The load views read per-day, per-week and per-shoe totals kept by triggers (migration
0007_load_totals): after any sequence of writes through the store's own functions they equal
the full aggregate over ``activities``, and an upgraded database has them filled."""

from __future__ import annotations

import math
import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_db_upgrade import load_release

from calfsync.model import Activity, parse_utc
from calfsync.store.activities import (
    correct_activity,
    mark_gone_from_strava,
    save_activities,
    set_details,
    set_name,
)
from calfsync.store.db import open_db, write_tx
from calfsync.store.gear import add_shoe, assign_gear_by_date, assign_run
from calfsync.store.migrations import _COUNTED_0007
from calfsync.store.views import COUNTED, counted

MONDAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WEEK = "date(local_date, '-' || ((CAST(strftime('%w', local_date) AS INTEGER) + 6) % 7) || ' days')"
LOAD = (
    "COUNT(*) AS runs, SUM(distance_m) AS distance_m, SUM(ascent_m) AS ascent_m, "
    "SUM(moving_time_s) AS moving_time_s"
)
# What the views computed before the totals existed: every counted run, aggregated.
FULL = {
    "daily_load": f"SELECT local_date, {LOAD} FROM activities WHERE {COUNTED} "
    "GROUP BY local_date ORDER BY local_date",
    "weekly_load": f"SELECT {WEEK} AS week_start, {LOAD} FROM activities WHERE {COUNTED} "
    "GROUP BY week_start ORDER BY week_start",
    "shoe_mileage": "SELECT g.id AS gear_id, g.name, COUNT(a.id) AS runs, "
    "COALESCE(SUM(a.distance_m), 0) AS run_distance_m, MIN(a.local_date) AS first_run, "
    "MAX(a.local_date) AS last_run FROM gear g LEFT JOIN activities a ON a.gear_id = g.id "
    f"AND {counted('a.')} GROUP BY g.id ORDER BY g.id",
}
SHOE_COLUMNS = "gear_id, name, runs, run_distance_m, first_run, last_run"


def same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Rows equal, sums of floats within 1e-9 (they may be added in another order)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if x.keys() != y.keys():
            return False
        for k in x:
            u, v = x[k], y[k]
            if isinstance(u, float) or isinstance(v, float):
                if u is None or v is None or not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-6):
                    return False
            elif u != v:
                return False
    return True


def assert_views_equal_full_aggregate(db: Any) -> None:
    for view, sql in FULL.items():
        cols = SHOE_COLUMNS if view == "shoe_mileage" else "*"
        got = list(db.query(f"SELECT {cols} FROM {view}"))
        want = list(db.query(sql))
        assert same(got, want), (view, got, want)
    kept = list(db.query("SELECT gear_id, runs FROM shoe_totals ORDER BY gear_id"))
    per_shoe = list(
        db.query(
            f"SELECT gear_id, COUNT(*) AS runs FROM activities WHERE gear_id IS NOT NULL "
            f"AND {COUNTED} GROUP BY gear_id ORDER BY gear_id"
        )
    )
    assert kept == per_shoe  # shoes not (yet) in gear too


def run(k: int, day: int, km: int, *, source: str = "fit", **kw: Any) -> Activity:
    """Run ``k`` (its id stays the same whatever else changes) on day ``day`` after MONDAY."""
    strava_id = 500 + k if source == "strava" else None
    return Activity(
        id=f"strava:{strava_id}" if strava_id else f"fit:7:{k}",
        source=source,
        start_time=MONDAY + timedelta(days=day, hours=k % 5),
        utc_offset_s=3600,
        sport=kw.pop("sport", "running"),
        distance_m=km * 1000.0,
        moving_time_s=kw.pop("moving_time_s", km * 330.0),
        elapsed_time_s=km * 340.0,
        ascent_m=kw.pop("ascent_m", km * 9.0),
        strava_id=strava_id,
        **kw,
    )


def other_recording(row: dict[str, Any], kind: str, factor: float) -> Activity:
    """Stored ``row`` as another source saw it (``merge``: Strava for a FIT row and back, 30 s
    and ``factor`` of the distance away) or as a second device recorded it (``twice``: a
    minute later, ``factor`` of the distance and time)."""
    strava = kind == "merge" and row["strava_id"] is None
    strava_id = 900 + len(row["id"]) + int(row["distance_m"]) % 97 if strava else None
    device = "8" if kind == "twice" else "9"
    moving = (row["moving_time_s"] or 0.0) * (factor if kind == "twice" else 1.0)
    return Activity(
        id=f"strava:{strava_id}" if strava else f"fit:{device}:{row['id']}",
        source="strava" if strava else "fit",
        start_time=parse_utc(row["start_time"]) + timedelta(seconds=30 if strava else 60),
        utc_offset_s=row["utc_offset_s"],
        sport=row["sport"],
        distance_m=row["distance_m"] * factor,
        moving_time_s=moving,
        elapsed_time_s=moving * 1.03,
        ascent_m=row["ascent_m"],
        gear_id="g2",
        strava_id=strava_id,
    )


ops = st.lists(
    st.one_of(
        # a run saved (or saved again with other values: an update, maybe to another week)
        st.tuples(
            st.just("save"),
            st.integers(0, 5),  # which run
            st.integers(0, 20),  # day
            st.integers(3, 25),  # km
            st.sampled_from(["fit", "strava"]),
            st.sampled_from(["running", "running", "running", "cycling"]),
            st.sampled_from([None, "g1", "g2"]),
            st.booleans(),  # a ride saved as a run: suspect
            st.sampled_from([None, 0.0, 55.5]),  # climb (None: unknown)
        ),
        # a stored activity again from the other source: merged into its row
        st.tuples(st.just("merge"), st.integers(0, 5), st.sampled_from([0.98, 1.03])),
        # a stored run recorded on another device too: one row, the fuller recording's measures
        st.tuples(st.just("twice"), st.integers(0, 5), st.sampled_from([0.8, 1.3])),
        st.tuples(st.just("gone"), st.integers(0, 5)),  # deleted on Strava
        st.tuples(st.just("confirm"), st.integers(0, 5)),
        st.tuples(st.just("sport"), st.integers(0, 5), st.sampled_from(["walking", "running"])),
        st.tuples(st.just("shoe"), st.integers(0, 20)),  # shoes add --from
        st.tuples(st.just("assign"), st.integers(0, 5)),  # shoes assign
        st.tuples(st.just("delete"), st.integers(0, 5)),  # a runner's DELETE by hand
        # intervals.icu's name and shoe for a stored run (g3: a shoe not in gear)
        st.tuples(st.just("details"), st.integers(0, 5), st.sampled_from([None, "g1", "g3"])),
        st.tuples(st.just("name"), st.integers(0, 5)),  # an account export's name
    ),
    max_size=14,
)


def apply(db: Any, op: tuple) -> None:
    kind, k = op[0], op[1]
    if kind == "save":
        _, _, day, km, source, sport, gear, fast, climb = op
        act = run(
            k,
            day,
            km,
            source=source,
            sport=sport,
            gear_id=gear,
            ascent_m=climb,
            moving_time_s=km * (80.0 if fast else 330.0),
        )
        save_activities(db, [act], now=NOW)
    elif kind in ("merge", "twice"):
        rows = list(db.query("SELECT * FROM activities WHERE deleted = 0 ORDER BY id"))
        if rows:
            save_activities(db, [other_recording(rows[k % len(rows)], kind, op[2])], now=NOW)
    elif kind == "gone":
        mark_gone_from_strava(db, 500 + k, NOW)
    elif kind == "confirm":
        correct_activity(db, f"fit:7:{k}", NOW, confirm=True)
    elif kind == "sport":
        correct_activity(db, f"fit:7:{k}", NOW, sport=op[2])
    elif kind == "shoe":
        with write_tx(db):
            add_shoe(db, f"shoe from day {k}", (MONDAY + timedelta(days=k)).date().isoformat())
        assign_gear_by_date(db)
    elif kind == "assign":
        with write_tx(db):
            assign_run(db, f"fit:7:{k}", "g1")
        assign_gear_by_date(db)
    elif kind == "details":
        with write_tx(db):
            set_details(db, f"fit:7:{k}", name=f"run {k}", gear_id=op[2])
    elif kind == "name":
        with write_tx(db):
            set_name(db, f"strava:{500 + k}", f"named {k}")
    elif kind == "delete":
        db.execute("DELETE FROM activities WHERE id IN (?, ?)", [f"fit:7:{k}", f"strava:{500 + k}"])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with two shoes and four runs, copied for each example (migrating
    one per example was most of the test's time)."""
    path = tmp_path_factory.mktemp("views") / "template.db"
    db = open_db(path)
    with write_tx(db):
        db["gear"].insert_all([{"id": "g1", "name": "one"}, {"id": "g2", "name": "two"}])
    # runs for the operations to meet: FIT and Strava, shod, and one suspect (a ride saved)
    base = [
        run(0, 0, 10),
        run(1, 3, 12, source="strava", gear_id="g1"),
        run(2, 8, 8, moving_time_s=8 * 80.0),
        run(3, 15, 21, gear_id="g2"),
    ]
    save_activities(db, base, now=NOW)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ops)
def test_totals_equal_the_full_aggregate_after_any_writes(template: Path, sequence: list[tuple]):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(template, Path(tmp) / "t.db")
        db = open_db(Path(tmp) / "t.db")
        db.execute("PRAGMA synchronous = OFF")  # a test file: no need to wait for the disk
        for op in sequence:
            apply(db, op)
            assert_views_equal_full_aggregate(db)
        db.close()


def test_a_week_of_runs_moved_out_and_back(tmp_path: Path):
    """A run re-synced into another week leaves its old week (emptied: gone from the view)."""
    db = open_db(tmp_path / "t.db")
    save_activities(db, [run(1, 0, 10)], now=NOW)
    save_activities(db, [run(1, 9, 12)], now=NOW)  # same id, a week later
    assert [w["week_start"] for w in db.query("SELECT * FROM weekly_load")] == ["2026-03-09"]
    assert [d["local_date"] for d in db.query("SELECT * FROM daily_load")] == ["2026-03-11"]
    assert_views_equal_full_aggregate(db)


def test_the_frozen_condition_of_the_triggers_is_the_views_condition():
    """The triggers (a migration: never edited) count what every view counts; a new COUNTED
    needs a migration recreating them."""
    assert _COUNTED_0007.format(a="") == COUNTED


def test_upgrade_fills_the_totals_from_the_stored_runs(tmp_path: Path):
    path = tmp_path / "release.db"
    load_release(path)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    sql = FULL["weekly_load"].replace(COUNTED, "sport = 'running' AND deleted = 0")
    before = [dict(r) for r in conn.execute(sql)]  # 0.1.0 had no suspect column
    conn.close()
    assert before
    db = open_db(path)
    assert list(db.query("SELECT * FROM weekly_load")) == before
    assert db.execute("SELECT COUNT(*) FROM daily_totals").fetchone()[0] > 0
    assert db.execute("SELECT COUNT(*) FROM shoe_totals").fetchone()[0] > 0
    assert_views_equal_full_aggregate(db)
    # and the triggers work on it: one more run
    save_activities(db, [run(3, 1, 8)], now=NOW)
    assert_views_equal_full_aggregate(db)


def test_totals_are_written_in_the_runs_transaction(tmp_path: Path):
    """A save rolled back takes its totals with it; another connection never sees a run
    without its totals (the WAL snapshot holds both or neither)."""
    db = open_db(tmp_path / "t.db")
    save_activities(db, [run(0, 0, 10, gear_id="g1")], now=NOW)
    with pytest.raises(RuntimeError), write_tx(db):
        save_activities(db, [run(1, 1, 12, gear_id="g1"), run(2, 9, 7)], now=NOW)
        raise RuntimeError("killed before the commit")
    assert [w["runs"] for w in db.query("SELECT * FROM weekly_load")] == [1]
    assert list(db.query("SELECT gear_id, runs FROM shoe_totals")) == [{"gear_id": "g1", "runs": 1}]
    reader = sqlite3.connect(tmp_path / "t.db")
    with write_tx(db):
        save_activities(db, [run(1, 1, 12, gear_id="g1")], now=NOW)
        assert reader.execute("SELECT runs FROM weekly_load").fetchall() == [(1,)]
    assert reader.execute("SELECT runs FROM weekly_load").fetchall() == [(2,)]
    reader.close()
    assert_views_equal_full_aggregate(db)
