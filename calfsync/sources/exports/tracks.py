"""GPX and TCX activity files (Strava keeps what was uploaded), measured the way the FIT path
measures a record stream.

Both are turned into the parallel record lists of :class:`~calfsync.sources.fit.decode.Segment`
(time, distance, altitude, heart rate) and measured by :mod:`calfsync.sources.fit.stream`: the
same climb (5-point median, 10 m hysteresis for GPS altitude, 3 m for barometric), the same
heart-rate histogram and the same moving time (gaps over 30 s are pauses) as a FIT file without
a session summary, so a run reads the same whatever format it was uploaded in.

- GPX: parsed by gpxpy (well kept, pure Python; imported here only, so the daemon's FIT-only
  work never loads it). Heart rate from Garmin's ``TrackPointExtension`` (``hr``); distance is
  the sum of the 2-D distances between points, as GPX carries none.
- TCX: parsed with :mod:`xml.etree.ElementTree`. The TCX readers on PyPI were looked at and not
  used: ``tcxreader`` reads only from a path (an archive member would need a temporary file) and
  by default drops the points without a position (a treadmill run loses its records), and
  ``python-tcxparser`` brings lxml for what a few element lookups do. Tags are matched by their
  local name, so the TrainingCenterDatabase v1 and v2 namespaces both read. Strava's TCX files
  start with whitespace before ``<?xml``, which XML parsers refuse: it is stripped first.
  Distance is the trackpoints' ``DistanceMeters`` span, else the laps' sum.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from ..fit import stream
from ..fit.decode import Segment

MAX_INFLATED_BYTES = 64 * 1024 * 1024


class TrackProblem(ValueError):
    """A GPX or TCX file that gives no activity; the message says why (the caller names the
    file)."""


@dataclass
class Track:
    """What a GPX or TCX file measured: the record lists and the file's own summary."""

    seg: Segment
    start: datetime  # UTC
    sport_hint: str | None  # TCX Sport attribute or GPX track type, as written
    lap_distance_m: float | None = None  # TCX: the laps' DistanceMeters sum

    def measures(self) -> dict[str, Any]:
        """Distance, times, climb and heart rate, in :class:`~calfsync.model.Activity` terms."""
        seg, n = self.seg, len(self.seg.rec_t)
        distance = stream.distance(seg, 0, n) or self.lap_distance_m or 0.0
        ascent, source = stream.climb(seg, 0, n)
        avg_hr, max_hr = stream.heart_rate(seg, 0, n)
        return {
            "distance_m": float(distance),
            "moving_time_s": stream.moving_time_s(seg),
            "elapsed_time_s": float(seg.rec_t[-1] - seg.rec_t[0]),
            "ascent_m": ascent,
            "altitude_source": source,
            "avg_heart_rate_bpm": avg_hr,
            "max_heart_rate_bpm": max_hr,
            "hr_histogram": stream.hr_histogram(seg, 0, n),
        }


def gunzip(data: bytes) -> bytes:
    """Inflate a ``.gz`` member, at most :data:`MAX_INFLATED_BYTES`."""
    chunks: list[bytes] = []
    total = 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            # a megabyte at a time: read(bound) would allocate the whole bound at once
            while chunk := gz.read(1 << 20):
                total += len(chunk)
                if total > MAX_INFLATED_BYTES:
                    raise TrackProblem(f"inflates past {MAX_INFLATED_BYTES} bytes: not an activity")
                chunks.append(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise TrackProblem(f"not readable gzip data ({exc})") from exc
    return b"".join(chunks)


def _iso(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _segment(points: list[tuple[datetime, float | None, float | None, int | None]]) -> Segment:
    """Records (time, distance, altitude, heart rate) as a segment, in time order."""
    points.sort(key=lambda p: p[0])
    seg = Segment()
    for moment, dist, alt, hr in points:
        seg.rec_t.append(int(moment.timestamp()))
        seg.rec_dist.append(dist)
        seg.rec_alt.append(alt)
        seg.rec_hr.append(hr)
    return seg


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_gpx(data: bytes) -> Track:
    """A GPX file's track (all tracks and segments joined). Raises :class:`TrackProblem`."""
    import gpxpy  # noqa: PLC0415 - only `calfsync import` of an archive reads GPX
    import gpxpy.gpx  # noqa: PLC0415

    try:
        gpx = gpxpy.parse(data.lstrip().decode("utf-8", errors="replace"))
    except (gpxpy.gpx.GPXException, ValueError, ElementTree.ParseError) as exc:
        raise TrackProblem(f"not a readable GPX file ({exc})") from exc
    points: list[tuple[datetime, float | None, float | None, int | None]] = []
    total, previous = 0.0, None
    for track in gpx.tracks:
        for segment in track.segments:
            for point in segment.points:
                moment = _aware(point.time)
                if moment is None:
                    continue
                if previous is not None:
                    total += point.distance_2d(previous) or 0.0
                previous = point
                points.append((moment, total, point.elevation, _gpx_hr(point)))
    if len(points) < 2:
        raise TrackProblem("fewer than two timed track points: no activity")
    seg = _segment(points)
    seg.has_position = True
    hint = next((t.type for t in gpx.tracks if t.type), None)
    return Track(seg, points[0][0], hint)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _gpx_hr(point: Any) -> int | None:
    for ext in point.extensions or ():
        for element in ext.iter():
            if _local(element.tag).lower() in ("hr", "heartrate") and element.text:
                value = _number(element.text)
                return int(value) if value else None
    return None


def read_tcx(data: bytes) -> Track:
    """A TCX file's first activity (all laps). Raises :class:`TrackProblem`."""
    try:
        root = ElementTree.fromstring(data.lstrip())
    except ElementTree.ParseError as exc:
        raise TrackProblem(f"not a readable TCX file ({exc})") from exc
    activity = next((e for e in root.iter() if _local(e.tag) == "Activity"), None)
    if activity is None:
        raise TrackProblem("no TCX Activity in it: no activity")
    points: list[tuple[datetime, float | None, float | None, int | None]] = []
    lap_total, has_position = 0.0, False
    for lap in (e for e in activity if _local(e.tag) == "Lap"):
        lap_total += _number(_child_text(lap, "DistanceMeters")) or 0.0
        for point in (e for e in lap.iter() if _local(e.tag) == "Trackpoint"):
            moment = _iso(_child_text(point, "Time"))
            if moment is None:
                continue
            has_position = has_position or _child(point, "Position") is not None
            hr_box = _child(point, "HeartRateBpm")
            hr = _number(_child_text(hr_box, "Value")) if hr_box is not None else None
            points.append(
                (
                    moment,
                    _number(_child_text(point, "DistanceMeters")),
                    _number(_child_text(point, "AltitudeMeters")),
                    int(hr) if hr else None,
                )
            )
    if len(points) < 2:
        raise TrackProblem("fewer than two timed trackpoints: no activity")
    seg = _segment(points)
    seg.has_position = has_position
    return Track(seg, points[0][0], activity.get("Sport"), lap_total or None)


def _child(element: ElementTree.Element | None, name: str) -> ElementTree.Element | None:
    if element is None:
        return None
    return next((e for e in element if _local(e.tag) == name), None)


def _child_text(element: ElementTree.Element | None, name: str) -> str | None:
    found = _child(element, name)
    return found.text if found is not None else None
