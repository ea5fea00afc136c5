"""G1, G2, SW1, I1, WU and P1 on histories built in code (pure: no database)."""

from __future__ import annotations

from rules_support import day, fired, make_cfg, run, weeks

from calfsync.rules.history import Shoe

OLD = Shoe(id="A", name="Old trainer", drop_mm=10.0)


def in_shoe(acts: list, gear: str) -> list:
    for a in acts:
        a.gear_id = gear
    return acts


# -- G1: a new pair ----------------------------------------------------------------------------


def test_g1_fires_on_the_first_run_in_a_new_shoe() -> None:
    acts = [*in_shoe(weeks(4, 30), "A"), run(28, 8, gear="B")]
    found = fired(acts, shoes=[OLD, Shoe(id="B", name="New racer")], rule="G1")
    assert [(f.episode_key, f.values["shoe"]) for f in found] == [("G1:B", "New racer")]


def test_g1_twenty_km_threshold() -> None:
    acts = [*in_shoe(weeks(4, 30), "A"), run(28, 8, gear="B")]
    # Strava says B has 28 km, 8 of them this run: 20 km before it is still "new"
    assert len(fired(acts, shoes=[OLD, Shoe(id="B", reported_m=28_000)], rule="G1")) == 1
    assert fired(acts, shoes=[OLD, Shoe(id="B", reported_m=28_100)], rule="G1") == []


def test_g1_shoe_already_in_rotation_is_not_new() -> None:
    acts = [*in_shoe(weeks(4, 30), "A"), run(28, 8, gear="B")]
    assert fired(acts, shoes=[OLD, Shoe(id="B", reported_m=300_000)], rule="G1") == []
    # the very first run of a history changes nothing
    assert fired(in_shoe(weeks(2, 30), "A"), shoes=[OLD], rule="G1") == []


# -- G2: lower drop ------------------------------------------------------------------------------


def test_g2_fires_on_a_4_mm_lower_drop_and_just_under() -> None:
    base = in_shoe(weeks(8, 30), "A")
    low = fired([*base, run(56, 8, gear="B")], shoes=[OLD, Shoe("B", drop_mm=6)], rule="G2")
    assert [(f.values["drop_mm"], f.values["reference_drop_mm"]) for f in low] == [(6, 10)]
    near = fired([*base, run(56, 8, gear="B")], shoes=[OLD, Shoe("B", drop_mm=6.1)], rule="G2")
    assert near == []


def test_g2_minimalist_and_unknown_drops() -> None:
    base = in_shoe(weeks(8, 30), "A")
    minimal = Shoe("B", minimalist=True)
    assert len(fired([*base, run(56, 8, gear="B")], shoes=[OLD, minimal], rule="G2")) == 1
    both = [Shoe("A", drop_mm=10, minimalist=True), minimal]
    assert fired([*base, run(56, 8, gear="B")], shoes=both, rule="G2") == []
    unknown = [Shoe("A"), Shoe("B", drop_mm=0)]
    assert fired([*base, run(56, 8, gear="B")], shoes=unknown, rule="G2") == []


# -- SW1: worn shoes -----------------------------------------------------------------------------


def test_sw1_fires_when_a_shoe_passes_its_retirement_distance() -> None:
    acts = [run(d, 10, gear="A") for d in range(0, 40, 2)]  # 20 runs, 200 km
    found = fired(acts, shoes=[Shoe("A", retire_at_m=100_000)], rule="SW1")
    assert [(f.local_date, f.values["shoe_km"]) for f in found] == [(day(18), 100.0)]
    assert fired(acts[:9], shoes=[Shoe("A", retire_at_m=100_000)], rule="SW1") == []
    just = [*acts[:9], run(18, 9.9, gear="A")]
    assert fired(just, shoes=[Shoe("A", retire_at_m=100_000)], rule="SW1") == []


def test_sw1_counts_the_distance_before_calfsync_knew_the_shoe() -> None:
    acts = [run(0, 8, gear="A"), run(2, 8, gear="A")]
    found = fired(acts, shoes=[Shoe("A", reported_m=801_000)], rule="SW1")  # 785 km before
    assert [f.local_date for f in found] == [day(2)]


# -- I1: a harder interval session ---------------------------------------------------------------


def test_i1_fires_on_the_first_hard_session_in_21_days() -> None:
    acts = [*weeks(4, 30), run(28, 10, interval_min=12, hour=18)]
    found = fired(acts, rule="I1")
    assert [(f.values["reason"], f.values["hard_min"]) for f in found] == [("first_in_window", 12)]


def test_i1_ratio_and_just_under() -> None:
    base = [*weeks(6, 30), run(22, 10, interval_min=10, hour=18)]
    assert fired([*base, run(30, 10, interval_min=13, hour=18)], rule="I1")[-1].local_date != day(
        30
    )
    found = fired([*base, run(30, 10, interval_min=13.5, hour=18)], rule="I1")
    assert found[-1].local_date == day(30) and found[-1].values["reference_hard_min"] == 10


def test_i1_quiet_days_boundary() -> None:
    base = [*weeks(8, 30), run(22, 10, interval_min=20, hour=18)]
    # 21 days after a hard run it still counts as recent: 10 min is no rise on 20
    assert [f.local_date for f in fired([*base, run(43, 10, interval_min=10)], rule="I1")] == [
        day(22)
    ]
    assert fired([*base, run(44, 10, interval_min=10)], rule="I1")[-1].local_date == day(44)


def test_i1_needs_21_days_of_history_and_ignores_rides() -> None:
    assert fired([*weeks(3, 30), run(20, 10, interval_min=12, hour=18)], rule="I1") == []
    ride = run(28, 40, sport="cycling", interval_min=30, hour=18)
    assert fired([*weeks(4, 30), ride], rule="I1") == []


def test_i1_heart_rate_needs_a_configured_maximum() -> None:
    hot = {175: 660.0, 140: 1800.0}  # 11 min at >= 90% of 190 bpm
    acts = [*weeks(4, 30), run(28, 10, hr_histogram=hot, hour=18)]
    assert fired(acts, rule="I1") == []  # no max heart rate: an observed one is never used
    cfg = make_cfg(athlete={"max_heart_rate": 190})
    found = fired(acts, cfg=cfg, rule="I1")
    assert len(found) == 1 and found[0].values["hard_min"] == 11
    cool = {170: 660.0, 140: 1800.0}  # 170 < 171 bpm
    assert fired([*weeks(4, 30), run(28, 10, hr_histogram=cool)], cfg=cfg, rule="I1") == []


def test_i1_track_and_strava_workouts_are_hard() -> None:
    track = fired([*weeks(4, 30), run(28, 8, sub_sport="track", hour=18)], rule="I1")
    workout = fired([*weeks(4, 30), run(28, 8, workout_type=3, hour=18)], rule="I1")
    assert len(track) == 1 and len(workout) == 1


# -- WU: no warm-up (off by default) -------------------------------------------------------------


def _laps(first: str) -> list[dict]:
    return [
        {"intensity": first, "timer_time_s": 600, "distance_m": 2000},
        {"intensity": "interval", "timer_time_s": 600, "distance_m": 2000},
        {"intensity": "recovery", "timer_time_s": 600, "distance_m": 1500},
    ]


def test_wu_is_off_by_default_and_fires_without_a_warm_up_lap() -> None:
    cold = [*weeks(4, 30), run(28, 5.5, interval_min=10, laps=_laps("active"), hour=18)]
    assert fired(cold, rule="WU") == []
    cfg = make_cfg({"WU": {"enabled": True}})
    assert len(fired(cold, cfg=cfg, rule="WU")) == 1
    warm = [*weeks(4, 30), run(28, 5.5, interval_min=10, laps=_laps("warmup"), hour=18)]
    assert fired(warm, cfg=cfg, rule="WU") == []


# -- P1: pain lasting more than a week -----------------------------------------------------------


def test_p1_fires_after_more_than_seven_days() -> None:
    found = fired([run(0, 5)], soreness={d: 3 for d in range(0, 9)}, rule="P1")
    assert [(f.local_date, f.values["span_days"]) for f in found] == [(day(8), 8)]
    assert fired([run(0, 5)], soreness={d: 3 for d in range(0, 8)}, rule="P1") == []


def test_p1_a_zero_report_ends_the_episode() -> None:
    log = {d: 3 for d in range(0, 10)} | {5: 0}
    assert fired([run(0, 5)], soreness=log, rule="P1") == []
    # sparse reports still span the days between
    assert len(fired([run(0, 5)], soreness={0: 4, 4: 3, 8: 2}, rule="P1")) == 1


def test_p1_is_judged_at_each_report_of_a_day() -> None:
    from rules_support import DAY0

    from calfsync.rules.engine import replay_findings, rule_params
    from calfsync.rules.history import History

    def p1_dates(log: list[tuple[int, int]]) -> list[str]:
        d0 = DAY0.toordinal()
        h = History(runs=[], soreness_log=[(d0 + k, level) for k, level in log])
        return [f.local_date for f in replay_findings(h, rule_params(make_cfg()))]

    week = [(k, 3) for k in range(8)]
    # day 8: a 3 then a 0 fires at the 3; a 0 then a 3 fires at the 3 too
    assert p1_dates([*week, (8, 3), (8, 0)]) == [day(8)]
    assert p1_dates([*week, (8, 0), (8, 3)]) == [day(8)]
    # an earlier day counts its latest report: its evening 0 ends the episode
    assert p1_dates([*week[:5], (4, 0), *week[5:], (8, 3)]) == []
    assert p1_dates([*week[:5], (4, 0), (4, 2), *week[5:], (8, 3)]) == [day(8)]


def test_wu_just_under_hard_pace() -> None:
    cfg = make_cfg({"WU": {"enabled": True}})

    def opening(dist_m: float) -> list:
        laps = [{"intensity": "active", "timer_time_s": 600, "distance_m": dist_m}]
        laps += _laps("active")[1:]
        return [*weeks(4, 30), run(28, 5.5, interval_min=10, laps=laps, hour=18)]

    assert len(fired(opening(1900), cfg=cfg, rule="WU")) == 1  # exactly 95% of hard speed
    assert fired(opening(1890), cfg=cfg, rule="WU") == []


def test_i1_just_under_ten_minutes_at_high_heart_rate() -> None:
    cfg = make_cfg(athlete={"max_heart_rate": 190})
    nearly = {175: 594.0, 140: 1800.0}  # 9.9 min
    assert fired([*weeks(4, 30), run(28, 10, hr_histogram=nearly)], cfg=cfg, rule="I1") == []
