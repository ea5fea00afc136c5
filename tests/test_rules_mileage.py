"""S1, W1, RET1 and A1 on histories built in code (pure: no database)."""

from __future__ import annotations

from rules_support import day, fired, make_cfg, run, weeks

# -- S1: one run far past the recent longest ---------------------------------------------------


def test_s1_fires_with_severity_bands() -> None:
    base = weeks(6, 30)  # 7.5 km runs
    small = fired([*base, run(42, 9.0)], rule="S1")
    moderate = fired([*base, run(42, 10.5)], rule="S1")
    large = fired([*base, run(42, 16.0)], rule="S1")
    assert [f.severity for f in small + moderate + large] == ["small", "moderate", "large"]
    f = large[0]
    assert f.local_date == day(42)
    assert f.values["longest_km"] == 7.5 and f.values["distance_km"] == 16.0
    assert f.episode_key == f"S1:{f.activity_id}"


def test_s1_just_under_the_ratio() -> None:
    # long runs of 12 km; +10% is 13.2 km (and 1.2 km more): exactly 10% is not "more than"
    base = [run(d, 12.0 if d % 7 == 6 else 6.0) for w in range(6) for d in (7 * w, 7 * w + 6)]
    before = fired(base, rule="S1")
    assert fired([*base, run(43, 13.2)], rule="S1") == before
    assert [f.local_date for f in fired([*base, run(43, 13.25)], rule="S1")][-1] == day(43)


def test_s1_just_under_the_one_km() -> None:
    base = weeks(6, 30)  # longest 7.5 km: +13% but only 0.99 km more
    assert fired([*base, run(42, 8.49)], rule="S1") == []
    assert len(fired([*base, run(42, 8.5)], rule="S1")) == 1


def test_s1_looks_back_thirty_days_only() -> None:
    base = [run(0, 20.0)] + [run(d, 8.0) for d in range(2, 31, 3)]
    # the 20 km run is 31 days before day 31: out of the window, so 10 km is +25% on 8 km
    assert len(fired([*base, run(31, 10.0)], rule="S1")) == 1
    # on day 30 it is still inside: 10 km is no rise
    assert fired([*base[:-1], run(30, 10.0)], rule="S1") == []


def test_s1_layoff_is_not_a_ramp() -> None:
    # 5 km runs, 15 days off, then 10 km: RET1 fires, S1 does not (nothing in this streak yet)
    acts = [run(d, 5.0) for d in range(0, 20, 2)] + [run(33, 10.0)]
    found = [f for f in fired(acts) if f.local_date == day(33)]
    assert [f.rule for f in found] == ["RET1"]


def test_s1_a_ride_is_not_a_run() -> None:
    base = weeks(6, 30)
    assert fired([*base, run(42, 60.0, sport="cycling")], rule="S1") == []
    # and a long ride before does not raise the reference either
    found = fired([*base, run(40, 20.0, sport="cycling"), run(42, 9.0)], rule="S1")
    assert [f.values["longest_km"] for f in found] == [7.5]


def test_s1_threshold_is_configurable_and_rule_can_be_disabled() -> None:
    acts = [*weeks(6, 30), run(42, 9.0)]
    assert fired(acts, cfg=make_cfg({"S1": {"threshold": 0.25}}), rule="S1") == []
    assert fired(acts, cfg=make_cfg({"S1": {"enabled": False}}), rule="S1") == []


# -- W1: a rise of more than 20% in a week ------------------------------------------------------


def test_w1_fires_on_a_week_up_25_percent() -> None:
    # five weeks known before the new high (RULES.md: the weeks W1 compares with are known)
    found = fired([*weeks(5, 30), *weeks(1, 37.5, first_day=35)], rule="W1")
    assert len(found) == 1
    f = found[0]
    assert f.values["week_km"] == 37.5 and f.values["previous_week_km"] == 30.0
    assert f.episode_key == f"W1:{day(35)}/{day(41)}"


def test_w1_just_under_the_ratio() -> None:
    assert fired([*weeks(5, 30), *weeks(1, 36, first_day=35)], rule="W1") == []
    assert len(fired([*weeks(5, 30), *weeks(1, 36.1, first_day=35)], rule="W1")) == 1


def test_w1_just_under_five_km() -> None:
    assert fired([*weeks(5, 20), *weeks(1, 24.9, first_day=35)], rule="W1") == []
    assert len(fired([*weeks(5, 20), *weeks(1, 25.0, first_day=35)], rule="W1")) == 1


def test_w1_needs_two_weeks_inside_the_streak() -> None:
    # a return after 20 days off, then a doubled second week: t - 13 < streak start until the
    # second week's last day
    acts = [*weeks(4, 30), *weeks(1, 10, first_day=48), run(55, 6), run(57, 6), run(58, 6)]
    found = fired(acts, rule="W1")
    assert all(f.local_date >= day(48 + 13) for f in found)
    assert fired([*weeks(4, 30), *weeks(1, 40, first_day=48)], rule="W1") == []


def test_w1_ignores_rides() -> None:
    rides = [run(21 + d, 10, sport="cycling", hour=18) for d in (0, 2, 4)]
    assert fired([*weeks(4, 30), *rides], rule="W1") == []


# -- RET1: return after a layoff ----------------------------------------------------------------


def test_ret1_fires_after_fourteen_days_and_is_long_from_28() -> None:
    normal = fired([*weeks(2, 20), run(27, 5)], rule="RET1")  # last run day 13: 14 days
    long = fired([*weeks(2, 20), run(41, 5)], rule="RET1")
    assert [(f.severity, f.values["gap_days"]) for f in normal + long] == [
        ("normal", 14),
        ("long", 28),
    ]


def test_ret1_just_under() -> None:
    assert fired([*weeks(2, 20), run(26, 5)], rule="RET1") == []
    assert fired([*weeks(2, 20), run(40, 5)], rule="RET1")[0].severity == "normal"


def test_ret1_first_run_ever_is_not_a_return_and_walks_do_not_count() -> None:
    assert fired([run(0, 5)], rule="RET1") == []
    walks = [run(d, 5, sport="walking") for d in range(14, 27)]
    assert len(fired([*weeks(2, 20), *walks, run(27, 5)], rule="RET1")) == 1


# -- A1: ACWR (off by default) ------------------------------------------------------------------


def test_a1_is_off_by_default_and_fires_at_1_8_when_on() -> None:
    acts = [*weeks(4, 20), *weeks(1, 36, first_day=28)]
    assert fired(acts, rule="A1") == []
    on = make_cfg({"A1": {"enabled": True}})
    found = fired(acts, cfg=on, rule="A1")
    assert len(found) == 1 and found[0].values["acwr"] == 1.8
    assert fired([*weeks(4, 20), *weeks(1, 35.9, first_day=28)], cfg=on, rule="A1") == []
