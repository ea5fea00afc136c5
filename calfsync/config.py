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
from zoneinfo import ZoneInfo

from .config_check import Key, as_table, check_table, schema_keys
from .config_files import default_inbox, default_state_dir, find_config, system_timezone
from .config_schema import CHANNELS as CHANNELS
from .config_schema import SECTIONS as SECTIONS
from .config_schema import (
    AthleteConfig,
    DaemonConfig,
    DatabaseConfig,
    FitConfig,
    IntervalsConfig,
    MqttConfig,
    NotifyConfig,
    ReportConfig,
    StravaConfig,
)
from .config_schema import ChannelKeys as ChannelKeys
from .config_schema import channel_secrets as channel_secrets
from .config_schema import parse_weekly as parse_weekly
from .errors import ConfigError
from .rules import registry as rule_registry

# Rule parameters and their defaults, as each rule declares them beside its check
# (calfsync/rules/registry.py collects them). ``[rules.ID]`` may set any of these.
RULE_DEFAULTS: dict[str, dict[str, Any]] = rule_registry.defaults()


# --------------------------------------------------------------------------- the schema


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
    intervals: IntervalsConfig
    report: ReportConfig
    mqtt: MqttConfig
    rules: dict[str, dict[str, Any]]
    path: Path | None = None
    # Set by the daemon (not a key): parse and push in a child process ([daemon] child_process).
    children: bool = False

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
