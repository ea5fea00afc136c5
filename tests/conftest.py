"""Shared fixtures: each test runs in its own HOME with no config or state of the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["strava_support"]  # the Strava stand-in fixtures: fake, cfg, db


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and XDG dirs; no config file, state dir or systemd socket leaks in."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("TZ", "UTC")
    for name in (
        "CALFSYNC_CONFIG",
        "STATE_DIRECTORY",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "CREDENTIALS_DIRECTORY",
    ):
        monkeypatch.delenv(name, raising=False)
    return home
