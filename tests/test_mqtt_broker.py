"""Home Assistant over MQTT against a real broker (mosquitto on a loopback port) and the real
daemon: discovery (retained), states after a cycle that changed something, availability with
its last will, the re-announcement when Home Assistant comes online, a broker that is down,
a password, and the one-shot ``calfsync sync``."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon_support import (
    CALFSYNC,
    Daemon,
    daemon_config,
    drop_file,
    fit_run,
    training_history,
    write_config,
)
from mqtt_support import Broker, Subscriber, configs, free_port, needs_mosquitto, retained
from rules_support import make_cfg

from calfsync.config import load_config
from calfsync.doctor import check_mqtt
from calfsync.outputs.mqtt import publish_once
from calfsync.outputs.mqtt_states import States

pytestmark = needs_mosquitto
SENSORS = {"distance_7d", "distance_7d_change", "climb_7d", "longest_30d", "last_alert"}


@pytest.fixture
def broker(tmp_path: Path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


def _setup(tmp_path: Path, port: int, mqtt: str = "") -> Path:
    """Three weeks of runs in the inbox and a fast daemon's config with ``[mqtt]``."""
    inbox = tmp_path / "inbox"
    for name, data in training_history(datetime.now(UTC), weeks=3):
        drop_file(inbox, name, data)
    extra = f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\n{mqtt}'
    return write_config(
        tmp_path / "calfsync.toml", daemon_config(tmp_path, inbox=inbox, extra=extra)
    )


def _km(payload: str) -> float:
    return json.loads(payload)["distance_7d_km"]


def test_daemon_publishes_sensors_reannounces_and_leaves_a_will(tmp_path, broker) -> None:
    config = _setup(tmp_path, broker.port)
    sub = Subscriber(broker.port)
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        sub.wait("calfsync/availability", what=lambda p: p == "online")
        first = sub.wait("calfsync/state", what=lambda p: _km(p) > 0)
        kept = retained(broker.port)  # a client connecting later (Home Assistant) gets it all
        assert SENSORS <= set(configs(kept))
        assert kept["calfsync/availability"] == "online"
        assert kept["calfsync/state"] == first.payload

        # Home Assistant restarts and announces itself: discovery and states again
        mark = sub.mark()
        sub.publish("homeassistant/status", "online")
        for sensor in sorted(SENSORS):  # each one sent again (they arrive one by one)
            sub.wait(f"homeassistant/sensor/calfsync/{sensor}/config", after=mark)
        sub.wait("calfsync/state", after=mark)
        daemon.wait_log("Home Assistant came online")

        # a cycle that changed something (a fresh 12 km run) publishes the states
        mark = sub.mark()
        drop_file(
            tmp_path / "inbox", "fresh.fit", fit_run(datetime.now(UTC) - timedelta(hours=1), 12.0)
        )
        fresh = sub.wait("calfsync/state", after=mark, what=lambda p: _km(p) != _km(first.payload))
        assert _km(fresh.payload) == pytest.approx(_km(first.payload) + 12.0, abs=0.05)

        # a clean stop says "offline"
        mark = sub.mark()
        assert daemon.stop() == 0
        sub.wait("calfsync/availability", after=mark, what=lambda p: p == "offline")

        # a killed daemon: the broker publishes the last will
        daemon = Daemon(config, tmp_path / "daemon2.log")
        sub.wait("calfsync/availability", after=mark, what=lambda p: p == "online")
        mark = sub.mark()
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.wait()
        sub.wait("calfsync/availability", after=mark, what=lambda p: p == "offline")
        assert retained(broker.port)["calfsync/availability"] == "offline"
    finally:
        daemon.kill()
        sub.close()


def test_broker_down_does_not_stop_the_daemon(tmp_path) -> None:
    """The broker is down at start: the daemon imports and pushes as ever, says so once, and
    publishes once the broker is up."""
    port = free_port()
    config = _setup(tmp_path, port)
    daemon = Daemon(config, tmp_path / "daemon.log")
    broker = Broker(tmp_path / "broker", port=port)
    try:
        daemon.wait_log(r"fit: imported \d+")
        daemon.wait_log("cannot reach the MQTT broker")
        broker.start()
        sub = Subscriber(port)
        try:
            state = sub.wait("calfsync/state", timeout=15)
            assert _km(state.payload) > 0
            sub.wait("calfsync/availability", what=lambda p: p == "online")
        finally:
            sub.close()
        log = daemon.log()
        assert log.count("cannot reach the MQTT broker") == 1  # several retries, one line
        assert "MQTT: connected" in log
        assert daemon.stop() == 0
    finally:
        daemon.kill()
        broker.stop()


def test_sync_publishes_once_with_a_password_file(tmp_path) -> None:
    broker = Broker(tmp_path / "broker", users={"calfsync": "s3cret-pw"}).start()
    try:
        secret = tmp_path / "mqtt_password"
        secret.write_text("s3cret-pw\n")
        config = _setup(
            tmp_path, broker.port, f'username = "calfsync"\npassword_file = "{secret}"\n'
        )
        done = subprocess.run(
            [*CALFSYNC, "--config", str(config), "sync"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        kept = retained(broker.port, username="calfsync", password="s3cret-pw")
        assert SENSORS <= set(configs(kept))
        assert kept["calfsync/availability"] == "online"
        assert _km(kept["calfsync/state"]) > 0

        secret.write_text("wrong\n")
        done = subprocess.run(
            [*CALFSYNC, "--config", str(config), "sync"], capture_output=True, text=True, timeout=60
        )
        out = done.stdout + done.stderr
        assert "mqtt failed" in out and "check [mqtt] username and password" in out, out
        assert done.returncode == 0  # like a push, the states go out with a later sync
        (check,) = check_mqtt(load_config(str(config)))  # what `calfsync doctor` prints
        assert check.level == "fail" and "Not authorized" in check.detail, check
        assert "wrong" not in check.detail
    finally:
        broker.stop()


def test_tls_with_the_brokers_ca(tmp_path) -> None:
    """TLS checked against ``ca_file``; without it (the system's CAs) the certificate is
    refused and the message names ca_file."""
    broker = Broker(tmp_path / "broker", tls=True).start()
    try:
        tls = {"host": "127.0.0.1", "port": broker.tls_port, "tls": True}
        (check,) = check_mqtt(make_cfg(mqtt=tls))
        assert check.level == "fail"
        assert "CERTIFICATE_VERIFY_FAILED" in check.detail and "ca_file" in check.detail
        cfg = make_cfg(mqtt={**tls, "ca_file": str(tmp_path / "broker" / "tls" / "ca.pem")})
        assert check_mqtt(cfg)[0].level == "ok"
        assert publish_once(cfg, States(distance_7d_km=12.5)) > 5
        kept = retained(broker.port)  # read back on the plain listener
        assert _km(kept["calfsync/state"]) == 12.5
        assert SENSORS <= set(configs(kept))
    finally:
        broker.stop()
