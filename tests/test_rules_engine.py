"""The alert ledger and incremental evaluation, against a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rules_support import (
    NOW,
    REPLAY_KEYS,
    alert_rows,
    day,
    fired,
    make_cfg,
    open_tmp_db,
    replayed,
    run,
    store,
    weeks,
)

from calfsync.rules.messages import MAX_BODY_CHARS
from calfsync.sync import evaluate_dates

CFG = make_cfg()


def varied_history() -> list:
    """Ten weeks of 30 km, a long run, a hilly week, intervals, a layoff and a return."""
    acts = weeks(10, 30)
    acts += [run(70, 16), run(72, 8, climb=40), run(74, 8, climb=200), run(76, 8, climb=150)]
    acts += [run(78, 10, interval_min=14, hour=18), run(80, 5)]
    acts += weeks(3, 36, first_day=100)  # 20 days off
    acts += weeks(2, 50, first_day=121)
    return acts


def key_set(rows: list[dict]) -> list[tuple]:
    return sorted(
        (r["rule"], r["episode_key"], r["local_date"], r["activity_id"], r["severity"])
        for r in rows
    )


def test_evaluate_stores_alerts_once(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    acts = varied_history()
    dates = store(db, acts)
    ids = evaluate_dates(db, CFG, dates, NOW, mode="import")
    assert ids and len(ids) == len(set(ids))
    assert evaluate_dates(db, CFG, dates, NOW, mode="import") == []
    stored = alert_rows(db)
    assert {r["rule"] for r in stored} >= {"S1", "W1", "RET1", "H1", "H2", "I1"}
    assert all(r["pushed"] == "imported" for r in stored)
    for r in stored:
        assert len(r["body"]) < MAX_BODY_CHARS and r["rule"] in r["title"]
        assert "not medical advice" in r["body"].lower()
        json.loads(r["values"])


def test_incremental_equals_full_and_replay(tmp_path: Path) -> None:
    acts = varied_history()
    full = open_tmp_db(tmp_path / "full")
    evaluate_dates(full, CFG, store(full, acts), NOW, mode="import")
    inc = open_tmp_db(tmp_path / "inc")
    by_week: dict[int, list] = {}
    for a in acts:
        by_week.setdefault(a.start_time.toordinal() // 7, []).append(a)
    for week in sorted(by_week):
        evaluate_dates(inc, CFG, store(inc, by_week[week]), NOW, mode="import")
    assert key_set(alert_rows(inc)) == key_set(alert_rows(full))
    assert key_set(replayed(full, CFG, None)) == key_set(alert_rows(full))


def test_history_never_pushes(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    acts = [*weeks(6, 30), run(42, 16)]
    now_fresh = acts[-1].start_time + timedelta(hours=71)
    ids = evaluate_dates(db, CFG, store(db, acts), now_fresh, mode="push")
    rows = [r for r in alert_rows(db) if r["id"] in ids]
    states = {(r["rule"], r["local_date"]): r["pushed"] for r in rows}
    assert states[("S1", day(42))] == "pending"  # S1 large is a "now" alert
    # a fresh "digest" alert waits for the weekly digest instead of pushing at once
    assert all(
        r["pushed"] == ("pending" if r["delivery"] == "now" else "digest")
        for r in rows
        if r["local_date"] == day(42)
    )
    assert all(s == "history" for (_rule, d), s in states.items() if d != day(42))
    late = open_tmp_db(tmp_path / "late")
    ids = evaluate_dates(
        late, CFG, store(late, acts), acts[-1].start_time + timedelta(hours=73), mode="push"
    )
    assert ids and {r["pushed"] for r in alert_rows(late)} == {"history"}
    imp = open_tmp_db(tmp_path / "imp")
    evaluate_dates(imp, CFG, store(imp, acts), now_fresh, mode="import")
    assert {r["pushed"] for r in alert_rows(imp)} == {"imported"}


def test_replay_writes_nothing(tmp_path: Path) -> None:
    db = open_tmp_db(tmp_path)
    store(db, varied_history())
    found = replayed(db, CFG, None)
    assert found and alert_rows(db) == []
    later = replayed(db, CFG, day(100))
    assert later == [a for a in found if a["local_date"] >= day(100)]
    for a in found:
        assert REPLAY_KEYS <= set(a)


# -- cooldown, escalation, re-arm ---------------------------------------------------------------


def test_cooldown_blocks_the_same_rule_for_seven_days() -> None:
    base = weeks(6, 28)  # 7 km runs
    acts = [*base, run(42, 8.0, hour=6), run(45, 8.8), run(49, 9.9)]
    # 42: +14% small; 45: +10% on 8 km (not more); 49: +12.5% on 8.8 km, 7 days later
    got = [(f.local_date, f.severity) for f in fired(acts, rule="S1")]
    assert got == [(day(42), "small"), (day(49), "small")]
    inside = [*base, run(42, 8.0, hour=6), run(48, 9.0)]  # 48 is 6 days later: still cooling
    assert [f.local_date for f in fired(inside, rule="S1")] == [day(42)]


def test_higher_severity_escalates_inside_the_cooldown() -> None:
    acts = [*weeks(6, 28), run(42, 8.0), run(44, 18.0)]
    got = [(f.local_date, f.severity) for f in fired(acts, rule="S1")]
    assert got == [(day(42), "small"), (day(44), "large")]
    same = [*weeks(6, 28), run(42, 8.0), run(44, 9.0)]  # small again: blocked
    assert [f.local_date for f in fired(same, rule="S1")] == [day(42)]


def test_w1_rearms_only_after_the_ratio_falls_back() -> None:
    cfg = make_cfg({"W1": {"cooldown_days": 0}})
    # five weeks first: W1 compares with weeks that must be known (RULES.md, new high)
    rising = [*weeks(5, 30), *weeks(1, 40, first_day=35), *weeks(1, 52, first_day=42)]
    got = [f.local_date for f in fired(rising, cfg=cfg, rule="W1")]
    # the ratio never fell below +10% between the two rises: one alert
    assert len(got) == 1
    # a steady week in between (ratio 0) re-arms it
    steady = [*weeks(5, 30), *weeks(1, 40, first_day=35), *weeks(1, 40, first_day=42)]
    rearmed = [*steady, *weeks(1, 52, first_day=49)]
    assert len(fired(rearmed, cfg=cfg, rule="W1")) == 2


def test_episode_key_never_alerts_twice_even_with_no_cooldown(tmp_path: Path) -> None:
    cfg = make_cfg({"S1": {"cooldown_days": 0}})
    db = open_tmp_db(tmp_path)
    acts = [*weeks(6, 28), run(42, 9.0)]
    first = evaluate_dates(db, cfg, store(db, acts), NOW, mode="import")
    again = evaluate_dates(db, cfg, {day(0)}, NOW, mode="import")
    assert first and again == []


def test_p1_from_the_soreness_log_pushes_when_recent(tmp_path: Path) -> None:
    from calfsync.soreness import record_soreness

    db = open_tmp_db(tmp_path)
    today = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    ids: list[int] = []
    for k in range(9):
        d = (today - timedelta(days=8 - k)).date().isoformat()
        ids += record_soreness(db, CFG, 3, d, None, today)
    rows = alert_rows(db)
    assert [(r["rule"], r["pushed"], r["local_date"]) for r in rows] == [
        ("P1", "pending", "2026-03-20")
    ]
    assert ids == [rows[0]["id"]]


def test_evaluate_rejects_an_unknown_mode(tmp_path: Path) -> None:
    import pytest

    db = open_tmp_db(tmp_path)
    with pytest.raises(ValueError):
        evaluate_dates(db, CFG, {day(0)}, NOW, mode="loud")


def test_runs_of_one_day_synced_apart_equal_a_full_evaluation(tmp_path: Path) -> None:
    # The daemon syncs a morning run before the evening run exists. Window rules fire "on run
    # r at local date t", so the morning run is judged on what has arrived; a full evaluation
    # (and replay) must reach the same ledger, not judge the day only on its last run.
    base = weeks(4, 32, climb_per_run=20)  # 80 m a week
    hill = weeks(1, 24, first_day=28, climb_per_run=80)[:-1]  # 240 m over 18 km
    morning = run(34, 6, climb=80, hour=7)  # 320 m over 24 km: H1 fires
    evening = run(34, 12, climb=0, hour=18)  # 320 m over 36 km: 8.9 m/km
    rising = [*weeks(5, 30), *weeks(1, 30, first_day=35)[:-1], run(41, 14.0, hour=7)]
    late = run(41, 5.0, hour=19)  # W1 fired on the morning run: the evening adds to it
    for first, second in (([*base, *hill, morning], [evening]), (rising, [late])):
        inc = open_tmp_db(tmp_path / f"inc{len(first)}")
        evaluate_dates(inc, CFG, store(inc, first), NOW, mode="import")
        evaluate_dates(inc, CFG, store(inc, second), NOW, mode="import")
        full = open_tmp_db(tmp_path / f"full{len(first)}")
        evaluate_dates(full, CFG, store(full, [*first, *second]), NOW, mode="import")
        assert key_set(alert_rows(inc)) == key_set(alert_rows(full))
        assert key_set(replayed(full, CFG, None)) == key_set(alert_rows(full))
    assert {r["rule"] for r in alert_rows(inc)} >= {"W1"}


def test_soreness_reports_of_one_day_evaluated_apart_equal_a_full_evaluation(
    tmp_path: Path,
) -> None:
    # P1 is judged at each report in the order reports were made: a morning 3 that completes a
    # span of more than 7 days fires P1 as it arrives (push mode), and a full evaluation and
    # replay, which see the evening 0 of the same day too, must reach the same ledger.
    from calfsync.soreness import record_soreness

    today = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    first = (today - timedelta(days=8)).date().isoformat()
    reports = [((today - timedelta(days=8 - k)).date().isoformat(), 3) for k in range(9)]
    reports.append((today.date().isoformat(), 0))  # the evening 0 of the same day
    reports += [((today + timedelta(days=1)).date().isoformat(), 4)]  # a new, short episode

    inc = open_tmp_db(tmp_path / "inc")
    for d, level in reports:
        record_soreness(inc, CFG, level, d, None, today)
    assert [(r["rule"], r["pushed"], r["local_date"]) for r in alert_rows(inc)] == [
        ("P1", "pending", "2026-03-20")
    ]

    quiet = make_cfg({"P1": {"enabled": False}})
    full = open_tmp_db(tmp_path / "full")
    for d, level in reports:
        record_soreness(full, quiet, level, d, None, today)
    assert alert_rows(full) == []
    evaluate_dates(full, CFG, {first}, today, mode="push")

    assert key_set(alert_rows(inc)) == key_set(alert_rows(full))
    for db in (inc, full):
        assert key_set(replayed(db, CFG, None)) == key_set(alert_rows(inc))
