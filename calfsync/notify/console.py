"""Console: write the push to standard output (the embedded default when nothing is configured).

Under systemd the journal keeps it. This channel is an output device like a phone, so it
writes to the stream itself; it never fails.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

from . import Message

if TYPE_CHECKING:
    import httpx

STREAM: TextIO | None = None  # None: sys.stdout at call time


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """Print the push framed by a header line."""
    stream = STREAM or sys.stdout
    stream.write(f"[calfsync push, priority {message.level}] {message.title}\n{message.body}\n")
    if message.click_url:
        stream.write(f"{message.click_url}\n")
    stream.write("\n")
    stream.flush()
    return None
