"""The systemd notification protocol (sd_notify), spoken directly over ``$NOTIFY_SOCKET``.

The protocol is one datagram of ``KEY=value`` lines sent to a unix socket whose path systemd
puts in ``$NOTIFY_SOCKET`` (a leading ``@`` means the Linux abstract namespace). With no socket
set every call is a no-op, so the daemon runs the same under systemd, in a terminal or in tests.
See sd_notify(3) and systemd.service(5) (``Type=notify``, ``WatchdogSec=``).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends READY, STATUS, WATCHDOG and STOPPING messages to the service manager."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self.watchdog_usec = _watchdog_usec(env)
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        """True when a service manager listens (``$NOTIFY_SOCKET`` is set)."""
        return self.address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1: half of ``$WATCHDOG_USEC``, or None when not asked."""
        if self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2 / 1_000_000

    def send(self, *fields: str) -> bool:
        """Send one datagram made of ``fields`` (``KEY=value`` strings). True when sent."""
        if self.address is None:
            return False
        payload = "\n".join(f.replace("\n", " ") for f in fields).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(payload, self.address)
            return True
        except OSError as exc:
            if not self._warned:  # one warning, not one per watchdog tick
                log.warning("cannot send sd_notify message to $NOTIFY_SOCKET: %s", exc)
                self._warned = True
            return False

    def ready(self, status: str | None = None) -> bool:
        """Tell systemd the daemon finished starting (``Type=notify``)."""
        fields = ["READY=1", f"MAINPID={os.getpid()}"]
        if status:
            fields.append(f"STATUS={status}")
        return self.send(*fields)

    def status(self, text: str) -> bool:
        """Set the one-line status ``systemctl status`` shows."""
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        """Keep-alive ping; systemd restarts the service when pings stop for ``WatchdogSec``."""
        return self.send("WATCHDOG=1")

    def reloading(self) -> bool:
        """Announce a configuration reload (SIGHUP); follow with :meth:`ready`."""
        return self.send("RELOADING=1")

    def stopping(self, status: str | None = None) -> bool:
        """Announce an orderly shutdown."""
        fields = ["STOPPING=1"]
        if status:
            fields.append(f"STATUS={status}")
        return self.send(*fields)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _socket_address(value: str) -> str | bytes | None:
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    return None  # vsock and other transports are not used for a local daemon


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    """``$WATCHDOG_USEC``, honoured only when ``$WATCHDOG_PID`` is unset or names this process."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    return usec if usec > 0 else None
