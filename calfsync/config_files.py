"""Where calfsync's files are: the config file lookup, the XDG and systemd directories, and
``~`` / ``$VAR`` expansion in configured paths."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError


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


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand_path(value: str, env: Mapping[str, str], label: str) -> str:
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


def system_timezone(env: Mapping[str, str]) -> str:
    tz = env.get("TZ")
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
