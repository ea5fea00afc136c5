"""A small declarative schema for TOML tables: :class:`Key` says what a key accepts, a
:class:`Table` subclass lists its keys as annotated attributes, :func:`check_table` checks a
parsed table against them. ``config.py`` declares calfsync's schema with these.

Plain classes rather than ``@dataclass``: creating a frozen dataclass costs about 1.5 ms at
import (its methods are generated with ``exec``), 16 of them 24 ms on the build box; a
:class:`Table` subclass costs microseconds.
"""

from __future__ import annotations

import math
import stat
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from .config_files import expand_path
from .errors import ConfigError


@dataclass(frozen=True)
class Key:
    """What one config key accepts beyond its type, and its one line of documentation.

    ``default`` None means unset, or computed at load time when ``doc`` says so (paths, zone).
    Numbers are refused when not finite or outside ``min``..``max`` (``min`` itself excluded
    when ``above``). ``secret`` values never appear in an error message. ``path`` strings get
    ``~`` and ``$VAR`` expanded. ``check(value, label)`` checks a string's format.
    """

    doc: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    above: bool = False
    unit: str = ""
    choices: tuple[str, ...] = ()
    secret: bool = False
    path: bool = False
    check: Callable[[str, str], Any] | None = None


def key(doc: str, default: Any = None, **spec: Any) -> Any:
    """Declare a key of a :class:`Table`: ``daily_cap: int = key("...", 1, min=0)``."""
    return Key(doc, default, **spec)


class Table:
    """A checked, read-only table: one attribute per declared key, all of them set."""

    def __init__(self, **values: Any) -> None:
        for name in schema_keys(type(self)):
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only: use replace()")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def as_dict(self) -> dict[str, Any]:
        """The keys and values, in declaration order."""
        return dict(vars(self))

    def replace(self, **changes: Any) -> Any:
        """A copy with some keys changed."""
        return type(self)(**{**vars(self), **changes})


@cache
def schema_keys(schema: type) -> dict[str, tuple[Any, Key]]:
    """A table class's keys in declaration order (base classes first): name -> (type, Key)."""
    hints = get_type_hints(schema)
    return {
        name: (hints[name], spec)
        for cls in reversed(schema.__mro__)
        for name, spec in vars(cls).items()
        if isinstance(spec, Key)
    }


def as_table(value: Any, label: str) -> Mapping[str, Any]:
    """``value`` when it is a TOML table, else a :class:`ConfigError` naming ``label``."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{label} must be a table")
    return value


def check_table(
    given: Mapping[str, Any],
    keys: Mapping[str, tuple[Any, Key]],
    where: str,
    table: str,
    env: Mapping[str, str],
) -> dict[str, Any]:
    """The keys given in one table, checked against ``keys``; unknown keys refused by name.
    Messages read ``FILE: [table] key must be ...`` and never show a secret's value."""
    out: dict[str, Any] = {}
    for name, value in given.items():
        if name not in keys:
            known = ", ".join(keys)
            raise ConfigError(f"{where}: unknown key '{name}' in {table} (known: {known})")
        hint, spec = keys[name]
        label = f"{where}: {table} {name}"
        out[name] = _check_value(value, hint, spec, label, env)
        if spec.path and name.endswith("_file"):
            _check_secret_file(out[name], label)
    return out


def _check_secret_file(path_text: str, label: str) -> None:
    """A ``*_file`` must name an existing regular file: one that is missing (a typo, a
    credential not passed) would otherwise make every push or poll fail at run time, forever.

    Only existence and type are checked here, not whether this user may read it: the README's
    layout has the file 0600 for the calfsync user while operators in its group run commands;
    reading is checked where the secret is read (``secrets.resolve_secret`` names the file).
    """
    path = Path(path_text).expanduser()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(
            f"{label}: {path} does not exist. Create it (one line, mode 0600) or fix the path"
        ) from None
    except PermissionError:
        return  # a folder this user may not list, e.g. another user's credentials directory
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(mode):
        raise ConfigError(
            f"{label}: {path} is not a regular file: point it at the file holding the value"
        )


def _check_value(value: Any, hint: Any, spec: Key, label: str, env: Mapping[str, str]) -> Any:
    if not _matches(value, hint):
        shown = "" if spec.secret else f", not {value!r}"
        raise ConfigError(f"{label} must be {_type_name(hint)}{shown}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, spec, label)
    if spec.choices and value not in spec.choices:
        words = ", ".join(spec.choices[:-1]) + " or " + spec.choices[-1]
        raise ConfigError(f"{label} must be {words}")
    if spec.check is not None and isinstance(value, str):
        spec.check(value, label)
    if not spec.path:
        return value
    if value == "" or (isinstance(value, list) and not all(value)):
        raise ConfigError(f"{label} must name a path, not an empty text")
    if isinstance(value, list):
        return [expand_path(v, env, label) for v in value]
    return expand_path(value, env, label)


def _check_number(value: float, spec: Key, label: str) -> None:
    unit = f" {spec.unit}" if spec.unit else ""
    if not math.isfinite(value):
        raise ConfigError(f"{label} must be a finite number")
    if spec.min is not None and (value <= spec.min if spec.above else value < spec.min):
        side = "more than" if spec.above else "at least"
        raise ConfigError(f"{label} must be {side} {spec.min:g}{unit}")
    if spec.max is not None and value > spec.max:
        raise ConfigError(f"{label} must be at most {spec.max:g}{unit}")


def _matches(value: Any, hint: Any) -> bool:
    """Whether a TOML value has the annotated type (TOML true is not the number 1)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_matches(value, arg) for arg in get_args(hint))
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if origin is dict:
        _k, item = get_args(hint)
        return isinstance(value, dict) and all(_matches(v, item) for v in value.values())
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return hint is Any or isinstance(value, hint)


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "an integer or a number",
    bool: "true or false",
}


def _type_name(hint: Any) -> str:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint) if a is not type(None))
    if origin is list:
        item = get_args(hint)[0]
        return "a list of tables" if get_origin(item) is dict else "a list of strings"
    if origin is dict:
        return "a table"
    return _TYPE_NAMES.get(hint, getattr(hint, "__name__", str(hint)))
