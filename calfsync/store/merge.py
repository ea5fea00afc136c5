"""Deciding when two activities are the same one, and combining them. Pure functions.

- The same activity reaching calfsync twice from files (a ``.fit`` and the ``.fit.gz`` of an
  export, two devices' copies): same sport, start within 60 s, distance within 3%.
- A Strava activity and a device file of the same run: start within 120 s and distance within
  5%, or Strava's ``external_id`` naming the file. Distance, time and climb come from the device
  file; name, shoe and workout type from Strava; both raw payloads are kept.
- The same run recorded twice (RULES.md "Same run twice": two devices, a watch and a phone):
  two runs whose times overlap by more than half of the shorter one are one row. The fuller
  recording's measures win (a plausible one over a suspect one, then more distance, then more
  moving time); the other recording's raw payload is kept on the row, under its source's raw
  column (``recorded_twice`` when that column already holds the winner's).
"""

from __future__ import annotations

import json
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
# Two runs are one recorded twice when their times overlap by more than this share of the
# shorter one (RULES.md); candidates start at most a day before the new run.
TWICE_OVERLAP_SHARE = 0.5
TWICE_LOOKBACK_S = 86_400
# Key of a raw payload's other recordings of the same run: [{"id": …, "raw": …}, …].
TWINS_KEY = "recorded_twice"

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
            updates = {k: new_row[k] for k in (*DEVICE_FIELDS, "sport")}
            updates["fit_raw"] = keep_twins(row.get("fit_raw"), new_row["fit_raw"])
            return updates
        return None
    if new.source == "strava":
        updates = {k: new_row[k] for k in STRAVA_FIELDS}
        updates["strava_raw"] = keep_twins(row.get("strava_raw"), new_row["strava_raw"])
        if not has_fit:  # a Strava-only row: Strava is the device too
            updates.update({k: new_row[k] for k in (*DEVICE_FIELDS, "sport", "sub_sport")})
        return updates
    # a FIT file arriving for a Strava-only row: the device file owns the measurements
    updates = {k: new_row[k] for k in DEVICE_FIELDS}
    updates["fit_raw"] = keep_twins(row.get("fit_raw"), new_row["fit_raw"])
    return updates


# -- the same run recorded twice ----------------------------------------------------------------
def span_s(
    start_time: str, moving_time_s: float | None, elapsed_time_s: float | None
) -> tuple[float, float]:
    """A recording's (start, end) in POSIX seconds: its elapsed time, else its moving time."""
    begin = parse_utc(start_time).timestamp()
    return begin, begin + float(elapsed_time_s or moving_time_s or 0.0)


def recorded_twice(new: Activity, candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stored run that ``new`` is a second recording of: the run whose time overlaps
    ``new``'s by more than half of the shorter of the two, the largest overlap first. None when
    there is none or ``new`` is not a run (only runs are one run recorded twice)."""
    if not new.is_run:
        return None
    row = new.to_row()
    lo, hi = span_s(row["start_time"], new.moving_time_s, new.elapsed_time_s)
    best: tuple[float, dict[str, Any]] | None = None
    for cand in candidates:
        if cand["id"] == new.id or cand["sport"] != new.sport or cand.get("deleted"):
            continue
        a, b = span_s(cand["start_time"], cand["moving_time_s"], cand["elapsed_time_s"])
        overlap_s = min(hi, b) - max(lo, a)
        shorter_s = min(hi - lo, b - a)
        if shorter_s > 0 and overlap_s > TWICE_OVERLAP_SHARE * shorter_s:
            if best is None or overlap_s > best[0]:
                best = (overlap_s, cand)
    return best[1] if best else None


def fullness(suspect: str | None, distance_m: float | None, moving_time_s: float | None) -> tuple:
    """How full a recording is, for comparing two of one run: plausible over suspect, then
    more distance, then more moving time."""
    return (suspect is None, distance_m or 0.0, moving_time_s or 0.0)


def twin_updates(row: dict[str, Any], new: Activity, new_is_fuller: bool) -> dict[str, Any] | None:
    """The column updates that fold ``new``, a second recording of stored ``row``, into it;
    None when nothing changes.

    The fuller recording's measures (:data:`DEVICE_FIELDS`, sport) stay or take over. A Strava
    recording links the row to Strava when the row holds no Strava activity yet (name, shoe,
    workout type). The other recording's raw payload is kept: in its source's raw column when
    that is free, else in that column's ``recorded_twice`` list.
    """
    new_row = new.to_row()
    updates: dict[str, Any] = {}
    if new_is_fuller:
        updates.update({k: new_row[k] for k in (*DEVICE_FIELDS, "sport")})
    raw_col = f"{new.source}_raw"
    links_strava = new.source == "strava" and row.get("strava_id") is None
    if links_strava:
        updates.update({k: new_row[k] for k in STRAVA_FIELDS})
    if row.get(raw_col) is None or links_strava:
        updates[raw_col] = keep_twins(row.get(raw_col), new_row[raw_col])
    elif new_is_fuller and new.source == "fit":  # the winner's payload on top, as for any row
        stored = json.loads(row[raw_col])
        stored.pop(TWINS_KEY, None)
        on_top = keep_twins(row[raw_col], new_row[raw_col])
        updates[raw_col] = with_twin(on_top, row["id"], json.dumps(stored, sort_keys=True))
    else:
        updates[raw_col] = with_twin(row[raw_col], new.id, new_row[raw_col])
    changed = {k: v for k, v in updates.items() if row.get(k) != v}
    return changed or None


def keep_fullest(
    row: dict[str, Any], new: Activity, updates: dict[str, Any], new_suspect: str | None
) -> dict[str, Any]:
    """``updates`` of a re-sync of ``new`` into stored ``row``, less the measures when ``row``
    holds a run recorded twice and ``new`` is not its fullest recording (so re-syncing the
    other recording never swaps the measures back and forth), and less its payload when that
    is kept as the other recording's."""
    raw_col = f"{new.source}_raw"
    if not any(twin_ids(row.get(col)) for col in ("fit_raw", "strava_raw")):
        return updates
    stored_suspect = None if row.get("suspect_confirmed") else row.get("suspect")
    if fullness(new_suspect, new.distance_m, new.moving_time_s) >= fullness(
        stored_suspect, row.get("distance_m"), row.get("moving_time_s")
    ):
        return updates
    kept = {k: v for k, v in updates.items() if k not in (*DEVICE_FIELDS, "sport")}
    if new.id in twin_ids(row.get(raw_col)):
        kept.pop(raw_col, None)
    return kept


def twin_ids(raw: str | None) -> set[str]:
    """The ids of the other recordings kept in a raw payload's ``recorded_twice`` list."""
    if not raw:
        return set()
    payload = json.loads(raw)
    twins = payload.get(TWINS_KEY) if isinstance(payload, dict) else None
    return {t.get("id") for t in twins or []}


def with_twin(stored_raw: str, twin_id: str, twin_raw: str | None) -> str:
    """``stored_raw`` (a JSON object) with ``twin_raw`` added to its ``recorded_twice`` list,
    once per twin id."""
    payload = json.loads(stored_raw) if stored_raw else {}
    twins = payload.setdefault(TWINS_KEY, [])
    if all(t.get("id") != twin_id for t in twins):
        twins.append({"id": twin_id, "raw": json.loads(twin_raw) if twin_raw else None})
    return json.dumps(payload, default=str, sort_keys=True)


def keep_twins(stored_raw: str | None, new_raw: str | None) -> str | None:
    """``new_raw`` replacing ``stored_raw``, keeping the stored ``recorded_twice`` list (a
    re-sync of the winner never drops the other recording's payload)."""
    twins = json.loads(stored_raw).get(TWINS_KEY) if stored_raw else None
    if not twins:
        return new_raw
    payload = json.loads(new_raw) if new_raw else {}
    payload[TWINS_KEY] = twins
    return json.dumps(payload, default=str, sort_keys=True)
