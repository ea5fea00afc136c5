"""The sd_notify protocol spoken over a real unix datagram socket."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from calfsync.sdnotify import Notifier


def receiver(address: str | bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(5)
    return sock


def test_messages_arrive_on_the_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    sock = receiver(str(path))
    notifier = Notifier({"NOTIFY_SOCKET": str(path)})
    try:
        assert notifier.ready("started")
        assert sock.recv(4096).decode().split("\n") == [
            "READY=1",
            f"MAINPID={os.getpid()}",
            "STATUS=started",
        ]
        notifier.status("fit ok\nsecond line")
        assert sock.recv(4096) == b"STATUS=fit ok second line"  # one line, never two fields
        notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
        notifier.stopping()
        assert sock.recv(4096) == b"STOPPING=1"
    finally:
        notifier.close()
        sock.close()


def test_abstract_socket_address() -> None:
    name = f"calfsync-test-{os.getpid()}"
    sock = receiver(b"\0" + name.encode())
    notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
    try:
        assert notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        notifier.close()
        sock.close()


def test_without_socket_everything_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog_interval_s is None


def test_watchdog_interval_is_half_and_only_for_this_pid(tmp_path: Path) -> None:
    assert Notifier({"WATCHDOG_USEC": "120000000"}).watchdog_interval_s == 60.0
    mine = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval_s == 1.0
    other = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}
    assert Notifier(other).watchdog_interval_s is None
    assert Notifier({"WATCHDOG_USEC": "junk"}).watchdog_interval_s is None


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.status("x") is False
    assert notifier.watchdog() is False
