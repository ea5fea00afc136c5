"""One row of a Strava archive's ``activities.csv`` and the file it names, as activities.

Each row gives a *Strava* activity (``strava:<Activity ID>``, source ``strava``): name, sport
and shoe from the CSV, like the API's reply would give them. Its measures come from the file:

- ``.fit`` / ``.fit.gz``: the FIT path (:func:`calfsync.sources.fit.parse.parse_fit_bytes`);
  the FIT activities are returned too, to be stored as the FIT import stores them (its
  ``fit_files`` row), and the Strava activity takes the chosen session's start and measures so
  the two are one row (store/merge.py: device fields from the file, name and shoe from Strava).
- ``.gpx`` / ``.gpx.gz`` / ``.tcx`` / ``.tcx.gz``: :mod:`.tracks`, measured as FIT records are.
- no file (a manual entry), or a file that is missing or unreadable: the CSV row alone
  (distance, times, heart rate; climb unknown, as for a manual Strava entry), with the reason
  kept for the runner, so a bad file never loses the run.

The sport is what the CSV says (a ride saved as a run stays a run, and the plausibility checks
of calfsync/quality.py judge it); a type the tables do not know keeps the file's own sport.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, fields
from datetime import datetime
from zoneinfo import ZoneInfo

from ...model import Activity
from ..fit.parse import FitResult, parse_fit_bytes
from ..strava.mapping import SPORTS, sport_of
from .archive import Archive, MemberMissing, MemberUnreadable
from .strava_csv import CsvRow
from .tracks import Track, TrackProblem, gunzip, read_gpx, read_tcx

# Activity types as the localized archives write them -> Strava sport type. English types are
# the sport types with spaces ("Trail Run" -> TrailRun) and need no entry. French and Spanish
# run and ride words as public copies of real archives show them; the others are Strava's UI
# words for its most common types.
LOCALIZED_TYPES = {
    "lauf": "Run",
    "traillauf": "TrailRun",
    "virtueller lauf": "VirtualRun",
    "radfahrt": "Ride",
    "spaziergang": "Walk",
    "wanderung": "Hike",
    "course à pied": "Run",
    "trail": "TrailRun",
    "vélo": "Ride",
    "marche": "Walk",
    "randonnée": "Hike",
    "carrera": "Run",
    "carrera por montaña": "TrailRun",
    "bicicleta": "Ride",
    "caminata": "Walk",
    "corsa": "Run",
    "giro in bici": "Ride",
    "camminata": "Walk",
    "hardloopsessie": "Run",
    "rit": "Ride",
    "wandeling": "Walk",
    "corrida": "Run",
    "pedalada": "Ride",
    "caminhada": "Walk",
}
# A GPX track type or TCX Sport attribute, for a CSV type the tables do not know.
FILE_SPORTS = {"running": "Run", "run": "Run", "9": "Run", "biking": "Ride", "cycling": "Ride"}
FORMATS = {".fit": "fit", ".gpx": "gpx", ".tcx": "tcx"}
# What a row's Strava activity keeps when a FIT file gives the measures.
_STRAVA_OWNS = frozenset(
    {"id", "source", "sport", "sub_sport", "name", "gear_id", "strava_id", "external_id", "raw"}
)


@dataclass
class FitPart:
    """The FIT file a row names, read by the FIT path: stored as the FIT import stores it."""

    sha256: str
    label: str
    size_bytes: int
    result: FitResult


@dataclass
class RowActivities:
    """What one row gives: the Strava activity (None when the row is unreadable), the FIT
    file behind it, and a problem in words (the file failed, or the row)."""

    line: int
    strava: Activity | None = None
    fit: FitPart | None = None
    problem: str | None = None
    problem_label: str | None = None  # the file the problem is about (None: the CSV row)
    gear_name: str | None = None
    file_format: str | None = None  # fit | gpx | tcx | None (CSV alone)


def sport_of_type(type_text: str | None) -> tuple[str, str | None] | None:
    """The FIT sport and sub-sport a CSV activity type means, or None when unknown."""
    if not type_text:
        return None
    known = LOCALIZED_TYPES.get(type_text.strip().casefold())
    sport_type = known or re.sub(r"[\s\-]+", "", type_text.strip())
    if sport_type not in SPORTS:
        return None
    return sport_of({"sport_type": sport_type})


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.replace(",", "."))  # a decimal comma in some languages
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _offset_s(start: datetime, tz: ZoneInfo) -> int:
    delta = start.astimezone(tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def read_row(archive: Archive, row: CsvRow, day_first: bool, tz: ZoneInfo) -> RowActivities:
    """The activities of one CSV row (see the module docstring). Never raises for bad input."""
    out = RowActivities(row.line, gear_name=row.get("gear"))
    if row.problem or row.date is None:
        out.problem = row.problem or f"line {row.line} has no activity date"
        return out
    strava_id = row.get("id")
    if strava_id is None or not strava_id.isdigit():
        out.problem = f"line {row.line}: the activity id '{strava_id}' is no number"
        return out
    try:
        start = row.date.to_datetime(day_first)
    except ValueError as exc:
        out.problem = f"line {row.line}: impossible date '{row.get('date')}'"
        out.problem += f" ({exc})"
        return out
    act = _from_csv(row, int(strava_id), start, tz)
    out.strava = act
    filename = row.get("filename")
    if filename is None:
        return out
    _with_file(archive, filename, act, row, out, tz)
    return out


def _from_csv(row: CsvRow, strava_id: int, start: datetime, tz: ZoneInfo) -> Activity:
    """The activity as the CSV row alone gives it (a manual entry, or a file that failed)."""
    sport, sub_sport = sport_of_type(row.get("type")) or ("generic", None)
    distance_m = _number(row.get("distance_m"))
    if distance_m is None and (km := _number(row.get("distance"))) is not None:
        distance_m = km * 1000.0
    elapsed = _number(row.get("elapsed_exact_s")) or _number(row.get("elapsed_s"))
    raw = {
        "export": "strava",
        "id": strava_id,
        "name": row.get("name"),
        "type": row.get("type"),
        "activity_date": row.get("date"),
        "gear": row.get("gear"),
        "filename": row.get("filename"),
        "elevation_gain_m": _number(row.get("ascent_m")),
    }
    return Activity(
        id=f"strava:{strava_id}",
        source="strava",
        start_time=start,
        utc_offset_s=_offset_s(start, tz),
        sport=sport,
        sub_sport=sub_sport,
        distance_m=distance_m or 0.0,
        moving_time_s=_number(row.get("moving_s")) or elapsed,
        elapsed_time_s=elapsed,
        ascent_m=None,  # no device measured it: unknown, not zero (Strava's own estimate in raw)
        avg_heart_rate_bpm=_number(row.get("avg_hr")),
        max_heart_rate_bpm=_number(row.get("max_hr")),
        name=row.get("name"),
        strava_id=strava_id,
        external_id=row.get("filename"),
        raw=raw,
    )


def _format_of(name: str) -> tuple[str | None, bool]:
    lower = name.lower()
    gz = lower.endswith(".gz")
    stem = lower[:-3] if gz else lower
    ext = "." + stem.rsplit(".", 1)[-1] if "." in stem else ""
    return FORMATS.get(ext), gz


def _with_file(
    archive: Archive, name: str, act: Activity, row: CsvRow, out: RowActivities, tz: ZoneInfo
) -> None:
    """Measure ``act`` from its file, or keep the CSV's measures with the reason."""
    label = archive.label(name)
    kind, gz = _format_of(name)
    out.problem_label = label
    fallback = (
        f"; the activity of line {row.line} is imported from activities.csv alone "
        "(no climb, no heart rate)"
    )
    if kind is None:
        out.problem = f"not a FIT, GPX or TCX file{fallback}"
        return
    try:
        data = archive.read(name)
        if gz:
            data = gunzip(data)
        if kind == "fit":
            _from_fit(data, label, act, row, out, tz, fallback)
            return
        track = read_gpx(data) if kind == "gpx" else read_tcx(data)
    except (MemberMissing, MemberUnreadable, TrackProblem) as exc:
        out.problem = f"{exc}{fallback}"
        return
    _from_track(track, act, row, kind, tz)
    out.file_format = kind


def _from_track(track: Track, act: Activity, row: CsvRow, kind: str, tz: ZoneInfo) -> None:
    if sport_of_type(row.get("type")) is None and track.sport_hint:
        hinted = FILE_SPORTS.get(track.sport_hint.strip().lower())
        if hinted:
            act.sport, act.sub_sport = sport_of({"sport_type": hinted})
    for key, value in track.measures().items():
        setattr(act, key, value)
    act.start_time = track.start
    act.utc_offset_s = _offset_s(track.start, tz)
    act.raw["file"] = {"format": kind, "records": len(track.seg.rec_t)}


def _from_fit(
    data: bytes,
    label: str,
    act: Activity,
    row: CsvRow,
    out: RowActivities,
    tz: ZoneInfo,
    fallback: str,
) -> None:
    """Read a FIT file through the FIT path; ``act`` takes the chosen session's measures."""
    result = parse_fit_bytes(data, label, tz)
    out.fit = FitPart(hashlib.sha256(data).hexdigest(), label, len(data), result)
    if result.status != "imported" or not result.activities:
        out.problem = f"{result.reason or result.status}{fallback}"
        return
    chosen = next((a for a in result.activities if a.sport == act.sport), result.activities[0])
    csv_sport = sport_of_type(row.get("type"))
    if csv_sport is not None and csv_sport[0] != chosen.sport:
        # The runner's word on Strava: a ride saved as a run is a run, judged as one.
        chosen.sport, chosen.sub_sport = csv_sport
    act.sport, act.sub_sport = chosen.sport, chosen.sub_sport
    for spec in fields(Activity):  # the device's measures; Strava's name, shoe and ids stay
        if spec.name not in _STRAVA_OWNS:
            setattr(act, spec.name, getattr(chosen, spec.name))
    act.raw["file"] = {"format": "fit", "fit_activity_id": chosen.id}
    out.file_format = "fit"
