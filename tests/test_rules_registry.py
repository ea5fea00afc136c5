"""The rule registry is complete and is the one source of what it declares: config defaults,
the engine's order, the push priority and the rules table of docs/rules.md come from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rules_support import make_cfg

from calfsync.config import RULE_DEFAULTS
from calfsync.notify import policy
from calfsync.rules import Rule, Text, engine, registry
from calfsync.rules.registry import RULES

ROOT = Path(__file__).resolve().parents[1]
# shared/RULES.md: the rule ids and the episode of each
RULES_MD_EPISODES = {
    "S1": "per_run",
    "W1": "window",
    "RET1": "per_run",
    "H1": "window",
    "H2": "per_run",
    "G1": "per_shoe",
    "G2": "per_shoe",
    "I1": "per_run",
    "P1": "per_episode",
    "SW1": "per_shoe",
    "A1": "window",
    "WU": "per_run",
}
# shared/RULES.md: "P1 > RET1 long > S1 large > S1 moderate > H1/H2 > G2 > RET1 > W1 > I1 > G1 >
# S1 small > SW1 > A1 > WU"
RULES_MD_PRIORITY = [
    {("P1", "normal")},
    {("RET1", "long")},
    {("S1", "large")},
    {("S1", "moderate")},
    {("H1", "normal"), ("H2", "normal")},
    {("G2", "normal")},
    {("RET1", "normal")},
    {("W1", "normal")},
    {("I1", "normal")},
    {("G1", "normal")},
    {("S1", "small")},
    {("SW1", "normal")},
    {("A1", "normal")},
    {("WU", "normal")},
]


def test_every_rules_md_rule_is_declared_once_with_its_kind() -> None:
    assert sorted(registry.RULE_IDS) == sorted(RULES_MD_EPISODES)
    assert {rid: r.kind for rid, r in RULES.items()} == RULES_MD_EPISODES
    assert all(rid == r.id for rid, r in RULES.items())


def test_a_rule_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="S1 is declared twice"):
        registry._collect(RULES["S1"], RULES["W1"], RULES["S1"])


@pytest.mark.parametrize("rid", list(RULES))
def test_every_rule_is_declared_whole(rid: str) -> None:
    rule: Rule = RULES[rid]
    assert callable(rule.check) and callable(rule.build)
    assert rule.trigger and rule.summary and rule.episode and str(rule.basis)
    assert rule.basis.grade in ("evidence", "guide", "convention", "contested")
    assert rule.severities and all(s.delivery in ("now", "digest") for s in rule.severities)
    # ratio rules re-arm only after their ratio falls back (RULES.md); no other rule does
    assert (rule.fallen_back is not None) == (rule.kind == "window")
    assert "enabled" not in rule.params and "cooldown_days" not in rule.params


# Issue 10's default delivery classes: an interruption only for the strong, evidence-backed or
# painful findings (docs/alert-quality.md gives the figures).
NOW_BY_DEFAULT = {
    ("P1", "normal"),
    ("RET1", "long"),
    ("S1", "moderate"),
    ("S1", "large"),
    ("H1", "normal"),
    ("H2", "normal"),
    ("G2", "normal"),
}


def test_default_delivery_classes() -> None:
    classes = {(r.id, s.name): s.delivery for r in RULES.values() for s in r.severities}
    assert {k for k, v in classes.items() if v == "now"} == NOW_BY_DEFAULT
    assert {v for k, v in classes.items() if k not in NOW_BY_DEFAULT} == {"digest"}


def test_delivery_is_configurable_per_rule_and_per_severity() -> None:
    assert registry.delivery("S1", "small") == "digest"
    assert registry.delivery("S1", "large") == "now"
    assert registry.delivery("W1", "normal", "now") == "now"
    assert registry.delivery("P1", "normal", "digest") == "digest"
    by_severity = {"small": "now"}
    assert registry.delivery("S1", "small", by_severity) == "now"
    assert registry.delivery("S1", "large", by_severity) == "now"  # not named: the default
    assert registry.delivery("RET1", "normal", {"long": "digest"}) == "digest"
    assert registry.delivery("STRAVA", "warning") == "now"  # a notice about calfsync itself


def test_priority_is_rules_md_order() -> None:
    ranks = [{registry.priority(r, s) for r, s in group} for group in RULES_MD_PRIORITY]
    assert all(len(group) == 1 for group in ranks)  # H1 and H2 share one rank
    flat = [group.pop() for group in ranks]
    assert flat == sorted(flat) and len(set(flat)) == len(flat)
    declared = {(r.id, s.name) for r in RULES.values() for s in r.severities}
    assert declared == set().union(*RULES_MD_PRIORITY)
    assert registry.priority("STRAVA", "warning") > max(flat)
    assert registry.priority("S1", None) == registry.priority("S1", "small")  # least urgent


def test_push_policy_ranks_by_the_registry() -> None:
    for rule in RULES.values():
        for sev in rule.severities:
            assert policy.rank(rule.id, sev.name) == sev.priority


def test_config_defaults_come_from_the_registry() -> None:
    assert RULE_DEFAULTS == registry.defaults()
    cfg = make_cfg()
    for rid, rule in RULES.items():
        given = cfg.rule(rid)
        assert given["enabled"] is rule.enabled and given["cooldown_days"] == 7
        assert {k: given[k] for k in rule.params} == dict(rule.params)


def test_config_example_shows_the_registry_defaults() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    for rid, rule in RULES.items():
        section = text.split(f"[rules.{rid}]\n", 1)[1].split("\n[", 1)[0]
        shown = dict(re.findall(r"^#?\s*(\w+) = ([\w.]+)", section, re.MULTILINE))
        assert shown.get("enabled") == str(rule.enabled).lower(), rid
        for name, default in rule.params.items():
            assert float(shown[name]) == default, f"[rules.{rid}] {name}"


def test_engine_judges_in_registry_order() -> None:
    on_run = [r.id for r in registry.ON_RUN]
    assert on_run == ["RET1", "S1", "H2", "I1", "G1", "G2", "SW1", "WU"]
    assert [r.id for r in registry.ON_WINDOW] == ["W1", "H1", "A1"]
    assert [r.id for r in registry.ON_REPORT] == ["P1"]
    assert list(RULES) == [*on_run, "W1", "H1", "A1", "P1"]
    assert engine.RULES is RULES


def test_builders_write_text() -> None:
    text = RULES["RET1"].build(
        {
            "gap_days": 30,
            "previous_run_date": "2025-01-01",
            "threshold_days": 14,
            "long_threshold_days": 28,
            "distance_km": 5.0,
        },
        "long",
    )
    assert isinstance(text, Text) and "start shorter" in text.next_step


def test_docs_rules_table_is_the_registry() -> None:
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    start = docs.index(registry.TABLE_START)
    end = docs.index(registry.TABLE_END) + len(registry.TABLE_END)
    assert docs[start:end] == registry.markdown_table(), (
        "docs/rules.md's rules table differs from the registry: paste the output of "
        "python -c 'from calfsync.rules.registry import markdown_table; print(markdown_table())'"
    )


def test_rules_delivery_key_is_checked() -> None:
    from calfsync.config import validate
    from calfsync.errors import ConfigError

    cfg = validate({"rules": {"W1": {"delivery": "now"}, "S1": {"delivery": {"small": "now"}}}})
    assert cfg.rule("W1")["delivery"] == "now" and cfg.rule("H1")["delivery"] is None
    assert cfg.rule("S1")["delivery"] == {"small": "now"}
    for bad, words in (
        ({"W1": {"delivery": "later"}}, 'must be "now" or "digest"'),
        ({"S1": {"delivery": {"huge": "now"}}}, "unknown severity 'huge'"),
        ({"S1": {"delivery": {"small": "soon"}}}, 'must be "now" or "digest"'),
        ({"S1": {"delivery": 3}}, "must be a string or a table"),
    ):
        with pytest.raises(ConfigError, match=words):
            validate({"rules": bad})
