"""FIT files: finding them (folders, ``.fit.gz``, zips at any depth) and reading them.

This is the only module that imports ``fitparse`` (the maintained ``python-fitparse`` fork), so
another parser could replace it. Nothing here writes rows: :func:`parse_fit_bytes` turns the
bytes of one file into a :class:`FitResult` of normalized :class:`~calfsync.model.Activity`
objects, and :func:`iter_inputs` turns paths into :class:`InputItem` objects (label, content).

Climb follows shared/RULES.md: the session's ``total_ascent`` when the device wrote one, else the
altitude stream through a 5-point median filter and a hysteresis of 3 m (barometric) or 10 m
(GPS-only). The altitude is taken as barometric when the file lists a barometer among its
``device_info`` sensors, or when its records carry altitude but never a position (an altitude
without GPS cannot come from GPS); otherwise it is treated as GPS altitude (the conservative
choice). Indoor runs (treadmill, indoor_running, virtual_activity) have no climb (None).
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import io
import logging
import math
import os
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ...model import INDOOR_SUB_SPORTS, Activity, utc_iso
from .frame import retype_odd_sized_fields

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
FIT_EPOCH_S = 631_065_600  # the FIT epoch as a Unix timestamp
MIN_ABSOLUTE_TIME = 0x10000000  # smaller date_time values are relative (device uptime)
HYSTERESIS_BAROMETRIC_M = 3.0
HYSTERESIS_GPS_M = 10.0
MAX_RECORD_GAP_S = 30.0  # a longer gap between records is a pause, not time at that heart rate
OFFSET_STEP_S = 900  # local offsets are whole quarter hours
MAX_OFFSET_S = 14 * 3600
FIT_SUFFIXES = (".fit", ".fit.gz", ".zip")
MAX_ENTRY_BYTES = 256 * 1024 * 1024  # refuse to inflate anything bigger (zip bombs)


@dataclass
class FitResult:
    """What one FIT file held: ``status`` imported | skipped | failed, and why."""

    status: str
    reason: str | None = None
    activities: list[Activity] = field(default_factory=list)
    salvaged: bool = False


@dataclass
class InputItem:
    """One file content found in the inputs.

    ``data`` holds the FIT bytes to parse (decompressed); it is None when the item's outcome is
    already known (``status`` and ``reason`` set: a corrupt zip, a zip entry that is no FIT
    file). ``sha256`` is the hash of ``data`` (or of the raw bytes when there is no data).
    """

    label: str
    sha256: str
    size_bytes: int
    data: bytes | None = None
    status: str | None = None
    reason: str | None = None


# ---------------------------------------------------------------------------------------------
# Finding inputs


def is_input_name(name: str) -> bool:
    """Whether a file name looks like something calfsync imports (.fit, .fit.gz, .zip)."""
    return name.lower().endswith(FIT_SUFFIXES)


def find_input_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every importable file under ``paths``: files given by name always, folders recursively
    (only ``.fit``, ``.fit.gz`` and ``.zip``, hidden files skipped), in a stable order."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and is_input_name(name):
                        yield Path(root) / name
        elif path.exists():
            yield path
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")


def read_input_file(path: Path, label: str | None = None) -> Iterator[InputItem]:
    """The items one file on disk holds: itself (FIT or gzip) or the entries of a zip.

    A zip is read entry by entry from disk, so a large export never sits in memory whole.
    """
    label = label or str(path)
    with path.open("rb") as handle:
        head = handle.read(4)
    if head == b"PK\x03\x04" or path.name.lower().endswith(".zip"):
        yield from _zip_items(path, label, 0)
    else:
        yield from items_from_bytes(path.read_bytes(), label)


def iter_inputs(paths: Iterable[str | Path]) -> Iterator[InputItem]:
    """Every item under ``paths`` (see :func:`find_input_files` and :func:`items_from_bytes`)."""
    for path in find_input_files(paths):
        yield from read_input_file(path, str(path.resolve()))


def items_from_bytes(data: bytes, label: str, depth: int = 0) -> Iterator[InputItem]:
    """Classify raw bytes by content: a zip (entries at any depth), a gzip, or a FIT file."""
    if data[:4] == b"PK\x03\x04" or label.lower().endswith(".zip"):
        yield from _zip_items(data, label, depth)
    elif data[:2] == b"\x1f\x8b":
        try:
            inner = _gunzip(data)
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            yield _decided(label, data, "failed", f"gzip data is damaged ({exc})")
            return
        if inner[:4] == b"PK\x03\x04":
            yield from _zip_items(inner, label, depth)
        else:
            yield _fit_item(label, inner)
    else:
        yield _fit_item(label, data)


def _gunzip(data: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
        out = gz.read(MAX_ENTRY_BYTES + 1)
    if len(out) > MAX_ENTRY_BYTES:
        raise ValueError(f"more than {MAX_ENTRY_BYTES} bytes once inflated")
    return out


def _fit_item(label: str, data: bytes) -> InputItem:
    return InputItem(label, hashlib.sha256(data).hexdigest(), len(data), data=data)


def _decided(label: str, raw: bytes, status: str, reason: str) -> InputItem:
    return InputItem(label, hashlib.sha256(raw).hexdigest(), len(raw), status=status, reason=reason)


def _zip_items(source: bytes | Path, label: str, depth: int) -> Iterator[InputItem]:
    if depth > 8:
        yield _decided(label, _raw(source), "failed", "zip archives nested more than 8 deep")
        return
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        reason = f"not a readable zip archive ({exc})"
        yield _decided(label, _raw(source), "failed", reason)
        return
    with archive:
        for info in infos:
            if info.is_dir():
                continue
            entry_label = f"{label}!{info.filename}"
            name = info.filename.rsplit("/", 1)[-1]
            if name.startswith(".") or info.filename.startswith("__MACOSX/"):
                continue
            if info.file_size > MAX_ENTRY_BYTES:
                yield InputItem(
                    entry_label,
                    _hash_entry(archive, info),
                    info.file_size,
                    status="skipped",
                    reason="zip entry too large to be a FIT file",
                )
                continue
            try:
                if is_input_name(name) or _looks_like_fit(archive, info):
                    raw = archive.read(info)
                    yield from items_from_bytes(raw, entry_label, depth + 1)
                else:
                    yield InputItem(
                        entry_label,
                        _hash_entry(archive, info),
                        info.file_size,
                        status="skipped",
                        reason="zip entry is not a FIT file",
                    )
            except (
                zipfile.BadZipFile,
                OSError,
                EOFError,
                zlib.error,
                ValueError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                yield InputItem(
                    entry_label,
                    hashlib.sha256(entry_label.encode()).hexdigest(),
                    info.file_size,
                    status="failed",
                    reason=f"zip entry cannot be read: the archive is damaged ({exc})",
                )


def _raw(source: bytes | Path) -> bytes:
    return source if isinstance(source, bytes) else source.read_bytes()


def _looks_like_fit(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    with archive.open(info) as handle:
        head = handle.read(12)
    return len(head) >= 12 and head[8:12] == b".FIT"


def _hash_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with archive.open(info) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading one FIT file


@dataclass
class _Segment:
    """The messages of one FIT file (a chained file holds several)."""

    file_id: dict[str, Any] | None = None
    devices: list[dict[str, Any]] = field(default_factory=list)
    sport: dict[str, Any] | None = None
    sports: list[dict[str, Any]] = field(default_factory=list)  # every sport message
    sessions: list[dict[str, Any]] = field(default_factory=list)
    laps: list[dict[str, Any]] = field(default_factory=list)
    activity: dict[str, Any] | None = None
    timer_start: int | None = None
    # records as parallel lists: FIT time (s), distance (m), altitude (m), heart rate (bpm)
    rec_t: list[int] = field(default_factory=list)
    rec_dist: list[float | None] = field(default_factory=list)
    rec_alt: list[float | None] = field(default_factory=list)
    rec_hr: list[int | None] = field(default_factory=list)
    has_position: bool = False
    relative_records: int = 0  # records timed by device uptime only (skipped)
    unordered: bool = False  # records out of time order (sorted before use)

    def sort_records(self) -> None:
        """Put the record lists in time order (a clock correction can leave them out of it)."""
        order = sorted(range(len(self.rec_t)), key=self.rec_t.__getitem__)
        for name in ("rec_t", "rec_dist", "rec_alt", "rec_hr"):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in order])
        self.unordered = False

    @property
    def empty(self) -> bool:
        return self.file_id is None and not self.rec_t and not self.sessions and not self.laps


def _make_processor() -> Any:
    """A data processor that leaves values as decoded (no unit or datetime conversion).

    fitparse's default processor looks up three methods per field value; skipping that makes
    parsing markedly faster. Times stay FIT seconds, converted here where needed.
    """
    from fitparse.processors import FitFileDataProcessor

    class _Lean(FitFileDataProcessor):
        def run_type_processor(self, field_data: Any) -> None:
            return None

        def run_field_processor(self, field_data: Any) -> None:
            return None

        def run_unit_processor(self, field_data: Any) -> None:
            return None

        def run_message_processor(self, data_message: Any) -> None:
            return None

    return _Lean()


def _json_value(fd: Any) -> Any:
    value = fd.value
    type_name = getattr(getattr(fd, "type", None), "name", "")
    if isinstance(value, int) and type_name == "date_time" and value >= MIN_ABSOLUTE_TIME:
        return utc_iso(fit_datetime(value))
    if isinstance(value, int) and type_name == "local_date_time":
        return fit_datetime(value).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return [v.hex() if isinstance(v, bytes) else v for v in value]
    if isinstance(value, float) and not math.isfinite(value):  # NaN, inf: not JSON
        return None
    return value


def _values(message: Any) -> dict[str, Any]:
    """A message's fields as a JSON-serializable dict (times as ISO strings, raw under _raw)."""
    out: dict[str, Any] = {}
    raw_times: dict[str, int] = {}
    developer: dict[str, Any] = {}
    for fd in message.fields:
        if fd.value is None:
            continue
        name = fd.name
        if _is_developer(fd):  # an app's own field: never mistaken for a profile field
            developer[name] = _json_value(fd)
            continue
        out[name] = _json_value(fd)
        if getattr(getattr(fd, "type", None), "name", "") in ("date_time", "local_date_time"):
            raw_times[name] = fd.value
    if raw_times:
        out["_fit_times"] = raw_times
    if developer:
        out["developer_fields"] = developer
    return out


def _is_developer(fd: Any) -> bool:
    """Whether a decoded field is a developer (Connect IQ app) field, whatever its name."""
    return hasattr(fd.field_def, "dev_data_index")


def fit_datetime(value: int) -> datetime:
    """An aware UTC datetime for a FIT ``date_time`` value (seconds since 1989-12-31)."""
    return FIT_EPOCH + timedelta(seconds=int(value))


def _read_segments(data: bytes) -> tuple[list[_Segment], str | None, str | None]:
    """Decode every message. Returns (segments, error kind, error text); kind is None when the
    file decoded completely, else "truncated", "crc", "header" or "decode"."""
    import fitparse
    from fitparse.utils import FitCRCError, FitEOFError, FitHeaderError, FitParseError

    segments = [_Segment()]
    kind: str | None = None
    text: str | None = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = fitparse.UncachedFitFile(
                io.BytesIO(data), check_developer_data=False, data_processor=_make_processor()
            )
            for message in fit.get_messages():
                _collect(segments, message)
        except FitEOFError as exc:
            kind, text = "truncated", str(exc)
        except FitCRCError as exc:
            kind, text = "crc", str(exc)
        except FitHeaderError as exc:
            kind, text = "header", str(exc)
        except (
            FitParseError,
            struct.error,
            KeyError,
            IndexError,
            TypeError,
            ValueError,
            AttributeError,
            OverflowError,
            ZeroDivisionError,
        ) as exc:
            kind, text = "decode", f"{exc.__class__.__name__}: {exc}"
    return [s for s in segments if not s.empty], kind, text


_RECORD_FIELDS = frozenset(
    {"timestamp", "distance", "enhanced_altitude", "altitude", "heart_rate", "position_lat"}
)


def _collect(segments: list[_Segment], message: Any) -> None:
    name = message.name
    seg = segments[-1]
    if name == "record":
        t = dist = alt = alt_legacy = hr = None
        for fd in message.fields:
            n = fd.name
            if n in _RECORD_FIELDS and _is_developer(fd):
                continue  # e.g. an app's own "distance" or "heart_rate" beside the device's
            if n == "timestamp":
                t = fd.value
            elif n == "distance":
                dist = fd.value
            elif n == "enhanced_altitude":
                alt = fd.value
            elif n == "altitude":
                alt_legacy = fd.value
            elif n == "heart_rate":
                hr = fd.value
            elif n == "position_lat" and fd.value is not None:
                seg.has_position = True
        if not isinstance(t, int):
            return
        if t < MIN_ABSOLUTE_TIME:  # device uptime before the clock was set: no date
            seg.relative_records += 1
            return
        if seg.rec_t and t < seg.rec_t[-1]:
            seg.unordered = True
        seg.rec_t.append(t)
        seg.rec_dist.append(dist if isinstance(dist, int | float) else None)
        a = alt if isinstance(alt, int | float) else alt_legacy
        seg.rec_alt.append(a if isinstance(a, int | float) else None)
        seg.rec_hr.append(hr if isinstance(hr, int) and 0 < hr < 255 else None)
    elif name == "file_id":
        if not seg.empty:
            seg = _Segment()
            segments.append(seg)
        seg.file_id = _values(message)
    elif name == "session":
        seg.sessions.append(_values(message))
    elif name == "lap":
        seg.laps.append(_values(message))
    elif name == "activity":
        seg.activity = _values(message)
    elif name == "device_info":
        seg.devices.append(_values(message))
    elif name == "sport":
        seg.sports.append(_values(message))
        if seg.sport is None:
            seg.sport = seg.sports[0]
    elif name == "event" and seg.timer_start is None:
        values = _values(message)
        if values.get("event") == "timer" and values.get("event_type") == "start":
            seg.timer_start = values.get("_fit_times", {}).get("timestamp")


def _header_problem(data: bytes) -> str | None:
    if not data:
        return "empty file (0 bytes): not a FIT file"
    if len(data) < 12 or data[8:12] != b".FIT":
        return "not a FIT file: the '.FIT' signature is missing from the header"
    if data[0] not in (12, 14):
        return f"bad FIT header: header size {data[0]} (expected 12 or 14)"
    if data[0] == 14 and len(data) >= 14:
        from fitparse.records import Crc

        stored = int.from_bytes(data[12:14], "little")
        if stored != 0 and stored != Crc.calculate(data[:12]):
            return "bad FIT header: its CRC does not match (the header is damaged)"
    return None


def parse_job(data: bytes, label: str, tz_name: str) -> FitResult:
    """Process-pool entry point: :func:`parse_fit_bytes` that never raises.

    It lives here so a worker process imports only this module, not the CLI or the database.
    """
    try:
        return parse_fit_bytes(data, label, ZoneInfo(tz_name))
    except Exception as exc:  # noqa: BLE001 - any reader bug becomes this file's failure
        logging.getLogger(__name__).exception("reading %s failed", label)
        return FitResult("failed", f"could not read this file ({exc.__class__.__name__}: {exc})")


def parse_fit_bytes(data: bytes, label: str, default_tz: ZoneInfo) -> FitResult:
    """Read one FIT file's bytes into activities, one per session. Never raises for bad input.

    ``label`` names the file in reasons; ``default_tz`` gives the local time when the file
    carries no offset of its own.
    """
    problem = _header_problem(data)
    if problem:
        return FitResult("failed", problem)
    segments, kind, text = _read_segments(data)
    if kind == "decode":  # maybe only fields of odd sizes, which the FIT SDK reads as bytes
        repaired = retype_odd_sized_fields(data)
        if repaired is not None:
            segments, kind, text = _read_segments(repaired)
    if kind == "crc":
        return FitResult("failed", f"CRC check failed: the file is damaged ({text})")
    if kind == "header":
        return FitResult("failed", f"bad FIT header: {text}")
    damaged = kind in ("truncated", "decode")  # what came before the damage may be kept
    if kind == "truncated":
        failure = f"file is truncated ({len(data)} bytes) before any activity data"
        damage = f"the file is truncated ({len(data)} bytes; it ends inside a message)"
    else:
        failure = f"cannot decode the FIT data: {text}"
        damage = f"the file is damaged part-way ({text})"
    activity_segs = [s for s in segments if _is_activity(s)]
    if not activity_segs:
        types = sorted({str(s.file_id.get("type")) for s in segments if s.file_id})
        if types:
            return FitResult("skipped", f"not an activity: FIT file type {', '.join(types)}")
        if damaged:
            return FitResult("failed", failure)
        return FitResult("skipped", "no activity data in this FIT file")
    activities: list[Activity] = []
    rebuilt = from_laps = False
    seen_ids: set[str] = set()
    for seg in activity_segs:
        if seg.unordered:
            seg.sort_records()
        built = [_from_session(seg, s, i, label, default_tz) for i, s in enumerate(seg.sessions)]
        built = [a for a in built if a is not None]
        if not built and len(seg.rec_t) >= 2:
            built = [_from_records(seg, label, default_tz)]
            rebuilt = True
        elif not built and (lap_act := _from_laps(seg, label, default_tz)) is not None:
            built, rebuilt, from_laps = [lap_act], True, True
        for act in built:
            base, n = act.id, 1
            while act.id in seen_ids:  # two sessions of one device starting the same second
                n += 1
                act.id = f"{base}-{n}"
            seen_ids.add(act.id)
        activities.extend(built)
    if not activities:
        if damaged:
            return FitResult("failed", failure)
        if any(s.relative_records for s in activity_segs):
            return FitResult(
                "failed",
                "the activity has no calendar date: its times count from the device's power-on "
                "(the watch's clock was not set)",
            )
        return FitResult("skipped", "activity file without sessions or records")
    salvaged = damaged or rebuilt
    for act in activities:
        act.salvaged = salvaged
    reason = None
    if damaged:
        reason = (
            f"salvaged: {damage}; kept {len(activities)} activity(ies) recorded before the damage"
        )
    elif rebuilt:
        source = "laps" if from_laps else "records"
        reason = f"salvaged: the file has no session summary; activity rebuilt from its {source}"
    return FitResult("imported", reason, activities, salvaged)


def _is_activity(seg: _Segment) -> bool:
    if seg.file_id and seg.file_id.get("type") is not None:
        return seg.file_id.get("type") == "activity"
    return bool(seg.sessions or seg.rec_t or seg.laps)


# ---------------------------------------------------------------------------------------------
# Building activities


def _name(value: Any, default: str | None) -> str | None:
    if value is None:
        return default
    return str(value)


def _serial(seg: _Segment) -> str:
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


def _device(seg: _Segment) -> str | None:
    fid = seg.file_id or {}
    maker = fid.get("manufacturer")
    product = fid.get("product_name") or fid.get("garmin_product") or fid.get("product")
    parts = [str(p) for p in (maker, product) if p not in (None, "")]
    return " ".join(parts) or None


def _barometric(seg: _Segment) -> bool:
    for dev in seg.devices:
        if dev.get("local_device_type") == "barometer" or dev.get("device_type") == "barometer":
            return True
    return not seg.has_position


def _offset_s(seg: _Segment, start: datetime, default_tz: ZoneInfo) -> int:
    act = seg.activity or {}
    times = act.get("_fit_times", {})
    local, utc = times.get("local_timestamp"), times.get("timestamp")
    if isinstance(local, int) and isinstance(utc, int) and utc >= MIN_ABSOLUTE_TIME:
        offset = round((local - utc) / OFFSET_STEP_S) * OFFSET_STEP_S
        if abs(offset) <= MAX_OFFSET_S:
            return int(offset)
    delta = start.astimezone(default_tz).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _median5(values: list[float]) -> list[float]:
    n = len(values)
    out = []
    for i in range(n):
        window = sorted(values[max(0, i - 2) : i + 3])
        out.append(window[len(window) // 2])
    return out


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


def _window(seg: _Segment, start_t: int, end_t: int) -> tuple[int, int]:
    lo = bisect.bisect_left(seg.rec_t, start_t)
    hi = bisect.bisect_right(seg.rec_t, end_t)
    return lo, hi


def _hr_histogram(seg: _Segment, lo: int, hi: int) -> dict[int, float] | None:
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


def _stream_climb(seg: _Segment, lo: int, hi: int) -> tuple[float | None, str | None]:
    alts = [a for a in seg.rec_alt[lo:hi] if a is not None]
    if len(alts) < 2:
        return None, None
    barometric = _barometric(seg)
    hysteresis = HYSTERESIS_BAROMETRIC_M if barometric else HYSTERESIS_GPS_M
    return round(climb_from_altitudes(alts, hysteresis), 1), ("barometric" if barometric else "gps")


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


def _session_laps(seg: _Segment, session: dict[str, Any], start_t: int, end_t: int) -> list:
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


def _interval_time(laps: list[dict[str, Any]]) -> float | None:
    if not laps:
        return None
    total = 0.0
    for lap in laps:
        if lap.get("intensity") == "interval":
            total += float(lap.get("total_timer_time") or lap.get("total_elapsed_time") or 0.0)
    return total


def _session_sport(
    seg: _Segment, session: dict[str, Any], index: int, laps: list[dict[str, Any]]
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


def _from_session(
    seg: _Segment, session: dict[str, Any], index: int, label: str, default_tz: ZoneInfo
) -> Activity | None:
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
        return None  # timed by device uptime only: no date to give it
    end_t = (
        start_t + int(elapsed)
        if isinstance(elapsed, int | float)
        else times.get("timestamp", start_t)
    )
    lo, hi = _window(seg, start_t, end_t)
    start = fit_datetime(start_t)
    laps = _session_laps(seg, session, start_t, end_t)
    sport, sub_sport = _session_sport(seg, session, index, laps)
    indoor = sub_sport in INDOOR_SUB_SPORTS
    distance = session.get("total_distance")
    if not isinstance(distance, int | float):
        distance = _lap_distance(laps)
    if distance is None:
        distance = _record_distance(seg, lo, hi)
    ascent, source = None, None
    if not indoor:
        if isinstance(session.get("total_ascent"), int | float):
            ascent, source = float(session["total_ascent"]), "session"
        else:
            ascent, source = _stream_climb(seg, lo, hi)
    hrs = [h for h in seg.rec_hr[lo:hi] if h is not None]
    avg_hr = session.get("avg_heart_rate")
    max_hr = session.get("max_heart_rate")
    # The session summary at the top level (json_extract(fit_raw, '$.total_ascent')), with the
    # messages around it that a later rule might need.
    raw = _clean(
        {
            **session,
            "laps": laps,
            "file_id": seg.file_id,
            "activity": seg.activity,
            "sport_message": seg.sport,
        }
    )
    return Activity(
        id=_activity_id(seg, start),
        source="fit",
        start_time=start,
        utc_offset_s=_offset_s(seg, start, default_tz),
        sport=sport,
        sub_sport=sub_sport,
        distance_m=float(distance or 0.0),
        moving_time_s=_float(session.get("total_timer_time")) or _float(elapsed),
        elapsed_time_s=_float(elapsed) if elapsed is not None else float(end_t - start_t),
        ascent_m=ascent,
        descent_m=None if indoor else _float(session.get("total_descent")),
        avg_heart_rate_bpm=_float(avg_hr) if avg_hr else (sum(hrs) / len(hrs) if hrs else None),
        max_heart_rate_bpm=_float(max_hr) if max_hr else (float(max(hrs)) if hrs else None),
        interval_time_s=_interval_time(laps),
        hr_histogram=_hr_histogram(seg, lo, hi),
        laps=[_lap_summary(lap) for lap in laps] or None,
        device=_device(seg),
        altitude_source=source,
        external_id=_file_name(label),
        raw=raw,
    )


def _activity_id(seg: _Segment, start: datetime) -> str:
    """``fit:<device serial>:<session start, UTC>``: two copies of a session share it."""
    return f"fit:{_serial(seg)}:{start.strftime('%Y%m%dT%H%M%SZ')}"


def _from_records(seg: _Segment, label: str, default_tz: ZoneInfo) -> Activity:
    """An activity rebuilt from the record stream of a file with no session (battery died)."""
    start_t = seg.timer_start if seg.timer_start is not None else seg.rec_t[0]
    start_t = min(start_t, seg.rec_t[0])
    end_t = seg.rec_t[-1]
    lo, hi = 0, len(seg.rec_t)
    start = fit_datetime(start_t)
    sport_msg = seg.sport or {}
    lap_sport = next((lap.get("sport") for lap in seg.laps if lap.get("sport")), None)
    sport = _name(sport_msg.get("sport") or lap_sport, "generic") or "generic"
    sub_sport = _name(sport_msg.get("sub_sport"), None)
    indoor = sub_sport in INDOOR_SUB_SPORTS
    ascent, source = (None, None) if indoor else _stream_climb(seg, lo, hi)
    hrs = [h for h in seg.rec_hr if h is not None]
    moving = sum(
        min(b - a, MAX_RECORD_GAP_S)
        for a, b in zip(seg.rec_t, seg.rec_t[1:], strict=False)
        if b > a
    )
    return Activity(
        id=_activity_id(seg, start),
        source="fit",
        start_time=start,
        utc_offset_s=_offset_s(seg, start, default_tz),
        sport=sport,
        sub_sport=sub_sport,
        distance_m=_record_distance(seg, lo, hi) or _lap_distance(seg.laps) or 0.0,
        moving_time_s=float(moving),
        elapsed_time_s=float(end_t - start_t),
        ascent_m=ascent,
        avg_heart_rate_bpm=sum(hrs) / len(hrs) if hrs else None,
        max_heart_rate_bpm=float(max(hrs)) if hrs else None,
        interval_time_s=_interval_time(seg.laps),
        hr_histogram=_hr_histogram(seg, lo, hi),
        laps=[_lap_summary(lap) for lap in seg.laps] or None,
        device=_device(seg),
        altitude_source=source,
        salvaged=True,
        external_id=_file_name(label),
        raw=_clean(
            {
                "laps": seg.laps,
                "file_id": seg.file_id,
                "sport_message": seg.sport,
                "salvaged_from_records": hi - lo,
            }
        ),
    )


def _from_laps(seg: _Segment, label: str, default_tz: ZoneInfo) -> Activity | None:
    """An activity rebuilt from the lap summaries of a file with no session and no records."""
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
    end_t = max(e for _, e in spans)
    start = fit_datetime(start_t)
    sport, sub_sport = _session_sport(seg, {}, 0, seg.laps)
    timer = [_float(lap.get("total_timer_time")) for lap in seg.laps]
    hrs = [lap.get("max_heart_rate") for lap in seg.laps if lap.get("max_heart_rate")]
    return Activity(
        id=_activity_id(seg, start),
        source="fit",
        start_time=start,
        utc_offset_s=_offset_s(seg, start, default_tz),
        sport=sport,
        sub_sport=sub_sport,
        distance_m=_lap_distance(seg.laps) or 0.0,
        moving_time_s=sum(t for t in timer if t is not None) if any(timer) else None,
        elapsed_time_s=float(end_t - start_t),
        ascent_m=None,  # RULES.md: session total_ascent or the altitude stream, neither here
        max_heart_rate_bpm=_float(max(hrs)) if hrs else None,
        interval_time_s=_interval_time(seg.laps),
        laps=[_lap_summary(lap) for lap in seg.laps],
        device=_device(seg),
        salvaged=True,
        external_id=_file_name(label),
        raw=_clean({"laps": seg.laps, "file_id": seg.file_id, "sport_message": seg.sport}),
    )


def _lap_distance(laps: list[dict[str, Any]]) -> float | None:
    """The laps' total distance, or None when no lap names one."""
    dists = [d for lap in laps if isinstance(d := lap.get("total_distance"), int | float)]
    return float(sum(dists)) if dists else None


def _record_distance(seg: _Segment, lo: int, hi: int) -> float:
    dists = [d for d in seg.rec_dist[lo:hi] if d is not None]
    if not dists:
        return 0.0
    return float(max(dists) - min(dists))


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
