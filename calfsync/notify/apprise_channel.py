"""Apprise: any service Apprise knows, through the optional ``calfsync[apprise]`` extra.

Config: ``urls`` (a list of Apprise URLs, or one string) or ``urls_file`` (one URL a line).
Apprise is imported only when such a channel sends. It reports only success or failure, so a
failure is taken as retryable; a missing package is permanent with the install command.
"""

from __future__ import annotations

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
    if not sink.notify(title=message.title, body=message.body, notify_type=kind):
        raise RetryableError("apprise: at least one service did not accept the push")
    return None
