"""config.example.toml against the schema: every section, key, channel type and rule is in it
(commented-out ``# key = value`` lines count), every value shown is the default, every key line
carries a comment, and the file validates."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calfsync.config import CHANNELS, RULE_DEFAULTS, SECTIONS, ChannelKeys, rule_keys, validate
from calfsync.config_check import schema_keys

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
HEADER = re.compile(r"^#?\s*(\[\[?)([\w.]+)\]\]?\s*(#.*)?$")
KEY_LINE = re.compile(r"^#?\s*([A-Za-z_]\w*)\s*=\s*(.+)$")


@dataclass
class Block:
    """One table of the example, active or commented out: its key lines, in order."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    commented: set[str] = field(default_factory=set)  # keys with a comment beside or above


def _value(text: str) -> tuple[Any, bool] | None:
    """A key line's TOML value and whether a trailing comment follows it, or None."""
    for cut in [*(m.start() for m in re.finditer("#", text)), len(text)]:
        try:
            value = tomllib.loads(f"v = {text[:cut]}")["v"]
        except tomllib.TOMLDecodeError:
            continue
        return value, text[cut:].lstrip().startswith("#")
    return None


def parse_example(text: str) -> list[Block]:
    """Every table of the file, active or commented out, with its key lines."""
    blocks: list[Block] = []
    prose_above = False
    for line in text.splitlines():
        header = HEADER.match(line)
        match = KEY_LINE.match(line)
        parsed = _value(match.group(2)) if match else None
        if header:
            blocks.append(Block(header.group(2)))
            prose_above = False
        elif match and parsed is not None and blocks:
            name, (value, trailing) = match.group(1), parsed
            blocks[-1].values[name] = value
            if trailing or prose_above:
                blocks[-1].commented.add(name)
            prose_above = False
        else:
            prose_above = line.startswith("#") and len(line.strip("# ")) > 0
    return blocks


BLOCKS = parse_example(EXAMPLE.read_text(encoding="utf-8"))


def blocks_named(name: str) -> list[Block]:
    return [b for b in BLOCKS if b.name == name]


def schema_tables() -> list[tuple[str, list[Block], dict[str, Any]]]:
    """(label, the example's blocks of that table, the schema's keys) for every table."""
    out = [(f"[{n}]", blocks_named(n), schema_keys(s)) for n, s in SECTIONS.items()]
    channels = blocks_named("notify.channels")
    for kind, schema in CHANNELS.items():
        of_kind = [b for b in channels if b.values.get("type") == kind]
        out.append((f"channel {kind}", of_kind, schema_keys(schema)))
    out += [(f"[rules.{r}]", blocks_named(f"rules.{r}"), rule_keys(r)) for r in RULE_DEFAULTS]
    return out


def test_every_table_and_key_of_the_schema_is_in_the_example() -> None:
    common = schema_keys(ChannelKeys)
    shown_common = {k for b in blocks_named("notify.channels") for k in b.values}
    missing = []
    for label, blocks, keys in schema_tables():
        if not blocks:
            missing.append(label)
        shown = {k for b in blocks for k in b.values}
        missing += [
            f"{label} {k}"
            for k in keys
            if k not in shown
            and not (label.startswith("channel") and k in common and k in shown_common)
            and (label, k) != ("[notify]", "channels")  # shown as [[notify.channels]] tables
        ]
    assert not missing, missing


def test_every_value_shown_is_the_default() -> None:
    wrong = []
    for label, blocks, keys in schema_tables():
        for block in blocks:
            for name, value in block.values.items():
                default = keys[name][1].default if name in keys else None
                same = value == default and isinstance(value, bool) == isinstance(default, bool)
                if default is not None and not same:
                    wrong.append(f"{label} {name} = {value!r}, default {default!r}")
    assert not wrong, wrong


def test_every_key_line_has_a_comment() -> None:
    bare = [f"{b.name}: {k}" for b in BLOCKS for k in b.values if k not in b.commented]
    assert not bare, bare


def test_no_key_in_the_example_is_unknown_to_the_schema() -> None:
    unknown = []
    for label, blocks, keys in schema_tables():
        unknown += [f"{label} {k}" for b in blocks for k in b.values if k not in keys]
    known_tables = {*SECTIONS, "notify.channels", *(f"rules.{r}" for r in RULE_DEFAULTS)}
    unknown += [f"[{b.name}]" for b in BLOCKS if b.name not in known_tables]
    assert not unknown, unknown


def test_the_example_validates_and_every_schema_key_has_a_doc() -> None:
    validate(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))
    undocumented = [
        f"{label} {k}"
        for label, _b, keys in schema_tables()
        for k, (_t, s) in keys.items()
        if not s.doc.strip()
    ]
    assert not undocumented, undocumented
