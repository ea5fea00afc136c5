"""Reading FIT files into activities: good files of many shapes, and every kind of bad one."""

from __future__ import annotations

import json
import os
from zoneinfo import ZoneInfo

import pytest
from fit_support import at, hills, run

from calfsync.fitwriter import LapSpec, SessionSpec, chain, encode_activity, encode_file
from calfsync.sources.fit.parse import parse_fit_bytes
from calfsync.sources.fit.stream import climb_from_altitudes

PARIS = ZoneInfo("Europe/Paris")


def parse(data: bytes, tz: ZoneInfo = PARIS):
    return parse_fit_bytes(data, "test.fit", tz)


def test_one_run_becomes_one_activity() -> None:
    data = encode_activity([run(at(2026, 3, 1, 7), km=10, minutes=50, ascent_m=85)])
    result = parse(data)
    assert (result.status, result.reason, result.salvaged) == ("imported", None, False)
    (act,) = result.activities
    assert act.id == "fit:3900000001:20260301T070000Z"
    assert (act.sport, act.sub_sport) == ("running", "generic")
    assert act.distance_m == pytest.approx(10_000)
    assert act.moving_time_s == pytest.approx(3000)
    assert act.elapsed_time_s == pytest.approx(3000)
    assert (act.ascent_m, act.altitude_source) == (85, "session")
    assert act.avg_heart_rate_bpm == 150
    assert act.device == "garmin fr245"
    assert act.hr_histogram == {150: 3000.0}
    json.dumps(act.raw)  # the raw session summary is JSON
    assert act.raw["total_distance"] == pytest.approx(10_000)


def test_same_session_from_two_copies_gets_the_same_id() -> None:
    spec = run(at(2026, 3, 1, 7))
    first = parse(encode_activity([spec], compressed_timestamps=True)).activities[0]
    second = parse(encode_activity([spec])).activities[0]
    assert first.id == second.id


def test_intervals_and_laps() -> None:
    laps = [LapSpec(600, 2000, "warmup")]
    for _ in range(5):
        laps += [LapSpec(180, 800, "interval"), LapSpec(90, 200, "recovery")]
    laps.append(LapSpec(600, 1800, "cooldown"))
    spec = SessionSpec(
        start=at(2026, 3, 1, 17),
        duration_s=2550,
        distance_m=8800,
        laps=laps,
        heart_rate_bpm=lambda t: 120 + (t % 270 < 180) * 45,
    )
    (act,) = parse(encode_activity([spec])).activities
    assert act.interval_time_s == pytest.approx(900)
    assert len(act.laps) == 12
    assert act.laps[1]["intensity"] == "interval"
    assert act.laps[1]["distance_m"] == pytest.approx(800)
    assert sum(act.hr_histogram.values()) == pytest.approx(2550)
    assert set(act.hr_histogram) == {120, 165}


def test_run_without_laps_has_no_interval_time_but_one_lap() -> None:
    (act,) = parse(encode_activity([run(at(2026, 3, 1, 7))])).activities
    assert act.interval_time_s == 0.0
    assert len(act.laps) == 1


def test_multisport_file_gives_one_activity_per_session() -> None:
    swim = run(at(2026, 6, 7, 6), km=1.5, minutes=30, sport="swimming", sub_sport="open_water")
    ride = run(at(2026, 6, 7, 6, 35), km=40, minutes=70, sport="cycling", sub_sport="road")
    leg = run(at(2026, 6, 7, 7, 50), km=10, minutes=45, sub_sport="street", ascent_m=30)
    result = parse(encode_activity([swim, ride, leg]))
    assert result.status == "imported"
    got = [(a.sport, a.sub_sport, round(a.distance_m)) for a in result.activities]
    assert got == [
        ("swimming", "open_water", 1500),
        ("cycling", "road", 40000),
        ("running", "street", 10000),
    ]
    assert len({a.id for a in result.activities}) == 3
    assert result.activities[2].ascent_m == 30


def test_chained_fit_files_give_every_session() -> None:
    morning = encode_activity([run(at(2026, 3, 1, 7))], serial_number=111)
    evening = encode_activity(
        [run(at(2026, 3, 1, 18), km=5, minutes=30)], serial_number=222, utc_offset_s=-5 * 3600
    )
    result = parse(chain(morning, evening))
    assert result.status == "imported"
    assert [a.id for a in result.activities] == [
        "fit:111:20260301T070000Z",
        "fit:222:20260301T180000Z",
    ]
    assert [a.utc_offset_s for a in result.activities] == [0, -5 * 3600]


@pytest.mark.parametrize("sub_sport", ["treadmill", "indoor_running", "virtual_activity"])
def test_indoor_run_has_no_climb(sub_sport: str) -> None:
    spec = run(at(2026, 3, 1, 7), sub_sport=sub_sport, ascent_m=40, altitude_profile=hills())
    (act,) = parse(encode_activity([spec])).activities
    assert act.sub_sport == sub_sport
    assert act.ascent_m is None
    assert act.to_row()["ascent_m"] is None
    assert act.distance_m == pytest.approx(10_000)


@pytest.mark.parametrize(
    "offset_h,local_date",
    [(-8, "2026-03-01"), (13, "2026-03-02"), (0, "2026-03-01")],
)
def test_run_across_utc_midnight_uses_the_file_offset(offset_h: int, local_date: str) -> None:
    # 23:40 UTC to 00:30 UTC: 15:40 in UTC-8 (same day), 12:40 next day in UTC+13.
    spec = run(at(2026, 3, 1, 23, 40), km=9, minutes=50)
    (act,) = parse(encode_activity([spec], utc_offset_s=offset_h * 3600)).activities
    assert act.utc_offset_s == offset_h * 3600
    assert act.local_date == local_date
    assert act.to_row()["start_time"] == "2026-03-01T23:40:00Z"


def test_no_local_timestamp_falls_back_to_the_configured_zone() -> None:
    data = encode_activity([run(at(2026, 7, 1, 5, 30))], utc_offset_s=None)
    (act,) = parse(data, ZoneInfo("America/Los_Angeles")).activities
    assert act.utc_offset_s == -7 * 3600  # PDT on that date
    assert act.local_date == "2026-06-30"


def test_missing_activity_message_still_imports_with_the_configured_zone() -> None:
    data = encode_activity([run(at(2026, 1, 10, 8))], include_activity=False)
    result = parse(data, ZoneInfo("Asia/Tokyo"))
    assert result.status == "imported"
    assert result.activities[0].utc_offset_s == 9 * 3600


def test_compressed_timestamps_and_developer_fields() -> None:
    spec = run(
        at(2026, 3, 1, 7),
        km=3,
        minutes=15,
        altitude_profile=hills(),
        ascent_m=None,
        include_total_ascent=False,
    )
    data = encode_activity([spec], compressed_timestamps=True, developer_field=True)
    (act,) = parse(data).activities
    assert act.distance_m == pytest.approx(3000)
    assert sum(act.hr_histogram.values()) == pytest.approx(900)
    assert act.ascent_m == pytest.approx(60, abs=3)  # 120 m -> 140 -> 100 -> 140 in 15 minutes


def test_enhanced_altitude_only_without_total_ascent_climbs_from_the_stream() -> None:
    # 120 m -> 140 -> 100 -> 140 -> 100 -> 120 over 30 minutes: 120 m of climb, barometric.
    spec = run(
        at(2026, 3, 1, 7),
        km=6,
        minutes=30,
        altitude_profile=hills(period_s=600),
        include_total_ascent=False,
    )
    (act,) = parse(encode_activity([spec], altitude_fields="enhanced")).activities
    assert act.altitude_source == "barometric"
    assert act.ascent_m == pytest.approx(120, abs=6)


def test_gps_only_altitude_uses_the_wider_hysteresis() -> None:
    # 4 m bumps every minute: real for a barometer (3 m), noise for GPS (10 m).
    def bumpy(t: float) -> float:
        return 100 + (4.0 if (t // 30) % 2 else 0.0)

    base = dict(km=5, minutes=20, altitude_profile=bumpy, include_total_ascent=False)
    (baro,) = parse(encode_activity([run(at(2026, 3, 1, 7), **base)])).activities
    (gps,) = parse(encode_activity([run(at(2026, 3, 1, 7), barometer=False, **base)])).activities
    assert (baro.altitude_source, gps.altitude_source) == ("barometric", "gps")
    assert baro.ascent_m == pytest.approx(4 * 20)
    assert gps.ascent_m == 0


def test_climb_filter_ignores_spikes_and_counts_whole_climbs() -> None:
    flat_with_spikes = [100.0] * 50
    flat_with_spikes[10] = 140.0  # a single bad sample
    flat_with_spikes[30] = 60.0
    assert climb_from_altitudes(flat_with_spikes, 3.0) == 0
    # Turning points held for a few samples, so the median filter keeps them whole.
    up_down_up = [100.0] * 5 + [float(x) for x in range(100, 151)] + [150.0] * 5
    up_down_up += [float(x) for x in range(150, 119, -1)] + [120.0] * 5
    up_down_up += [float(x) for x in range(120, 141)] + [140.0] * 5
    assert climb_from_altitudes(up_down_up, 3.0) == pytest.approx(50 + 20)
    noisy = [100 + (2.0 if i % 3 else -2.0) for i in range(200)]
    assert climb_from_altitudes(noisy, 10.0) == 0


@pytest.mark.parametrize("kind", ["settings", "monitoring", "workout", "weight"])
def test_non_activity_files_are_skipped(kind: str) -> None:
    result = parse(encode_file(kind))
    assert result.status == "skipped"
    assert "not an activity" in result.reason
    assert result.activities == []


def _good() -> bytes:
    return encode_activity([run(at(2026, 3, 1, 7), km=5, minutes=25, altitude_profile=hills())])


def test_zero_bytes() -> None:
    result = parse(b"")
    assert (result.status, result.reason) == ("failed", "empty file (0 bytes): not a FIT file")


def test_random_bytes() -> None:
    result = parse(os.urandom(4096))
    assert result.status == "failed"
    assert "not a FIT file" in result.reason


def test_bad_header_size() -> None:
    data = bytearray(_good())
    data[0] = 13
    result = parse(bytes(data))
    assert result.status == "failed"
    assert result.reason.startswith("bad FIT header")


def test_bad_header_crc() -> None:
    data = bytearray(_good())
    data[12] ^= 0x5A
    result = parse(bytes(data))
    assert result.status == "failed"
    assert "header" in result.reason and "CRC" in result.reason


def test_bad_file_crc() -> None:
    data = bytearray(_good())
    data[-1] ^= 0xFF
    result = parse(bytes(data))
    assert result.status == "failed"
    assert result.reason.startswith("CRC check failed: the file is damaged")
    assert result.activities == []


def test_flipped_byte_in_the_data_fails_the_crc() -> None:
    data = bytearray(_good())
    data[len(data) // 2] ^= 0x01
    result = parse(bytes(data))
    assert result.status == "failed"


def test_truncated_before_any_record_fails() -> None:
    result = parse(_good()[:60])
    assert result.status == "failed"
    assert "truncated" in result.reason


def test_battery_died_file_is_salvaged_from_its_records() -> None:
    # No session, lap or activity message: the file stops inside a record, about 60% through.
    full = _good()
    result = parse(full[: int(len(full) * 0.6)])
    assert result.status == "imported"
    assert result.salvaged is True
    assert result.reason.startswith("salvaged")
    (act,) = result.activities
    assert act.salvaged is True
    assert act.sport == "running"  # from the file's sport message
    assert act.id == "fit:3900000001:20260301T070000Z"
    assert 2000 < act.distance_m < 4000
    assert 600 < act.elapsed_time_s < 1200
    assert act.ascent_m is not None and act.altitude_source == "barometric"
    assert "total_distance" not in act.raw  # there was no session summary
    assert act.raw["salvaged_from_records"] > 500


def test_truncated_after_the_session_keeps_the_whole_session() -> None:
    full = _good()
    result = parse(full[:-20])  # loses the activity message and the CRC
    assert result.status == "imported"
    assert result.salvaged is True
    (act,) = result.activities
    assert act.distance_m == pytest.approx(5000)


def test_big_endian_file_reads_like_a_little_endian_one() -> None:
    spec = run(
        at(2026, 3, 1, 7), km=4, minutes=20, altitude_profile=hills(), include_total_ascent=False
    )
    (little,) = parse(encode_activity([spec])).activities
    (big,) = parse(encode_activity([spec], big_endian=True)).activities
    assert big.to_row() == little.to_row()


def test_garbage_after_the_records_is_salvaged() -> None:
    # A crashed watch can leave junk where the rest of the file should be.
    full = _good()
    result = parse(full[: int(len(full) * 0.6)] + b"\x03" * 64)
    assert result.status == "imported"
    assert result.salvaged is True
    assert result.reason.startswith("salvaged: the file is damaged part-way")
    assert 2000 < result.activities[0].distance_m < 4000


def test_undecodable_data_after_a_good_header_fails() -> None:
    result = parse(_good()[:14] + b"\x03" * 200)
    assert result.status == "failed"
    assert result.reason.startswith("cannot decode the FIT data")


def test_configured_zone_offset_is_taken_at_the_start_instant() -> None:
    # Paris moves to summer time at 01:00 UTC on 2026-03-29: a run at 01:30 UTC is at UTC+2.
    data = encode_activity([run(at(2026, 3, 29, 1, 30), km=5, minutes=30)], utc_offset_s=None)
    (act,) = parse(data).activities
    assert act.utc_offset_s == 2 * 3600
