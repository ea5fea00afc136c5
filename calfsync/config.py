"""Configuration: one declarative schema, TOML validated against it, typed access.

Each section is a :class:`~calfsync.config_check.Table`: a key's type is its annotation, and
the rest (default, finite range, allowed words, secret or not, one line of doc) sits in
:func:`~calfsync.config_check.key` beside it. That one declaration checks the file, fills the
defaults, types ``cfg.notify.daily_cap``, and is what ``tests/test_config_example.py`` holds
``config.example.toml`` to. Channels stay dicts (their keys depend on their type) but every key
is declared and checked here; ``[rules.ID]`` is checked against the rules' own defaults.

Why this small schema and not pydantic v2 (measured on the build box: x86_64, 2 cores shared
with other jobs, so the minimum of 9 runs; a Raspberry Pi is slower by a like factor for all):
  - ``python -X importtime -c 'import calfsync.config'``, cumulative: 41 ms with this schema
    (32 ms for the hand-written SPEC it replaced); 128 ms with the same schema as pydantic 2.14
    models. CPU time of the import: 29 / 26 / 144 ms.
  - resident memory after loading config.example.toml (ru_maxrss): 14.0 MB (13.8 before; the
    bare interpreter 10.5) against 29.9 MB with pydantic. The daemon on FIT files alone never
    imports stravalib, so pydantic would be loaded for the configuration only.
  - stdlib ``@dataclass`` tables cost about 1.5 ms each to create (16 tables: about 24 ms at
    every start), hence the plain ``Table`` base.
  - code: the checking is 180 lines (config_check.py). pydantic would replace most of them, but
    its messages would need rewriting to name the file, keep this wording and keep secrets out.

Lookup order: ``--config``, ``$CALFSYNC_CONFIG``, ``/etc/calfsync/config.toml``, then
``$XDG_CONFIG_HOME/calfsync/config.toml``. With no file at all calfsync still runs on embedded
defaults: the database in ``$STATE_DIRECTORY`` (systemd) or the XDG state dir, the inbox
``~/calfsync/inbox`` and console pushes.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config_check import Key, Table, as_table, check_table, key, schema_keys
from .config_files import default_inbox, default_state_dir, find_config, system_timezone
from .errors import ConfigError
from .rules import registry as rule_registry

# Rule parameters and their defaults, as each rule declares them beside its check
# (calfsync/rules/registry.py collects them). ``[rules.ID]`` may set any of these.
RULE_DEFAULTS: dict[str, dict[str, Any]] = rule_registry.defaults()


# --------------------------------------------------------------------------- the schema


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
    channels: list[dict[str, Any]] = key("Push channels. Default: the console.")


class DaemonConfig(Table):
    """``[daemon]``: the schedule of ``calfsync run``."""

    scan_seconds: int = key("Seconds between two inbox scans.", 60, min=1, max=86400)
    flush_seconds: int = key("Seconds between two deliveries of due pushes.", 60, min=1, max=86400)
    nightly_at: str = key("Local time of the nightly window rules.", "03:30", check=_check_hhmm)
    log_level: str = key(
        "How much the log says.", "info", choices=("debug", "info", "warning", "error")
    )


SECTIONS: dict[str, type] = {
    "database": DatabaseConfig,
    "fit": FitConfig,
    "strava": StravaConfig,
    "athlete": AthleteConfig,
    "notify": NotifyConfig,
    "daemon": DaemonConfig,
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


RULE_PARAM_MAX = 100_000.0  # a finite bound for rule parameters the registry does not bound
RULE_COMMON: dict[str, tuple[Any, Key]] = {
    "enabled": (bool, Key("Whether the rule runs.", True)),
    "cooldown_days": (int, Key("Days before the rule may push again.", 7, min=0, max=3650)),
    "delivery": (
        str | dict[str, str],
        Key(
            '"now" (an interrupting push) or "digest" (the weekly digest), or a table of them by '
            "severity; unset: the rule's default for each severity (docs/rules.md).",
            check=lambda value, label: _check_delivery({"": value}, label),
        ),
    ),
}
DELIVERY_CLASSES = ("now", "digest")


def _check_delivery(
    classes: Mapping[str, Any], label: str, severities: tuple[str, ...] = ()
) -> None:
    """Every value ``now`` or ``digest``; with ``severities``, every key one of them."""
    for severity, value in classes.items():
        if value not in DELIVERY_CLASSES:
            raise ConfigError(f'{label} must be "now" or "digest", not {value!r}')
        if severities and severity not in severities:
            raise ConfigError(f"{label}: unknown severity '{severity}' ({', '.join(severities)})")


def rule_keys(rule_id: str) -> dict[str, tuple[Any, Key]]:
    """The keys ``[rules.ID]`` takes: its parameters, typed by their defaults, and the common
    keys (``enabled``, ``cooldown_days``, ``delivery``)."""
    params = RULE_DEFAULTS[rule_id]
    out = dict(RULE_COMMON)
    for name, default in params.items():
        if name in RULE_COMMON:
            hint, spec = RULE_COMMON[name]
            out[name] = (hint, dataclasses.replace(spec, default=default))
        else:
            out[name] = (
                type(default),
                Key(f"{rule_id} {name}", default, max=RULE_PARAM_MAX, min=0),
            )
    return out


# --------------------------------------------------------------------------- the configuration


@dataclass(frozen=True)
class Config:
    """Validated configuration with every default filled in, one attribute per section."""

    database: DatabaseConfig
    fit: FitConfig
    strava: StravaConfig
    athlete: AthleteConfig
    notify: NotifyConfig
    daemon: DaemonConfig
    rules: dict[str, dict[str, Any]]
    path: Path | None = None

    @property
    def db_path(self) -> Path:
        return Path(self.database.path).expanduser()

    @property
    def busy_timeout_s(self) -> float:
        return float(self.database.busy_timeout_s)

    @property
    def inboxes(self) -> list[Path]:
        return [Path(p).expanduser() for p in self.fit.inbox]

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.athlete.timezone)

    @property
    def channels(self) -> list[dict[str, Any]]:
        return self.notify.channels

    def rule(self, rule_id: str) -> dict[str, Any]:
        """The parameters of one rule (``p["threshold"]``), defaults filled in."""
        return self.rules[rule_id]

    def with_db_path(self, path: str | Path) -> Config:
        """The same configuration on another database file (``--db``, a reload keeping it)."""
        return dataclasses.replace(self, database=self.database.replace(path=str(path)))

    def as_dict(self) -> dict[str, Any]:
        """Every section as plain TOML-shaped data, for ``config show``."""
        out = {name: getattr(self, name).as_dict() for name in SECTIONS}
        return {**out, "rules": {rid: dict(p) for rid, p in self.rules.items()}}


# --------------------------------------------------------------------------- loading


def load_config(
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    db_override: str | None = None,
) -> Config:
    """Find, read and validate the configuration. Raises :class:`ConfigError` (exit 2)."""
    path = find_config(explicit, env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {path} does not exist") from exc
        except PermissionError as exc:
            raise ConfigError(
                f"cannot read config file {path}: permission denied. Run calfsync as its own "
                "user, join the calfsync group (the file is group-readable), or pass --config."
            ) from exc
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    cfg = validate(raw, path, env)
    return cfg.with_db_path(db_override) if db_override else cfg


# --------------------------------------------------------------------------- checking


def validate(
    raw: Mapping[str, Any], path: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Check names, types and ranges against the schema, fill defaults. Error messages name the
    file and the key, never a secret's value."""
    env = os.environ if env is None else env
    where = str(path) if path else "configuration"
    known = [*SECTIONS, "rules"]
    for name in raw:
        if name not in known:
            raise ConfigError(f"{where}: unknown section [{name}] (known: {', '.join(known)})")
    sections: dict[str, Any] = {}
    for name, schema in SECTIONS.items():
        given = as_table(raw.get(name, {}), f"{where}: [{name}]")
        values = check_table(given, schema_keys(schema), where, f"[{name}]", env)
        sections[name] = {
            k: values.get(k, spec.default) for k, (_t, spec) in schema_keys(schema).items()
        }
    _fill_computed(sections, where, env)
    built = {name: SECTIONS[name](**values) for name, values in sections.items()}
    return Config(**built, rules=_validate_rules(raw.get("rules", {}), where, env), path=path)


def _validate_rules(given: Any, where: str, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    given = as_table(given, f"{where}: [rules]")
    out = {
        rid: {k: spec.default for k, (_t, spec) in rule_keys(rid).items()} for rid in RULE_DEFAULTS
    }
    for rid, params in given.items():
        if rid not in RULE_DEFAULTS:
            raise ConfigError(
                f"{where}: unknown rule [rules.{rid}] (known: {', '.join(RULE_DEFAULTS)})"
            )
        table = f"[rules.{rid}]"
        out[rid].update(
            check_table(as_table(params, f"{where}: {table}"), rule_keys(rid), where, table, env)
        )
        if isinstance(out[rid]["delivery"], dict):
            severities = tuple(s.name for s in rule_registry.RULES[rid].severities)
            _check_delivery(out[rid]["delivery"], f"{where}: {table} delivery", severities)
    return out


def _fill_computed(data: dict[str, dict[str, Any]], where: str, env: Mapping[str, str]) -> None:
    """The defaults that depend on the machine, and the channels."""
    if data["database"]["path"] is None:
        data["database"]["path"] = str(default_state_dir(env) / "calfsync.db")
    if data["fit"]["inbox"] is None:
        data["fit"]["inbox"] = [str(default_inbox(env))]
    if data["athlete"]["timezone"] is None:
        data["athlete"]["timezone"] = system_timezone(env)
    channels = data["notify"]["channels"]
    if channels is None:
        data["notify"]["channels"] = [{"type": "console", "name": "console"}]
    else:
        checked = [_check_channel(c, i, where, env) for i, c in enumerate(channels)]
        _name_channels(checked, where)
        data["notify"]["channels"] = checked


def _name_channels(channels: list[dict[str, Any]], where: str) -> None:
    """Unnamed channels are named after their type (``ntfy``), numbered only when several
    channels share a type (``ntfy-2``). Names key the outbox and credentials: they must differ."""
    counts: dict[str, int] = {}
    for chan in channels:
        counts[chan["type"]] = counts.get(chan["type"], 0) + 1
    seen: dict[str, int] = {}
    for chan in channels:
        kind = chan["type"]
        seen[kind] = seen.get(kind, 0) + 1
        if "name" not in chan:
            chan["name"] = kind if counts[kind] == 1 or seen[kind] == 1 else f"{kind}-{seen[kind]}"
    names = [c["name"] for c in channels]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(
                f"{where}: two [[notify.channels]] are named '{name}': give each a different name"
            )


def _check_channel(chan: Any, index: int, where: str, env: Mapping[str, str]) -> dict[str, Any]:
    table = f"[[notify.channels]] #{index + 1}"
    kinds = " | ".join(CHANNELS)
    if not isinstance(chan, dict) or "type" not in chan:
        raise ConfigError(f"{where}: {table} needs a type ({kinds})")
    kind = chan["type"]
    if kind not in CHANNELS:
        raise ConfigError(f"{where}: {table}: unknown type '{kind}' ({kinds})")
    return check_table(chan, schema_keys(CHANNELS[kind]), where, f"{table} (type {kind})", env)
