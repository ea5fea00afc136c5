"""Gotify (self-hosted): ``POST /message`` with an application token.

Config: ``url`` (the Gotify server), ``token`` (an *application* token, sent as
``X-Gotify-Key``). Priority 0–10: calfsync's levels map to 2 / 4 / 5 / 8 / 10.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, request

if TYPE_CHECKING:
    import httpx

PRIORITY = {1: 2, 2: 4, 3: 5, 4: 8, 5: 10}


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """Create one Gotify message; returns its id."""
    if not channel.get("url") or not channel.get("token"):
        raise PermanentError("gotify: url and token are required")
    body: dict[str, Any] = {
        "title": message.title,
        "message": message.body,
        "priority": PRIORITY.get(message.level, 5),
    }
    if message.click_url:
        body["extras"] = {"client::notification": {"click": {"url": message.click_url}}}
    response = request(
        client,
        "gotify",
        "POST",
        str(channel["url"]).rstrip("/") + "/message",
        json=body,
        headers={"X-Gotify-Key": channel["token"]},
    )
    try:
        return str(response.json().get("id")) if response.json().get("id") else None
    except ValueError:
        return None
