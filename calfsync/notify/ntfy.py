"""ntfy (https://ntfy.sh or self-hosted): JSON publish to the server root.

Config: ``url`` (default ``https://ntfy.sh``), ``topic``, ``token`` (access token, sent as
``Authorization: Bearer``) or ``username`` + ``password`` (Basic auth), ``click_url``
(a template with ``{activity_id}``, ``{strava_id}``, ``{local_date}``).
With ``[notify] reply_topic`` set, each push carries two ``http`` action buttons that publish
"sore" / "fine" to that topic on the same server (see :mod:`calfsync.notify.replies`).

The buttons' request headers are part of the message: every subscriber of the topic and the
server's message cache see them. So a button carries ``reply_token`` (a token the server lets
only *write* to the reply topic: ``ntfy access <user> <reply-topic> write-only``) when one is
set; without it, the channel's own ``token`` (or user and password), as before.

Each push carries a **sequence id** derived from its dedupe key (the same on every attempt),
as the ``sequence_id`` JSON field and the ``X-Sequence-ID`` header. ntfy 2.16 and later treat
messages with the same sequence id as one notification, updated in place: a resend after a
timeout replaces the copy the server already had instead of adding one. Older servers ignore it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, request

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://ntfy.sh"
REPLY_SORE = "sore"
REPLY_FINE = "fine"


def auth_headers(channel: dict[str, Any]) -> dict[str, str]:
    """The Authorization header for the channel's token or username/password, if any."""
    import httpx  # about 130 ms: loaded only when a push or a reply is due

    if channel.get("token"):
        return {"Authorization": f"Bearer {channel['token']}"}
    if channel.get("username") and channel.get("password"):
        basic = httpx.BasicAuth(channel["username"], channel["password"])
        request_ = httpx.Request("GET", "http://x")
        return {"Authorization": next(basic.auth_flow(request_)).headers["Authorization"]}
    return {}


def reply_headers(channel: dict[str, Any]) -> dict[str, str]:
    """The Authorization header the sore / fine buttons send: the reply token when set (it is
    visible to every subscriber and to the server's cache), else the channel's own."""
    if channel.get("reply_token"):
        return {"Authorization": f"Bearer {channel['reply_token']}"}
    return auth_headers(channel)


def base_url(channel: dict[str, Any]) -> str:
    return str(channel.get("url") or DEFAULT_URL).rstrip("/")


def sequence_id(dedupe_key: str) -> str:
    """The push's ntfy sequence id: stable for a dedupe key, letters and digits only."""
    return "calfsync-" + hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]


def payload(channel: dict[str, Any], message: Message) -> dict[str, Any]:
    """The JSON body of ntfy's "publish as JSON" API."""
    body: dict[str, Any] = {
        "topic": channel["topic"],
        "title": message.title,
        "message": message.body,
        "priority": max(1, min(5, message.level)),
        "tags": list(message.tags),
    }
    if message.click_url:
        body["click"] = message.click_url
    if message.dedupe_key:
        body["sequence_id"] = sequence_id(message.dedupe_key)
    if message.reply_topic:
        url = f"{base_url(channel)}/{message.reply_topic}"
        headers = reply_headers(channel)
        body["actions"] = [
            _action("Calf sore", url, REPLY_SORE, headers),
            _action("Calf fine", url, REPLY_FINE, headers),
        ]
    return body


def _action(label: str, url: str, answer: str, headers: dict[str, str]) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action": "http",
        "label": label,
        "url": url,
        "method": "POST",
        "body": answer,
        "clear": True,
    }
    if headers:
        action["headers"] = headers
    return action


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """Publish one push; returns ntfy's message id."""
    if not channel.get("topic"):
        raise PermanentError("ntfy: no topic configured")
    body = payload(channel, message)
    headers = auth_headers(channel)
    if "sequence_id" in body:
        headers["X-Sequence-ID"] = body["sequence_id"]
    response = request(client, "ntfy", "POST", base_url(channel) + "/", json=body, headers=headers)
    try:
        return str(response.json().get("id") or "") or None
    except ValueError:
        return None
