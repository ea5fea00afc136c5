"""H1 and H2 on histories built in code (pure: no database)."""

from __future__ import annotations

from rules_support import day, fired, run, weeks


def hill_week(first_day: int, climb_per_run: float, week_km: float = 32.0) -> list:
    return weeks(1, week_km, first_day=first_day, climb_per_run=climb_per_run)


# -- H1: a week with much more climb ------------------------------------------------------------


def test_h1_fires_on_a_hilly_week() -> None:
    acts = [*weeks(4, 32, climb_per_run=20), *hill_week(28, 80)]  # 80 m/week, then 320 m
    found = fired(acts, rule="H1")
    assert len(found) == 1
    v = found[0].values
    assert (v["week_climb_m"], v["base_climb_m"], v["density_m_per_km"]) == (320, 80, 10.0)


def test_h1_just_under_the_increase() -> None:
    base = weeks(4, 32, climb_per_run=20)
    assert fired([*base, *hill_week(28, 69.75, 25)], rule="H1") == []  # 279 m: 199 m more
    assert len(fired([*base, *hill_week(28, 70, 25)], rule="H1")) == 1  # 280 m: 200 m more


def test_h1_just_under_the_density() -> None:
    base = weeks(4, 32, climb_per_run=20)
    assert fired([*base, *hill_week(28, 80, week_km=32.1)], rule="H1") == []  # 9.97 m/km


def test_h1_just_under_the_ratio() -> None:
    base = weeks(4, 32, climb_per_run=175)  # 700 m a week
    assert fired([*base, *hill_week(28, 227.25)], rule="H1") == []  # 909 m: 1.299x
    assert len(fired([*base, *hill_week(28, 227.5)], rule="H1")) == 1  # 910 m: 1.3x


def test_h1_low_base_branch() -> None:
    base = weeks(4, 32, climb_per_run=10)  # 40 m a week, under 50 m
    found = fired([*base, *hill_week(28, 75)], rule="H1")  # 300 m at 9.4 m/km
    assert len(found) == 1 and found[0].values["low_base"] is True
    assert fired([*base, *hill_week(28, 74.75)], rule="H1") == []  # 299 m


def test_h1_treadmill_base_is_unknown_not_flat() -> None:
    treadmill = weeks(4, 32, sub_sport="treadmill", climb_per_run=None)
    assert fired([*treadmill, *hill_week(28, 80)], rule="H1") == []


def test_h1_needs_climb_for_three_quarters_of_outdoor_runs() -> None:
    # the unknown-climb runs are short: they still count in D7 (36 km, 400 m: 11.1 m/km)
    base = weeks(4, 32, climb_per_run=20)
    unknown = weeks(1, 4, first_day=28, climb_per_run=None, hour=18)  # 4 of 20 unknown: 80%
    assert len(fired([*base, *unknown, *hill_week(28, 100)], rule="H1")) == 1
    more_unknown = weeks(2, 4, first_day=14, climb_per_run=None, hour=18)  # 8 of 24 unknown
    assert fired([*base, *more_unknown, *hill_week(28, 100)], rule="H1") == []


def test_h1_layoff_is_not_a_ramp() -> None:
    # flat weeks, 20 days off, then hilly weeks: the base would span the layoff, so no H1
    acts = [*weeks(2, 32, climb_per_run=5), *hill_week(34, 80), *hill_week(41, 80)]
    assert fired(acts, rule="H1") == []


# -- H2: one run with much more climb -----------------------------------------------------------


def test_h2_fires_and_just_under() -> None:
    base = weeks(5, 32, climb_per_run=100)  # 30 known days before the run (RULES.md)
    found = fired([*base, run(35, 8, climb=151)], rule="H2")
    assert [(f.local_date, f.values["biggest_climb_m"]) for f in found] == [(day(35), 100)]
    assert fired([*base, run(35, 8, climb=130)], rule="H2") == []  # exactly 1.3x: not more
    small = weeks(5, 32, climb_per_run=50)
    assert fired([*small, run(35, 8, climb=149)], rule="H2") == []  # under 150 m


def test_h2_treadmill_runs_have_no_climb() -> None:
    treadmill = weeks(4, 32, sub_sport="treadmill", climb_per_run=None)
    # no outdoor reference: silent, not "more than zero"
    assert fired([*treadmill, run(28, 8, climb=200)], rule="H2") == []
    # a treadmill run's climb is unknown even when the device wrote one
    base = weeks(4, 32, climb_per_run=50)
    assert fired([*base, run(28, 8, climb=500, sub_sport="treadmill")], rule="H2") == []


def test_h2_reference_stays_inside_the_streak() -> None:
    acts = [*weeks(2, 32, climb_per_run=300), run(30, 8, climb=100), run(32, 8, climb=200)]
    found = fired(acts, rule="H2")  # day 30 is a return: the 300 m runs are another streak
    assert [f.local_date for f in found] == [day(32)]


def test_h1_rearms_only_after_the_climb_falls_back() -> None:
    from rules_support import make_cfg

    acts = [*weeks(4, 32, climb_per_run=20), *hill_week(28, 100), *hill_week(35, 100)]
    no_cooldown = make_cfg({"H1": {"cooldown_days": 0}})
    # every run day of the hilly weeks is over the threshold, but the climb never fell back
    assert len(fired(acts, cfg=no_cooldown, rule="H1")) == 1
    always = make_cfg({"H1": {"cooldown_days": 0, "rearm_below": 100.0}})
    assert len(fired(acts, cfg=always, rule="H1")) > 2


def test_h1_density_divides_by_all_run_distance() -> None:
    # RULES.md: A7/D7 ≥ 10 m/km, D7 = run distance over t−6 … t; an indoor run "counts for
    # distance". 320 m over 24 km outdoors is 13.3 m/km, but with a 10 km treadmill run the
    # week is 34 km: 9.4 m/km, and CA = 80 m is no low base, so H1 stays silent.
    base = weeks(4, 32, climb_per_run=20)
    hill = weeks(1, 24, first_day=28, climb_per_run=80)
    treadmill = run(29, 10, sub_sport="treadmill", climb=None, hour=18)
    assert len(fired([*base, *hill], rule="H1")) == 1
    assert fired([*base, *hill, treadmill], rule="H1") == []
    # 9 km on the treadmill: 33 km, 9.7 m/km, still under
    assert fired([*base, *hill, run(29, 9, sub_sport="treadmill", hour=18)], rule="H1") == []
    # 8 km: 32 km, exactly 10 m/km, fires
    found = fired([*base, *hill, run(29, 8, sub_sport="treadmill", hour=18)], rule="H1")
    assert [f.values["density_m_per_km"] for f in found] == [10.0]
