"""Telegram: the Bot API's ``sendMessage``.

Config: ``token`` (from @BotFather), ``chat_id``, optional ``url`` (default
``https://api.telegram.org``). The token is part of the URL path (``/bot<token>/``): errors
never show the URL and :mod:`calfsync.secrets` redacts that path in logs. Levels 1–2 are sent
silently (``disable_notification``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, request

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://api.telegram.org"


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """Send one text message; returns Telegram's message id."""
    if not channel.get("token") or not channel.get("chat_id"):
        raise PermanentError("telegram: token and chat_id are required")
    text = f"{message.title}\n\n{message.body}"
    if message.click_url:
        text += f"\n{message.click_url}"
    base = str(channel.get("url") or DEFAULT_URL).rstrip("/")
    response = request(
        client,
        "telegram",
        "POST",
        f"{base}/bot{channel['token']}/sendMessage",
        json={
            "chat_id": channel["chat_id"],
            "text": text[:4096],
            "disable_web_page_preview": True,
            "disable_notification": message.level <= 2,
        },
    )
    try:
        reply = response.json()
    except ValueError:
        return None
    if not reply.get("ok"):
        raise PermanentError(f"telegram: refused: {reply.get('description')}")
    return str(reply.get("result", {}).get("message_id") or "") or None
