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
from calfsync.sources.fit.frame import retype_odd_sized_fields
from calfsync.sources.fit.parse import parse_fit_bytes

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


def test_a_session_without_sport_takes_the_sport_message() -> None:
    # running / treadmill named only in the sport message: an indoor run, so no climb
    enc = start()
    enc.message("sport", {"sport": 1, "sub_sport": 1})
    records(enc)
    session(enc, sport=None, total_ascent=12)
    (act,) = parse(enc.finish()).activities
    assert (act.sport, act.sub_sport, act.ascent_m) == ("running", "treadmill", None)
    assert act.is_run and act.indoor


def test_a_generic_session_takes_the_sport_of_its_laps() -> None:
    enc = start()
    records(enc)
    enc.message(
        "lap",
        {"timestamp": T0 + 599, "start_time": T0, "total_elapsed_time": 599, "sport": 1},
    )
    session(enc, sport=0, first_lap_index=0, num_laps=1)
    (act,) = parse(enc.finish()).activities
    assert (act.sport, act.sub_sport) == ("running", None)


def test_multisport_sessions_without_sport_take_one_sport_message_each() -> None:
    enc = start()
    for n, (sport, sub) in enumerate([(2, 7), (1, 3)]):  # cycling/road, then running/trail
        enc.message("sport", {"sport": sport, "sub_sport": sub})
        t = T0 + n * 600
        for i in range(0, 600, 5):
            enc.message("record", {"timestamp": t + i, "distance": 3.0 * i})
        enc.message("session", {"timestamp": t + 599, "start_time": t, "total_distance": 1797})
    result = parse(enc.finish())
    got = [(a.sport, a.sub_sport) for a in result.activities]
    assert got == [("cycling", "road"), ("running", "trail")]


def _laps(enc: Encoder) -> None:
    for begin, seconds, metres in [(0, 300, 900.0), (300, 299, 897.0)]:
        enc.message(
            "lap",
            {
                "timestamp": T0 + begin + seconds,
                "start_time": T0 + begin,
                "total_elapsed_time": seconds,
                "total_timer_time": seconds,
                "total_distance": metres,
                "sport": 1,
            },
        )


def test_a_session_without_distance_takes_its_laps_distance() -> None:
    enc = start()
    records(enc, distance=False)  # an indoor watch without a foot pod: no record distance
    _laps(enc)
    session(enc, total_distance=None, first_lap_index=0, num_laps=2)
    (act,) = parse(enc.finish()).activities
    assert act.distance_m == pytest.approx(1797)


def test_a_file_with_laps_only_is_rebuilt_from_its_laps() -> None:
    enc = start()
    _laps(enc)
    result = parse(enc.finish())
    assert result.status == "imported" and result.salvaged
    assert result.reason == (
        "salvaged: the file has no session summary; activity rebuilt from its laps"
    )
    (act,) = result.activities
    assert (act.sport, act.distance_m, act.elapsed_time_s) == ("running", 1797, 599)
    assert act.moving_time_s == 599 and act.ascent_m is None
    assert act.start_time == at(2026, 3, 1, 7)


def test_developer_fields_never_stand_in_for_profile_fields() -> None:
    # A Connect IQ app may name its own fields like the profile's ("distance", ...).
    enc = start()
    enc.message(
        "developer_data_id",
        {"application_id": bytes(16), "developer_data_index": 0, "application_version": 1},
    )
    for number, name, mesg in [(0, "distance", 20), (1, "total_distance", 18)]:
        enc.message(
            "field_description",
            {
                "developer_data_index": 0,
                "field_definition_number": number,
                "fit_base_type_id": 0x84,
                "field_name": name,
                "units": "m",
                "native_mesg_num": mesg,
            },
        )
    for i in range(600):
        enc.message(
            "record",
            {"timestamp": T0 + i, "distance": 3.0 * i},
            dev_fields=[(0, 0, struct.pack("<H", 7))],
        )
    values = {"timestamp": T0 + 599, "start_time": T0, "sport": 1, "total_elapsed_time": 599}
    enc.message("session", values, dev_fields=[(1, 0, struct.pack("<H", 5))])
    (act,) = parse(enc.finish()).activities
    assert act.distance_m == pytest.approx(1797)  # from the records, not the app's 5 m
    assert act.raw["developer_fields"] == {"total_distance": 5}


def test_records_timed_by_device_uptime_are_left_out() -> None:
    # Before its clock is set a device counts from power-on (values below 0x10000000).
    enc = start()
    for i in range(5):
        enc.message("record", {"timestamp": 1000 + i, "heart_rate": 100})
    records(enc)
    (act,) = parse(enc.finish()).activities
    assert act.start_time == at(2026, 3, 1, 7) and act.elapsed_time_s == 599


def test_an_activity_timed_only_by_device_uptime_fails_with_a_reason() -> None:
    enc = start()
    for i in range(600):
        enc.message("record", {"timestamp": 1000 + i, "distance": 3.0 * i})
    result = parse(enc.finish())
    assert result.status == "failed" and "no calendar date" in result.reason


def test_records_out_of_time_order_are_sorted() -> None:
    enc = start()
    for i in [*range(300, 600), *range(300)]:  # written after a clock correction
        enc.message("record", {"timestamp": T0 + i, "distance": 3.0 * i, "heart_rate": 140})
    session(enc)
    (act,) = parse(enc.finish()).activities
    assert sum(act.hr_histogram.values()) == pytest.approx(599)


def test_the_odd_size_repair_keeps_a_damaged_file_damaged() -> None:
    enc = start()
    enc.raw(0xFF01, [(5, 0x84, b"\x01\x02\x03")])
    records(enc, seconds=30)
    session(enc)
    good = enc.finish()
    repaired = retype_odd_sized_fields(good)
    assert repaired is not None and len(repaired) == len(good)
    assert retype_odd_sized_fields(repaired) is None  # nothing left to repair
    damaged = good[:-1] + bytes([good[-1] ^ 0xFF])  # a wrong file CRC
    result = parse(damaged)
    assert result.status == "failed" and "CRC" in result.reason
    assert retype_odd_sized_fields(good[: len(good) // 2]) is None  # truncated: not walked
