"""Telegram: the Bot API's ``sendMessage``, or ``sendPhoto`` for a push with a chart.

Config: ``token`` (from @BotFather), ``chat_id``, optional ``url`` (default
``https://api.telegram.org``). The token is part of the URL path (``/bot<token>/``): errors
never show the URL and :mod:`calfsync.secrets` redacts that path in logs. Levels 1–2 are sent
silently (``disable_notification``).

A chart (``[notify] charts``) goes as ``sendPhoto`` (multipart) with the text as its caption.
A caption holds at most :data:`CAPTION_LIMIT` characters: a longer text goes as a plain message
without the chart, so one push stays one request (two would be sent twice on a retry). A push
that asks for the run's shoes names the command to type (reading Telegram's answers back is not
done: buttons would go unanswered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, request

if TYPE_CHECKING:
    import httpx

DEFAULT_URL = "https://api.telegram.org"
CAPTION_LIMIT = 1024


def send(client: httpx.Client, channel: dict[str, Any], message: Message) -> str | None:
    """Send one text message; returns Telegram's message id."""
    if not channel.get("token") or not channel.get("chat_id"):
        raise PermanentError("telegram: token and chat_id are required")
    text = f"{message.title}\n\n{message.body}"
    if message.click_url:
        text += f"\n{message.click_url}"
    base = str(channel.get("url") or DEFAULT_URL).rstrip("/")
    silent = message.level <= 2
    if message.attachment is not None and len(text) <= CAPTION_LIMIT:
        file = message.attachment
        response = request(
            client,
            "telegram",
            "POST",
            f"{base}/bot{channel['token']}/sendPhoto",
            data={
                "chat_id": str(channel["chat_id"]),
                "caption": text,
                "disable_notification": "true" if silent else "false",
            },
            files={"photo": (file.filename, file.data, file.content_type)},
        )
        return _message_id(response)
    response = request(
        client,
        "telegram",
        "POST",
        f"{base}/bot{channel['token']}/sendMessage",
        json={
            "chat_id": channel["chat_id"],
            "text": text[:4096],
            "disable_web_page_preview": True,
            "disable_notification": silent,
        },
    )
    return _message_id(response)


def _message_id(response: httpx.Response) -> str | None:
    try:
        reply = response.json()
    except ValueError:
        return None
    if not reply.get("ok"):
        raise PermanentError(f"telegram: refused: {reply.get('description')}")
    return str(reply.get("result", {}).get("message_id") or "") or None
