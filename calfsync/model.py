"""The normalized activity every source produces and every later stage consumes.

Pure data: no I/O. Units are in the field names; times are UTC unless named ``local``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

RUN_SPORT = "running"
INDOOR_SUB_SPORTS = frozenset({"treadmill", "indoor_running", "virtual_activity"})


def utc_iso(moment: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """Parse the ``YYYY-MM-DDTHH:MM:SSZ`` form back into an aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass
class Activity:
    """One activity (one FIT session or one Strava activity), normalized.

    ``local_date`` is the start date in the activity's own local time; ``utc_offset_s`` the
    offset that produced it. ``ascent_m`` is None when unknown (always for indoor runs).
    ``hr_histogram`` maps heart rate in bpm to seconds spent there, so rules can compute time
    above any configured threshold without the record stream. ``interval_time_s`` is the time in
    laps whose intensity is ``interval`` (None when the source has no laps).
    """

    id: str
    source: str  # "fit" | "strava"
    start_time: datetime  # aware, UTC
    utc_offset_s: int
    sport: str
    sub_sport: str | None = None
    distance_m: float = 0.0
    moving_time_s: float | None = None
    elapsed_time_s: float | None = None
    ascent_m: float | None = None
    descent_m: float | None = None
    avg_heart_rate_bpm: float | None = None
    max_heart_rate_bpm: float | None = None
    interval_time_s: float | None = None
    hr_histogram: dict[int, float] | None = None
    laps: list[dict[str, Any]] | None = None
    workout_type: int | None = None
    gear_id: str | None = None
    name: str | None = None
    device: str | None = None
    altitude_source: str | None = None  # "session" | "barometric" | "gps" | "strava" | None
    salvaged: bool = False
    strava_id: int | None = None
    external_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def local_start(self) -> datetime:
        return (self.start_time + timedelta(seconds=self.utc_offset_s)).replace(tzinfo=None)

    @property
    def local_date(self) -> str:
        return self.local_start.date().isoformat()

    @property
    def is_run(self) -> bool:
        return self.sport == RUN_SPORT

    @property
    def indoor(self) -> bool:
        return self.sub_sport in INDOOR_SUB_SPORTS

    def to_row(self) -> dict[str, Any]:
        """The ``activities`` row for this activity (raw payload under its source's column)."""
        row = {
            "id": self.id,
            "source": self.source,
            "start_time": utc_iso(self.start_time),
            "local_date": self.local_date,
            "utc_offset_s": self.utc_offset_s,
            "sport": self.sport,
            "sub_sport": self.sub_sport,
            "distance_m": self.distance_m,
            "moving_time_s": self.moving_time_s,
            "elapsed_time_s": self.elapsed_time_s,
            "ascent_m": None if self.indoor else self.ascent_m,
            "descent_m": self.descent_m,
            "avg_heart_rate_bpm": self.avg_heart_rate_bpm,
            "max_heart_rate_bpm": self.max_heart_rate_bpm,
            "interval_time_s": self.interval_time_s,
            "hr_histogram": _dump(self.hr_histogram),
            "laps": _dump(self.laps),
            "workout_type": self.workout_type,
            "gear_id": self.gear_id,
            "name": self.name,
            "device": self.device,
            "altitude_source": self.altitude_source,
            "indoor": int(self.indoor),
            "salvaged": int(self.salvaged),
            "strava_id": self.strava_id,
            "external_id": self.external_id,
        }
        row[f"{self.source}_raw"] = _dump(self.raw)
        return row


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, sort_keys=True)
