"""Windowed evaluation (issue 14 item 3) decides exactly what the whole history decides.

``sync.evaluate_dates`` reads only the runs from the rules' reach before the first changed day
(``store.history.load_window``), the past summed up in ``History.past``. These tests build two
years in code with what the summaries must carry (shoes with a drop, a minimalist pair, a
Strava total and a retirement distance; layoffs of 15 and 32 days; runs under 1 km; treadmill
runs; interval laps; 91-bin heart-rate histograms with a max heart rate; a ride; an unconfirmed
suspect run; a soreness episode of ten weeks) and compare with the whole history:

- each rule alone, judged from many days with the window it declares: the same findings, and
  no read before the window (fails when a rule's ``reach`` is too short); one day shorter, some
  read is caught (the history really uses the whole reach);
- every rule together, a run a day landing after 19 months stored: the alerts stored equal
  ``replay`` over the finished history (loading again for the long episode included);
- a window's streaks, gaps, shoe distances and day sums equal the whole history's to the bit.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from rules_support import DAY0, NOW, day, make_cfg, open_tmp_db, replayed, run, store

from calfsync.config import RULE_DEFAULTS
from calfsync.rules.engine import Ledger, days_from, judge, reach, rule_params
from calfsync.rules.history import day_of, fixed
from calfsync.store.history import load_history, load_window
from calfsync.store.soreness import add_report
from calfsync.sync import evaluate_dates, evaluate_pending

DAYS = 730
MAX_HR = 190
LAYOFFS = ((200, 215), (400, 432))  # no runs on these days: RET1 normal, then long
SORE = range(520, 590)  # a report every day: P1's episode reaches far before any window
SHOES = (  # id, from day, drop mm, minimalist, reported total m (Strava), retire at m
    ("s1", 0, 10.0, False, None, None),
    ("s2", 150, 4.0, False, None, 300_000.0),
    ("s3", 330, 8.0, False, 450_000.0, None),
    ("s4", 432, None, True, None, None),  # first worn on the return from a layoff
    ("s5", 620, 0.0, False, None, None),
)


def histogram(rng: random.Random, seconds: float, hard: bool) -> dict[int, float]:
    """Seconds per bpm over 100 … 190, as a FIT file's records give them."""
    centre = rng.uniform(138, 152) + (20 if hard else 0)
    weights = {b: 2.0 ** (-(((b - centre) / 8.0) ** 2)) for b in range(100, 191)}
    total = sum(weights.values())
    return {b: round(seconds * w / total, 1) for b, w in weights.items()}


def shoe_on(n: int) -> str:
    return [s[0] for s in SHOES if s[1] <= n][-1]


def generated() -> list[Any]:
    """Two years of running, seeded: every case the window's summary must carry."""
    rng = random.Random(14)
    acts = []
    for n in range(DAYS):
        if any(a <= n < b for a, b in LAYOFFS):
            continue
        if rng.random() < 0.38 and all(n != b for _a, b in LAYOFFS):
            continue
        weekday = n % 7
        km = rng.uniform(14, 26) if weekday == 6 else rng.uniform(4, 12)
        if n % 90 > 60:
            km *= 1.4  # a build block: W1, S1
        hard = weekday == 2 and rng.random() < 0.6
        kind = rng.choice(["road"] * 8 + ["treadmill", "trail", "track"])
        climb = rng.uniform(0, 30) * km * (3 if n % 60 > 50 else 1)  # hill blocks: H1, H2
        act = run(
            n,
            km,
            climb=climb,
            sub_sport=kind,
            gear=shoe_on(n),
            hour=rng.randint(6, 19),
            interval_min=rng.uniform(8, 30) if hard and rng.random() < 0.5 else None,
            hr_histogram=histogram(rng, km * 330, hard),
            laps=[
                {"timer_time_s": 300.0, "distance_m": 1000.0 + rng.uniform(0, 600)},
                {"timer_time_s": km * 330 - 300, "distance_m": km * 1000 - 1000},
            ],
        )
        acts.append(act)
        if rng.random() < 0.05:
            acts.append(run(n, 0.6, hour=21, gear=shoe_on(n)))  # a blip: no reference
    acts.append(run(300, 40, sport="cycling", sub_sport="road", hour=12))
    acts.append(dataclasses.replace(run(360, 12, hour=13), moving_time_s=1200.0))  # suspect
    return acts


def build(tmp_path: Any, acts: list[Any], until: int = DAYS) -> Any:
    db = open_tmp_db(tmp_path)
    for gid, _n, drop, minimalist, reported, retire in SHOES:
        db["gear"].insert(
            {
                "id": gid,
                "name": f"Shoe {gid}",
                "drop_mm": drop,
                "minimalist": int(minimalist),
                "distance_m": reported,
                "retire_at_m": retire,
            }
        )
    store(db, acts)
    for n in SORE:
        if n < until:
            add_report(db, day(n), 3 + n % 4)
    return db


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db = build(tmp_path_factory.mktemp("window"), generated())
    yield db
    db.close()


def alone(rule: str) -> Any:
    rules = {rid: {"enabled": rid == rule} for rid in RULE_DEFAULTS}
    return make_cfg(rules, athlete={"max_heart_rate": MAX_HR})


@pytest.mark.parametrize("rule", sorted(RULE_DEFAULTS))
def test_each_rule_judges_a_window_as_the_whole_history(long_db: Any, rule: str) -> None:
    """From every 5th run day of the second year, judge 3 weeks with the declared window and
    with the whole history (empty ledgers: no old alert to look back to): the same findings,
    and no read before the window (P1 excepted: its episodes reach back as far as they last,
    and a read before the window makes the engine load again). One day shorter is caught."""
    cfg = alone(rule)
    params = rule_params(cfg)
    span = reach(params)
    whole = load_history(long_db, cfg)
    first = DAY0.toordinal() + 380  # the second layoff on: a year of past to sum up
    starts = [d for d in sorted(whole.by_day) if d >= first][::5]
    starts += [DAY0.toordinal() + n for n in (*SORE[::10], *(b for _a, b in LAYOFFS))]
    found = caught_short = noticed = 0
    for start in starts:
        days = [d for d in days_from(whole, start) if d < start + 21]
        expected = judge(whole, params, days, Ledger())
        window = load_history(long_db, cfg, start - span)
        assert window.past is not None and len(window.runs) < len(whole.runs)
        got = judge(window, params, days, Ledger())
        if rule != "P1":
            assert window.reached is None, f"{rule} read day {window.reached} before {start}"
        if window.reached is None:
            assert got == expected, (rule, start)
        noticed += window.reached is not None
        found += len(expected)
        short = load_history(long_db, cfg, start - span + 1)
        judge(short, params, days, Ledger())
        caught_short += short.reached is not None
    assert found, f"the generated history never fires {rule}"
    if span > 7:  # the cooldown's week is the shortest window: no lookback to check
        assert caught_short, f"{rule} never read its whole reach of {span} days"
    assert noticed or rule != "P1", "the ten-week episode never read before a window"


def test_runs_landing_one_a_day_store_what_replay_finds(tmp_path: Any) -> None:
    """Every rule on (A1, WU too): 19 months stored and evaluated, then a run a day landing
    and evaluated with a window, soreness reported day by day to the end of a ten-week episode
    (P1 reads back to its start: the engine loads again from earlier); the stored alerts equal
    replay over the finished history, and each evaluation after the first read a window."""
    cfg = make_cfg(
        {"A1": {"enabled": True}, "WU": {"enabled": True}}, athlete={"max_heart_rate": MAX_HR}
    )
    acts = generated()
    cut = 575  # s3's Strava total is final: all its runs are stored before; P1 is running
    db = build(tmp_path, [a for a in acts if a.local_date < day(cut)], until=cut)
    evaluate_dates(db, cfg, {day(0)}, NOW, mode="import")
    later = sorted({a.local_date for a in acts if a.local_date >= day(cut)})
    later = sorted(set(later) | {day(n) for n in SORE if n >= cut})
    for date in later:
        store(db, [a for a in acts if a.local_date == date])
        n = day_of(date) - DAY0.toordinal()
        if n in SORE:
            add_report(db, date, 3 + n % 4)
        evaluate_pending(db, cfg, NOW, mode="import")
        window = load_window(db, cfg, day_of(date) - reach(rule_params(cfg)))[0]
        assert window.past is not None and window.runs[0].local_date >= day(cut - 70)
    stored = sorted(
        (r["rule"], r["episode_key"], r["local_date"], r["severity"])
        for r in db.query("SELECT * FROM alerts")
    )
    expected = sorted(
        (a["rule"], a["episode_key"], a["local_date"], a["severity"]) for a in replayed(db, cfg)
    )
    assert stored == expected
    assert {"RET1", "S1", "W1", "H1", "H2", "I1", "G1", "G2", "SW1", "P1"} <= {s[0] for s in stored}


def test_a_window_holds_exactly_the_whole_history_s_numbers(long_db: Any) -> None:
    """Every run of a window has the whole history's streak, gap, shoe distance and first use,
    and every day's sums are equal to the last bit (sums are exact integers, so the day the
    history starts on cannot change them); SQLite's CAST makes the same integers as Python.
    A streak older than the layoff search is only known to have begun by the day it gives."""
    cfg = make_cfg(athlete={"max_heart_rate": MAX_HR})
    whole = load_history(long_db, cfg)
    at = {r.id: k for k, r in enumerate(whole.runs)}
    for n in (210, 433, 500, 600, 700):
        since = DAY0.toordinal() + n
        window = load_history(long_db, cfg, since)
        for i, r in enumerate(window.runs):
            j = at[r.id]
            assert same_streak(window, window.streak_of[i], whole.streak_of[j])
            assert window.gap_before[i] == whole.gap_before[j]
            assert window.shoe_before_m[i] == whole.shoe_before_m[j]
            assert window.first_in_shoe[i] == whole.first_in_shoe[j]
            assert window.is_first(i) == whole.is_first(j) is False
        for t in range(since + 27, since + 60):
            for name in ("dist", "climb", "outdoor", "known"):
                assert window.total(name, t - 27, t) == whole.total(name, t - 27, t)
            assert same_streak(window, window.streak_start(t), whole.streak_start(t))
        assert window.reached is None
    odd = [9216.336162511234, 0.1, 1e-7, 12345.678901234567, 1e-12, 299999.99999999994]
    (cast,) = long_db.execute(
        "SELECT " + " + ".join("CAST(? * 4294967296.0 AS INTEGER)" for _ in odd), odd
    ).fetchone()
    assert cast == sum(fixed(m) for m in odd)


def same_streak(window: Any, seen: int | None, whole: int | None) -> bool:
    past = window.past
    if seen == past.streak_start and not past.streak_exact:
        return whole is not None and whole <= seen
    return seen == whole
