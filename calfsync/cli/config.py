"""``calfsync config validate`` and ``calfsync config show`` (secrets redacted)."""

from __future__ import annotations

import json
from typing import Any

import click

from ..config import SECTIONS, Config, load_config
from ..secrets import redact_mapping


def _load(obj: Any, file: str | None) -> Config:
    if file is None:
        return obj.config
    return load_config(file, db_override=obj.db_path)


@click.group("config")
def config_group() -> None:
    """Validate or show the configuration."""


@config_group.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_obj
def validate_cmd(obj: Any, file: str | None) -> None:
    """Check the configuration (FILE, or the one calfsync would use). Exit 2 when invalid."""
    cfg = _load(obj, file)
    source = str(cfg.path) if cfg.path else "no config file: built-in defaults"
    channels = ", ".join(f"{c['name']} ({c['type']})" for c in cfg.channels)
    click.echo(f"configuration OK: {source}")
    click.echo(f"  database: {cfg.db_path}")
    click.echo(f"  inboxes:  {', '.join(str(p) for p in cfg.inboxes)}")
    click.echo(f"  channels: {channels}")


@config_group.command("show")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="JSON instead of TOML.")
@click.pass_obj
def show_cmd(obj: Any, file: str | None, as_json: bool) -> None:
    """Print the effective configuration, defaults filled in and secrets redacted."""
    cfg = _load(obj, file)
    data = redact_mapping(cfg.as_dict())
    if as_json:
        click.echo(
            json.dumps({"path": str(cfg.path) if cfg.path else None, "config": data}, indent=2)
        )
        return
    source = str(cfg.path) if cfg.path else "no config file (built-in defaults)"
    click.echo(f"# effective configuration from {source}; secrets shown as ***")
    click.echo(dump_toml(data), nl=False)


# --------------------------------------------------------------------------- a small TOML writer


def dump_toml(data: dict[str, Any]) -> str:
    """Write the configuration as TOML (the subset calfsync uses). Unset keys become comments."""
    lines: list[str] = []
    for section in [*SECTIONS, *(s for s in data if s not in SECTIONS)]:
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        if section == "rules":
            for rule_id, params in table.items():
                lines += ["", f"[rules.{rule_id}]", *_pairs(params)]
            continue
        scalars = {k: v for k, v in table.items() if not _is_table_list(v)}
        lines += ["", f"[{section}]", *_pairs(scalars)]
        for key, value in table.items():
            if _is_table_list(value):
                for item in value:
                    lines += ["", f"[[{section}.{key}]]", *_pairs(item)]
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _pairs(table: dict[str, Any]) -> list[str]:
    out = []
    for key, value in table.items():
        if value is None:
            out.append(f"# {_key(key)} = (not set)")
        else:
            out.append(f"{_key(key)} = {_value(value)}")
    return out


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items() if v is not None)
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
