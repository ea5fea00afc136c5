"""Building :class:`~calfsync.model.Activity` objects from decoded FIT segments.

One activity per ``session`` message. A file without sessions (the battery died before the
watch wrote its summary) is rebuilt from its records, else from its laps. The three paths
measure what their messages say (:class:`Measured`) and one builder, :func:`build_activity`,
adds what every FIT activity shares (id, local offset, laps, device, raw payload).

Climb follows shared/RULES.md: the session's ``total_ascent`` when the device wrote one, else the
climb of the altitude stream (see :mod:`.stream`). Indoor runs (treadmill, indoor_running,
virtual_activity) have no climb (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ...model import INDOOR_SUB_SPORTS, Activity
from . import stream
from .decode import MIN_ABSOLUTE_TIME, Segment, fit_datetime

OFFSET_STEP_S = 900  # local offsets are whole quarter hours
MAX_OFFSET_S = 14 * 3600


@dataclass
class Measured:
    """What one path read from a segment: the values that differ between the paths.

    ``raw`` is kept in the activity's raw payload beside ``laps``, ``file_id`` and the sport
    message (a session's summary sits at its top level: ``json_extract(fit_raw,
    '$.total_ascent')``).
    """

    start_t: int  # FIT seconds
    laps: list[dict[str, Any]]
    raw: dict[str, Any]
    sport: str
    sub_sport: str | None
    distance_m: float
    moving_time_s: float | None
    elapsed_time_s: float | None
    ascent_m: float | None = None
    altitude_source: str | None = None
    descent_m: float | None = None
    avg_heart_rate_bpm: float | None = None
    max_heart_rate_bpm: float | None = None
    hr_histogram: dict[int, float] | None = None


def segment_activities(
    seg: Segment, label: str, default_tz: ZoneInfo
) -> tuple[list[Activity], str | None]:
    """The activities of one segment, and what they were rebuilt from when the segment has no
    usable session: "records", "laps", or None (built from sessions, or nothing to build)."""
    if seg.unordered:
        seg.sort_records()
    measured = [m for i, s in enumerate(seg.sessions) if (m := _session(seg, s, i)) is not None]
    rebuilt_from = None
    if not measured and len(seg.rec_t) >= 2:
        measured, rebuilt_from = [_records(seg)], "records"
    elif not measured and (from_laps := _laps(seg)) is not None:
        measured, rebuilt_from = [from_laps], "laps"
    return [build_activity(seg, m, label, default_tz) for m in measured], rebuilt_from


def build_activity(seg: Segment, m: Measured, label: str, default_tz: ZoneInfo) -> Activity:
    """The activity a path measured, with what every FIT activity shares: the id, the local
    offset, the lap summaries and interval time, the device, the file name (``label``'s last
    part) and the raw payload without the decoder's bookkeeping."""
    start = fit_datetime(m.start_t)
    raw = {**m.raw, "laps": m.laps, "file_id": seg.file_id, "sport_message": seg.sport}
    return Activity(
        id=activity_id(seg, start),
        source="fit",
        start_time=start,
        utc_offset_s=_offset_s(seg, start, default_tz),
        sport=m.sport,
        sub_sport=m.sub_sport,
        distance_m=m.distance_m,
        moving_time_s=m.moving_time_s,
        elapsed_time_s=m.elapsed_time_s,
        ascent_m=m.ascent_m,
        descent_m=m.descent_m,
        avg_heart_rate_bpm=m.avg_heart_rate_bpm,
        max_heart_rate_bpm=m.max_heart_rate_bpm,
        interval_time_s=_interval_time(m.laps),
        hr_histogram=m.hr_histogram,
        laps=[_lap_summary(lap) for lap in m.laps] or None,
        device=_device(seg),
        altitude_source=m.altitude_source,
        external_id=_file_name(label),
        raw=_clean(raw),
    )


def activity_id(seg: Segment, start: datetime) -> str:
    """``fit:<device serial>:<session start, UTC>``: two copies of a session share it."""
    return f"fit:{_serial(seg)}:{start.strftime('%Y%m%dT%H%M%SZ')}"


# ---------------------------------------------------------------------------------------------
# The three paths: a session, the records of a file without one, its laps


def _session(seg: Segment, session: dict[str, Any], index: int) -> Measured | None:
    """One session: the device's summary, the records filling its gaps."""
    span = _session_span(seg, session)
    if span is None:
        return None  # timed by device uptime only: no date to give it
    start_t, end_t = span
    elapsed = session.get("total_elapsed_time")
    lo, hi = stream.window(seg, start_t, end_t)
    laps = _session_laps(seg, session, start_t, end_t)
    sport, sub_sport = _session_sport(seg, session, index, laps)
    indoor = sub_sport in INDOOR_SUB_SPORTS
    distance = session.get("total_distance")
    if not isinstance(distance, int | float):
        distance = _lap_distance(laps)
    if distance is None:
        distance = stream.distance(seg, lo, hi)
    ascent, source = None, None
    if not indoor:
        if isinstance(session.get("total_ascent"), int | float):
            ascent, source = float(session["total_ascent"]), "session"
        else:
            ascent, source = stream.climb(seg, lo, hi)
    avg_hr, max_hr = stream.heart_rate(seg, lo, hi)
    session_avg_hr, session_max_hr = session.get("avg_heart_rate"), session.get("max_heart_rate")
    return Measured(
        start_t=start_t,
        laps=laps,
        raw={**session, "activity": seg.activity},
        sport=sport,
        sub_sport=sub_sport,
        distance_m=float(distance or 0.0),
        moving_time_s=_float(session.get("total_timer_time")) or _float(elapsed),
        elapsed_time_s=_float(elapsed) if elapsed is not None else float(end_t - start_t),
        ascent_m=ascent,
        altitude_source=source,
        descent_m=None if indoor else _float(session.get("total_descent")),
        avg_heart_rate_bpm=_float(session_avg_hr) if session_avg_hr else avg_hr,
        max_heart_rate_bpm=_float(session_max_hr) if session_max_hr else max_hr,
        hr_histogram=stream.hr_histogram(seg, lo, hi),
    )


def _session_span(seg: Segment, session: dict[str, Any]) -> tuple[int, int] | None:
    """A session's start and end in FIT seconds: its start time, else its end less its elapsed
    time, else the first record; None when it has no calendar time."""
    times = session.get("_fit_times", {})
    elapsed = session.get("total_elapsed_time")
    start_t = times.get("start_time")
    if not isinstance(start_t, int) or start_t < MIN_ABSOLUTE_TIME:
        end = times.get("timestamp")
        if isinstance(end, int) and isinstance(elapsed, int | float):
            start_t = int(end - elapsed)
        elif seg.rec_t:
            start_t = seg.rec_t[0]
        else:
            return None
    if start_t < MIN_ABSOLUTE_TIME:
        return None
    if isinstance(elapsed, int | float):
        return start_t, start_t + int(elapsed)
    return start_t, times.get("timestamp", start_t)


def _records(seg: Segment) -> Measured:
    """The record stream of a file with no session (the battery died)."""
    start_t = seg.timer_start if seg.timer_start is not None else seg.rec_t[0]
    start_t = min(start_t, seg.rec_t[0])
    lo, hi = 0, len(seg.rec_t)
    sport_msg = seg.sport or {}
    lap_sport = next((lap.get("sport") for lap in seg.laps if lap.get("sport")), None)
    sub_sport = _name(sport_msg.get("sub_sport"), None)
    indoor = sub_sport in INDOOR_SUB_SPORTS
    ascent, source = (None, None) if indoor else stream.climb(seg, lo, hi)
    avg_hr, max_hr = stream.heart_rate(seg, lo, hi)
    return Measured(
        start_t=start_t,
        laps=seg.laps,
        raw={"salvaged_from_records": hi - lo},
        sport=_name(sport_msg.get("sport") or lap_sport, "generic") or "generic",
        sub_sport=sub_sport,
        distance_m=stream.distance(seg, lo, hi) or _lap_distance(seg.laps) or 0.0,
        moving_time_s=stream.moving_time_s(seg),
        elapsed_time_s=float(seg.rec_t[-1] - start_t),
        ascent_m=ascent,
        altitude_source=source,
        avg_heart_rate_bpm=avg_hr,
        max_heart_rate_bpm=max_hr,
        hr_histogram=stream.hr_histogram(seg, lo, hi),
    )


def _laps(seg: Segment) -> Measured | None:
    """The lap summaries of a file with no session and no records."""
    spans = []
    for lap in seg.laps:
        times = lap.get("_fit_times", {})
        elapsed = _float(lap.get("total_elapsed_time")) or _float(lap.get("total_timer_time"))
        begin, end = times.get("start_time"), times.get("timestamp")
        if not isinstance(begin, int) and isinstance(end, int) and elapsed is not None:
            begin = int(end - elapsed)
        if isinstance(begin, int) and begin >= MIN_ABSOLUTE_TIME:
            finish = begin + elapsed if elapsed is not None else end
            spans.append((begin, finish if isinstance(finish, int | float) else begin))
    if not spans:
        return None
    start_t = min(b for b, _ in spans)
    sport, sub_sport = _session_sport(seg, {}, 0, seg.laps)
    timer = [_float(lap.get("total_timer_time")) for lap in seg.laps]
    hrs = [lap.get("max_heart_rate") for lap in seg.laps if lap.get("max_heart_rate")]
    return Measured(
        start_t=start_t,
        laps=seg.laps,
        raw={},
        sport=sport,
        sub_sport=sub_sport,
        distance_m=_lap_distance(seg.laps) or 0.0,
        moving_time_s=sum(t for t in timer if t is not None) if any(timer) else None,
        elapsed_time_s=float(max(e for _, e in spans) - start_t),
        # No climb: RULES.md takes the session's total_ascent or the altitude stream, neither here
        max_heart_rate_bpm=_float(max(hrs)) if hrs else None,
    )


# ---------------------------------------------------------------------------------------------
# What the messages say


def _name(value: Any, default: str | None) -> str | None:
    if value is None:
        return default
    return str(value)


def _serial(seg: Segment) -> str:
    serial = (seg.file_id or {}).get("serial_number")
    if not serial:
        for dev in seg.devices:
            if dev.get("device_index") in (0, "creator") and dev.get("serial_number"):
                serial = dev["serial_number"]
                break
    if serial:
        return str(serial)
    fid = seg.file_id or {}
    maker = fid.get("manufacturer")
    product = fid.get("garmin_product") or fid.get("product")
    return f"{maker or 'unknown'}-{product or 'unknown'}"


def _device(seg: Segment) -> str | None:
    fid = seg.file_id or {}
    maker = fid.get("manufacturer")
    product = fid.get("product_name") or fid.get("garmin_product") or fid.get("product")
    parts = [str(p) for p in (maker, product) if p not in (None, "")]
    return " ".join(parts) or None


def _offset_s(seg: Segment, start: datetime, default_tz: ZoneInfo) -> int:
    act = seg.activity or {}
    times = act.get("_fit_times", {})
    local, utc = times.get("local_timestamp"), times.get("timestamp")
    if isinstance(local, int) and isinstance(utc, int) and utc >= MIN_ABSOLUTE_TIME:
        offset = round((local - utc) / OFFSET_STEP_S) * OFFSET_STEP_S
        if abs(offset) <= MAX_OFFSET_S:
            return int(offset)
    delta = start.astimezone(default_tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _session_sport(
    seg: Segment, session: dict[str, Any], index: int, laps: list[dict[str, Any]]
) -> tuple[str, str | None]:
    """Sport and sub-sport of a session, from the session, else its laps or the sport message.

    Some devices leave the session's sport out (or generic) and name it only in the ``sport``
    message (one per session in a multisport file) or in the laps; a sub-sport missing from the
    session is taken from the sport message of the same sport (a treadmill stays indoors).
    """
    sport = _name(session.get("sport"), None)
    sub_sport = _name(session.get("sub_sport"), None)
    if seg.sports and len(seg.sports) == len(seg.sessions):
        message = seg.sports[index]
    else:
        message = seg.sports[0] if len(seg.sports) == 1 else {}
    if sport in (None, "generic"):
        lap_sports = [_name(lap.get("sport"), None) for lap in laps]
        found = [x for x in (*lap_sports, _name(message.get("sport"), None)) if x]
        found = [x for x in found if x != "generic"] or found
        if found:
            sport = found[0]
    if sub_sport is None and _name(message.get("sport"), None) == sport:
        sub_sport = _name(message.get("sub_sport"), None)
    return sport or "generic", sub_sport


def _session_laps(seg: Segment, session: dict[str, Any], start_t: int, end_t: int) -> list:
    first, count = session.get("first_lap_index"), session.get("num_laps")
    if isinstance(first, int) and isinstance(count, int) and first + count <= len(seg.laps):
        return seg.laps[first : first + count]
    chosen = []
    for lap in seg.laps:
        t = lap.get("_fit_times", {}).get("start_time") or lap.get("_fit_times", {}).get(
            "timestamp"
        )
        if isinstance(t, int) and start_t <= t <= end_t:
            chosen.append(lap)
    return chosen


def _lap_summary(lap: dict[str, Any]) -> dict[str, Any]:
    return {
        "start_time": lap.get("start_time"),
        "elapsed_time_s": lap.get("total_elapsed_time"),
        "timer_time_s": lap.get("total_timer_time"),
        "distance_m": lap.get("total_distance"),
        "intensity": _name(lap.get("intensity"), "active"),
        "avg_heart_rate_bpm": lap.get("avg_heart_rate"),
        "max_heart_rate_bpm": lap.get("max_heart_rate"),
        "ascent_m": lap.get("total_ascent"),
    }


def _interval_time(laps: list[dict[str, Any]]) -> float | None:
    if not laps:
        return None
    total = 0.0
    for lap in laps:
        if lap.get("intensity") == "interval":
            total += float(lap.get("total_timer_time") or lap.get("total_elapsed_time") or 0.0)
    return total


def _lap_distance(laps: list[dict[str, Any]]) -> float | None:
    """The laps' total distance, or None when no lap names one."""
    dists = [d for lap in laps if isinstance(d := lap.get("total_distance"), int | float)]
    return float(sum(dists)) if dists else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _file_name(label: str) -> str:
    return label.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]


def _clean(value: Any) -> Any:
    """A copy without the decoder's ``_fit_times`` bookkeeping (raw payloads stay readable)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k != "_fit_times"}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value
