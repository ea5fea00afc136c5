"""Webhook: a JSON POST signed as the Standard Webhooks spec describes.

Config: ``url``, optional ``secret`` (``whsec_<base64>`` as the spec's libraries generate, or
any other string, used as raw UTF-8 bytes), optional ``headers`` (a table of extra headers).

Headers: ``webhook-id`` (the alert's episode key: the same on every retry, so a receiver
dedupes on it), ``webhook-timestamp`` (Unix seconds of this attempt) and, with a secret,
``webhook-signature`` = ``v1,`` + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")).
The webhook is not bundled: one request per alert (see docs/notifications.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, request

if TYPE_CHECKING:
    import httpx

SECRET_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: base64-decoded after ``whsec_``, else the raw bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except ValueError as exc:
            raise PermanentError("webhook: secret 'whsec_…' is not valid base64") from exc
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def payload(message: Message) -> dict[str, Any]:
    """The JSON body: a ``type``, a ``timestamp`` and the push under ``data``."""
    return {
        "type": "calfsync.alert",
        "timestamp": (message.created_at.isoformat() if message.created_at else None),
        "data": {
            "title": message.title,
            "body": message.body,
            "priority": message.level,
            "tags": message.tags,
            "click_url": message.click_url,
            "alerts": message.alerts,
        },
    }


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """POST one alert; returns its webhook-id."""
    if not channel.get("url"):
        raise PermanentError("webhook: url is required")
    body = json.dumps(payload(message), separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(time.time())
    headers = {str(k): str(v) for k, v in (channel.get("headers") or {}).items()}
    headers.update(
        {
            "content-type": "application/json",
            "webhook-id": message.dedupe_key,
            "webhook-timestamp": str(timestamp),
        }
    )
    if channel.get("secret"):
        headers["webhook-signature"] = sign(channel["secret"], message.dedupe_key, timestamp, body)
    request(client, "webhook", "POST", str(channel["url"]), content=body, headers=headers)
    return message.dedupe_key
