"""What calfsync shows Home Assistant: the sensors' numbers, read from the store, and the MQTT
discovery messages that declare them (docs/mqtt.md lists every topic and payload).

Pure apart from reading the database: no MQTT client here (:mod:`calfsync.outputs.mqtt` sends
what this builds), so it is tested without a broker and imported without paho-mqtt.

One JSON state message (``<topic_prefix>/state``, retained) holds every number; each sensor
picks its value with a ``value_template``. A number calfsync does not know yet (no week before
to compare with, no alert ever) is JSON ``null``, which the template renders as ``None``:
Home Assistant shows such a sensor as *unknown* rather than as a made-up 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlite_utils

from .. import __version__
from ..config import Config
from ..rules.history import History, Run
from ..rules.mileage import recent_longest
from ..rules.registry import RULE_IDS
from ..store.views import counted

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def slug(text: str) -> str:
    """``text`` as a topic level and id part: letters, digits, ``_`` and ``-`` only."""
    return _UNSAFE.sub("_", text).strip("_") or "x"


@dataclass(frozen=True)
class Topics:
    """Where each message goes, from ``[mqtt] topic_prefix``, ``discovery_prefix`` and
    ``client_id`` (whose slug is the discovery node id, so two calfsync installations, each
    with its own client id, never share an entity)."""

    prefix: str
    discovery: str
    node: str

    @classmethod
    def of(cls, cfg: Config) -> Topics:
        m = cfg.mqtt
        return cls(m.topic_prefix.rstrip("/"), m.discovery_prefix.rstrip("/"), slug(m.client_id))

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    @property
    def last_alert(self) -> str:
        return f"{self.prefix}/last_alert"

    @property
    def ha_status(self) -> str:
        """Where Home Assistant announces itself ("online" after each start)."""
        return f"{self.discovery}/status"

    def config(self, object_id: str) -> str:
        return f"{self.discovery}/sensor/{self.node}/{object_id}/config"


@dataclass(frozen=True)
class ActiveShoe:
    """A shoe not retired: its object id (the slug of its gear id), name and distance (km)."""

    object_id: str
    gear_id: str
    name: str
    distance_km: float


@dataclass
class States:
    """The sensors' values at one moment (see :func:`read_states`); None: not known yet."""

    distance_7d_km: float = 0.0
    distance_prev_7d_km: float | None = None
    distance_7d_change_pct: float | None = None
    climb_7d_m: float | None = None
    longest_30d_km: float = 0.0
    lookback_days: int = 30
    last_alert: dict[str, Any] | None = None
    shoes: list[ActiveShoe] = field(default_factory=list)
    retired_shoes: list[str] = field(default_factory=list)  # object ids
    as_of: str = ""

    def state_payload(self) -> str:
        """The retained JSON of ``<topic_prefix>/state``."""
        return json.dumps(
            {
                "distance_7d_km": self.distance_7d_km,
                "distance_prev_7d_km": self.distance_prev_7d_km,
                "distance_7d_change_pct": self.distance_7d_change_pct,
                "climb_7d_m": self.climb_7d_m,
                "longest_30d_km": self.longest_30d_km,
                "last_alert_at": self.last_alert["at"] if self.last_alert else None,
                "shoes_km": {s.object_id: s.distance_km for s in self.shoes},
                "as_of": self.as_of,
            },
            sort_keys=True,
        )

    def last_alert_payload(self) -> str:
        """The retained JSON of ``<topic_prefix>/last_alert``: the last alert sensor's
        attributes (rule, title, severity, local date); ``{}`` before any alert."""
        return json.dumps(self.last_alert or {}, sort_keys=True)


# --------------------------------------------------------------------------- reading


def read_states(db: sqlite_utils.Database, cfg: Config, now: datetime) -> States:
    """Every sensor's value at ``now``, from the views a runner queries (``daily_load``,
    ``runs``, ``shoe_mileage``) and the ``alerts`` table. Days are local days of
    ``[athlete] timezone``; "last 7 days" ends today, "the week before" is the 7 days before
    those. Reads a few weeks of rows, whatever the length of the history."""
    today = now.astimezone(cfg.timezone).date()
    this_km, climb_m = _load(db, today - timedelta(days=6), today)
    prev_km, _ = _load(db, today - timedelta(days=13), today - timedelta(days=7))
    known = _first_day(db)
    prev_known = known is not None and known <= today - timedelta(days=7)
    s1 = cfg.rule("S1")
    shoes, retired = _shoes(db)
    return States(
        distance_7d_km=round(this_km, 2),
        distance_prev_7d_km=round(prev_km, 2) if prev_known else None,
        distance_7d_change_pct=(
            round((this_km / prev_km - 1.0) * 100.0, 1) if prev_known and prev_km > 0 else None
        ),
        climb_7d_m=None if climb_m is None else round(climb_m, 1),
        longest_30d_km=round(
            s1_reference_m(db, today, int(s1["lookback_days"]), int(cfg.rule("RET1")["gap_days"]))
            / 1000.0,
            2,
        ),
        lookback_days=int(s1["lookback_days"]),
        last_alert=_last_alert(db, cfg),
        shoes=[s for s in shoes if not retired[s.object_id]],
        retired_shoes=[s.object_id for s in shoes if retired[s.object_id]],
        as_of=today.isoformat(),
    )


def _load(db: sqlite_utils.Database, first: date, last: date) -> tuple[float, float | None]:
    """Distance (km) and climb (m; None when no run of the span knows its climb) of the runs
    on local days ``first`` … ``last``."""
    distance_m, ascent_m = db.execute(
        "SELECT SUM(distance_m), SUM(ascent_m) FROM daily_load "
        "WHERE local_date >= ? AND local_date <= ?",
        [first.isoformat(), last.isoformat()],
    ).fetchone()
    return (distance_m or 0.0) / 1000.0, ascent_m


def _first_day(db: sqlite_utils.Database) -> date | None:
    """The first local day calfsync holds an activity of (before it, a week is unknown, not 0)."""
    (first,) = db.execute(
        "SELECT MIN(local_date) FROM activities WHERE deleted = 0 "
        "AND (suspect IS NULL OR suspect_confirmed = 1)"
    ).fetchone()
    return date.fromisoformat(first) if first else None


def s1_reference_m(
    db: sqlite_utils.Database, today: date, lookback_days: int, gap_days: int
) -> float:
    """The distance (m) S1 would compare a run today with: the longest run of the
    ``lookback_days`` before, in the current streak, blips left out (0 when none). Computed by
    S1's own :func:`calfsync.rules.mileage.recent_longest` on the runs of the window and one
    layoff before it, with a zero-length run standing for "a run today"."""
    since = today - timedelta(days=lookback_days + gap_days + 1)
    runs = [
        Run(id=r[0], start_time=r[1], local_date=r[2], distance_m=r[3] or 0.0)
        for r in db.execute(
            "SELECT id, start_time, local_date, distance_m FROM activities "
            f"WHERE {counted()} AND local_date >= ? AND local_date <= ?",
            [since.isoformat(), today.isoformat()],
        )
    ]
    probe = Run(
        id="", start_time="9999-12-31T23:59:59Z", local_date=today.isoformat(), distance_m=0
    )
    history = History(runs=[*runs, probe], gap_days=gap_days)
    return recent_longest(history, history.runs.index(probe), lookback_days)


def _last_alert(db: sqlite_utils.Database, cfg: Config) -> dict[str, Any] | None:
    """The latest training alert (a rule's, not a digest or a notice about calfsync itself):
    its moment (the run's start when it has one, else the start of its local day) and words."""
    marks = ",".join("?" for _ in RULE_IDS)
    row = db.execute(
        "SELECT a.rule, a.title, a.severity, a.local_date, r.start_time FROM alerts a "
        "LEFT JOIN activities r ON r.id = a.activity_id "
        f"WHERE a.rule IN ({marks}) ORDER BY a.local_date DESC, a.id DESC LIMIT 1",
        list(RULE_IDS),
    ).fetchone()
    if row is None:
        return None
    rule, title, severity, local_date, start_time = row
    if start_time:
        at = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    else:
        at = datetime.combine(date.fromisoformat(local_date), time(0), tzinfo=cfg.timezone)
    return {
        "at": at.isoformat(),
        "rule": rule,
        "title": title,
        "severity": severity,
        "local_date": local_date,
    }


def _shoes(db: sqlite_utils.Database) -> tuple[list[ActiveShoe], dict[str, bool]]:
    """Every shoe with the distance ``calfsync shoes`` shows (its runs, or the source's total
    when larger), and whether each (by object id) is retired."""
    shoes, retired = [], {}
    for r in db.query(
        "SELECT gear_id, name, retired, run_distance_m, reported_distance_m FROM shoe_mileage "
        "ORDER BY gear_id"
    ):
        total_m = max(r["run_distance_m"] or 0.0, r["reported_distance_m"] or 0.0)
        shoe = ActiveShoe(
            slug(f"shoe_{r['gear_id']}"),
            r["gear_id"],
            r["name"] or r["gear_id"],
            round(total_m / 1000.0, 1),
        )
        shoes.append(shoe)
        retired[shoe.object_id] = bool(r["retired"])
    return shoes, retired


# --------------------------------------------------------------------------- discovery

# object id -> (name, value template, unit, device class, state class, icon)
SENSORS: dict[str, tuple[str, str, str | None, str | None, str | None, str]] = {
    "distance_7d": (
        "Distance last 7 days",
        "{{ value_json.distance_7d_km }}",
        "km",
        "distance",
        "measurement",
        "mdi:run",
    ),
    "distance_7d_change": (
        "Distance change against the week before",
        "{{ value_json.distance_7d_change_pct }}",
        "%",
        None,
        "measurement",
        "mdi:trending-up",
    ),
    "climb_7d": (
        "Climb last 7 days",
        "{{ value_json.climb_7d_m }}",
        "m",
        "distance",
        "measurement",
        "mdi:elevation-rise",
    ),
    "longest_30d": (
        "Longest recent run",
        "{{ value_json.longest_30d_km }}",
        "km",
        "distance",
        "measurement",
        "mdi:map-marker-distance",
    ),
}


def discovery(topics: Topics, states: States) -> list[tuple[str, str]]:
    """The discovery messages (topic, JSON), all retained: the fixed sensors, the last alert,
    one sensor per active shoe; and an empty message (Home Assistant's way to remove an
    entity) for each retired shoe, so a shoe retired while calfsync was down goes too."""
    device = {
        "identifiers": [f"calfsync_{topics.node}"],
        "name": "calfsync" if topics.node == "calfsync" else f"calfsync {topics.node}",
        "manufacturer": "calfsync",
        "model": "training load and calf-soreness rules",
        "sw_version": __version__,
    }

    def config(object_id: str, name: str, **extra: Any) -> tuple[str, str]:
        payload = {
            "name": name,
            "unique_id": f"{topics.node}_{object_id}",
            "state_topic": topics.state,
            "availability_topic": topics.availability,
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": device,
            **{k: v for k, v in extra.items() if v is not None},
        }
        return topics.config(object_id), json.dumps(payload, sort_keys=True)

    out = [
        config(
            object_id,
            name,
            value_template=template,
            unit_of_measurement=unit,
            device_class=device_class,
            state_class=state_class,
            icon=icon,
        )
        for object_id, (name, template, unit, device_class, state_class, icon) in SENSORS.items()
    ]
    out.append(
        config(
            "last_alert",
            "Last alert",
            value_template="{{ value_json.last_alert_at }}",
            device_class="timestamp",
            json_attributes_topic=topics.last_alert,
            icon="mdi:alert-outline",
        )
    )
    for shoe in states.shoes:
        out.append(
            config(
                shoe.object_id,
                f"Shoe {shoe.name}",
                value_template=f"{{{{ value_json.shoes_km.get('{shoe.object_id}') }}}}",
                unit_of_measurement="km",
                device_class="distance",
                state_class="total",
                icon="mdi:shoe-sneaker",
            )
        )
    out.extend((topics.config(object_id), "") for object_id in states.retired_shoes)
    return out
