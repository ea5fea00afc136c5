"""Decoding FIT bytes into plain Python: the adapter around the parser.

This is the only module that imports ``fitparse`` (the maintained ``python-fitparse`` fork), so
another parser could replace it behind :func:`decode` and :func:`header_problem`. It turns the
bytes of one file into :class:`Segment` objects (one per FIT file in a chain) holding the messages
an activity is built from as dicts of JSON-ready values, and the record stream as parallel lists.
A file the parser stops on (truncated, damaged) keeps what was decoded before the damage.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ...model import utc_iso
from .frame import fit_crc, retype_odd_sized_fields

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
MIN_ABSOLUTE_TIME = 0x10000000  # smaller date_time values are relative (device uptime)


@dataclass
class Segment:
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


@dataclass
class Decoded:
    """What the parser made of one file: its segments and, when it stopped early, why.

    ``damage`` is None when the file decoded completely, else "truncated" (it ends inside a
    message), "crc" (the file CRC does not match), "header" or "decode" (anything else the
    parser could not read); ``detail`` is the parser's own words.
    """

    segments: list[Segment]
    damage: str | None = None
    detail: str | None = None


def decode(data: bytes) -> Decoded:
    """Decode one FIT file's bytes (every file of a chain). Never raises for bad input.

    A file the parser cannot decode is tried once more with its odd-sized fields typed as bytes
    (see :mod:`.frame`), which is how the FIT SDK reads them.
    """
    decoded = _read_segments(data)
    if decoded.damage == "decode":
        repaired = retype_odd_sized_fields(data)
        if repaired is not None:
            decoded = _read_segments(repaired)
    return decoded


def header_problem(data: bytes) -> str | None:
    """Why ``data`` cannot be a FIT file at all (empty, no signature, bad header), or None."""
    if not data:
        return "empty file (0 bytes): not a FIT file"
    if len(data) < 12 or data[8:12] != b".FIT":
        return "not a FIT file: the '.FIT' signature is missing from the header"
    if data[0] not in (12, 14):
        return f"bad FIT header: header size {data[0]} (expected 12 or 14)"
    if data[0] == 14 and len(data) >= 14:
        stored = int.from_bytes(data[12:14], "little")
        if stored != 0 and stored != fit_crc(data[:12]):
            return "bad FIT header: its CRC does not match (the header is damaged)"
    return None


def fit_datetime(value: int) -> datetime:
    """An aware UTC datetime for a FIT ``date_time`` value (seconds since 1989-12-31)."""
    return FIT_EPOCH + timedelta(seconds=int(value))


def _read_segments(data: bytes) -> Decoded:
    """Decode every message, keeping what came before the parser stopped."""
    # Imported here, not at the top: fitparse costs about 15 ms and 2 MB to import, and the
    # daemon and `calfsync sync` load this module at start but decode only when a file arrives.
    import fitparse
    from fitparse.utils import FitCRCError, FitEOFError, FitHeaderError, FitParseError

    segments = [Segment()]
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
    return Decoded([s for s in segments if not s.empty], kind, text)


def _make_processor() -> Any:
    """A data processor that leaves values as decoded (no unit or datetime conversion).

    fitparse's default processor looks up three methods per field value; skipping that makes
    parsing markedly faster. Times stay FIT seconds, converted here where needed.
    """
    # Imported here for the start-up cost named in _read_segments.
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


_RECORD_FIELDS = frozenset(
    {"timestamp", "distance", "enhanced_altitude", "altitude", "heart_rate", "position_lat"}
)


def _collect(segments: list[Segment], message: Any) -> None:
    """File one decoded message into the current segment (a ``file_id`` starts a new one)."""
    name = message.name
    seg = segments[-1]
    if name == "record":
        _collect_record(seg, message)
    elif name == "file_id":
        if not seg.empty:
            seg = Segment()
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


def _collect_record(seg: Segment, message: Any) -> None:
    """Append one ``record`` message to the segment's parallel record lists."""
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


def _values(message: Any) -> dict[str, Any]:
    """A message's fields as a JSON-ready dict: times as ISO strings (their FIT seconds under
    ``_fit_times``), developer fields under ``developer_fields``."""
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


def _is_developer(fd: Any) -> bool:
    """Whether a decoded field is a developer (Connect IQ app) field, whatever its name."""
    return hasattr(fd.field_def, "dev_data_index")
