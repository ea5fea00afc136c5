"""Histories built in code for the rule tests: "ten weeks of 30 km, then a 16 km long run".

Day numbers count from :data:`DAY0` (a Monday). Pure tests turn Activities into a
:class:`~calfsync.rules.history.History` directly; database tests store them with
``calfsync.store.save_activities`` and go through the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from calfsync.config import Config, validate
from calfsync.model import Activity
from calfsync.rules import Finding
from calfsync.rules.engine import replay, replay_findings, rule_params
from calfsync.rules.history import History, Run, Shoe
from calfsync.store.history import load_history

DAY0 = date(2025, 1, 6)  # a Monday


def day(n: int) -> str:
    """The local date ``n`` days after :data:`DAY0`."""
    return (DAY0 + timedelta(days=n)).isoformat()


def run(
    n: int,
    km: float,
    *,
    climb: float | None = 20.0,
    sport: str = "running",
    sub_sport: str | None = "road",
    gear: str | None = None,
    hour: int = 7,
    interval_min: float | None = None,
    workout_type: int | None = None,
    hr_histogram: dict[int, float] | None = None,
    name: str | None = None,
    aid: str | None = None,
    laps: list[dict[str, Any]] | None = None,
) -> Activity:
    """One activity on day ``n`` at ``hour`` local time (UTC+1), ``km`` long."""
    start = datetime.combine(DAY0 + timedelta(days=n), datetime.min.time()).replace(
        hour=hour, tzinfo=UTC
    ) - timedelta(hours=1)
    return Activity(
        id=aid or f"r{n:05d}h{hour:02d}",
        source="fit",
        start_time=start,
        utc_offset_s=3600,
        sport=sport,
        sub_sport=sub_sport,
        distance_m=km * 1000.0,
        moving_time_s=km * 330.0,
        elapsed_time_s=km * 340.0,
        ascent_m=climb,
        interval_time_s=interval_min * 60.0 if interval_min is not None else None,
        workout_type=workout_type,
        hr_histogram=hr_histogram,
        gear_id=gear,
        name=name or f"Run {n}",
        laps=laps,
    )


def weeks(
    count: int,
    week_km: float,
    *,
    first_day: int = 0,
    per_week: int = 4,
    climb_per_run: float | None = 20.0,
    **kw: Any,
) -> list[Activity]:
    """``count`` weeks of ``per_week`` equal runs (Mon, Wed, Fri, Sun) from ``first_day``."""
    offsets = [0, 2, 4, 6, 1, 3, 5][:per_week]
    return [
        run(first_day + 7 * w + o, week_km / per_week, climb=climb_per_run, **kw)
        for w in range(count)
        for o in offsets
    ]


def to_run(a: Activity) -> Run:
    return Run(
        id=a.id,
        start_time=a.to_row()["start_time"],
        local_date=a.local_date,
        distance_m=a.distance_m,
        climb_m=None if a.indoor else a.ascent_m,
        indoor=a.indoor,
        gear_id=a.gear_id,
        name=a.name,
        sub_sport=a.sub_sport,
        workout_type=a.workout_type,
        interval_time_s=a.interval_time_s,
        hr_histogram=a.hr_histogram,
        laps=a.laps,
        moving_time_s=a.moving_time_s,
    )


def make_cfg(
    rules: dict[str, dict[str, Any]] | None = None,
    athlete: dict[str, Any] | None = None,
    **sections: Any,
) -> Config:
    raw: dict[str, Any] = {"athlete": {"timezone": "Europe/Paris", **(athlete or {})}}
    if rules:
        raw["rules"] = rules
    raw.update(sections)
    return validate(raw)


def history(
    acts: Iterable[Activity],
    shoes: Iterable[Shoe] = (),
    soreness: dict[int, int] | None = None,
    cfg: Config | None = None,
) -> History:
    """A pure History of the runs among ``acts`` (other sports are left out, as the db does)."""
    cfg = cfg or make_cfg()
    return History(
        runs=[to_run(a) for a in acts if a.is_run],
        shoes={s.id: s for s in shoes},
        soreness={(DAY0 + timedelta(days=k)).toordinal(): v for k, v in (soreness or {}).items()},
        gap_days=cfg.rule("RET1")["gap_days"],
        max_heart_rate=cfg.athlete.max_heart_rate,
    )


def fired(
    acts: Iterable[Activity],
    *,
    cfg: Config | None = None,
    shoes: Iterable[Shoe] = (),
    soreness: dict[int, int] | None = None,
    rule: str | None = None,
) -> list[Finding]:
    """Every alert replay would raise over this history (only ``rule``'s when given)."""
    cfg = cfg or make_cfg()
    found = replay_findings(history(acts, shoes, soreness, cfg), rule_params(cfg))
    return [f for f in found if rule is None or f.rule == rule]


def only(rule: str, cfg: Config | None = None, **params: Any) -> Config:
    """A config with every rule off but ``rule`` (with ``params``)."""
    from calfsync.config import RULE_DEFAULTS

    rules = {rid: {"enabled": rid == rule} for rid in RULE_DEFAULTS}
    rules[rule].update(params)
    return make_cfg(rules)


def replayed(db: Any, cfg: Config, since: str | None = None) -> list[dict[str, Any]]:
    """What ``calfsync replay --json`` prints for the history stored in ``db``."""
    return replay(load_history(db, cfg), rule_params(cfg), since)


def open_tmp_db(tmp_path: Path) -> Any:
    from calfsync.store.db import open_db

    return open_db(tmp_path / "calfsync.db")


def store(db: Any, acts: list[Activity]) -> set[str]:
    """Save activities through the lead's store; return the local dates they changed."""
    from calfsync.store.activities import save_activities

    result = save_activities(db, acts)
    return set(getattr(result, "changed_dates", result))


def alert_rows(db: Any) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM alerts ORDER BY local_date, id"))


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# What every replayed finding carries at least (DESIGN.md, `calfsync replay --json`).
REPLAY_KEYS = {"rule", "local_date", "activity_id", "severity", "episode_key", "values", "title"}
