"""calfsync's own FIT writer produces files that an independent decoder (fitparse) reads back."""

from __future__ import annotations

import struct

import fitparse
import pytest
from fit_support import at, hills, run

from calfsync.fitwriter import Encoder, LapSpec, chain, encode_activity, encode_file, fit_crc


def _messages(data: bytes) -> list:
    return list(fitparse.FitFile(data).get_messages())


def _by_name(data: bytes, name: str) -> list[dict]:
    return [m.get_values() for m in _messages(data) if m.name == name]


def test_header_and_file_crc_are_valid() -> None:
    data = encode_activity([run(at(2026, 3, 1, 7), km=1, minutes=5)])
    size, _proto, _profile, data_size, magic, header_crc = struct.unpack("<BBHI4sH", data[:14])
    assert (size, magic) == (14, b".FIT")
    assert header_crc == fit_crc(data[:12])
    assert len(data) == 14 + data_size + 2
    assert fit_crc(data) == 0  # a CRC over data plus its own CRC is zero


def test_activity_round_trips_through_fitparse() -> None:
    laps = [LapSpec(300, 1000, "warmup"), LapSpec(240, 1000, "interval"), LapSpec(60, 100, "rest")]
    spec = run(at(2026, 3, 1, 7), km=4, minutes=20, laps=laps, altitude_profile=hills())
    data = encode_activity([spec], utc_offset_s=3600)
    (file_id,) = _by_name(data, "file_id")
    assert file_id["type"] == "activity"
    assert file_id["serial_number"] == 3_900_000_001
    (session,) = _by_name(data, "session")
    assert session["sport"] == "running"
    assert session["total_distance"] == pytest.approx(4000)
    assert session["total_elapsed_time"] == pytest.approx(1200)
    assert session["total_ascent"] > 0
    assert [lap["intensity"] for lap in _by_name(data, "lap")] == [
        "warmup",
        "interval",
        "rest",
        "active",
    ]
    records = _by_name(data, "record")
    assert len(records) == 1201
    assert records[-1]["distance"] == pytest.approx(4000, abs=0.5)
    assert records[0]["heart_rate"] == 150
    (activity,) = _by_name(data, "activity")
    assert (activity["local_timestamp"] - activity["timestamp"]).total_seconds() == 3600


def test_compressed_timestamps_decode_to_the_same_times() -> None:
    spec = run(at(2026, 3, 1, 7), km=1, minutes=3)
    plain = [r["timestamp"] for r in _by_name(encode_activity([spec]), "record")]
    compressed_data = encode_activity([spec], compressed_timestamps=True)
    compressed = [r["timestamp"] for r in _by_name(compressed_data, "record")]
    assert compressed == plain
    assert len(compressed_data) < len(encode_activity([spec]))
    headers = [m.header for m in _messages(compressed_data) if m.name == "record"]
    assert all(h.time_offset is not None for h in headers[1:])


def test_developer_field_is_described_and_present() -> None:
    data = encode_activity([run(at(2026, 3, 1, 7), km=1, minutes=2)], developer_field=True)
    assert _by_name(data, "developer_data_id")
    (desc,) = _by_name(data, "field_description")
    assert desc["field_name"] == "Power"
    assert all(150 <= r["Power"] <= 250 for r in _by_name(data, "record"))


def test_enhanced_altitude_only_and_no_total_ascent() -> None:
    spec = run(
        at(2026, 3, 1, 7), km=1, minutes=2, altitude_profile=hills(), include_total_ascent=False
    )
    data = encode_activity([spec], altitude_fields="enhanced", utc_offset_s=None)
    record = _by_name(data, "record")[10]
    assert "enhanced_altitude" in record and "altitude" not in record
    (session,) = _by_name(data, "session")
    assert "total_ascent" not in session
    (activity,) = _by_name(data, "activity")
    assert "local_timestamp" not in activity


def test_multisport_and_chained_files() -> None:
    ride = run(at(2026, 3, 1, 7), km=20, minutes=40, sport="cycling", sub_sport="road")
    leg = run(at(2026, 3, 1, 7, 41), km=5, minutes=25)
    multi = encode_activity([ride, leg])
    assert [s["sport"] for s in _by_name(multi, "session")] == ["cycling", "running"]
    chained = chain(encode_activity([leg]), multi)
    assert len(_by_name(chained, "file_id")) == 2
    assert len(_by_name(chained, "session")) == 3


@pytest.mark.parametrize(
    "kind,expected",
    [
        ("settings", "settings"),
        ("workout", "workout"),
        ("weight", "weight"),
        ("monitoring", "monitoring_b"),
    ],
)
def test_non_activity_files(kind: str, expected: str) -> None:
    (file_id,) = _by_name(encode_file(kind), "file_id")
    assert file_id["type"] == expected


def test_laps_longer_than_the_session_are_refused() -> None:
    spec = run(at(2026, 3, 1, 7), km=1, minutes=5, laps=[LapSpec(600, 1000)])
    with pytest.raises(ValueError, match="more than their session"):
        encode_activity([spec])


def test_big_endian_file_decodes_to_the_same_values() -> None:
    spec = run(at(2026, 3, 1, 7), km=1, minutes=3, altitude_profile=hills())
    little = encode_activity([spec], developer_field=True)
    big = encode_activity([spec], developer_field=True, big_endian=True)
    assert big != little
    assert _by_name(big, "record") == _by_name(little, "record")
    assert _by_name(big, "session") == _by_name(little, "session")


def test_encoder_writes_messages_the_profile_does_not_know() -> None:
    enc = Encoder()
    enc.message("file_id", {"type": 4, "manufacturer": 1, "product": 1, "serial_number": 7})
    enc.raw(0xFF01, [(0, 0x84, struct.pack("<H", 513)), (1, 0x02, b"\x09")])
    enc.message("event", {"timestamp": 1_100_000_000, "event": 0, "event_type": 0})
    data = enc.finish()
    assert fit_crc(data) == 0
    names = [m.name for m in _messages(data)]
    assert names == ["file_id", "unknown_65281", "event"]
    (unknown,) = [m for m in _messages(data) if m.name == "unknown_65281"]
    assert [f.value for f in unknown.fields] == [513, 9]
