"""Issue 10 on the rules: suspect runs kept out, known history, runs under 1 km, W1's new high,
data that changes judged again, delivery classes, and one clear case per guide trigger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rules_support import (
    alert_rows,
    day,
    fired,
    history,
    make_cfg,
    open_tmp_db,
    replayed,
    run,
    store,
    weeks,
)

from calfsync.rules.history import Shoe, day_of
from calfsync.rules.registry import delivery
from calfsync.sync import evaluate_dates

CFG = make_cfg()


def ride_saved_as_run(n: int) -> object:
    """51.75 km at 2:40/km (issue 10): suspect, average 6.25 m/s."""
    act = run(n, 51.75)
    act.moving_time_s = act.elapsed_time_s = 51.75 * 160
    return act


def rules_of(db, cfg=CFG) -> list[tuple[str, str]]:
    return [(a["rule"], a["local_date"]) for a in replayed(db, cfg)]


# -- suspect runs -------------------------------------------------------------------------------
def test_a_suspect_run_counts_for_no_rule_until_confirmed(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    store(db, [*weeks(6, 28), ride_saved_as_run(42), run(44, 16.0)])
    # no S1 on the ride, and it is not the 30-day reference that would hide the next rise
    assert rules_of(db) == [("S1", day(44))]
    db.execute("UPDATE activities SET suspect_confirmed = 1 WHERE local_date = ?", [day(42)])
    # confirmed: it counts (S1 and the week's W1), and it is the reference for day 44
    assert [r for r in rules_of(db) if r[0] == "S1"] == [("S1", day(42))]


def test_a_window_rule_is_silent_over_an_unconfirmed_suspect_run(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    climb = run(38, 5.0, climb=8039)  # an altimeter fault in the week of the new high
    store(db, [*weeks(5, 30), *weeks(1, 40, first_day=35), climb])
    assert "W1" not in [r for r, _d in rules_of(db)]
    db.execute("UPDATE activities SET suspect_confirmed = 1 WHERE local_date = ?", [day(38)])
    assert "W1" in [r for r, _d in rules_of(db)]


def test_a_future_dated_run_is_suspect_and_never_pushes(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    now = datetime(2025, 3, 1, 12, tzinfo=UTC)
    future = run(0, 5.0)
    future.start_time = datetime(2099, 1, 1, 7, tzinfo=UTC)
    dates = store(db, [*weeks(6, 30), future])
    (row,) = db.query("SELECT suspect FROM activities WHERE start_time LIKE '2099%'")
    assert "2099-01-01, more than a day in the future" in row["suspect"]
    assert evaluate_dates(db, CFG, dates, now, mode="push") == []  # no RET1 after 26,000 days
    # even confirmed, a run that starts after now is never pushed (RULES.md)
    db.execute("UPDATE activities SET suspect_confirmed = 1 WHERE start_time LIKE '2099%'")
    ids = evaluate_dates(db, CFG, {"2099-01-01"}, now, mode="push")
    assert ids and {r["pushed"] for r in alert_rows(db)} == {"history"}


# -- known history ------------------------------------------------------------------------------
def test_s1_is_silent_in_the_first_30_days_of_a_history() -> None:
    # issue 10: "S1: 3.0 km against your longest of 2.0 km" on day 4
    assert fired([run(0, 2.0), run(2, 2.0), run(4, 3.0)], rule="S1") == []
    assert fired([*weeks(2, 12), run(14, 8)], rule="S1") == []
    assert len(fired([*weeks(5, 12), run(35, 8)], rule="S1")) == 1  # 30 known days: it fires


def test_s1_fires_after_a_return_even_in_the_first_30_days() -> None:
    acts = [run(0, 8), run(1, 8), run(16, 5), run(18, 5), run(20, 9)]  # back on day 16
    assert [(f.local_date, f.severity) for f in fired(acts, rule="S1")] == [(day(20), "moderate")]


def test_the_first_activity_of_any_sport_starts_what_is_known(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    rides = [run(n, 20.0, sport="cycling") for n in range(0, 35, 7)]
    store(db, [*rides, run(33, 5), run(35, 8)])
    assert [(r, d) for r, d in rules_of(db) if r == "S1"] == [("S1", day(35))]


def test_w1_needs_the_weeks_it_compares_with_known() -> None:
    assert fired([*weeks(3, 30), *weeks(1, 40, first_day=21)], rule="W1") == []
    assert len(fired([*weeks(5, 30), *weeks(1, 40, first_day=35)], rule="W1")) == 1


# -- W1's new high ------------------------------------------------------------------------------
def test_w1_is_silent_on_a_rebound_after_an_easy_week() -> None:
    # issue 10: 30.3 km after a 19.2 km week, when the weeks before were 82, 81, 86 and 82 km
    acts = [*weeks(5, 82), *weeks(1, 19.2, first_day=35), *weeks(1, 30.3, first_day=42)]
    assert fired(acts, rule="W1") == []
    back_to_normal = [*weeks(5, 40), *weeks(1, 20, first_day=35), *weeks(1, 40, first_day=42)]
    assert fired(back_to_normal, rule="W1") == []


def test_w1_fires_on_a_new_high() -> None:
    acts = [*weeks(5, 40), *weeks(1, 20, first_day=35), *weeks(1, 48, first_day=42)]
    (found,) = fired(acts, rule="W1")
    assert found.values["recent_high_km"] == 40.0 and found.values["week_km"] > 44.0


def test_w1_new_high_factor_is_configurable() -> None:
    rebound = [*weeks(5, 40), *weeks(1, 20, first_day=35), *weeks(1, 30, first_day=42)]
    assert len(fired(rebound, cfg=make_cfg({"W1": {"new_high_factor": 0.0}}), rule="W1")) == 1


# -- runs under 1 km ----------------------------------------------------------------------------
def test_a_run_under_1_km_never_ends_a_layoff_and_is_no_reference() -> None:
    base = weeks(3, 30)
    assert fired([*base, run(40, 0.66)], rule="RET1") == []
    # issue 10: a 0.66 km blip became the "return" that made a 5.1 km run "S1 large +668%"
    found = fired([*base, run(40, 0.66), run(41, 5.1)])
    assert [(f.rule, f.values.get("gap_days")) for f in found] == [("RET1", 21)]


def test_a_run_under_1_km_is_never_the_longest_nor_the_biggest_climb() -> None:
    steady = weeks(5, 4.0, per_week=4)  # 1 km runs with 20 m each
    tiny = run(36, 0.9, climb=200)
    assert fired([*steady, tiny, run(37, 1.05)], rule="S1") == []  # 1.05 km against 1 km
    assert fired([*steady, tiny, run(37, 1.5, climb=150)], rule="H2") != []


def test_a_run_under_1_km_counts_for_distance_and_starts_no_streak() -> None:
    h = history([run(0, 0.5), *weeks(3, 20, first_day=20)])
    assert h.streak_start(day_of(day(30))) == day_of(day(20))
    assert h.d7(day_of(day(6))) == 500.0


# -- data that changes is judged again ----------------------------------------------------------
def test_a_salvaged_partial_file_replaced_by_the_complete_one(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    now = datetime.combine(datetime.fromisoformat(day(42)), datetime.min.time(), UTC)
    now += timedelta(hours=12)
    store(db, weeks(6, 28))  # 7 km runs
    partial = run(42, 8.5)
    partial.salvaged = True  # the battery died: 8.5 km of 16 (S1 small, a digest finding)
    evaluate_dates(db, CFG, store(db, [partial]), now, mode="push")
    assert [(r["rule"], r["severity"], r["pushed"]) for r in alert_rows(db)] == [
        ("S1", "small", "digest")
    ]
    complete = run(42, 16.0)  # the complete file: S1 large alerts (now), the first one stays
    evaluate_dates(db, CFG, store(db, [complete]), now, mode="push")
    rows = [(r["rule"], r["episode_key"], r["severity"], r["pushed"]) for r in alert_rows(db)]
    key = f"S1:{complete.id}"
    assert [r for r in rows if r[0] == "S1"] == [
        ("S1", key, "small", "digest"),
        ("S1", f"{key}#large", "large", "pending"),
    ]
    corrected = run(42, 11.0)  # an edit down: S1 moderate is recorded, never pushed
    assert len(evaluate_dates(db, CFG, store(db, [corrected]), now, mode="push")) == 1
    after = [(r["rule"], r["episode_key"], r["severity"], r["pushed"]) for r in alert_rows(db)]
    assert after == [*rows, ("S1", f"{key}#moderate", "moderate", "history")]  # none retracted
    again = run(42, 8.5)  # down to a severity already recorded: nothing new
    assert evaluate_dates(db, CFG, store(db, [again]), now, mode="push") == []


# -- delivery classes ---------------------------------------------------------------------------
def test_replay_json_carries_the_delivery_class(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    store(db, [*weeks(5, 28), run(35, 8.0), run(37, 17.0)])
    found = {(a["rule"], a["severity"]): a["delivery"] for a in replayed(db, CFG)}
    assert found[("S1", "small")] == "digest" and found[("S1", "large")] == "now"
    loud = make_cfg({"S1": {"delivery": "now"}})
    assert {a["delivery"] for a in replayed(db, loud) if a["rule"] == "S1"} == {"now"}


def test_push_mode_stores_delivery_and_holds_digest_alerts(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    acts = [*weeks(5, 28), run(35, 8.0)]
    now = acts[-1].start_time + timedelta(hours=2)
    evaluate_dates(db, CFG, store(db, acts), now, mode="push")
    assert [(r["rule"], r["delivery"], r["pushed"]) for r in alert_rows(db)] == [
        ("S1", "digest", "digest")
    ]
    assert db.execute("SELECT COUNT(*) FROM notify_outbox").fetchone()[0] == 0


# -- one clear case per guide trigger, with the new defaults ------------------------------------
SHOES = [Shoe("A", name="Daily", drop_mm=10), Shoe("B", name="Racer", drop_mm=4)]
LAPS = [{"intensity": "interval", "timer_time_s": 600}]
GUIDE_CASES = {
    "a long-run spike": ([*weeks(6, 28), run(42, 16)], {}, "S1", "large"),
    "a weekly ramp to a new high": ([*weeks(5, 30), *weeks(1, 40, first_day=35)], {}, "W1", None),
    "a return after a layoff": ([*weeks(4, 30), run(60, 5)], {}, "RET1", "long"),
    "a hill block": (
        [*weeks(4, 32, climb_per_run=20), *weeks(1, 32, first_day=28, climb_per_run=80)],
        {},
        "H1",
        None,
    ),
    "a first interval session in weeks": (
        [*weeks(4, 30), run(28, 6, interval_min=10)],
        {},
        "I1",
        None,
    ),
    "a new low-drop shoe": ([*weeks(4, 30, gear="A"), run(28, 5, gear="B")], {}, "G2", None),
    "pain lasting more than a week": ([run(0, 5)], {d: 3 for d in range(9)}, "P1", None),
}


@pytest.mark.parametrize("case", list(GUIDE_CASES))
def test_every_guide_trigger_still_fires_on_a_clear_case(case: str) -> None:
    acts, soreness, rule, severity = GUIDE_CASES[case]
    found = [f for f in fired(acts, shoes=SHOES, soreness=soreness) if f.rule == rule]
    assert found, f"{case}: {rule} did not fire"
    if severity:
        assert found[0].severity == severity
    assert delivery(rule, found[0].severity) in ("now", "digest")
