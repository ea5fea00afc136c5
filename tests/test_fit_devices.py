"""FIT files shaped like real devices' output rather than calfsync's own writer's.

Each file is built message by message (:class:`calfsync.fitwriter.Encoder`) the way some watch,
bike computer or app writes it: valid by the FIT profile, or odd in a way readers must survive.
"""

from __future__ import annotations

import struct
from zoneinfo import ZoneInfo

import pytest
from fit_support import at

from calfsync.fitwriter import Encoder, fit_time
from calfsync.sources.fit import parse_fit_bytes

T0 = fit_time(at(2026, 3, 1, 7))


def parse(data: bytes):
    return parse_fit_bytes(data, "device.fit", ZoneInfo("UTC"))


def start(enc: Encoder | None = None) -> Encoder:
    enc = enc or Encoder()
    enc.message(
        "file_id",
        {"type": 4, "manufacturer": 1, "product": 3076, "serial_number": 42, "time_created": T0},
    )
    return enc


def records(enc: Encoder, seconds: int = 600, distance: bool = True) -> None:
    for i in range(seconds):
        enc.message(
            "record",
            {"timestamp": T0 + i, "distance": 3.0 * i if distance else None, "heart_rate": 140},
        )


def session(enc: Encoder, **values: object) -> None:
    base = {
        "timestamp": T0 + 599,
        "start_time": T0,
        "sport": 1,
        "total_elapsed_time": 599,
        "total_timer_time": 599,
        "total_distance": 1797,
    }
    base.update(values)
    enc.message("session", base)


@pytest.mark.parametrize("where", ["unknown message", "unknown field of a record"])
def test_a_field_whose_size_is_no_multiple_of_its_type_is_read_as_bytes(where: str) -> None:
    # COROS watches write such fields; the FIT SDK reads them as bytes.
    enc = start()
    if where == "unknown message":
        enc.raw(0xFF01, [(5, 0x84, b"\x01\x02\x03")])  # a 3-byte uint16
    else:
        enc.raw(20, [(253, 0x86, struct.pack("<I", T0)), (200, 0x84, b"\x01\x02\x03")])
    records(enc)
    session(enc)
    result = parse(enc.finish())
    assert (result.status, result.reason) == ("imported", None)
    (act,) = result.activities
    assert (act.sport, act.distance_m) == ("running", 1797)
