"""Every rule's message says what RULES.md asks for, in under 1,000 characters."""

from __future__ import annotations

import pytest
from rules_support import fired, make_cfg, run, weeks

from calfsync.rules import Finding
from calfsync.rules.history import Shoe
from calfsync.rules.messages import MAX_BODY_CHARS
from calfsync.rules.registry import PRIORITY, RULE_IDS, priority, render

LONG = "Sunday long run along the river with the club " * 6
ALL_ON = make_cfg(
    {"A1": {"enabled": True}, "WU": {"enabled": True}}, athlete={"max_heart_rate": 190}
)


def one_of_each() -> dict[str, Finding]:
    laps = [
        {"intensity": "active", "timer_time_s": 600, "distance_m": 2000},
        {"intensity": "interval", "timer_time_s": 600, "distance_m": 2000},
    ]
    shoes = [Shoe("A", name="Old " * 30, drop_mm=10), Shoe("B", name="Racer " * 30, drop_mm=4)]
    histories = [
        ([*weeks(6, 30), run(42, 16, name=LONG)], {}),
        ([*weeks(5, 30), *weeks(1, 40, first_day=35, name=LONG)], {}),
        ([*weeks(2, 20), run(41, 5, name=LONG)], {}),
        ([*weeks(4, 32, climb_per_run=20), *weeks(1, 32, first_day=28, climb_per_run=80)], {}),
        ([*weeks(4, 20), *weeks(1, 36, first_day=28)], {}),
        ([*weeks(5, 32, climb_per_run=100), run(35, 8, climb=200, name=LONG)], {}),
        ([*weeks(4, 30, gear="A"), run(28, 5.5, interval_min=10, laps=laps, gear="B")], {}),
        ([run(0, 5)], {d: 3 for d in range(9)}),
        ([run(d, 10, gear="A") for d in range(0, 180, 2)], {}),
    ]
    found: dict[str, Finding] = {}
    for acts, soreness in histories:
        for f in fired(acts, cfg=ALL_ON, shoes=shoes, soreness=soreness):
            found.setdefault(f.rule, f)
    return found


FOUND = one_of_each()


def test_every_rule_has_an_example() -> None:
    assert set(FOUND) == set(RULE_IDS)


@pytest.mark.parametrize("rule", RULE_IDS)
def test_message_says_what_it_must(rule: str) -> None:
    f = FOUND[rule]
    title, body = render(f)
    assert title.startswith(f"{rule}: ") and len(title) < 120
    assert len(body) < MAX_BODY_CHARS
    assert f.local_date in body
    assert "Guide trigger:" in body and "Next:" in body and "Basis:" in body
    assert "ice 10-15 min" in body
    assert "Not medical advice" in body and "physiotherapist" in body
    assert any(unit in body for unit in (" km", " m ", " m/km", " days", " min", " mm"))
    assert ("evidence" in body.lower()) or ("convention" in body.lower()) or ("guide" in body)


def test_priority_follows_rules_md() -> None:
    order = [
        ("P1", "normal"),
        ("RET1", "long"),
        ("S1", "large"),
        ("S1", "moderate"),
        ("H1", "normal"),
        ("G2", "normal"),
        ("RET1", "normal"),
        ("W1", "normal"),
        ("I1", "normal"),
        ("G1", "normal"),
        ("S1", "small"),
        ("SW1", "normal"),
        ("A1", "normal"),
        ("WU", "normal"),
    ]
    ranks = [priority(r, s) for r, s in order]
    assert ranks == sorted(ranks) and len(PRIORITY) == 15
    assert priority("H1", "normal") == priority("H2", "normal")  # "H1/H2" share a rank


@pytest.mark.parametrize("rule", RULE_IDS)
def test_next_step_keeps_the_next_runs_easy(rule: str) -> None:
    # RULES.md: what to do next: "keep the next runs easy, no longer than the reference, more
    # rest if the calf hurts"
    _title, body = render(FOUND[rule])
    nxt = body.split("Next:", 1)[1].split("\n", 1)[0]
    assert "easy" in nxt and "more rest if the calf hurts" in nxt


def test_messages_state_the_configured_thresholds() -> None:
    # "the numbers that fired it (… the threshold …)": a configured threshold, not the default
    low = make_cfg({"H1": {"low_base_m": 60.0, "low_base_trigger_m": 250.0}})
    base = weeks(4, 32, climb_per_run=14)  # 56 m a week: under 60 m
    (f,) = fired([*base, *weeks(1, 32, first_day=28, climb_per_run=65)], cfg=low, rule="H1")
    assert f.values["low_base"] is True
    _title, body = render(f)
    assert "250 m" in body and "60 m" in body and "300 m" not in body
    g1 = make_cfg({"G1": {"max_prior_km": 30.0}})
    acts = [*weeks(2, 30, gear="A"), run(14, 5, gear="B")]
    shoes = [Shoe("A", name="Old"), Shoe("B", name="New")]
    (f,) = fired(acts, cfg=g1, shoes=shoes, rule="G1")
    _title, body = render(f)
    assert "30 km" in body and "20 km" not in body
