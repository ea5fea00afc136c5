"""MQTT is an optional extra: a daemon without ``[mqtt] host`` imports no paho-mqtt, and with
``host`` set but the extra missing, calfsync says which command installs it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from daemon_support import CALFSYNC, Daemon, daemon_config, write_config
from mqtt_support import free_port

INSTALL = "pip install 'calfsync[mqtt]'"
NO_PAHO = '''
import sys


class NoPaho:
    """As if paho-mqtt were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "paho" or name.startswith("paho."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoPaho())
'''


def _config(tmp_path: Path, mqtt: str = "") -> Path:
    text = daemon_config(tmp_path, inbox=tmp_path / "inbox", extra=mqtt)
    return write_config(tmp_path / "calfsync.toml", text)


def test_daemon_without_mqtt_imports_no_paho(tmp_path) -> None:
    """Every import of a real daemon's life (start, first scan, stop), listed by Python."""
    daemon = Daemon(_config(tmp_path), tmp_path / "daemon.log", {"PYTHONPROFILEIMPORTTIME": "1"})
    try:
        daemon.wait_log("calfsync daemon started")
        daemon.wait_log("import time:.*apscheduler")  # the listing is there
        assert daemon.stop() == 0
    finally:
        daemon.kill()
    log = daemon.log()
    assert "calfsync.outputs.mqtt" in log  # the hook is imported...
    assert "paho" not in log  # ...but not the client


def test_host_without_the_extra_names_the_install(tmp_path) -> None:
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_PAHO)
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    config = _config(tmp_path, f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n')

    def calfsync(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CALFSYNC, "--config", str(config), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    started = calfsync("run")  # refuses to start rather than run without the sensors
    assert started.returncode == 1
    assert INSTALL in started.stderr, started.stderr
    synced = calfsync("sync")  # the cycle runs; the MQTT step says what is missing
    assert f"mqtt failed: [mqtt] host is set but the MQTT client is not installed: {INSTALL}" in (
        synced.stdout
    ), synced.stdout + synced.stderr
    assert "imported" in synced.stdout
