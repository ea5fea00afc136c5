"""Configuration: TOML, validated on load, unknown keys refused by name.

Lookup order: ``--config``, ``$CALFSYNC_CONFIG``, ``/etc/calfsync/config.toml``, then
``$XDG_CONFIG_HOME/calfsync/config.toml``. With no file at all calfsync still runs on embedded
defaults: the database in ``$STATE_DIRECTORY`` (systemd) or the XDG state dir, the inbox
``~/calfsync/inbox`` and console pushes.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .rules import registry as rule_registry

# Rule parameters and their defaults, as each rule declares them beside its check
# (calfsync/rules/registry.py collects them). ``[rules.ID]`` may set any of these.
RULE_DEFAULTS: dict[str, dict[str, Any]] = rule_registry.defaults()
RULE_COMMON = {"enabled": bool, "cooldown_days": int}

CHANNEL_KEYS: dict[str, set[str]] = {
    "ntfy": {
        "url",
        "topic",
        "token",
        "token_file",
        "username",
        "password",
        "password_file",
        "click_url",
    },
    "gotify": {"url", "token", "token_file"},
    "pushover": {"url", "token", "token_file", "user", "user_file", "device"},
    "telegram": {"url", "token", "token_file", "chat_id"},
    "webhook": {"url", "secret", "secret_file", "headers"},
    "console": set(),
    "apprise": {"urls", "urls_file"},
}
CHANNEL_COMMON = {"type", "name", "enabled", "timeout_s"}

# section -> key -> (type or tuple of types, default)
SPEC: dict[str, dict[str, tuple[Any, Any]]] = {
    "database": {"path": (str, None), "busy_timeout_s": ((int, float), 15)},
    "fit": {"inbox": (list, None), "workers": (int, 0)},
    "strava": {
        "enabled": (bool, True),
        "client_id": ((str, int), None),
        "client_secret": (str, None),
        "client_secret_file": (str, None),
        "api_url": (str, "https://www.strava.com/api/v3"),
        "oauth_url": (str, "https://www.strava.com/oauth"),
        "redirect_uri": (str, "http://localhost/exchange_token"),
        "poll_minutes": (int, 30),
        "timeout_s": ((int, float), 30),
    },
    "athlete": {"timezone": (str, None), "max_heart_rate": (int, None)},
    "notify": {
        "quiet_hours": (str, "off"),
        "reply_topic": (str, None),
        "daily_cap": (int, 1),
        "push_window_hours": ((int, float), 72),
        "channels": (list, None),
    },
    "daemon": {
        "scan_seconds": (int, 60),
        "flush_seconds": (int, 60),
        "nightly_at": (str, "03:30"),
        "log_level": (str, "info"),
    },
    "rules": {},
}


@dataclass
class Config:
    """Validated configuration with every default filled in."""

    data: dict[str, Any]
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def section(self, name: str) -> dict[str, Any]:
        return self.data[name]

    @property
    def db_path(self) -> Path:
        return Path(self.data["database"]["path"]).expanduser()

    @property
    def busy_timeout_s(self) -> float:
        return float(self.data["database"].get("busy_timeout_s") or 15)

    @property
    def inboxes(self) -> list[Path]:
        return [Path(p).expanduser() for p in self.data["fit"]["inbox"]]

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.data["athlete"]["timezone"])

    def rule(self, rule_id: str) -> dict[str, Any]:
        return self.data["rules"][rule_id]

    @property
    def channels(self) -> list[dict[str, Any]]:
        return self.data["notify"]["channels"]


def _home(env: Mapping[str, str]) -> Path:
    return Path(env["HOME"]) if env.get("HOME") else Path.home()


def _xdg_dir(env: Mapping[str, str], var: str, fallback: str) -> Path:
    """An XDG base directory; relative values are invalid by the spec and ignored."""
    value = env.get(var, "")
    return Path(value) if os.path.isabs(value) else _home(env) / fallback


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$STATE_DIRECTORY`` (first entry, set by systemd's StateDirectory=), else
    ``$XDG_STATE_HOME/calfsync`` (``~/.local/state/calfsync``)."""
    env = os.environ if env is None else env
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    return _xdg_dir(env, "XDG_STATE_HOME", ".local/state") / "calfsync"


def default_inbox(env: Mapping[str, str] | None = None) -> Path:
    """The inbox used when ``[fit] inbox`` is not set: ``~/calfsync/inbox``."""
    return _home(os.environ if env is None else env) / "calfsync" / "inbox"


SYSTEM_CONFIG = Path("/etc/calfsync/config.toml")


def config_candidates(env: Mapping[str, str] | None = None) -> list[Path]:
    """Where calfsync looks for a config file when neither --config nor $CALFSYNC_CONFIG is
    given, in order: ``/etc/calfsync/config.toml``, then ``$XDG_CONFIG_HOME/calfsync``."""
    env = os.environ if env is None else env
    return [SYSTEM_CONFIG, _xdg_dir(env, "XDG_CONFIG_HOME", ".config") / "calfsync" / "config.toml"]


def find_config(explicit: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The config file to read, or None when there is none (embedded defaults)."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get("CALFSYNC_CONFIG"):
        return Path(env["CALFSYNC_CONFIG"]).expanduser()
    return next((p for p in config_candidates(env) if p.is_file()), None)


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
    if db_override:
        cfg.data["database"]["path"] = db_override
    return cfg


def validate(
    raw: Mapping[str, Any], path: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Check types and names, fill defaults. Error messages name the file and the key."""
    where = str(path) if path else "configuration"
    data: dict[str, Any] = {}
    for section in raw:
        if section not in SPEC:
            raise ConfigError(f"{where}: unknown section [{section}] (known: {', '.join(SPEC)})")
    for section, keys in SPEC.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        if section == "rules":
            data["rules"] = _validate_rules(given, where)
            continue
        out: dict[str, Any] = {}
        for key, value in given.items():
            if key not in keys:
                raise ConfigError(
                    f"{where}: unknown key '{key}' in [{section}] (known: {', '.join(keys)})"
                )
            typ = keys[key][0]
            if not _type_ok(value, typ):
                raise ConfigError(
                    f"{where}: [{section}] {key} must be {_type_name(typ)}, not {value!r}"
                )
            out[key] = value
        for key, (_typ, default) in keys.items():
            out.setdefault(key, copy.deepcopy(default))
        data[section] = out
    _fill_and_check(data, where, env)
    return Config(data=data, path=path)


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def _type_ok(value: Any, typ: Any) -> bool:
    types = typ if isinstance(typ, tuple) else (typ,)
    if isinstance(value, bool) and bool not in types:
        return False  # TOML true is not the number 1
    return isinstance(value, types)


def _type_name(typ: Any) -> str:
    types = typ if isinstance(typ, tuple) else (typ,)
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def _validate_rules(given: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    out = {rid: dict(defaults, cooldown_days=7) for rid, defaults in RULE_DEFAULTS.items()}
    for rid, params in given.items():
        if rid not in RULE_DEFAULTS:
            raise ConfigError(
                f"{where}: unknown rule [rules.{rid}] (known: {', '.join(RULE_DEFAULTS)})"
            )
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: [rules.{rid}] must be a table")
        for key, value in params.items():
            if key not in out[rid]:
                known = ", ".join(out[rid])
                raise ConfigError(f"{where}: unknown key '{key}' in [rules.{rid}] (known: {known})")
            expected = RULE_COMMON.get(key) or type(out[rid][key])
            ok = (
                isinstance(value, bool)
                if expected is bool
                else (isinstance(value, int | float) and not isinstance(value, bool))
            )
            if not ok:
                raise ConfigError(f"{where}: [rules.{rid}] {key} has the wrong type ({value!r})")
            if expected is not bool and value < 0:
                raise ConfigError(f"{where}: [rules.{rid}] {key} must not be negative")
            out[rid][key] = value
    return out


def _fill_and_check(data: dict[str, Any], where: str, env: Mapping[str, str] | None) -> None:
    env = os.environ if env is None else env
    if data["database"]["path"] is None:
        data["database"]["path"] = str(default_state_dir(env) / "calfsync.db")
    else:
        label = f"{where}: [database] path"
        data["database"]["path"] = _expand(data["database"]["path"], env, label)
    if data["fit"]["inbox"] is None:
        data["fit"]["inbox"] = [str(default_inbox(env))]
    if not all(isinstance(p, str) and p for p in data["fit"]["inbox"]):
        raise ConfigError(
            f'{where}: [fit] inbox must be a list of folder paths, e.g. inbox = ["/srv/garmin"]'
        )
    data["fit"]["inbox"] = [_expand(p, env, f"{where}: [fit] inbox") for p in data["fit"]["inbox"]]
    for key, value in data["strava"].items():
        if key.endswith("_file") and isinstance(value, str):
            data["strava"][key] = _expand(value, env, f"{where}: [strava] {key}")
    level = data["daemon"]["log_level"]
    if level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"{where}: [daemon] log_level must be debug, info, warning or error")
    tz = data["athlete"]["timezone"]
    if tz is None:
        data["athlete"]["timezone"] = _system_timezone(env)
    else:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"{where}: [athlete] timezone '{tz}' is not a known IANA zone "
                "(for example 'Europe/Paris')"
            ) from exc
    hr = data["athlete"]["max_heart_rate"]
    if hr is not None and not 100 <= hr <= 240:
        raise ConfigError(f"{where}: [athlete] max_heart_rate must be between 100 and 240 bpm")
    _check_quiet_hours(data["notify"]["quiet_hours"], where)
    if not 0 < data["database"]["busy_timeout_s"] <= 3600:
        raise ConfigError(f"{where}: [database] busy_timeout_s must be between 0 and 3600")
    if data["strava"]["poll_minutes"] < 1:
        raise ConfigError(f"{where}: [strava] poll_minutes must be at least 1")
    for key in ("scan_seconds", "flush_seconds"):
        if data["daemon"][key] < 1:
            raise ConfigError(f"{where}: [daemon] {key} must be at least 1")
    _check_hhmm(data["daemon"]["nightly_at"], f"{where}: [daemon] nightly_at")
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


def _check_channel(
    chan: Any, index: int, where: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    label = f"{where}: [[notify.channels]] #{index + 1}"
    if not isinstance(chan, dict) or "type" not in chan:
        raise ConfigError(f"{label} needs a type ({' | '.join(CHANNEL_KEYS)})")
    kind = chan["type"]
    if kind not in CHANNEL_KEYS:
        raise ConfigError(f"{label}: unknown type '{kind}' ({' | '.join(CHANNEL_KEYS)})")
    allowed = CHANNEL_KEYS[kind] | CHANNEL_COMMON
    for key in chan:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigError(f"{label}: unknown key '{key}' for type {kind} (known: {known})")
    out = dict(chan)
    if "name" in out and (not isinstance(out["name"], str) or not out["name"].strip()):
        raise ConfigError(f"{label}: name must be a non-empty text")
    for key, value in out.items():
        if key.endswith("_file") and isinstance(value, str):
            out[key] = _expand(value, env or os.environ, f"{label}: {key}")
    return out


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _expand(value: str, env: Mapping[str, str], label: str) -> str:
    """Expand ``~`` and ``$VAR`` / ``${VAR}`` in a path, so a unit can say
    ``token_file = "${CREDENTIALS_DIRECTORY}/ntfy_token"``. An unset variable is an error."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise ConfigError(
                f"{label}: ${name} is not set in the environment ('{value}'). "
                + (
                    "It is set by systemd's LoadCredential=; outside systemd write the path."
                    if name == "CREDENTIALS_DIRECTORY"
                    else "Set it or write the path out."
                )
            )
        return env[name]

    expanded = _VAR.sub(sub, value)
    if expanded == "~" or expanded.startswith("~/"):
        expanded = str(_home(env)) + expanded[1:]
    return expanded


def _check_hhmm(text: str, label: str) -> tuple[int, int]:
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
        if not (0 <= h < 24 and 0 <= m < 60):
            raise ValueError
    except ValueError as exc:
        raise ConfigError(f"{label}: '{text}' is not a time like 22:00") from exc
    return h, m


def _check_quiet_hours(value: str, where: str) -> None:
    if value == "off":
        return
    parts = value.split("-")
    if len(parts) != 2:
        raise ConfigError(f"{where}: [notify] quiet_hours must be 'HH:MM-HH:MM' or 'off'")
    for part in parts:
        _check_hhmm(part.strip(), f"{where}: [notify] quiet_hours")


def _system_timezone(env: Mapping[str, str] | None = None) -> str:
    tz = (os.environ if env is None else env).get("TZ")
    if tz:
        try:
            ZoneInfo(tz)
            return tz
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        link = os.readlink("/etc/localtime")
        marker = "zoneinfo/"
        if marker in link:
            name = link.split(marker, 1)[1]
            ZoneInfo(name)
            return name
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return "UTC"
