"""A small FIT *encoder*: builds valid FIT files in code for the demo, the tests and the benchmark.

It writes the subset of the FIT profile an activity needs (file_id, device_info, sport, event,
record, lap, session, activity, developer data) plus a few non-activity file types, with the
header CRC and the file CRC. Message and field numbers, base types, scales and offsets follow
the Garmin FIT SDK profile. It is deliberately independent of any FIT parser.

Public API: :class:`LapSpec`, :class:`SessionSpec`, :func:`encode_activity`, :func:`encode_file`,
:func:`chain`, :func:`fit_crc`, and :class:`Encoder` to build odd files message by message
(including messages and fields the profile does not know, as real devices write them).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .sources.fit.frame import fit_crc

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
PROFILE_VERSION = 2132  # 21.32
PROTOCOL_VERSION = 0x20  # 2.0 (developer data needs 2.0)

# Base types: id -> (struct format, size, invalid value)
_BASE: dict[str, tuple[int, str, int | None]] = {
    "enum": (0x00, "B", 0xFF),
    "sint8": (0x01, "b", 0x7F),
    "uint8": (0x02, "B", 0xFF),
    "sint16": (0x83, "h", 0x7FFF),
    "uint16": (0x84, "H", 0xFFFF),
    "sint32": (0x85, "i", 0x7FFFFFFF),
    "uint32": (0x86, "I", 0xFFFFFFFF),
    "string": (0x07, "s", None),
    "uint8z": (0x0A, "B", 0),
    "uint16z": (0x8B, "H", 0),
    "uint32z": (0x8C, "I", 0),
    "byte": (0x0D, "s", None),
}

# message name -> (global number, {field name: (field number, base type, scale, offset)})
_F = tuple[int, str, float, float]
_PROFILE: dict[str, tuple[int, dict[str, _F]]] = {
    "file_id": (
        0,
        {
            "type": (0, "enum", 1, 0),
            "manufacturer": (1, "uint16", 1, 0),
            "product": (2, "uint16", 1, 0),
            "serial_number": (3, "uint32z", 1, 0),
            "time_created": (4, "uint32", 1, 0),
            "number": (5, "uint16", 1, 0),
        },
    ),
    "user_profile": (
        3,
        {"gender": (1, "enum", 1, 0), "age": (2, "uint8", 1, 0), "weight": (4, "uint16", 10, 0)},
    ),
    "sport": (12, {"sport": (0, "enum", 1, 0), "sub_sport": (1, "enum", 1, 0)}),
    "session": (
        18,
        {
            "timestamp": (253, "uint32", 1, 0),
            "event": (0, "enum", 1, 0),
            "event_type": (1, "enum", 1, 0),
            "start_time": (2, "uint32", 1, 0),
            "sport": (5, "enum", 1, 0),
            "sub_sport": (6, "enum", 1, 0),
            "total_elapsed_time": (7, "uint32", 1000, 0),
            "total_timer_time": (8, "uint32", 1000, 0),
            "total_distance": (9, "uint32", 100, 0),
            "avg_speed": (14, "uint16", 1000, 0),
            "avg_heart_rate": (16, "uint8", 1, 0),
            "max_heart_rate": (17, "uint8", 1, 0),
            "total_ascent": (22, "uint16", 1, 0),
            "total_descent": (23, "uint16", 1, 0),
            "first_lap_index": (25, "uint16", 1, 0),
            "num_laps": (26, "uint16", 1, 0),
            "trigger": (28, "enum", 1, 0),
            "message_index": (254, "uint16", 1, 0),
        },
    ),
    "lap": (
        19,
        {
            "timestamp": (253, "uint32", 1, 0),
            "event": (0, "enum", 1, 0),
            "event_type": (1, "enum", 1, 0),
            "start_time": (2, "uint32", 1, 0),
            "total_elapsed_time": (7, "uint32", 1000, 0),
            "total_timer_time": (8, "uint32", 1000, 0),
            "total_distance": (9, "uint32", 100, 0),
            "avg_heart_rate": (15, "uint8", 1, 0),
            "max_heart_rate": (16, "uint8", 1, 0),
            "intensity": (23, "enum", 1, 0),
            "lap_trigger": (24, "enum", 1, 0),
            "sport": (25, "enum", 1, 0),
            "message_index": (254, "uint16", 1, 0),
        },
    ),
    "record": (
        20,
        {
            "timestamp": (253, "uint32", 1, 0),
            "position_lat": (0, "sint32", 1, 0),
            "position_long": (1, "sint32", 1, 0),
            "altitude": (2, "uint16", 5, 500),
            "heart_rate": (3, "uint8", 1, 0),
            "distance": (5, "uint32", 100, 0),
            "speed": (6, "uint16", 1000, 0),
            "enhanced_altitude": (78, "uint32", 5, 500),
        },
    ),
    "event": (
        21,
        {
            "timestamp": (253, "uint32", 1, 0),
            "event": (0, "enum", 1, 0),
            "event_type": (1, "enum", 1, 0),
            "data": (3, "uint32", 1, 0),
        },
    ),
    "device_info": (
        23,
        {
            "timestamp": (253, "uint32", 1, 0),
            "device_index": (0, "uint8", 1, 0),
            "device_type": (1, "uint8", 1, 0),
            "manufacturer": (2, "uint16", 1, 0),
            "serial_number": (3, "uint32z", 1, 0),
            "product": (4, "uint16", 1, 0),
            "software_version": (5, "uint16", 100, 0),
            "source_type": (25, "enum", 1, 0),
        },
    ),
    "workout": (26, {"sport": (4, "enum", 1, 0), "num_valid_steps": (6, "uint16", 1, 0)}),
    "weight_scale": (30, {"timestamp": (253, "uint32", 1, 0), "weight": (0, "uint16", 100, 0)}),
    "activity": (
        34,
        {
            "timestamp": (253, "uint32", 1, 0),
            "total_timer_time": (0, "uint32", 1000, 0),
            "num_sessions": (1, "uint16", 1, 0),
            "type": (2, "enum", 1, 0),
            "event": (3, "enum", 1, 0),
            "event_type": (4, "enum", 1, 0),
            "local_timestamp": (5, "uint32", 1, 0),
        },
    ),
    "monitoring": (
        55,
        {
            "timestamp": (253, "uint32", 1, 0),
            "distance": (2, "uint32", 100, 0),
            "cycles": (3, "uint32", 2, 0),
            "activity_type": (5, "enum", 1, 0),
            "heart_rate": (27, "uint8", 1, 0),
        },
    ),
    "field_description": (
        206,
        {
            "developer_data_index": (0, "uint8", 1, 0),
            "field_definition_number": (1, "uint8", 1, 0),
            "fit_base_type_id": (2, "uint8", 1, 0),
            "native_mesg_num": (14, "uint16", 1, 0),
        },
    ),
    "developer_data_id": (
        207,
        {"developer_data_index": (3, "uint8", 1, 0), "application_version": (4, "uint32", 1, 0)},
    ),
}

# Byte-array and string fields, written with their own sizes.
_BYTES_FIELDS: dict[tuple[str, str], tuple[int, str]] = {
    ("developer_data_id", "application_id"): (1, "byte"),
    ("field_description", "field_name"): (3, "string"),
    ("field_description", "units"): (8, "string"),
    ("file_id", "product_name"): (8, "string"),
    ("workout", "wkt_name"): (8, "string"),
    ("user_profile", "friendly_name"): (0, "string"),
}

SPORTS = {
    "generic": 0,
    "running": 1,
    "cycling": 2,
    "transition": 3,
    "fitness_equipment": 4,
    "swimming": 5,
    "training": 10,
    "walking": 11,
    "hiking": 17,
    "multisport": 18,
    "rowing": 15,
}
SUB_SPORTS = {
    "generic": 0,
    "treadmill": 1,
    "street": 2,
    "trail": 3,
    "track": 4,
    "spin": 5,
    "indoor_cycling": 6,
    "road": 7,
    "mountain": 8,
    "lap_swimming": 17,
    "open_water": 18,
    "strength_training": 20,
    "indoor_walking": 27,
    "indoor_running": 45,
    "gravel_cycling": 46,
    "virtual_activity": 58,
}
INTENSITIES = {
    "active": 0,
    "rest": 1,
    "warmup": 2,
    "cooldown": 3,
    "recovery": 4,
    "interval": 5,
    "other": 6,
}
FILE_TYPES = {
    "device": 1,
    "settings": 2,
    "sport": 3,
    "activity": 4,
    "workout": 5,
    "course": 6,
    "weight": 9,
    "totals": 10,
    "goals": 11,
    "monitoring_a": 15,
    "monitoring": 32,
    "monitoring_b": 32,
}
INDOOR_SUB_SPORTS = frozenset({"treadmill", "indoor_running", "virtual_activity"})

EVENT_TIMER, EVENT_LAP, EVENT_SESSION, EVENT_ACTIVITY = 0, 9, 8, 26
EVENT_START, EVENT_STOP, EVENT_STOP_ALL = 0, 1, 4
LOCAL_DEVICE_BAROMETER, SOURCE_LOCAL = 4, 5
MANUFACTURER_GARMIN = 1
PRODUCT_FR245 = 3076


def fit_time(moment: datetime) -> int:
    """Seconds since the FIT epoch (1989-12-31 00:00 UTC) for an aware datetime."""
    return int((moment - FIT_EPOCH).total_seconds())


@dataclass
class LapSpec:
    """One lap: its duration, distance and FIT intensity (active, warmup, interval, ...)."""

    duration_s: float
    distance_m: float
    intensity: str = "active"


@dataclass
class SessionSpec:
    """One session of an activity file.

    ``altitude_profile(t_s) -> metres`` and ``heart_rate_bpm`` (a number or ``f(t_s)``) shape the
    record stream. ``ascent_m`` is the session's total_ascent (computed from the profile when
    None and a profile is given); ``include_total_ascent=False`` leaves the field out as some
    devices do. ``laps`` must add up to at most the session (the rest becomes a last lap).
    ``gps`` adds positions to records (default: outdoors); ``barometer`` adds a barometer
    device_info entry, which tells readers the altitude is barometric.
    """

    start: datetime
    duration_s: float
    distance_m: float
    sport: str = "running"
    sub_sport: str = "generic"
    ascent_m: float | None = None
    include_total_ascent: bool = True
    altitude_profile: Callable[[float], float] | None = None
    heart_rate_bpm: float | Callable[[float], float] | None = None
    laps: list[LapSpec] | None = None
    record_step_s: int = 1
    gps: bool | None = None
    barometer: bool = True


class _Encoder:
    """Accumulates FIT messages, managing local message numbers and definitions."""

    def __init__(self, big_endian: bool = False) -> None:
        self.endian = ">" if big_endian else "<"
        self.body = bytearray()
        self._defs: dict[tuple, int] = {}  # definition key -> local number
        self._local_owner: dict[int, tuple] = {}
        self._next_local = 0
        self.last_timestamp: int | None = None

    def _local_for(self, key: tuple, fixed: int | None) -> tuple[int, bool]:
        if fixed is not None:
            if self._local_owner.get(fixed) == key:
                return fixed, False
            self._local_owner[fixed] = key
            return fixed, True
        if key in self._defs and self._local_owner.get(self._defs[key]) == key:
            return self._defs[key], False
        local = 4 + (self._next_local % 11)  # 0-3: compressed-timestamp records; 15: raw()
        self._next_local += 1
        self._defs[key] = local
        self._local_owner[local] = key
        return local, True

    def message(
        self,
        name: str,
        values: dict[str, object],
        *,
        dev_fields: list[tuple[int, int, bytes]] | None = None,
        compressed_ts: bool = False,
    ) -> None:
        """Write one data message (and its definition when needed). None values are left out."""
        mesg_num, fields = _PROFILE[name]
        layout: list[tuple[int, int, int]] = []  # (field number, size, base type id)
        payload = bytearray()
        ts_value: int | None = None
        for fname, value in values.items():
            if value is None:
                continue
            if (name, fname) in _BYTES_FIELDS:
                num, btype = _BYTES_FIELDS[(name, fname)]
                raw = value if isinstance(value, bytes) else str(value).encode() + b"\0"
                layout.append((num, len(raw), _BASE[btype][0]))
                payload += raw
                continue
            num, btype, scale, offset = fields[fname]
            base_id, fmt, invalid = _BASE[btype]
            if isinstance(value, datetime):
                value = fit_time(value)
            raw_int = int(round((float(value) + offset) * scale))
            size = struct.calcsize("<" + fmt)
            bits = size * 8
            lo, hi = (
                (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
                if fmt.islower()
                else (0, (1 << bits) - 1)
            )
            if not lo <= raw_int <= hi or raw_int == invalid:
                raise ValueError(f"{name}.{fname}={value!r} does not fit in {btype}")
            if fname == "timestamp":
                ts_value = raw_int
                if compressed_ts:
                    continue
            layout.append((num, size, base_id))
            payload += struct.pack(self.endian + fmt, raw_int)
        dev_layout = [(num, len(raw), idx) for num, idx, raw in dev_fields or []]
        for _num, _idx, raw in dev_fields or []:
            payload += raw
        key = (mesg_num, tuple(layout), tuple(dev_layout), compressed_ts)
        local, needs_def = self._local_for(key, 0 if compressed_ts else None)
        if needs_def:
            header = 0x40 | (0x20 if dev_layout else 0) | local
            arch = 1 if self.endian == ">" else 0
            self.body += struct.pack(self.endian + "BBBHB", header, 0, arch, mesg_num, len(layout))
            for num, size, base_id in layout:
                self.body += struct.pack("<BBB", num, size, base_id)
            if dev_layout:
                self.body += struct.pack("<B", len(dev_layout))
                for num, size, idx in dev_layout:
                    self.body += struct.pack("<BBB", num, size, idx)
        if compressed_ts:
            assert ts_value is not None
            self.body.append(0x80 | (local << 5) | (ts_value & 0x1F))
        else:
            self.body.append(local)
        self.body += payload
        if ts_value is not None:
            self.last_timestamp = ts_value

    def raw(self, mesg_num: int, fields: list[tuple[int, int, bytes]]) -> None:
        """Write one message of any global number with fields given as bytes.

        ``fields`` holds (field number, base type id, payload): sizes are the payloads' lengths,
        so a test can write what some devices do (manufacturer-specific messages, a field whose
        size is no multiple of its base type). Its own local number, defined each time.
        """
        local = 15
        self._local_owner[local] = ("raw", mesg_num)
        arch = 1 if self.endian == ">" else 0
        self.body += struct.pack(
            self.endian + "BBBHB", 0x40 | local, 0, arch, mesg_num, len(fields)
        )
        for num, base_id, payload in fields:
            self.body += struct.pack("<BBB", num, len(payload), base_id)
        self.body.append(local)
        for _num, _base, payload in fields:
            self.body += payload

    def finish(self) -> bytes:
        header = struct.pack(
            "<BBHI4s", 14, PROTOCOL_VERSION, PROFILE_VERSION, len(self.body), b".FIT"
        )
        header += struct.pack("<H", fit_crc(header))
        data = header + bytes(self.body)
        return data + struct.pack("<H", fit_crc(data))


Encoder = _Encoder  # public name: tests build odd files message by message


def _hr_at(spec: SessionSpec, t: float) -> float | None:
    if spec.heart_rate_bpm is None:
        return None
    if callable(spec.heart_rate_bpm):
        return spec.heart_rate_bpm(t)
    return spec.heart_rate_bpm


def _laps_of(spec: SessionSpec) -> list[LapSpec]:
    laps = list(spec.laps or [])
    used_t = sum(lap.duration_s for lap in laps)
    used_d = sum(lap.distance_m for lap in laps)
    if used_t > spec.duration_s + 1e-6 or used_d > spec.distance_m + 1e-6:
        raise ValueError("laps add up to more than their session")
    if spec.duration_s - used_t > 1e-6:
        laps.append(LapSpec(spec.duration_s - used_t, spec.distance_m - used_d))
    return laps


def _profile_ascent(profile: Callable[[float], float], duration_s: float) -> float:
    total, prev = 0.0, profile(0.0)
    for t in range(1, int(duration_s) + 1):
        cur = profile(float(t))
        total += max(0.0, cur - prev)
        prev = cur
    return total


def _write_session(
    enc: _Encoder,
    spec: SessionSpec,
    index: int,
    first_lap: int,
    *,
    compressed: bool,
    developer_field: bool,
    altitude_fields: str,
) -> int:
    """Write the records, laps and session message of one session; return its lap count."""
    start = fit_time(spec.start)
    laps = _laps_of(spec)
    gps = spec.gps if spec.gps is not None else spec.sub_sport not in INDOOR_SUB_SPORTS
    step = max(1, int(spec.record_step_s))
    lap_t0, lap_d0 = 0.0, 0.0
    lat0, lon0 = 48.8566 + index * 0.01, 2.3522
    for lap_no, lap in enumerate(laps):
        speed = lap.distance_m / lap.duration_s if lap.duration_s else 0.0
        hrs: list[float] = []
        t = lap_t0
        end_t = lap_t0 + lap.duration_s
        last_lap = lap_no == len(laps) - 1
        while t < end_t - 1e-9 or (last_lap and abs(t - end_t) < 1e-9):
            dist = lap_d0 + speed * (t - lap_t0)
            hr = _hr_at(spec, t)
            if hr is not None:
                hrs.append(hr)
            rec: dict[str, object] = {"timestamp": start + int(round(t))}
            if gps:
                # Head east along a parallel; 1 m of longitude at this latitude in semicircles.
                metres_per_deg = 111_320 * math.cos(math.radians(lat0))
                rec["position_lat"] = int(lat0 * 2**31 / 180)
                rec["position_long"] = int((lon0 + dist / metres_per_deg) * 2**31 / 180)
            rec["distance"] = dist
            if spec.altitude_profile is not None:
                alt = spec.altitude_profile(t)
                if altitude_fields in ("both", "legacy"):
                    rec["altitude"] = alt
                if altitude_fields in ("both", "enhanced"):
                    rec["enhanced_altitude"] = alt
            rec["heart_rate"] = None if hr is None else int(round(hr))
            rec["speed"] = speed
            use_compressed = (
                compressed
                and enc.last_timestamp is not None
                and 0 < rec["timestamp"] - enc.last_timestamp < 32  # type: ignore[operator]
            )
            dev = None
            if developer_field:
                power = int(200 + 50 * math.sin(t / 60.0))
                dev = [(0, 0, struct.pack(enc.endian + "H", power))]
            enc.message("record", rec, dev_fields=dev, compressed_ts=use_compressed)
            t += step
        lap_end = start + int(round(end_t))
        enc.message(
            "lap",
            {
                "timestamp": lap_end,
                "event": EVENT_LAP,
                "event_type": EVENT_STOP,
                "start_time": start + int(round(lap_t0)),
                "total_elapsed_time": lap.duration_s,
                "total_timer_time": lap.duration_s,
                "total_distance": lap.distance_m,
                "avg_heart_rate": round(sum(hrs) / len(hrs)) if hrs else None,
                "max_heart_rate": round(max(hrs)) if hrs else None,
                "intensity": INTENSITIES[lap.intensity],
                "lap_trigger": 7 if last_lap else 0,
                "sport": SPORTS[spec.sport],
                "message_index": first_lap + lap_no,
            },
        )
        lap_t0, lap_d0 = end_t, lap_d0 + lap.distance_m
    all_hr = [
        h
        for t in range(0, int(spec.duration_s) + 1, step)
        if (h := _hr_at(spec, float(t))) is not None
    ]
    ascent = spec.ascent_m
    if ascent is None and spec.altitude_profile is not None:
        ascent = _profile_ascent(spec.altitude_profile, spec.duration_s)
    enc.message(
        "session",
        {
            "timestamp": start + int(round(spec.duration_s)),
            "event": EVENT_SESSION,
            "event_type": EVENT_STOP,
            "start_time": start,
            "sport": SPORTS[spec.sport],
            "sub_sport": SUB_SPORTS[spec.sub_sport],
            "total_elapsed_time": spec.duration_s,
            "total_timer_time": spec.duration_s,
            "total_distance": spec.distance_m,
            "avg_speed": spec.distance_m / spec.duration_s if spec.duration_s else None,
            "avg_heart_rate": round(sum(all_hr) / len(all_hr)) if all_hr else None,
            "max_heart_rate": round(max(all_hr)) if all_hr else None,
            "total_ascent": (
                round(ascent) if spec.include_total_ascent and ascent is not None else None
            ),
            "first_lap_index": first_lap,
            "num_laps": len(laps),
            "trigger": 0,
            "message_index": index,
        },
    )
    return len(laps)


def encode_activity(
    sessions: list[SessionSpec],
    *,
    utc_offset_s: int | None = 0,
    serial_number: int = 3_900_000_001,
    manufacturer: int = MANUFACTURER_GARMIN,
    product: int = PRODUCT_FR245,
    product_name: str | None = None,
    compressed_timestamps: bool = False,
    big_endian: bool = False,
    developer_field: bool = False,
    altitude_fields: str = "both",
    include_activity: bool = True,
) -> bytes:
    """Encode a complete FIT activity file holding ``sessions`` (several = multisport).

    ``utc_offset_s`` sets ``activity.local_timestamp`` (None leaves it out, as some devices do).
    ``compressed_timestamps`` writes records with compressed-timestamp headers;
    ``developer_field`` adds a developer data field (running power, W) to every record;
    ``altitude_fields`` is "both", "enhanced" (enhanced_altitude only) or "legacy";
    ``include_activity=False`` leaves out the closing activity message; ``big_endian`` writes
    big-endian definitions and values (the format allows either; some devices use it).
    """
    if not sessions:
        raise ValueError("an activity needs at least one session")
    if altitude_fields not in ("both", "enhanced", "legacy"):
        raise ValueError("altitude_fields must be 'both', 'enhanced' or 'legacy'")
    enc = _Encoder(big_endian)
    first = sessions[0]
    enc.message(
        "file_id",
        {
            "type": FILE_TYPES["activity"],
            "manufacturer": manufacturer,
            "product": product,
            "serial_number": serial_number,
            "time_created": first.start,
            "product_name": product_name,
        },
    )
    if developer_field:
        enc.message(
            "developer_data_id",
            {
                "application_id": bytes(range(16)),
                "developer_data_index": 0,
                "application_version": 1,
            },
        )
        enc.message(
            "field_description",
            {
                "developer_data_index": 0,
                "field_definition_number": 0,
                "fit_base_type_id": 0x84,
                "field_name": "Power",
                "units": "Watts",
                "native_mesg_num": 20,
            },
        )
    enc.message(
        "device_info",
        {
            "timestamp": first.start,
            "device_index": 0,
            "manufacturer": manufacturer,
            "serial_number": serial_number,
            "product": product,
            "software_version": 12.5,
        },
    )
    if any(s.barometer for s in sessions):
        enc.message(
            "device_info",
            {
                "timestamp": first.start,
                "device_index": 1,
                "device_type": LOCAL_DEVICE_BAROMETER,
                "source_type": SOURCE_LOCAL,
            },
        )
    enc.message("sport", {"sport": SPORTS[first.sport], "sub_sport": SUB_SPORTS[first.sub_sport]})
    enc.message(
        "event",
        {"timestamp": first.start, "event": EVENT_TIMER, "event_type": EVENT_START, "data": 0},
    )
    lap_index = 0
    for index, spec in enumerate(sessions):
        lap_index += _write_session(
            enc,
            spec,
            index,
            lap_index,
            compressed=compressed_timestamps,
            developer_field=developer_field,
            altitude_fields=altitude_fields,
        )
    last = sessions[-1]
    end = last.start + timedelta(seconds=last.duration_s)
    enc.message(
        "event", {"timestamp": end, "event": EVENT_TIMER, "event_type": EVENT_STOP_ALL, "data": 0}
    )
    if include_activity:
        enc.message(
            "activity",
            {
                "timestamp": end,
                "total_timer_time": sum(s.duration_s for s in sessions),
                "num_sessions": len(sessions),
                "type": 0 if len(sessions) == 1 else 1,
                "event": EVENT_ACTIVITY,
                "event_type": EVENT_STOP,
                "local_timestamp": (
                    None if utc_offset_s is None else fit_time(end) + int(utc_offset_s)
                ),
            },
        )
    return enc.finish()


def encode_file(
    file_type: str,
    *,
    when: datetime | None = None,
    serial_number: int = 3_900_000_001,
) -> bytes:
    """Encode a small non-activity FIT file: settings, monitoring, workout or weight."""
    when = when or datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    if file_type not in ("settings", "monitoring", "workout", "weight"):
        raise ValueError(f"unsupported file type {file_type!r}")
    enc = _Encoder()
    enc.message(
        "file_id",
        {
            "type": FILE_TYPES[file_type],
            "manufacturer": MANUFACTURER_GARMIN,
            "product": PRODUCT_FR245,
            "serial_number": serial_number,
            "time_created": when,
        },
    )
    if file_type == "settings":
        enc.message(
            "user_profile", {"friendly_name": "runner", "gender": 1, "age": 38, "weight": 68.5}
        )
    elif file_type == "monitoring":
        for i in range(24):
            enc.message(
                "monitoring",
                {
                    "timestamp": fit_time(when) + i * 900,
                    "activity_type": 6,
                    "cycles": 100.0 * i,
                    "distance": 70.0 * i,
                    "heart_rate": 60 + i % 5,
                },
            )
    elif file_type == "workout":
        enc.message(
            "workout", {"wkt_name": "6x800m", "sport": SPORTS["running"], "num_valid_steps": 3}
        )
    else:
        enc.message("weight_scale", {"timestamp": when, "weight": 68.4})
    return enc.finish()


def chain(*files: bytes) -> bytes:
    """Chain FIT files into one (the FIT format allows several headers in one file)."""
    return b"".join(files)
