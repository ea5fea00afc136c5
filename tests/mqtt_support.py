"""A real MQTT broker for the tests (Debian's mosquitto on a free loopback port) and a paho
subscriber that records everything it receives."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

MOSQUITTO = "/usr/sbin/mosquitto"
needs_mosquitto = pytest.mark.skipif(
    not os.access(MOSQUITTO, os.X_OK), reason="mosquitto not installed (.ci/run installs it)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """mosquitto on 127.0.0.1:``port`` with a config written into ``folder``; anonymous
    clients allowed unless ``users`` (name -> password) are given."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: bool = False,
    ):
        self.folder = folder
        self.port = port or free_port()
        self.users = users or {}
        self.tls_port = free_port() if tls else None  # a second listener, with TLS
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        self.folder.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {self.port} 127.0.0.1", "persistence false"]
        if os.geteuid() == 0:  # else mosquitto drops to its own user, who cannot read tmp_path
            lines.append("user root")
        if self.users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            for name, password in self.users.items():
                subprocess.run(
                    ["mosquitto_passwd", "-b", str(passwords), name, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls_port:
            ca, cert, key = make_certs(self.folder / "tls")
            lines += [f"listener {self.tls_port} 127.0.0.1", f"cafile {ca}"]
            lines += [f"certfile {cert}", f"keyfile {key}"]
        conf = self.folder / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        log = open(self.folder / "mosquitto.log", "ab")  # noqa: SIM115 - the broker's
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "mosquitto did not start: " + (self.folder / "mosquitto.log").read_text()
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


def make_certs(folder: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a certificate for 127.0.0.1 signed by it (openssl): the CA's file,
    the server's certificate and its key."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for args in (
        ["req", "-x509", *ec, "-days", "2", "-subj", "/CN=calfsync test CA"]
        + ["-keyout", str(ca_key), "-out", str(ca)],
        ["req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(csr)],
        ["x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key)]
        + ["-CAcreateserial", "-days", "2", "-out", str(cert)]
        + ["-extfile", str(folder / "san.cnf")],
    ):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    return ca, cert, key


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool
    n: int  # arrival order


class Subscriber:
    """A paho client subscribed to ``#``: every message, in order of arrival."""

    def __init__(self, port: int, username: str | None = None, password: str | None = None):
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t{time.time()}")
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(5), "the test subscriber could not subscribe"

    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append(
                Message(msg.topic, msg.payload.decode(), bool(msg.retain), len(self.messages))
            )

    def since(self, n: int = 0) -> list[Message]:
        with self._lock:
            return self.messages[n:]

    def mark(self) -> int:
        """A point in the stream: :meth:`since` and :meth:`wait` look after it."""
        with self._lock:
            return len(self.messages)

    def wait(self, topic: str, after: int = 0, timeout: float = 10.0, what: Any = None) -> Message:
        """The first message on ``topic`` after ``after`` (whose payload satisfies ``what``)."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.since(after):
                if m.topic == topic and (what is None or what(m.payload)):
                    return m
            if time.monotonic() > deadline:
                seen = [(m.topic, m.payload[:80]) for m in self.since(after)]
                raise AssertionError(f"no message on {topic} within {timeout} s; got {seen}")
            time.sleep(0.05)

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def retained(port: int, prefix: str = "", **auth: Any) -> dict[str, str]:
    """What a client connecting now gets as retained messages (topic -> payload)."""
    sub = Subscriber(port, **auth)
    # the broker queues the retained messages when the subscription is made, so a message this
    # client publishes afterwards comes back behind all of them: a barrier, not a guessed delay
    barrier = f"calfsync-test/barrier/{time.monotonic_ns()}"
    sub.publish(barrier, "x")
    sub.wait(barrier)
    sub.close()
    return {m.topic: m.payload for m in sub.since() if m.retain and m.topic.startswith(prefix)}


def configs(messages: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The discovery configs among ``messages``, by object id (empty ones left out)."""
    return {
        topic.split("/")[-2]: json.loads(payload)
        for topic, payload in messages.items()
        if topic.endswith("/config") and payload
    }
