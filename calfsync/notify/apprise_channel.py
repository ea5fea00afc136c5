"""Apprise: any service Apprise knows, through the optional ``calfsync[apprise]`` extra.

Config: ``urls`` (a list of Apprise URLs, or one string) or ``urls_file`` (one URL a line).
Apprise is imported only when such a channel sends. It reports only success or failure, so a
failure is taken as retryable; a missing package is permanent with the install command.
A chart (``[notify] charts``) is handed to Apprise as an attachment (a temporary file, removed
after the send): services that take files (Discord, Telegram, Pushover, e-mail …) show it, the
others get the text alone.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, RetryableError

if TYPE_CHECKING:
    import httpx


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """Notify every configured Apprise URL."""
    try:
        import apprise
    except ImportError:
        raise PermanentError(
            "apprise: the package is not installed; run `pip install 'calfsync[apprise]'`"
        ) from None
    urls = channel.get("urls") or []
    if isinstance(urls, str):
        urls = [u for u in urls.split() if u]
    if not urls:
        raise PermanentError("apprise: no urls configured")
    sink = apprise.Apprise()
    for url in urls:
        if not sink.add(url):
            raise PermanentError("apprise: an URL in [[notify.channels]] urls is not valid")
    kind = apprise.NotifyType.WARNING if message.level >= 4 else apprise.NotifyType.INFO
    path = _attachment_file(message)
    try:
        sent = sink.notify(title=message.title, body=message.body, notify_type=kind, attach=path)
    finally:
        if path:
            os.unlink(path)
    if not sent:
        raise RetryableError("apprise: at least one service did not accept the push")
    return None


def _attachment_file(message: Message) -> str | None:
    """The chart written to a private temporary file (Apprise attaches files by path)."""
    if message.attachment is None:
        return None
    handle, path = tempfile.mkstemp(prefix="calfsync-", suffix="-" + message.attachment.filename)
    with os.fdopen(handle, "wb") as out:
        out.write(message.attachment.data)
    return path
