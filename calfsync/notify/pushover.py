"""Pushover: ``POST /1/messages.json`` with an application token and a user key.

Config: ``token`` (application API token), ``user`` (user or group key), optional ``device``
and ``url`` (default ``https://api.pushover.net``). Priority -2…2: calfsync's levels map to
-1 / -1 / 0 / 1 / 1 (never 2, which needs acknowledgement). A chart (``[notify] charts``) goes
as the ``attachment`` part of a ``multipart/form-data`` request (Pushover takes images up to
5 MB; the chart is under 50 KB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, request

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://api.pushover.net"
PRIORITY = {1: -1, 2: -1, 3: 0, 4: 1, 5: 1}


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """Send one Pushover message; returns Pushover's request id."""
    if not channel.get("token") or not channel.get("user"):
        raise PermanentError("pushover: token and user are required")
    form: dict[str, Any] = {
        "token": channel["token"],
        "user": channel["user"],
        "title": message.title[:250],
        "message": message.body[:1024],
        "priority": str(PRIORITY.get(message.level, 0)),
    }
    if channel.get("device"):
        form["device"] = channel["device"]
    if message.click_url:
        form["url"] = message.click_url
        form["url_title"] = "Open the run"
    base = str(channel.get("url") or DEFAULT_URL).rstrip("/")
    files = None
    if message.attachment is not None:
        file = message.attachment
        files = {"attachment": (file.filename, file.data, file.content_type)}
    response = request(
        client, "pushover", "POST", base + "/1/messages.json", data=form, files=files
    )
    try:
        reply = response.json()
    except ValueError:
        return None
    if reply.get("status") != 1:
        raise PermanentError(f"pushover: refused: {reply.get('errors') or reply}")
    return reply.get("request")
