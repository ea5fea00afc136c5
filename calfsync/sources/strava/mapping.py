"""Strava replies as calfsync's rows: an activity reply to an :class:`Activity`, gear to columns.

Pure: no I/O, no clock. It follows the published field meanings (docs/strava.md, "Mapping a
Strava activity"), not the loopback stand-in's habits, and keeps each whole reply as ``raw`` so a
column added later is derived from stored JSON instead of a new download.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...model import Activity
from .errors import StravaMalformed

# Strava sport_type (or the older broad ``type``) -> FIT sport and sub-sport.
SPORTS: dict[str, tuple[str, str | None]] = {
    "Run": ("running", "generic"),
    "TrailRun": ("running", "trail"),
    "VirtualRun": ("running", "virtual_activity"),
    "Walk": ("walking", "generic"),
    "Hike": ("hiking", "generic"),
    "Ride": ("cycling", "generic"),
    "MountainBikeRide": ("cycling", "mountain"),
    "GravelRide": ("cycling", "gravel_cycling"),
    "EBikeRide": ("e_biking", "generic"),
    "EMountainBikeRide": ("cycling", "e_bike_mountain"),
    "VirtualRide": ("cycling", "virtual_activity"),
    "Velomobile": ("cycling", "generic"),
    "Handcycle": ("cycling", "hand_cycling"),
    "Swim": ("swimming", "generic"),
    "AlpineSki": ("alpine_skiing", "generic"),
    "BackcountrySki": ("alpine_skiing", "backcountry"),
    "NordicSki": ("cross_country_skiing", "generic"),
    "RollerSki": ("cross_country_skiing", "skate_skiing"),
    "Snowboard": ("snowboarding", "generic"),
    "Snowshoe": ("snowshoeing", "generic"),
    "IceSkate": ("ice_skating", "generic"),
    "InlineSkate": ("inline_skating", "generic"),
    "Rowing": ("rowing", "generic"),
    "VirtualRow": ("rowing", "indoor_rowing"),
    "Kayaking": ("kayaking", "generic"),
    "Canoeing": ("paddling", "generic"),
    "StandUpPaddling": ("stand_up_paddleboarding", "generic"),
    "Surfing": ("surfing", "generic"),
    "Kitesurf": ("kitesurfing", "generic"),
    "Windsurf": ("windsurfing", "generic"),
    "Sail": ("sailing", "generic"),
    "RockClimbing": ("rock_climbing", "generic"),
    "Golf": ("golf", "generic"),
    "Soccer": ("soccer", "generic"),
    "Basketball": ("basketball", "generic"),
    "Volleyball": ("volleyball", "generic"),
    "Cricket": ("cricket", "generic"),
    "Tennis": ("tennis", "generic"),
    "Badminton": ("racket", "badminton"),
    "Squash": ("racket", "squash"),
    "Racquetball": ("racket", "racquetball"),
    "TableTennis": ("racket", "table_tennis"),
    "Padel": ("racket", "padel"),
    "Pickleball": ("racket", "pickleball"),
    "Crossfit": ("training", "generic"),
    "HighIntensityIntervalTraining": ("hiit", "generic"),
    "WeightTraining": ("training", "strength_training"),
    "Workout": ("training", "generic"),
    "Yoga": ("training", "yoga"),
    "Pilates": ("training", "pilates"),
    "Elliptical": ("fitness_equipment", "elliptical"),
    "StairStepper": ("fitness_equipment", "stair_climbing"),
    "Dance": ("dance", "generic"),
    "Wheelchair": ("wheelchair_push_run", "generic"),
    "Skateboard": ("skateboarding", "generic"),
}
# ``trainer`` true (a treadmill, a turbo trainer, a rowing machine): the indoor sub-sport.
INDOOR: dict[str, str] = {
    "running": "treadmill",
    "cycling": "indoor_cycling",
    "walking": "indoor_walking",
    "rowing": "indoor_rowing",
}
ON_FOOT_SPORTS = frozenset({"running", "walking", "hiking"})


def sport_of(raw: Mapping[str, Any]) -> tuple[str, str | None]:
    """FIT sport and sub-sport for a Strava activity reply.

    ``sport_type`` first, then the older broad ``type`` (a sport type Strava adds later still
    lands in its family), else the sport type in snake case, which never counts as a run.
    """
    sport_type = raw.get("sport_type") or raw.get("type") or ""
    if sport_type in SPORTS:
        sport, sub = SPORTS[sport_type]
    elif raw.get("type") in SPORTS:
        sport, _ = SPORTS[raw["type"]]
        sub = "generic"
    else:
        sport = re.sub(r"(?<!^)(?=[A-Z])", "_", sport_type).lower() or "generic"
        sub = None
    if raw.get("trainer") and sport in INDOOR and sub != "virtual_activity":
        sub = INDOOR[sport]
    return sport, sub


def parse_strava_time(text: str) -> datetime:
    """Strava's ISO 8601 time (``2018-05-02T12:15:09Z``) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _wall_clock(text: str) -> datetime:
    """``start_date_local`` as the naive wall-clock time it is.

    Strava writes the local time with a 'Z' it does not mean; whatever suffix comes with it
    (Z, an offset, none), the digits are the local time, so the suffix is dropped, not applied.
    """
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _offset_s(raw: Mapping[str, Any], start: datetime, default_tz: ZoneInfo | None = None) -> int:
    """The activity's UTC offset in seconds: ``start_date_local`` − ``start_date``, else
    ``utc_offset``, else the IANA zone named in ``timezone`` ("(GMT-08:00) America/Los_Angeles")
    at the start instant, else the configured ``[athlete] timezone`` (``default_tz``), else 0."""
    if raw.get("start_date_local"):
        try:
            local = _wall_clock(str(raw["start_date_local"]))
            return int(round((local - start.replace(tzinfo=None)).total_seconds()))
        except ValueError:
            pass
    offset = _number(raw.get("utc_offset"))
    if offset is not None:
        return int(round(offset))
    zone = str(raw.get("timezone") or "").rsplit(" ", 1)[-1]
    if zone:
        try:
            delta = start.astimezone(ZoneInfo(zone)).utcoffset()
        except (ZoneInfoNotFoundError, ValueError, OSError):
            delta = None
        if delta is not None:
            return int(delta.total_seconds())
    if default_tz is not None:
        delta = start.astimezone(default_tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0
    return 0


def to_activity(raw: Mapping[str, Any], default_tz: ZoneInfo | None = None) -> Activity:
    """Map one Strava activity (``SummaryActivity`` or ``DetailedActivity``) to an Activity.

    ``default_tz`` (the ``[athlete] timezone``) gives the local time when the reply carries no
    local time, offset or zone of its own. Raises :class:`StravaMalformed` when the reply lacks
    the fields every activity has.
    """
    try:
        strava_id = int(raw["id"])
        start = parse_strava_time(str(raw["start_date"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise StravaMalformed(f"Strava activity without a usable id or start_date: {exc}") from exc
    offset_s = _offset_s(raw, start, default_tz)
    sport, sub_sport = sport_of(raw)
    indoor = bool(raw.get("trainer")) or sub_sport in ("virtual_activity", "indoor_rowing")
    ascent = _number(raw.get("total_elevation_gain"))
    if indoor or raw.get("manual"):
        ascent = None  # no device measured a climb: unknown, not zero
    workout_type = raw.get("workout_type")
    gear_id = raw.get("gear_id") or None
    return Activity(
        id=f"strava:{strava_id}",
        source="strava",
        start_time=start,
        utc_offset_s=offset_s,
        sport=sport,
        sub_sport=sub_sport,
        distance_m=_number(raw.get("distance")) or 0.0,
        moving_time_s=_number(raw.get("moving_time")),
        elapsed_time_s=_number(raw.get("elapsed_time")),
        ascent_m=ascent,
        avg_heart_rate_bpm=_number(raw.get("average_heartrate")),
        max_heart_rate_bpm=_number(raw.get("max_heartrate")),
        workout_type=int(workout_type) if isinstance(workout_type, int | float) else None,
        gear_id=str(gear_id) if gear_id else None,
        name=raw.get("name"),
        device=raw.get("device_name"),
        altitude_source="strava" if ascent is not None else None,
        strava_id=strava_id,
        external_id=raw.get("external_id") or None,
        raw=dict(raw),
    )


def gear_row(raw: Mapping[str, Any], fetched_at: str | None) -> dict[str, Any]:
    """The ``gear`` columns Strava owns, from a ``DetailedGear`` or ``SummaryGear`` reply.

    ``fetched_at`` is given for a ``/gear/{id}`` reply only (it dates the monthly refresh).
    User-entered columns (drop, minimalist, retirement distance) are never part of it.
    """
    row: dict[str, Any] = {"id": str(raw["id"]), "source": "strava"}
    if fetched_at:
        row["fetched_at"] = fetched_at
    if raw.get("name") is not None:
        row["name"] = raw.get("name")
    elif raw.get("nickname"):
        row["name"] = raw.get("nickname")
    if "brand_name" in raw:
        row["brand"] = raw.get("brand_name")
    if "model_name" in raw:
        row["model"] = raw.get("model_name")
    if _number(raw.get("distance")) is not None:
        row["distance_m"] = _number(raw.get("distance"))
    if "retired" in raw:
        row["retired"] = int(bool(raw.get("retired")))
    if raw.get("resource_state", 0) >= 3 or "brand_name" in raw:
        row["raw"] = json.dumps(dict(raw), sort_keys=True)
    return row
