"""Channel names: defaults, numbering, uniqueness."""

from __future__ import annotations

import pytest

from calfsync.config import validate
from calfsync.errors import ConfigError


def names(*channels: dict) -> list[str]:
    cfg = validate({"notify": {"channels": list(channels)}})
    return [c["name"] for c in cfg.channels]


def test_each_type_alone_is_named_after_its_type():
    ntfy = {"type": "ntfy", "url": "http://127.0.0.1:1", "topic": "t"}
    gotify = {"type": "gotify", "url": "http://127.0.0.1:2", "token": "x"}
    assert names(ntfy, gotify) == ["ntfy", "gotify"]


def test_several_of_a_type_are_numbered_and_named_ones_kept():
    a = {"type": "ntfy", "url": "http://127.0.0.1:1", "topic": "a"}
    b = {"type": "ntfy", "url": "http://127.0.0.1:1", "topic": "b"}
    c = {"type": "ntfy", "url": "http://127.0.0.1:1", "topic": "c", "name": "partner"}
    assert names(a, b, c) == ["ntfy", "ntfy-2", "partner"]


def test_two_channels_with_one_name_are_refused():
    a = {"type": "console", "name": "phone"}
    b = {"type": "ntfy", "url": "http://127.0.0.1:1", "topic": "b", "name": "phone"}
    with pytest.raises(ConfigError, match="named 'phone'"):
        names(a, b)
