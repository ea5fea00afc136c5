"""What a segment's record stream says: climb, heart rate and distance over a time span.

Records are the parallel lists of :class:`~.decode.Segment` (FIT time, distance, altitude,
heart rate), sorted by time; a span is the index range :func:`window` gives.

Climb follows shared/RULES.md: the altitude stream through a 5-point median filter and a
hysteresis of 3 m (barometric) or 10 m (GPS-only). The altitude is taken as barometric when the
file lists a barometer among its ``device_info`` sensors, or when its records carry altitude but
never a position (an altitude without GPS cannot come from GPS); otherwise it is treated as GPS
altitude (the conservative choice).
"""

from __future__ import annotations

import bisect
from itertools import pairwise

from .decode import Segment

HYSTERESIS_BAROMETRIC_M = 3.0
HYSTERESIS_GPS_M = 10.0
MAX_RECORD_GAP_S = 30.0  # a longer gap between records is a pause, not time at that heart rate


def window(seg: Segment, start_t: int, end_t: int) -> tuple[int, int]:
    """The index range ``lo:hi`` of the records timed from ``start_t`` to ``end_t`` included."""
    lo = bisect.bisect_left(seg.rec_t, start_t)
    hi = bisect.bisect_right(seg.rec_t, end_t)
    return lo, hi


def climb(seg: Segment, lo: int, hi: int) -> tuple[float | None, str | None]:
    """Climb of the records from ``lo`` to ``hi`` and the altitude it came from ("barometric" or
    "gps"); (None, None) with fewer than two altitudes."""
    alts = [a for a in seg.rec_alt[lo:hi] if a is not None]
    if len(alts) < 2:
        return None, None
    by_barometer = barometric(seg)
    hysteresis = HYSTERESIS_BAROMETRIC_M if by_barometer else HYSTERESIS_GPS_M
    source = "barometric" if by_barometer else "gps"
    return round(climb_from_altitudes(alts, hysteresis), 1), source


def barometric(seg: Segment) -> bool:
    """Whether the segment's altitude comes from a barometer (see the module's docstring)."""
    for dev in seg.devices:
        if dev.get("local_device_type") == "barometer" or dev.get("device_type") == "barometer":
            return True
    return not seg.has_position


def climb_from_altitudes(altitudes: list[float], hysteresis_m: float) -> float:
    """Total climb of an altitude stream: 5-point median filter, then a hysteresis.

    A rise counts (in full, from the lowest point) once it exceeds ``hysteresis_m`` above the
    last turning point, so noise smaller than the hysteresis adds nothing.
    """
    if len(altitudes) < 2:
        return 0.0
    smooth = _median5(altitudes)
    total = 0.0
    low = high = smooth[0]
    climbing: bool | None = None  # None until the first move larger than the hysteresis
    for alt in smooth[1:]:
        if climbing is None:
            low, high = min(low, alt), max(high, alt)
            if alt - low >= hysteresis_m:
                climbing, high = True, alt
            elif high - alt >= hysteresis_m:
                climbing, low = False, alt
        elif climbing:
            if alt > high:
                high = alt
            elif high - alt >= hysteresis_m:
                total += high - low
                climbing, low = False, alt
        elif alt < low:
            low = alt
        elif alt - low >= hysteresis_m:
            climbing, high = True, alt
    if climbing:
        total += high - low
    return total


def _median5(values: list[float]) -> list[float]:
    n = len(values)
    out = []
    for i in range(n):
        nearby = sorted(values[max(0, i - 2) : i + 3])
        out.append(nearby[len(nearby) // 2])
    return out


def heart_rate(seg: Segment, lo: int, hi: int) -> tuple[float | None, float | None]:
    """Average and maximum heart rate of the records from ``lo`` to ``hi`` (None without any)."""
    hrs = [h for h in seg.rec_hr[lo:hi] if h is not None]
    if not hrs:
        return None, None
    return sum(hrs) / len(hrs), float(max(hrs))


def hr_histogram(seg: Segment, lo: int, hi: int) -> dict[int, float] | None:
    """Seconds at each heart rate: a record's rate counts until the next record, at most
    :data:`MAX_RECORD_GAP_S` (a longer gap is a pause). None without any heart rate."""
    hist: dict[int, float] = {}
    times, hrs = seg.rec_t, seg.rec_hr
    for i in range(lo, hi - 1):
        hr = hrs[i]
        if hr is None:
            continue
        dt = times[i + 1] - times[i]
        if 0 < dt <= MAX_RECORD_GAP_S:
            hist[hr] = hist.get(hr, 0.0) + float(dt)
    return hist or None


def distance(seg: Segment, lo: int, hi: int) -> float:
    """The distance covered between the records ``lo`` and ``hi`` (0.0 without distances)."""
    dists = [d for d in seg.rec_dist[lo:hi] if d is not None]
    if not dists:
        return 0.0
    return float(max(dists) - min(dists))


def moving_time_s(seg: Segment) -> float:
    """Seconds between the first and last record, each gap counted up to
    :data:`MAX_RECORD_GAP_S` (a longer gap is a pause)."""
    return float(sum(min(b - a, MAX_RECORD_GAP_S) for a, b in pairwise(seg.rec_t) if b > a))
