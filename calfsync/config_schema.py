"""The configuration's sections and channel tables, declared: one :class:`Table` class a section.

A key's type is its annotation; its default, finite range, allowed words, secrecy and one line
of doc sit in :func:`~calfsync.config_check.key` beside it. :mod:`calfsync.config` loads a file
against these and gives typed access (``cfg.notify.daily_cap``); ``tests/test_config_example.py``
holds ``config.example.toml`` to them. A new section is a class here, an entry in ``SECTIONS``
and an attribute of :class:`calfsync.config.Config`.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config_check import Table, key, schema_keys
from .errors import ConfigError


def _check_hhmm(text: str, label: str) -> tuple[int, int]:
    """``"22:00"`` -> (22, 0); anything else is a :class:`ConfigError` naming ``label``."""
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
        if not (0 <= h < 24 and 0 <= m < 60):
            raise ValueError
    except ValueError as exc:
        raise ConfigError(f"{label}: '{text}' is not a time like 22:00") from exc
    return h, m


def _check_quiet_hours(value: str, label: str) -> None:
    if value == "off":
        return
    parts = value.split("-")
    if len(parts) != 2:
        raise ConfigError(f"{label} must be 'HH:MM-HH:MM' or 'off'")
    for part in parts:
        _check_hhmm(part.strip(), label)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekly(value: str, label: str) -> tuple[int, int, int] | None:
    """``"mon 07:00"`` -> (weekday 0-6, hour, minute); ``"off"`` -> None; anything else is a
    :class:`ConfigError` naming ``label``. The one reader of ``[notify] digest``."""
    if value == "off":
        return None
    day, _, clock = value.strip().partition(" ")
    if day.lower() not in WEEKDAYS:
        days = "/".join(WEEKDAYS)
        raise ConfigError(f"{label} must be a weekday ({days}) and a time like 'mon 07:00', or off")
    return (WEEKDAYS.index(day.lower()), *_check_hhmm(clock.strip(), label))


def _check_zone(value: str, label: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{label} '{value}' is not a known IANA zone (for example 'Europe/Paris')"
        ) from exc


def _check_name(value: str, label: str) -> None:
    if not value.strip():
        raise ConfigError(f"{label} must be a non-empty text")


class DatabaseConfig(Table):
    """``[database]``: the SQLite file."""

    path: str = key(
        "The SQLite file. Default: $STATE_DIRECTORY/calfsync.db, else "
        "~/.local/state/calfsync/calfsync.db.",
        path=True,
    )
    busy_timeout_s: float = key(
        "Seconds a write waits for another process's write lock.", 15, min=0, above=True, max=3600
    )


class FitConfig(Table):
    """``[fit]``: where FIT files come from."""

    inbox: list[str] = key(
        "Folders scanned for .fit, .fit.gz and .zip. Default: ~/calfsync/inbox.", path=True
    )
    workers: int = key("Parser processes; 0 = one per CPU (1 in the daemon).", 0, min=0, max=64)
    settle_seconds: float = key("Seconds an inbox file must stay unchanged.", 5, min=0, max=3600)
    watch: bool = key(
        "Watch the inboxes (inotify) where the system can; the scan stays as a safety net.", True
    )


class StravaConfig(Table):
    """``[strava]``: the optional Strava API source."""

    enabled: bool = key("false pauses Strava and keeps the credentials.", True)
    client_id: str | int | None = key("Your API application's id.")
    client_secret: str | None = key("Your API application's secret.", secret=True)
    client_secret_file: str | None = key("A file holding the client secret.", path=True)
    api_url: str = key("Where the API lives.", "https://www.strava.com/api/v3")
    oauth_url: str = key("Where OAuth lives.", "https://www.strava.com/oauth")
    redirect_uri: str = key(
        "Where Strava sends you after you authorize.", "http://localhost/exchange_token"
    )
    poll_minutes: int = key("Minutes between two polls.", 30, min=1, max=1440)
    timeout_s: float = key("Seconds before a request is given up.", 30, min=0, above=True, max=600)


class AthleteConfig(Table):
    """``[athlete]``: who runs."""

    timezone: str = key(
        "IANA zone for activities without an offset. Default: the system's.", check=_check_zone
    )
    max_heart_rate: int | None = key("Maximum heart rate.", min=100, max=240, unit="bpm")


class NotifyConfig(Table):
    """``[notify]``: when and where pushes go."""

    quiet_hours: str = key(
        'Pushes due inside wait for its end: "HH:MM-HH:MM" or "off".',
        "off",
        check=_check_quiet_hours,
    )
    reply_topic: str | None = key("ntfy topic the phone's sore / fine buttons answer on.")
    daily_cap: int = key("Pushes per local day per channel; 0 = no cap.", 1, min=0, max=1000)
    push_window_hours: float = key(
        "Only runs started this recently may push.", 72, min=0, max=8760, unit="h"
    )
    digest: str = key(
        'The weekly digest: local weekday and time ("mon 07:00") or "off".',
        "mon 07:00",
        check=parse_weekly,
    )
    charts: bool = key("Attach a small weekly-distance chart where the channel takes images.", True)
    ask_shoe: bool = key(
        "After a fresh run with no shoe known, ask which shoes (at most one quiet push a day).",
        True,
    )
    channels: list[dict[str, Any]] = key("Push channels. Default: the console.")


class DaemonConfig(Table):
    """``[daemon]``: the schedule of ``calfsync run``."""

    scan_seconds: int = key("Seconds between two inbox scans.", 60, min=1, max=86400)
    flush_seconds: int = key("Seconds between two deliveries of due pushes.", 60, min=1, max=86400)
    nightly_at: str = key("Local time of the nightly window rules.", "03:30", check=_check_hhmm)
    log_level: str = key(
        "How much the log says.", "info", choices=("debug", "info", "warning", "error")
    )
    child_process: bool = key(
        "Parse FIT files, send pushes, poll Strava and intervals.icu and judge long stretches "
        "of history in a child process that lives for one step, so the idle daemon keeps none "
        "of their modules (6 to 25 MB less).",
        True,
    )


class IntervalsConfig(Table):
    """``[intervals]``: the optional intervals.icu source (a free personal API key)."""

    enabled: bool = key("false pauses intervals.icu and keeps the settings.", True)
    athlete_id: str | None = key(
        'Your athlete id, as in the address ("i12345"), or "0" for the key\'s own.'
    )
    api_key: str | None = key("Your personal API key (Settings, Developer).", secret=True)
    api_key_file: str | None = key("A file holding the API key.", path=True)
    api_url: str = key("Where the API lives.", "https://intervals.icu")
    poll_minutes: int = key("Minutes between two polls.", 30, min=1, max=1440)
    timeout_s: float = key("Seconds before a request is given up.", 30, min=0, above=True, max=600)


class ReportConfig(Table):
    """``[report]``: the static HTML report page."""

    path: str | None = key(
        "Where the daemon rewrites the report after a cycle that changed something. Default: none.",
        path=True,
    )
    weeks: int = key("Weeks the weekly chart shows.", 26, min=4, max=520)


class MqttConfig(Table):
    """``[mqtt]``: Home Assistant sensors over MQTT (needs ``pip install 'calfsync[mqtt]'``)."""

    host: str | None = key("The broker. Unset: MQTT is off.")
    port: int = key("The broker's port.", 1883, min=1, max=65535)
    username: str | None = key("User on the broker.")
    password: str | None = key("Password on the broker.", secret=True)
    password_file: str | None = key("A file holding the password.", path=True)
    tls: bool = key("Connect with TLS.", False)
    ca_file: str | None = key("CA certificate for TLS. Default: the system's.", path=True)
    client_id: str = key("MQTT client id.", "calfsync")
    topic_prefix: str = key("Where states and availability are published.", "calfsync")
    discovery_prefix: str = key("Home Assistant's discovery prefix.", "homeassistant")


SECTIONS: dict[str, type] = {
    "database": DatabaseConfig,
    "fit": FitConfig,
    "strava": StravaConfig,
    "athlete": AthleteConfig,
    "notify": NotifyConfig,
    "daemon": DaemonConfig,
    "intervals": IntervalsConfig,
    "report": ReportConfig,
    "mqtt": MqttConfig,
}


class ChannelKeys(Table):
    """Keys every ``[[notify.channels]]`` table takes. Channels stay dicts (their keys depend
    on the type); only the keys given are kept, so a channel module applies its own defaults."""

    type: str = key("ntfy | gotify | pushover | telegram | webhook | console | apprise")
    name: str = key(
        "Label in status and credential names. Default: the type, numbered when repeated.",
        check=_check_name,
    )
    enabled: bool = key("false keeps the channel configured but silent.", True)
    timeout_s: float = key("Seconds per request.", 10, min=0, above=True, max=600)


class TokenKeys(ChannelKeys):
    """The token of a service that takes one (ntfy, Gotify, Pushover, Telegram)."""

    token: str = key("The access, application or bot token.", secret=True)
    token_file: str = key("A file holding the token.", path=True)


class NtfyKeys(TokenKeys):
    """``type = "ntfy"``."""

    url: str = key("The server, without the topic. Default: https://ntfy.sh.")
    topic: str = key("The topic the phone subscribes to.")
    username: str = key("User for a protected server.")
    password: str = key("Password for a protected server.", secret=True)
    password_file: str = key("A file holding the password.", path=True)
    click_url: str = key("Link opened when the notification is tapped.")
    reply_token: str = key(
        "Token the sore / fine buttons send (write-only to reply_topic).", secret=True
    )
    reply_token_file: str = key("A file holding the reply token.", path=True)


class GotifyKeys(TokenKeys):
    """``type = "gotify"``."""

    url: str = key("The Gotify server.")


class PushoverKeys(TokenKeys):
    """``type = "pushover"``."""

    url: str = key("The API. Default: https://api.pushover.net.")
    user: str = key("Your user key.", secret=True)
    user_file: str = key("A file holding your user key.", path=True)
    device: str = key("Push to this one device only.")


class TelegramKeys(TokenKeys):
    """``type = "telegram"``."""

    url: str = key("The Bot API. Default: https://api.telegram.org.")
    chat_id: str | int = key("The chat the bot writes to.")


class WebhookKeys(ChannelKeys):
    """``type = "webhook"``."""

    url: str = key("Receives one JSON POST per alert.")
    secret: str = key("Signs the body.", secret=True)
    secret_file: str = key("A file holding the signing secret.", path=True)
    headers: dict[str, str] = key("Extra HTTP headers (values never shown).", secret=True)


class AppriseKeys(ChannelKeys):
    """``type = "apprise"`` (needs ``pip install 'calfsync[apprise]'``)."""

    urls: list[str] = key("Apprise URLs.", secret=True)
    urls_file: str = key("A file holding one Apprise URL a line.", path=True)


CHANNELS: dict[str, type] = {
    "ntfy": NtfyKeys,
    "gotify": GotifyKeys,
    "pushover": PushoverKeys,
    "telegram": TelegramKeys,
    "webhook": WebhookKeys,
    "console": ChannelKeys,
    "apprise": AppriseKeys,
}


def channel_secrets(kind: str) -> tuple[str, ...]:
    """The keys of channel type ``kind`` marked secret: resolved from ``*_file`` or systemd
    credentials before sending, and never shown."""
    schema = CHANNELS.get(kind, ChannelKeys)
    return tuple(name for name, (_typ, spec) in schema_keys(schema).items() if spec.secret)
