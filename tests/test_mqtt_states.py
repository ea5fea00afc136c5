"""The Home Assistant sensors' numbers from a stored history, and the discovery messages that
declare them, their value templates rendered with Jinja as Home Assistant renders them."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2
from notify_support import add_alert
from rules_support import DAY0, day, make_cfg, open_tmp_db, run, store

from calfsync.config import validate
from calfsync.ingest.fit import ImportSummary
from calfsync.notify.outbox import DeliveryReport
from calfsync.outputs.mqtt import due
from calfsync.outputs.mqtt_states import Topics, discovery, read_states
from calfsync.store.gear import add_shoe, assign_gear_by_date, update_shoe
from calfsync.sync import JOBS, CycleReport, EvaluateReport, RepliesReport

TODAY = 34  # day number of "now" (DAY0 is a Monday; day 34 is a Friday)
NOW = datetime.combine(DAY0 + timedelta(days=TODAY), datetime.min.time(), UTC) + timedelta(hours=11)


def history(tmp_path):
    """A 20 km run on day 5, a 15-day layoff, then 8, 9, 11 (100 m of climb) and 6 km (30 m)
    on days 20, 25, 30 and 33; an old shoe (retired) and a Pegasus from day 20."""
    db = open_tmp_db(tmp_path)
    store(
        db,
        [
            run(5, 20.0, climb=200),
            run(20, 8.0, climb=10),
            run(25, 9.0, climb=20),
            run(30, 11.0, climb=100),
            run(33, 6.0, climb=30),
        ],
    )
    old = add_shoe(db, "Old trainers", day(0))
    add_shoe(db, "Pegasus 40", day(20))
    assign_gear_by_date(db)
    update_shoe(db, old, {"retired": 1})
    return db


def render(template: str, state_payload: str) -> str:
    """What Home Assistant shows for a sensor: its value template over the state's JSON."""
    return jinja2.Environment().from_string(template).render(value_json=json.loads(state_payload))


def test_sensor_numbers_from_the_store(tmp_path) -> None:
    db = history(tmp_path)
    add_alert(db, "S1", "S1:a", local_date=day(30), activity_id="r00030h07", title="Run 22% longer")
    add_alert(db, "DIGEST", "DIGEST:w", local_date=day(33), title="Your week")  # not a rule's
    add_alert(db, "STRAVA", "STRAVA:x", local_date=day(34), title="Strava needs you")
    states = read_states(db, make_cfg(), NOW)

    assert states.as_of == day(TODAY)
    assert states.distance_7d_km == 17.0  # days 28-34: 11 + 6
    assert states.distance_prev_7d_km == 9.0  # days 21-27
    assert states.distance_7d_change_pct == 88.9
    assert states.climb_7d_m == 130.0
    # S1's reference: the 20 km run is within 30 days but before the layoff (a new streak)
    assert states.longest_30d_km == 11.0
    assert states.last_alert == {
        "at": "2025-02-05T06:00:00+00:00",  # the run's start (07:00 at UTC+1)
        "rule": "S1",
        "title": "Run 22% longer",
        "severity": "warning",
        "local_date": day(30),
    }
    assert [(s.name, s.distance_km) for s in states.shoes] == [("Pegasus 40", 34.0)]
    assert len(states.retired_shoes) == 1


def test_unknown_numbers_are_none_not_zero(tmp_path) -> None:
    """A history that starts this week: no week before to compare with, no alert yet."""
    db = open_tmp_db(tmp_path)
    store(db, [run(32, 10.0, climb=None, sub_sport="treadmill")])
    states = read_states(db, make_cfg(), NOW)
    assert states.distance_7d_km == 10.0
    assert states.distance_prev_7d_km is None
    assert states.distance_7d_change_pct is None
    assert states.climb_7d_m is None
    assert states.last_alert is None
    assert states.last_alert_payload() == "{}"
    payload = states.state_payload()
    for object_id, config in _configs(discovery(Topics.of(make_cfg()), states)).items():
        shown = render(config["value_template"], payload)
        if object_id == "distance_7d":
            assert shown == "10.0"
        elif object_id in ("distance_7d_change", "climb_7d", "last_alert"):
            assert shown == "None"  # Home Assistant's "unknown"


def _configs(messages: list[tuple[str, str]]) -> dict[str, dict]:
    return {t.split("/")[-2]: json.loads(p) for t, p in messages if p}


def test_discovery_declares_every_sensor(tmp_path) -> None:
    db = history(tmp_path)
    add_alert(db, "S1", "S1:a", local_date=day(30), activity_id="r00030h07")
    cfg = make_cfg(mqtt={"host": "broker", "client_id": "calfsync home", "topic_prefix": "runs"})
    states = read_states(db, cfg, NOW)
    messages = discovery(Topics.of(cfg), states)

    topics = [t for t, _ in messages]
    assert all(t.startswith("homeassistant/sensor/calfsync_home/") for t in topics)
    assert all(t.endswith("/config") for t in topics)
    configs = _configs(messages)
    pegasus = states.shoes[0].object_id
    assert set(configs) == {
        "distance_7d",
        "distance_7d_change",
        "climb_7d",
        "longest_30d",
        "last_alert",
        pegasus,
    }
    # the retired shoe's entity is removed: an empty retained config
    assert (f"homeassistant/sensor/calfsync_home/{states.retired_shoes[0]}/config", "") in messages
    assert len({c["unique_id"] for c in configs.values()}) == len(configs)
    payload = states.state_payload()
    shown = {k: render(c["value_template"], payload) for k, c in configs.items()}
    assert shown == {
        "distance_7d": "17.0",
        "distance_7d_change": "88.9",
        "climb_7d": "130.0",
        "longest_30d": "11.0",
        "last_alert": "2025-02-05T06:00:00+00:00",
        pegasus: "34.0",
    }
    for config in configs.values():
        assert config["state_topic"] == "runs/state"
        assert config["availability_topic"] == "runs/availability"
        assert config["device"]["identifiers"] == ["calfsync_calfsync_home"]
    assert configs["distance_7d"]["unit_of_measurement"] == "km"
    assert configs["distance_7d"]["device_class"] == "distance"
    assert configs["distance_7d"]["state_class"] == "measurement"
    assert configs["climb_7d"]["unit_of_measurement"] == "m"
    assert configs["distance_7d_change"]["unit_of_measurement"] == "%"
    assert configs["last_alert"]["device_class"] == "timestamp"
    assert configs["last_alert"]["json_attributes_topic"] == "runs/last_alert"
    assert "state_class" not in configs["last_alert"]
    assert configs[pegasus]["name"] == "Shoe Pegasus 40"
    assert json.loads(states.last_alert_payload())["rule"] == "S1"


def test_readme_snippet_is_a_valid_config(tmp_path) -> None:
    """The README's [mqtt] example loads (its password file given a home here)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Home Assistant (MQTT)", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```toml\n(.*?)```", section, re.S)
    (tmp_path / "mqtt_password").write_text("pw\n")
    cfg = validate(tomllib.loads(block.replace("/etc/calfsync/", f"{tmp_path}/")))
    assert cfg.mqtt.host == "homeassistant.local"
    assert cfg.mqtt.password_file == f"{tmp_path}/mqtt_password"


def test_published_after_a_job_that_changed_something() -> None:
    """The daemon's MQTT step runs after a job whose steps stored something or made an alert,
    and after the nightly job; not after a scan that found nothing or a flush of pushes."""

    def after(**reports) -> bool:
        cycle = CycleReport()
        for name, report in reports.items():
            cycle.add(name, report)
        return due(cycle)

    assert all(("mqtt", due) in plan for plan in JOBS.values())
    assert not after(fit=ImportSummary(), evaluate=EvaluateReport())
    assert not after(fit=ImportSummary(skipped=0), deliver=DeliveryReport(sent=2))
    assert after(fit=ImportSummary(imported=1, activities=1), evaluate=EvaluateReport())
    assert after(fit=ImportSummary(), evaluate=EvaluateReport(alert_ids=[7]))
    assert after(replies=RepliesReport(answers=1))  # an answer can put a run in a shoe
    assert after(nightly=EvaluateReport())  # the last 7 days moved on
