"""Deciding when two activities are the same one, and combining them. Pure functions.

- The same activity reaching calfsync twice from files (a ``.fit`` and the ``.fit.gz`` of an
  export, two devices' copies): same sport, start within 60 s, distance within 3%.
- A Strava activity and a device file of the same run: start within 120 s and distance within
  5%, or Strava's ``external_id`` naming the file. Distance, time and climb come from the device
  file; name, shoe and workout type from Strava; both raw payloads are kept.
"""

from __future__ import annotations

from typing import Any

from ..model import Activity, parse_utc

FILE_DUP_WINDOW_S = 60
FILE_DUP_TOLERANCE = 0.03
CROSS_SOURCE_WINDOW_S = 120
CROSS_SOURCE_TOLERANCE = 0.05
# The widest window any match uses: callers fetch candidates starting within it.
CANDIDATE_WINDOW_S = max(FILE_DUP_WINDOW_S, CROSS_SOURCE_WINDOW_S)
# A Strava ``external_id`` naming a device file links the two whatever their start times say
# (a clock fixed on Strava, a time zone mistake), within a day.
EXTERNAL_ID_WINDOW_S = 86_400
MIN_NAME_DIGITS = 6

DEVICE_FIELDS = (
    "start_time",
    "local_date",
    "utc_offset_s",
    "sub_sport",
    "distance_m",
    "moving_time_s",
    "elapsed_time_s",
    "ascent_m",
    "descent_m",
    "avg_heart_rate_bpm",
    "max_heart_rate_bpm",
    "interval_time_s",
    "hr_histogram",
    "laps",
    "device",
    "altitude_source",
    "indoor",
    "salvaged",
)
STRAVA_FIELDS = ("name", "gear_id", "workout_type", "strava_id", "external_id")


def distances_close(a_m: float | None, b_m: float | None, tolerance: float) -> bool:
    """True when two distances differ by at most ``tolerance`` of the larger (both 0 is close)."""
    a, b = a_m or 0.0, b_m or 0.0
    larger = max(a, b)
    if larger == 0:
        return True
    return abs(a - b) <= tolerance * larger


def _stem(name: str | None) -> str:
    """``activities/12345.fit.gz`` -> ``12345`` (lower case); '' when there is no name."""
    if not name:
        return ""
    return name.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0].lower()


def names_same_file(a: str | None, b: str | None) -> bool:
    """Whether two ``external_id`` values name one device file (``123.fit``, ``123.fit.gz``).

    Only distinctive names count: a device's file names carry an id or a timestamp (at least
    six digits); a generic upload name such as ``activity.fit`` never joins two activities.
    """
    stem = _stem(a)
    distinctive = sum(ch.isdigit() for ch in stem) >= MIN_NAME_DIGITS
    return distinctive and stem == _stem(b)


def is_same(row: dict[str, Any], new: Activity) -> bool:
    """Whether stored ``row`` and ``new`` describe the same activity."""
    if new.source == "strava" and row.get("strava_id") not in (None, new.strava_id):
        return False  # the row already holds another Strava activity
    delta_s = abs((parse_utc(row["start_time"]) - new.start_time).total_seconds())
    has_fit = bool(row.get("fit_raw"))
    if new.source == "fit" and has_fit:
        return (
            row["sport"] == new.sport
            and delta_s <= FILE_DUP_WINDOW_S
            and distances_close(row["distance_m"], new.distance_m, FILE_DUP_TOLERANCE)
        )
    if new.source == "strava" and not has_fit:
        return row.get("strava_id") == new.strava_id
    if row["sport"] == new.sport and names_same_file(row.get("external_id"), new.external_id):
        return True
    return (
        row["sport"] == new.sport
        and delta_s <= CROSS_SOURCE_WINDOW_S
        and distances_close(row["distance_m"], new.distance_m, CROSS_SOURCE_TOLERANCE)
    )


def find_match(new: Activity, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stored row ``new`` duplicates or merges with, the closest start first."""
    matches = [row for row in candidates if row["id"] != new.id and is_same(row, new)]
    if not matches:
        return None
    return min(
        matches, key=lambda r: abs((parse_utc(r["start_time"]) - new.start_time).total_seconds())
    )


def combine(row: dict[str, Any], new: Activity) -> dict[str, Any] | None:
    """The column updates that fold ``new`` into stored ``row``; None when nothing changes.

    Same source: the complete copy wins over a salvaged one, otherwise the stored row stays.
    Cross source: device fields from the FIT side, Strava fields from the Strava side.
    """
    new_row = new.to_row()
    has_fit = bool(row.get("fit_raw"))
    if new.source == "fit" and has_fit:
        if row.get("salvaged") and not new.salvaged:
            return {k: new_row[k] for k in (*DEVICE_FIELDS, "sport", "fit_raw")}
        return None
    if new.source == "strava":
        updates = {k: new_row[k] for k in STRAVA_FIELDS}
        updates["strava_raw"] = new_row["strava_raw"]
        if not has_fit:  # a Strava-only row: Strava is the device too
            updates.update({k: new_row[k] for k in (*DEVICE_FIELDS, "sport", "sub_sport")})
        return updates
    # a FIT file arriving for a Strava-only row: the device file owns the measurements
    updates = {k: new_row[k] for k in DEVICE_FIELDS}
    updates["fit_raw"] = new_row["fit_raw"]
    return updates
