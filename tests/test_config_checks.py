"""The schema's checks: finite ranges, real booleans, secrets kept out of error messages, and
typed access to every section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calfsync.cli import main
from calfsync.config import CHANNELS, SECTIONS, Config, validate
from calfsync.config_check import schema_keys
from calfsync.errors import ConfigError
from calfsync.secrets import SECRET_KEYS

NAN = float("nan")
INF = float("inf")


def refused(raw: dict, message: str) -> str:
    with pytest.raises(ConfigError) as info:
        validate(raw)
    assert re.search(message, str(info.value)), str(info.value)
    return str(info.value)


def ntfy(**keys: object) -> dict:
    return {"notify": {"channels": [{"type": "ntfy", "topic": "t", **keys}]}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"database": {"busy_timeout_s": NAN}}, r"\[database\] busy_timeout_s must be a finite"),
        ({"database": {"busy_timeout_s": INF}}, r"\[database\] busy_timeout_s must be a finite"),
        ({"database": {"busy_timeout_s": 0}}, r"busy_timeout_s must be more than 0"),
        ({"database": {"busy_timeout_s": 1e9}}, r"busy_timeout_s must be at most 3600"),
        ({"strava": {"timeout_s": -INF}}, r"\[strava\] timeout_s must be a finite number"),
        ({"strava": {"poll_minutes": 2**62}}, r"\[strava\] poll_minutes must be at most 1440"),
        ({"notify": {"daily_cap": -1}}, r"\[notify\] daily_cap must be at least 0"),
        ({"notify": {"push_window_hours": NAN}}, r"push_window_hours must be a finite number"),
        ({"notify": {"push_window_hours": -1.5}}, r"push_window_hours must be at least 0"),
        ({"daemon": {"flush_seconds": 10**12}}, r"\[daemon\] flush_seconds must be at most"),
        ({"fit": {"workers": -2}}, r"\[fit\] workers must be at least 0"),
        ({"athlete": {"max_heart_rate": 260}}, r"max_heart_rate must be at most 240 bpm"),
        ({"athlete": {"max_heart_rate": 60}}, r"max_heart_rate must be at least 100 bpm"),
        ({"rules": {"S1": {"threshold": NAN}}}, r"\[rules.S1\] threshold must be a finite"),
        ({"rules": {"S1": {"threshold": INF}}}, r"\[rules.S1\] threshold must be a finite"),
        ({"rules": {"S1": {"threshold": -0.1}}}, r"\[rules.S1\] threshold must be at least 0"),
        ({"rules": {"W1": {"min_increase_km": 1e300}}}, r"\[rules.W1\] min_increase_km .* at most"),
        ({"rules": {"P1": {"cooldown_days": -1}}}, r"\[rules.P1\] cooldown_days must be at least"),
        ({"rules": {"RET1": {"gap_days": 14.5}}}, r"\[rules.RET1\] gap_days must be an integer"),
        (ntfy(timeout_s=NAN), r"#1 \(type ntfy\) timeout_s must be a finite number"),
        (ntfy(timeout_s=0), r"timeout_s must be more than 0"),
        (ntfy(timeout_s=-3), r"timeout_s must be more than 0"),
        (ntfy(timeout_s=-1), r"#1 \(type ntfy\) timeout_s must be more than 0"),
        (ntfy(timeout_s="abc"), r"timeout_s must be an integer or a number, not 'abc'"),
        ({"notify": {"push_window_hours": INF}}, r"push_window_hours must be a finite number"),
        ({"notify": {"push_window_hours": -INF}}, r"push_window_hours must be a finite number"),
        ({"notify": {"push_window_hours": 1e300}}, r"push_window_hours must be at most 8760 h"),
        ({"notify": {"push_window_hours": -1}}, r"push_window_hours must be at least 0"),
        ({"daemon": {"scan_seconds": 99999999999999999999}}, r"scan_seconds must be at most"),
        ({"daemon": {"scan_seconds": 0}}, r"\[daemon\] scan_seconds must be at least 1"),
        ({"database": {"path": ""}}, r"\[database\] path must name a path, not an empty text"),
    ],
)
def test_numbers_out_of_range_are_refused_naming_the_key(raw: dict, message: str) -> None:
    refused(raw, message)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"strava": {"enabled": "false"}},
            r"\[strava\] enabled must be true or false, not 'false'",
        ),
        ({"rules": {"A1": {"enabled": "false"}}}, r"\[rules.A1\] enabled must be true or false"),
        ({"rules": {"A1": {"enabled": 1}}}, r"\[rules.A1\] enabled must be true or false"),
        (ntfy(enabled="false"), r"#1 \(type ntfy\) enabled must be true or false, not 'false'"),
        (
            {"notify": {"channels": [{"type": "console", "enabled": "false"}]}},
            r"\(type console\) enabled must be true or false",
        ),
        ({"notify": {"daily_cap": True}}, r"daily_cap must be an integer"),
    ],
)
def test_booleans_are_real_booleans(raw: dict, message: str) -> None:
    refused(raw, message)


def test_channel_keys_are_typed() -> None:
    refused(ntfy(url=8080), r"url must be a string, not 8080")
    refused(ntfy(token_file=["a"]), r"token_file must be a string")
    refused({"notify": {"channels": [{"type": "webhook", "headers": {"X": 1}}]}}, "headers")
    refused({"notify": {"channels": [{"type": "apprise", "urls_file": ""}]}}, "urls_file")
    refused(ntfy(name=" "), r"name must be a non-empty text")
    refused(ntfy(tpoic="x"), r"unknown key 'tpoic' in \[\[notify.channels\]\] #1 \(type ntfy\)")


SECRET = "s3cr3t-value-never-shown"


@pytest.mark.parametrize(
    "raw",
    [
        {"strava": {"client_secret": [SECRET]}},
        ntfy(token=[SECRET]),
        ntfy(password={"p": SECRET}),
        {"notify": {"channels": [{"type": "pushover", "user": [SECRET]}]}},
        {"notify": {"channels": [{"type": "webhook", "secret": [SECRET]}]}},
        {"notify": {"channels": [{"type": "apprise", "urls": f"mailto://u:{SECRET}@x"}]}},
    ],
)
def test_a_secret_is_never_in_an_error_message(raw: dict) -> None:
    message = refused(raw, r"must be (a string|a list of strings)$")
    assert SECRET not in message


def test_a_secret_stays_out_of_the_cli_error_too(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[strava]\nclient_secret = ["{SECRET}"]\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["config", "validate", str(path)])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 2
    assert "[strava] client_secret must be a string" in err
    assert SECRET not in out + err


def test_every_secret_of_the_schema_is_redacted_by_config_show() -> None:
    tables = [*SECTIONS.values(), *CHANNELS.values()]
    secret = {k for t in tables for k, (_h, spec) in schema_keys(t).items() if spec.secret}
    assert secret and secret <= SECRET_KEYS, secret - SECRET_KEYS


def test_sections_are_typed_attributes_with_defaults() -> None:
    cfg: Config = validate({"athlete": {"timezone": "Europe/Paris", "max_heart_rate": 190}})
    assert cfg.database.busy_timeout_s == 15
    assert cfg.fit.workers == 0
    assert cfg.strava.poll_minutes == 30 and cfg.strava.enabled is True
    assert cfg.athlete.max_heart_rate == 190 and cfg.athlete.timezone == "Europe/Paris"
    assert cfg.notify.daily_cap == 1 and cfg.notify.channels == cfg.channels
    assert cfg.daemon.scan_seconds == 60 and cfg.daemon.log_level == "info"
    assert cfg.rule("S1")["threshold"] == 0.10 and cfg.rules["S1"]["cooldown_days"] == 7
    with pytest.raises(AttributeError):
        cfg.notify.daily_cap = 5  # type: ignore[misc]
    assert cfg.with_db_path("/tmp/x.db").db_path == Path("/tmp/x.db")


@pytest.mark.parametrize(
    "channel",
    [
        {"type": "ntfy", "topic": "t", "token_file": "{missing}"},
        {"type": "ntfy", "topic": "t", "password_file": "{missing}"},
        {"type": "gotify", "url": "http://127.0.0.1:1", "token_file": "{missing}"},
        {"type": "pushover", "user_file": "{missing}"},
        {"type": "webhook", "url": "http://127.0.0.1:1", "secret_file": "{missing}"},
        {"type": "apprise", "urls_file": "{folder}"},
    ],
)
def test_a_secret_file_that_is_missing_or_not_a_file_is_named_on_load(
    tmp_path: Path, channel: dict
) -> None:
    """A *_file that does not exist validated, and then every push died at run time, forever."""
    missing, folder = tmp_path / "no-such-token", tmp_path
    chan = {k: str(v).format(missing=missing, folder=folder) for k, v in channel.items()}
    (name,) = [k for k in chan if k.endswith("_file")]
    shown = folder if chan[name] == str(folder) else missing
    refused(
        {"notify": {"channels": [chan]}},
        rf"{name}: {re.escape(str(shown))} (does not exist|is not a regular file)",
    )


def test_a_missing_strava_secret_file_is_exit_2_naming_the_file(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "strava_client_secret"
    path = tmp_path / "c.toml"
    path.write_text(f'[strava]\nclient_id = "1"\nclient_secret_file = "{missing}"\n')
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(path), "config", "validate", str(path)])
    assert exit_info.value.code == 2
    assert f"client_secret_file: {missing} does not exist" in capsys.readouterr().err
    missing.write_text("s3cr3t\n")  # once it exists the same file loads
    assert validate({"strava": {"client_secret_file": str(missing)}}).strava.client_secret_file
