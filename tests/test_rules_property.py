"""Property: importing a history day by day (FIT files through ``import``) records exactly the
alerts that ``replay`` prints for the finished history."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rules_support import make_cfg, open_tmp_db, replayed

from calfsync.fitwriter import LapSpec, SessionSpec, encode_activity
from calfsync.ingest.fit import import_paths
from calfsync.sync import evaluate_pending

START = datetime(2025, 3, 3, 6, 30, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)

one_run = st.tuples(
    st.sampled_from([1, 1, 1, 2, 2, 3, 4, 6, 15, 29]),  # days since the previous activity
    st.integers(30, 240),  # distance in 100 m
    st.integers(0, 320),  # climb in m
    st.sampled_from(["generic", "generic", "generic", "treadmill", "track", "ride"]),
    st.sampled_from([0, 0, 0, 0, 9, 14, 20]),  # minutes in interval laps
)


def fit_file(when: datetime, dist_100m: int, climb: int, kind: str, interval_min: int) -> bytes:
    distance = dist_100m * 100.0
    duration = distance * 0.33
    laps = None
    if interval_min and kind != "ride":
        hard_s = interval_min * 60.0
        laps = [LapSpec(hard_s, min(hard_s * 4.0, distance * 0.6), "interval")]
        duration = max(duration, hard_s * 1.5)
    spec = SessionSpec(
        start=when,
        duration_s=duration,
        distance_m=distance,
        sport="cycling" if kind == "ride" else "running",
        sub_sport="generic" if kind == "ride" else kind,
        ascent_m=float(climb),
        laps=laps,
        record_step_s=120,
    )
    return encode_activity([spec], utc_offset_s=3600)


def alert_keys(found: list[dict]) -> list[tuple]:
    return sorted(
        (
            a["rule"],
            a["episode_key"],
            a["local_date"],
            a["activity_id"],
            a["severity"],
            json.dumps(a["values"], sort_keys=True)
            if isinstance(a["values"], dict)
            else a["values"],
        )
        for a in found
    )


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(one_run, min_size=12, max_size=28))
def test_day_by_day_import_equals_replay(history: list[tuple]) -> None:
    import_day_by_day(history)


def test_a_history_with_several_triggers_imports_as_it_replays() -> None:
    steady = [(2, 60, 20, "generic", 0)] * 15  # H2 needs 30 known days before the hilly run
    history = [*steady, (2, 150, 300, "generic", 0), (16, 60, 20, "generic", 0)]
    history += [(2, 60, 20, "generic", 0)] * 11 + [(2, 70, 20, "track", 14)]
    rules = {a[0] for a in import_day_by_day(history)}
    assert {"S1", "H2", "RET1", "I1"} <= rules


def import_day_by_day(history: list[tuple]) -> list[tuple]:
    """Import one FIT file a day, evaluating after each like ``calfsync import``; check the
    ledger against replay and return the alerts."""
    cfg = make_cfg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = open_tmp_db(folder)
        when = START
        for k, (gap, dist, climb, kind, interval_min) in enumerate(history):
            when += timedelta(days=gap)
            path = folder / f"{k:03d}.fit"
            path.write_bytes(fit_file(when, dist, climb, kind, interval_min))
            summary = import_paths(db, cfg, [path], now=NOW)
            evaluate_pending(db, cfg, NOW, mode="import", extra_dates=summary.changed_dates)
        stored = list(
            db.query(
                'SELECT rule, episode_key, local_date, activity_id, severity, "values", '
                "pushed FROM alerts",
            )
        )
        assert {r["pushed"] for r in stored} <= {"imported"}
        keys = alert_keys(stored)
        assert keys == alert_keys(replayed(db, cfg, None))
        db.close()
    return keys
