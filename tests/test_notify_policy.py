"""Push policy as pure functions: priority order, severity levels, quiet hours, composing."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calfsync.config import validate
from calfsync.notify import policy

PARIS = ZoneInfo("Europe/Paris")


def _alert(rule: str, severity: str, title: str = "", body: str = "body") -> dict:
    return {
        "rule": rule,
        "severity": severity,
        "title": title or f"{rule} {severity}",
        "body": body,
        "episode_key": f"{rule}:{severity}",
        "local_date": "2026-06-10",
        "activity_id": None,
        "strava_id": None,
        "values": "{}",
    }


def test_rank_is_the_rules_priority_with_unknown_rules_last() -> None:
    # the order itself is tested against RULES.md in test_rules_messages.py
    from calfsync.rules.registry import priority

    for rule, severity in [("P1", "normal"), ("S1", "large"), ("H2", "normal"), ("WU", None)]:
        assert policy.rank(rule, severity) == priority(rule, severity)
    assert policy.rank("STRAVA", "warning") > policy.rank("WU", "normal")


@pytest.mark.parametrize(
    ("rule", "severity", "level"),
    [
        ("P1", "normal", 4),
        ("S1", "large", 4),
        ("RET1", "long", 4),
        ("S1", "moderate", 4),
        ("S1", "small", 3),
        ("W1", "normal", 3),
        ("G1", "warning", 3),
        ("SW1", "info", 2),
        ("H1", "something-new", 3),
        ("H1", "", 3),
    ],
)
def test_severity_maps_to_a_level(rule: str, severity: str, level: int) -> None:
    assert policy.level(rule, severity) == level


def test_quiet_hours_wrapping_midnight_and_daytime() -> None:
    at = lambda hhmm: datetime.fromisoformat(f"2026-06-10T{hhmm}:00+02:00")  # noqa: E731
    assert policy.quiet_until(at("21:59"), "22:00-07:00", PARIS) is None
    assert policy.quiet_until(at("22:00"), "22:00-07:00", PARIS) == datetime(
        2026, 6, 11, 5, 0, tzinfo=UTC
    )
    assert policy.quiet_until(at("03:00"), "22:00-07:00", PARIS) == datetime(
        2026, 6, 10, 5, 0, tzinfo=UTC
    )
    assert policy.quiet_until(at("07:00"), "22:00-07:00", PARIS) is None
    assert policy.quiet_until(at("13:30"), "13:00-14:00", PARIS) == datetime(
        2026, 6, 10, 12, 0, tzinfo=UTC
    )
    assert policy.quiet_until(at("03:00"), "off", PARIS) is None
    assert policy.quiet_until(at("03:00"), "07:00-07:00", PARIS) is None


def test_quiet_hours_end_across_a_dst_change() -> None:
    # Night of 28-29 March 2026: Paris moves from +01:00 to +02:00.
    night = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 00:30 local on the 29th
    assert policy.quiet_until(night, "22:00-07:00", PARIS) == datetime(
        2026, 3, 29, 5, 0, tzinfo=UTC
    )


def test_compose_bundles_under_the_top_title_and_stays_under_1000_chars() -> None:
    alerts = [
        _alert("G1", "normal", body="g" * 900),
        _alert("P1", "normal", body="p" * 990),
        _alert("S1", "small"),
    ]
    msg = policy.compose(alerts, {}, dedupe_key="k", created_at=datetime.now(UTC))
    assert msg.title == "P1 normal (+2 more)"
    assert msg.level == 4 and msg.tags[0] == "warning" and set(msg.tags[1:]) == {"G1", "P1", "S1"}
    assert len(msg.title) + len(msg.body) <= policy.MAX_PUSH_CHARS
    assert msg.body.startswith("p") and msg.body.endswith("…")
    assert [a["rule"] for a in msg.alerts] == ["P1", "G1", "S1"]
    single = policy.compose([_alert("S1", "small")], {}, dedupe_key="k", created_at=None)
    assert single.title == "S1 small" and single.body == "body" and single.level == 3


def test_every_readme_channel_snippet_is_a_valid_config(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Notifications", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    kinds = set()
    # a *_file must exist on load: give the snippets' /etc/calfsync files a home here
    for name in re.findall(r'"/etc/calfsync/([^"]+)"', section):
        (tmp_path / name).write_text("a-secret-value\n", encoding="utf-8")
    for block in blocks:
        cfg = validate(tomllib.loads(block.replace('"/etc/calfsync/', f'"{tmp_path}/')))
        kinds.update(c["type"] for c in cfg.channels)
    assert kinds >= {"ntfy", "gotify", "pushover", "telegram", "webhook", "console", "apprise"}


def test_a_long_bundle_keeps_the_top_alerts_advice_and_disclaimer_whole() -> None:
    body = "Run: Thu 2026-11-26\n" + "x" * 600 + "\nNot medical advice. See a physio."
    top = {
        "rule": "P1",
        "severity": "normal",
        "title": "P1: Calf sore for 9 days",
        "body": body,
        "episode_key": "P1:1",
        "local_date": "2026-11-26",
        "values": {},
    }
    others = [
        {
            "rule": "S1",
            "severity": "small",
            "title": f"S1: Run {i}% longer than your longest",
            "body": "b",
            "episode_key": f"S1:{i}",
            "local_date": "2026-11-25",
            "values": {},
        }
        for i in range(40)
    ]
    message = policy.compose(
        [top, *others],
        {"type": "ntfy", "name": "ntfy"},
        dedupe_key="k",
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
    )
    assert len(message.title) + len(message.body) <= policy.MAX_PUSH_CHARS
    assert message.body.startswith(body)  # nothing of the top alert was cut
    assert message.body.rstrip().endswith("more: `calfsync alerts`")
    listed = message.body.count("\n- S1 ")
    assert 0 < listed < 40 and f"- and {40 - listed} more" in message.body
