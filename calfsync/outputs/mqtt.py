"""Home Assistant over MQTT: calfsync's numbers as sensors, through the optional extra
``pip install 'calfsync[mqtt]'`` (paho-mqtt 2.x). Turned on by ``[mqtt] host``.

What goes out (all retained, topics in docs/mqtt.md): Home Assistant discovery messages
(:mod:`calfsync.outputs.mqtt_states`), one JSON state message, the last alert's attributes, and
``<topic_prefix>/availability`` ("online"; "offline" as the last will and on a clean stop).

- The daemon keeps one connection for its whole life (:func:`start_link` / :func:`stop_link`,
  called by :mod:`calfsync.daemon`), with paho's network thread reconnecting in the background:
  a broker that is down is logged once per outage and never stops or slows a sync step. The
  step :func:`publish` (run by :mod:`calfsync.sync` after a job that changed something, and by
  the nightly job, when the last-7-days window moves) hands the fresh states to that
  connection; they go out at once, or on the reconnect. Discovery is sent on every connect, when
  the set of shoes changes, and again when Home Assistant announces itself
  (``<discovery_prefix>/status`` = "online").
- ``calfsync sync`` has no such connection: the step connects, publishes, and disconnects.

paho-mqtt is imported only once MQTT is configured and used (:func:`paho`): the daemon without
``[mqtt] host`` imports none of it.
"""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from ..config import Config
from ..errors import CalfsyncError
from ..secrets import redact, resolve_secret
from .mqtt_states import States, Topics, discovery, read_states

if TYPE_CHECKING:
    from ..sync import CycleReport

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'calfsync[mqtt]'"
KEEPALIVE_S = 60
CONNECT_TIMEOUT_S = 5.0
ONLINE, OFFLINE = "online", "offline"
QOS = 1

_link: Link | None = None  # the daemon's connection (None outside ``calfsync run``)


def paho() -> Any:
    """The ``paho.mqtt.client`` module, or a :class:`CalfsyncError` naming the extra."""
    try:
        import paho.mqtt.client as client
    except ImportError as exc:
        raise CalfsyncError(
            f"[mqtt] host is set but the MQTT client is not installed: {INSTALL_HINT} "
            "(or remove host from [mqtt] to turn Home Assistant sensors off)."
        ) from exc
    return client


def wanted(cfg: Config) -> bool:
    """Whether the MQTT step runs: ``[mqtt] host`` is set."""
    return bool(cfg.mqtt.host)


@dataclass(frozen=True)
class Settings:
    """How to reach the broker, the password resolved like the channels' secrets (the value,
    ``password_file``, or the systemd credential ``mqtt_password``)."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool
    ca_file: str | None
    client_id: str

    @classmethod
    def of(cls, cfg: Config) -> Settings:
        m = cfg.mqtt
        return cls(
            host=str(m.host),
            port=m.port,
            username=m.username,
            password=resolve_secret(m.as_dict(), "password", owner="mqtt"),
            tls=m.tls,
            ca_file=m.ca_file,
            client_id=m.client_id,
        )

    def where(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{user}{self.host}:{self.port}{' (TLS)' if self.tls else ''}"


def _client(settings: Settings, client_id: str, will: str | None) -> Any:
    """A paho client for ``settings``: credentials, TLS, and the last will on ``will``."""
    mqtt = paho()
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
    )
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    if settings.tls:
        client.tls_set(ca_certs=settings.ca_file)  # None: the system's CA certificates
    if will:
        client.will_set(will, OFFLINE, qos=QOS, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=60)
    return client


def refused(reason_code: Any) -> str:
    """Why the broker refused a connection, and the fix."""
    text = str(reason_code)
    if "authori" in text.lower() or "password" in text.lower():
        return f"{text}: check [mqtt] username and password (or password_file)"
    return text


@dataclass
class MqttReport:
    """What one MQTT step did: messages handed to the broker, or states kept for the
    reconnect (``waiting``) while the broker is away."""

    published: int = 0
    waiting: int = 0

    def line(self) -> str:
        if self.waiting:
            return "MQTT broker not connected: the sensors' states go out on the reconnect"
        return f"{self.published} MQTT message(s) published"


# --------------------------------------------------------------------------- the daemon's link


class Link:
    """The daemon's long-lived connection: paho's network thread connects, reconnects and
    calls back here; sync steps (another thread) hand over fresh states with :meth:`update`.
    Everything it last published is kept, so a connect (first or again) and Home Assistant's
    "online" get it all again."""

    def __init__(self, cfg: Config) -> None:
        self.settings = Settings.of(cfg)
        self.topics = Topics.of(cfg)
        self._lock = threading.Lock()
        self._states: States | None = None
        self._announced: list[tuple[str, str]] | None = None  # discovery last sent
        self._connected = False
        self._complained = False  # one log line per outage
        self.client = _client(self.settings, self.settings.client_id, self.topics.availability)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def start(self) -> None:
        """Start paho's thread; it connects (and keeps retrying) in the background."""
        self.client.connect_async(self.settings.host, self.settings.port, KEEPALIVE_S)
        self.client.loop_start()

    def stop(self) -> None:
        """Say "offline" (when connected), disconnect cleanly (so the will is not sent) and
        end paho's thread."""
        with self._lock:
            connected, self._connected = self._connected, False
        if connected:
            info = self.client.publish(self.topics.availability, OFFLINE, qos=QOS, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):  # the connection went meanwhile
                pass
        self.client.disconnect()
        self.client.loop_stop()

    def update(self, states: States) -> MqttReport:
        """Keep ``states`` and publish them now when connected (discovery too when the shoes
        changed); otherwise they wait for the reconnect."""
        with self._lock:
            self._states = states
            if not self._connected:
                return MqttReport(waiting=1)
            messages = self._messages(
                with_discovery=discovery(self.topics, states) != self._announced
            )
        self._send(messages)
        return MqttReport(published=len(messages))

    def _messages(self, *, with_discovery: bool) -> list[tuple[str, str]]:
        """What to publish now (under the lock): discovery when asked, the states."""
        states = self._states
        if states is None:
            return []
        out = []
        if with_discovery:
            self._announced = discovery(self.topics, states)
            out.extend(self._announced)
        out.append((self.topics.state, states.state_payload()))
        out.append((self.topics.last_alert, states.last_alert_payload()))
        return out

    def _send(self, messages: list[tuple[str, str]]) -> None:
        for topic, payload in messages:
            self.client.publish(topic, payload, qos=QOS, retain=True)

    # ---- paho's callbacks (its network thread)

    def _on_connect(
        self, client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self._complain(
                f"the MQTT broker {self.settings.where()} refused calfsync: {refused(reason)}"
            )
            return
        log.info("MQTT: connected to %s; Home Assistant sensors published", self.settings.where())
        client.subscribe(self.topics.ha_status, qos=QOS)
        client.publish(self.topics.availability, ONLINE, qos=QOS, retain=True)
        with self._lock:
            self._connected = True
            self._complained = False
            messages = self._messages(with_discovery=True)
        self._send(messages)

    def _on_connect_fail(self, _client: Any, _userdata: Any) -> None:
        self._complain(
            f"cannot reach the MQTT broker {self.settings.where()}: Home Assistant's sensors wait; "
            "retrying in the background (`calfsync doctor` checks the connection)"
        )

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        with self._lock:
            was = self._connected
            self._connected = False
        if was and reason.is_failure:
            self._complain(f"lost the MQTT broker {self.settings.where()} ({reason}); reconnecting")

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        if message.topic != self.topics.ha_status or message.payload.strip() != ONLINE.encode():
            return
        with self._lock:
            messages = self._messages(with_discovery=True) if self._connected else []
        if messages:
            log.info("MQTT: Home Assistant came online; discovery sent again")
            self._send(messages)

    def _complain(self, message: str) -> None:
        """Log ``message`` once per outage (a broker down for a day is one line, not 1,440)."""
        with self._lock:
            if self._complained:
                return
            self._complained = True
        log.warning("%s", redact(message))


def start_link(cfg: Config, db: sqlite_utils.Database) -> None:
    """The daemon's start-up hook: with ``[mqtt] host`` set, open the long-lived connection
    with the states of now (published once connected). Without it, nothing (not even an
    import of paho). Raises :class:`CalfsyncError` naming the extra when paho is missing."""
    global _link
    if not wanted(cfg):
        return
    paho()
    link = Link(cfg)
    link.update(read_states(db, cfg, datetime.now(UTC)))
    link.start()
    _link = link


def stop_link() -> None:
    """The daemon's shutdown hook: "offline", then a clean disconnect (no-op without a link)."""
    global _link
    link, _link = _link, None
    if link is not None:
        link.stop()


# --------------------------------------------------------------------------- the step

# Steps whose work never moves a sensor: pushes, the digest, the shoe question, the outputs.
# (Answers from the phone may: one can put a run in a shoe.)
NO_SENSOR = frozenset({"deliver", "digest", "ask_shoe", "report", "mqtt"})


def due(cycle: CycleReport) -> bool:
    """The condition of the MQTT step in the daemon's jobs: the steps before it stored or
    changed something a sensor shows (a source imported a run, evaluate made an alert), or it
    is the nightly job, after which "the last 7 days" have moved on by a day. Decided from the
    steps' reports with the sync runner's own idle test, without a query."""
    if "nightly" in cycle.reports:
        return True
    seen = type(cycle)()
    for name in cycle.reports.keys() - NO_SENSOR:
        seen.add(name, cycle.reports[name])
    return not seen.idle


def publish(db: sqlite_utils.Database, cfg: Config, now: datetime) -> MqttReport:
    """The sync step: read the sensors' states and publish them, through the daemon's
    connection when there is one, else over a connection of its own (``calfsync sync``)."""
    global _link
    states = read_states(db, cfg, now)
    link = _link
    if link is not None and link.settings != Settings.of(cfg):  # [mqtt] changed by a reload
        stop_link()
        start_link(cfg, db)
        link = _link
    if link is not None:
        return link.update(states)
    return MqttReport(published=publish_once(cfg, states))


def publish_once(cfg: Config, states: States) -> int:
    """Connect, publish discovery, "online" and the states, wait for the broker to take them,
    and disconnect. Returns the number of messages; raises :class:`CalfsyncError` with the
    reason when the broker cannot be reached or refuses calfsync."""
    topics = Topics.of(cfg)
    messages = [
        *discovery(topics, states),
        (topics.availability, ONLINE),
        (topics.state, states.state_payload()),
        (topics.last_alert, states.last_alert_payload()),
    ]
    # Another client id than the daemon's: a broker drops the older of two same-id clients.
    client = connect(Settings.of(cfg), suffix="-sync")
    try:
        infos = [client.publish(t, p, qos=QOS, retain=True) for t, p in messages]
        for info in infos:
            info.wait_for_publish(timeout=CONNECT_TIMEOUT_S)
            if not info.is_published():
                raise CalfsyncError(
                    f"the MQTT broker {Settings.of(cfg).where()} did not take the states within "
                    f"{CONNECT_TIMEOUT_S:.0f} s; they go out with the next sync"
                )
    finally:
        client.disconnect()
        client.loop_stop()
    return len(messages)


def connect(settings: Settings, *, suffix: str) -> Any:
    """A connected client with its network thread running (the caller disconnects it), or a
    :class:`CalfsyncError` saying why not: unreachable, refused, or no answer in time."""
    client = _client(settings, settings.client_id + suffix, will=None)
    answered = threading.Event()
    outcome: list[Any] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        outcome.append(reason)
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(settings.host, settings.port, KEEPALIVE_S)
    except (OSError, ValueError) as exc:
        fix = "Check [mqtt] host and port, and that the broker runs."
        if isinstance(exc, ssl.SSLError):
            fix = (
                "Check [mqtt] ca_file (the CA that signed the broker's certificate; default: the "
                "system's) and that host is a name the certificate holds."
            )
        raise CalfsyncError(
            redact(f"cannot reach the MQTT broker {settings.where()}: {exc}. {fix}")
        ) from exc
    client.loop_start()
    failure = None
    if not answered.wait(CONNECT_TIMEOUT_S):
        failure = (
            f"did not answer within {CONNECT_TIMEOUT_S:.0f} s. Check [mqtt] port and tls "
            "(8883 is usually TLS, 1883 plain)."
        )
    elif outcome[0].is_failure:
        failure = f"refused calfsync: {refused(outcome[0])}"
    if failure:
        client.disconnect()
        client.loop_stop()
        raise CalfsyncError(redact(f"the MQTT broker {settings.where()} {failure}"))
    return client


def probe(cfg: Config) -> str:
    """``calfsync doctor``'s check: connect and disconnect; returns where it connected, or
    raises :class:`CalfsyncError` with the reason and the fix."""
    settings = Settings.of(cfg)
    client = connect(settings, suffix="-doctor")
    client.disconnect()
    client.loop_stop()
    return settings.where()
