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

With a chart (``[notify] charts``), the push is a ``PUT /<topic>`` whose body is the PNG, with
the title, message, tags, priority, click URL, actions and sequence id as headers (``Filename``,
``X-Message`` …; line breaks as ``\\n``, text that is not plain ASCII RFC 2047-encoded: ntfy
decodes both). A server that refuses attachments (413, or 400 "attachments not allowed": a
self-hosted ntfy without ``attachment-cache-dir``) stored nothing, so the same push goes out at
once as JSON, without the image: one push either way. Such a server is not offered images
again for a day.

A push that asks which shoes a run was in (:class:`calfsync.notify.ShoeQuestion`, with
``reply_topic`` set) carries one button per shoe instead of sore / fine (ntfy shows at most
three); each publishes ``shoe <activity id> <shoe id>`` to the reply topic.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from . import Message, PermanentError, request

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

DEFAULT_URL = "https://ntfy.sh"
REPLY_SORE = "sore"
REPLY_FINE = "fine"
REPLY_SHOE = "shoe"  # "shoe <activity id> <shoe id>", see calfsync.notify.replies
MAX_ACTIONS = 3  # ntfy refuses more
REFUSED_FOR_S = 24 * 3600.0  # a server that refused an attachment is not offered one again
_refused_at: dict[str, float] = {}  # server URL -> when it refused an attachment


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
        question = message.shoe_question
        if question is not None and question.shoes:
            body["actions"] = [
                _action(name[:40], url, f"{REPLY_SHOE} {question.activity_id} {gear_id}", headers)
                for gear_id, name in question.shoes[:MAX_ACTIONS]
            ]
        else:
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
    if message.attachment is not None and not _refuses_attachments(channel):
        try:
            return _message_id(_put_with_file(client, channel, message, body, dict(headers)))
        except PermanentError as exc:
            if not _is_attachment_refusal(exc):
                raise
            # Refused before storing anything: the text alone is still this one push.
            _refused_at[base_url(channel)] = time.monotonic()
            log.info("ntfy refused the chart (%s); sending the text without it", exc)
    response = request(client, "ntfy", "POST", base_url(channel) + "/", json=body, headers=headers)
    return _message_id(response)


def _message_id(response: httpx.Response) -> str | None:
    try:
        return str(response.json().get("id") or "") or None
    except ValueError:
        return None


def _put_with_file(
    client: httpx.Client,
    channel: dict[str, Any],
    message: Message,
    body: dict[str, Any],
    headers: dict[str, str],
) -> httpx.Response:
    """ntfy's "attach local file": the file is the body, everything else a header."""
    assert message.attachment is not None
    headers.update(
        {
            "Filename": message.attachment.filename,
            "Content-Type": message.attachment.content_type,
            "X-Title": header_text(body["title"]),
            "X-Message": message_header(body["message"]),
            "X-Priority": str(body["priority"]),
        }
    )
    if body.get("tags"):
        headers["X-Tags"] = ",".join(header_text(tag) for tag in body["tags"])  # ntfy splits first
    if body.get("click"):
        headers["X-Click"] = body["click"]
    if body.get("actions"):
        headers["X-Actions"] = json.dumps(body["actions"], ensure_ascii=True)
    url = f"{base_url(channel)}/{channel['topic']}"
    return request(client, "ntfy", "PUT", url, content=message.attachment.data, headers=headers)


def header_text(text: str) -> str:
    """``text`` as an HTTP header value ntfy reads back exactly: as is when it is one line of
    printable ASCII, else RFC 2047 (``=?UTF-8?B?…?=``, newlines kept), which ntfy decodes."""
    if text.isascii() and text.isprintable():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")).decode("ascii") + "?="


def message_header(text: str) -> str:
    """The message as a header: ASCII lines joined with a literal ``\\n`` (which ntfy turns back
    into a line break, older servers too), else RFC 2047 like any other text."""
    lines = text.split("\n")
    if all(line.isascii() and line.isprintable() for line in lines):
        return "\\n".join(lines)
    return header_text(text)


def _refuses_attachments(channel: dict[str, Any]) -> bool:
    refused = _refused_at.get(base_url(channel))
    return refused is not None and time.monotonic() - refused < REFUSED_FOR_S


def _is_attachment_refusal(exc: PermanentError) -> bool:
    """413 (too large) or 400 "attachments not allowed" / "attachment too large"."""
    return exc.status == 413 or (exc.status == 400 and "attachment" in str(exc).lower())
