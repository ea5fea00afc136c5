"""Pure parts of the Strava source: reply -> Activity, sport types, rate headers, URLs, config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakes.strava_server import load_examples

from calfsync.config import validate
from calfsync.sources.strava.client import route_url
from calfsync.sources.strava.errors import StravaBudgetExhausted, StravaMalformed
from calfsync.sources.strava.mapping import gear_row, sport_of, to_activity
from calfsync.sources.strava.rate import RateInfo, next_quarter_hour, next_utc_midnight
from calfsync.sources.strava.tokens import configured, credentials


def summary(**fields):
    raw = dict(load_examples()["summary_activity"])
    raw.update(trainer=False, manual=False)
    raw.update(fields)
    return raw


def test_the_published_example_maps_field_by_field():
    raw = load_examples()["summary_activity"]  # a MountainBikeRide on a trainer
    act = to_activity(raw)
    assert act.id == f"strava:{raw['id']}" and act.strava_id == raw["id"]
    assert act.source == "strava"
    assert (act.sport, act.sub_sport) == ("cycling", "indoor_cycling")
    assert act.start_time == datetime(2018, 5, 2, 12, 15, 9, tzinfo=UTC)
    assert act.utc_offset_s == -7 * 3600  # start_date_local - start_date
    assert act.local_date == "2018-05-02"
    assert act.distance_m == 24931.4 and act.moving_time_s == 4500
    assert act.ascent_m is None  # indoor: unknown, not zero
    assert (act.gear_id, act.name, act.external_id) == (
        "b12345678987654321",
        "Happy Friday",
        "garmin_push_12345678987654321",
    )
    assert act.avg_heart_rate_bpm == 140.3 and act.device == "Garmin Edge 1030"
    assert act.raw == raw
    row = act.to_row()
    assert row["strava_raw"] and row["strava_id"] == raw["id"]


def test_the_detailed_example_maps_too():
    raw = load_examples()["detailed_activity"]
    act = to_activity(raw)
    assert act.workout_type == 10 and act.ascent_m == 516
    assert act.utc_offset_s == -8 * 3600 and act.altitude_source == "strava"


@pytest.mark.parametrize(
    ("fields", "sport", "sub_sport", "counts", "climb_known"),
    [
        ({"sport_type": "Run", "type": "Run"}, "running", "generic", True, True),
        ({"sport_type": "TrailRun", "type": "Run"}, "running", "trail", True, True),
        ({"sport_type": "VirtualRun", "type": "VirtualRun"}, "running", "virtual_activity",
         True, False),
        ({"sport_type": "Run", "type": "Run", "trainer": True}, "running", "treadmill", True,
         False),
        ({"sport_type": "Walk", "type": "Walk"}, "walking", "generic", False, True),
        ({"sport_type": "Hike", "type": "Hike"}, "hiking", "generic", False, True),
        ({"sport_type": "Ride", "type": "Ride"}, "cycling", "generic", False, True),
        ({"sport_type": "Swim", "type": "Swim"}, "swimming", "generic", False, True),
        ({"sport_type": "Padel", "type": "Workout"}, "racket", "padel", False, True),
        # a sport type Strava adds later lands in the family of its broad ``type``
        ({"sport_type": "UltraRun", "type": "Run"}, "running", "generic", True, True),
        ({"sport_type": "Hoverboard", "type": None}, "hoverboard", None, False, True),
    ],
)  # fmt: skip
def test_sport_types_map_to_fit_sports(fields, sport, sub_sport, counts, climb_known):
    act = to_activity(summary(total_elevation_gain=50.0, **fields))
    assert (act.sport, act.sub_sport) == (sport, sub_sport)
    assert act.is_run is counts
    assert (act.ascent_m is not None) is climb_known


def test_manual_entries_have_no_measured_climb_and_keep_their_workout_type():
    act = to_activity(summary(sport_type="Run", type="Run", manual=True, workout_type=2))
    assert act.ascent_m is None and act.workout_type == 2


def test_a_reply_without_id_or_start_is_malformed():
    with pytest.raises(StravaMalformed):
        to_activity({"name": "x"})
    with pytest.raises(StravaMalformed):
        to_activity(summary(start_date="yesterday"))


def test_sport_of_prefers_sport_type_over_type():
    assert sport_of({"sport_type": "TrailRun", "type": "Run"}) == ("running", "trail")
    assert sport_of({"type": "Walk"}) == ("walking", "generic")


def test_gear_rows_never_carry_user_columns():
    detailed = load_examples()["gear"]
    row = gear_row(dict(detailed, name="Bike"), "2026-01-01T00:00:00Z")
    assert row["brand"] == "BMC" and row["distance_m"] == 388206 and row["raw"]
    assert not {"drop_mm", "minimalist", "retire_at_m"} & set(row)
    summary_row = gear_row({"id": "g1", "name": "A", "distance": 5.0, "resource_state": 2}, None)
    assert "fetched_at" not in summary_row and "raw" not in summary_row


def test_urls_are_routed_to_the_configured_hosts():
    api, oauth = "http://127.0.0.1:9/api/v3", "http://127.0.0.1:9/oauth"
    assert route_url("https://www.strava.com/api/v3/athlete", api, oauth) == api + "/athlete"
    assert route_url("https://www.strava.com/oauth/token", api, oauth) == oauth + "/token"
    assert (
        route_url("https://www.strava.com/oauth/authorize?client_id=1", api, oauth)
        == oauth + "/authorize?client_id=1"
    )
    assert route_url("https://example.org/x", api, oauth) == "https://example.org/x"


def test_rate_windows():
    t = datetime(2026, 5, 1, 10, 14, 59, tzinfo=UTC)
    assert next_quarter_hour(t) == datetime(2026, 5, 1, 10, 15, tzinfo=UTC)
    assert next_quarter_hour(t.replace(minute=15, second=0)) == t.replace(minute=30, second=0)
    assert next_utc_midnight(t) == datetime(2026, 5, 2, tzinfo=UTC)


def test_rate_headers_budget_and_carry_over():
    t = datetime(2026, 5, 1, 10, 1, tzinfo=UTC)
    rate = RateInfo()
    assert not rate.update({"Content-Type": "application/json"}, t)
    assert rate.update(
        {
            "X-RateLimit-Limit": "200,2000",
            "X-RateLimit-Usage": "10,100",
            "x-readratelimit-limit": "100,1000",
            "x-readratelimit-usage": "94,500",
        },
        t,
    )
    assert rate.read_usage == (94, 500) and rate.limit == (200, 2000)
    rate.check_budget(t)  # the 95th read is the last one under 100 - 5
    with pytest.raises(StravaBudgetExhausted) as stop:
        rate.check_budget(t, reads=2)
    assert stop.value.resume_at == datetime(2026, 5, 1, 10, 15, tzinfo=UTC) and not stop.value.daily
    # the next window starts again at zero; the day keeps its count
    later = rate.current(datetime(2026, 5, 1, 10, 16, tzinfo=UTC))
    assert later.read_usage == (0, 500)
    assert RateInfo.from_json(rate.to_json()) == rate
    rate.read_usage = (0, 981)
    with pytest.raises(StravaBudgetExhausted) as stop:
        rate.check_budget(t)
    assert stop.value.daily and stop.value.resume_at == datetime(2026, 5, 2, tzinfo=UTC)
    assert rate.current(datetime(2026, 5, 2, 0, 1, tzinfo=UTC)).read_usage is None


def test_configured_reads_the_secret_from_a_file_or_systemd_credentials(tmp_path):
    base = {"client_id": "4242"}
    assert not configured(validate({"strava": base}), env={})
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-value\n")
    cfg = validate({"strava": {**base, "client_secret_file": str(secret_file)}})
    assert configured(cfg, env={})
    assert credentials(cfg, env={}) == (4242, "s3cr3t-value")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "strava_client_secret").write_text("from-systemd\n")
    cfg = validate({"strava": base})
    assert credentials(cfg, env={"CREDENTIALS_DIRECTORY": str(creds)}) == (
        4242,
        "from-systemd",
    )
    (creds / "strava_client_secret").unlink()
    (creds / "calfsync_strava_client_secret").write_text("from-a-credentials-folder\n")
    assert credentials(cfg, env={"CREDENTIALS_DIRECTORY": str(creds)}) == (
        4242,
        "from-a-credentials-folder",
    )
    off = validate({"strava": {**base, "client_secret": "x1234", "enabled": False}})
    assert not configured(off, env={})


@pytest.mark.parametrize(
    "local",
    [
        "2026-03-01T15:40:00Z",  # as Strava writes it: local digits with a 'Z'
        "2026-03-01T15:40:00.000Z",
        "2026-03-01T15:40:00",
        "2026-03-01T15:40:00-08:00",  # the digits are still the local time
    ],
)
def test_start_date_local_is_read_as_wall_clock_time(local):
    act = to_activity(summary(start_date="2026-03-01T23:40:00Z", start_date_local=local))
    assert act.utc_offset_s == -8 * 3600 and act.local_date == "2026-03-01"


def test_without_start_date_local_the_offset_comes_from_utc_offset_then_timezone():
    base = summary(start_date="2026-07-01T05:30:00Z", start_date_local=None)
    assert to_activity(dict(base, utc_offset=-25200.0)).utc_offset_s == -7 * 3600
    zone = dict(base, utc_offset=None, timezone="(GMT-08:00) America/Los_Angeles")
    act = to_activity(zone)
    assert act.utc_offset_s == -7 * 3600 and act.local_date == "2026-06-30"  # PDT that day
    for bogus in ("(GMT+00:00) Nowhere/Land", "America", None):
        assert to_activity(dict(base, utc_offset=None, timezone=bogus)).utc_offset_s == 0


def test_with_no_local_time_at_all_the_configured_zone_dates_the_run():
    from zoneinfo import ZoneInfo

    bare = summary(
        start_date="2026-07-01T05:30:00Z", start_date_local=None, utc_offset=None, timezone=None
    )
    act = to_activity(bare, ZoneInfo("America/Los_Angeles"))
    assert act.utc_offset_s == -7 * 3600 and act.local_date == "2026-06-30"
    assert to_activity(bare).utc_offset_s == 0  # no zone given: UTC
