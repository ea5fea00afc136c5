"""Push channels: one short module per service, one signature, one error taxonomy.

Every channel module has ``send(client, channel, message) -> str | None``: ``client`` is an
``httpx.Client``, ``channel`` the channel's config table with its secrets resolved, ``message``
a :class:`Message`. It returns the service's message id when there is one and raises
:class:`RetryableError` (network error, timeout, 429, 5xx: try again later) or
:class:`PermanentError` (400, 401, 403, 404: retrying cannot help, keep as a dead letter).

The durable outbox that decides what to send and when is :mod:`calfsync.notify.outbox`.
This module imports nothing heavy: ``calfsync --help`` stays fast.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..secrets import redact

if TYPE_CHECKING:
    import httpx

CHANNEL_MODULES: dict[str, str] = {
    "ntfy": "calfsync.notify.ntfy",
    "gotify": "calfsync.notify.gotify",
    "pushover": "calfsync.notify.pushover",
    "telegram": "calfsync.notify.telegram",
    "webhook": "calfsync.notify.webhook",
    "console": "calfsync.notify.console",
    "apprise": "calfsync.notify.apprise_channel",
}
RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Attachment:
    """A file a push carries where the channel takes one (the weekly chart, a PNG)."""

    filename: str
    data: bytes
    content_type: str = "image/png"


@dataclass(frozen=True)
class ShoeQuestion:
    """ "Which shoes on this run?": the run (``about`` names it: "10.0 km run of Wed 10 Jun")
    and up to three active shoes as (id, name), most recently used first. ntfy turns them into
    buttons (:mod:`calfsync.notify.shoe_question`)."""

    activity_id: str
    about: str
    shoes: tuple[tuple[str, str], ...]


@dataclass
class Message:
    """One push as every channel sees it.

    ``level`` is calfsync's priority on ntfy's scale (1 min, 2 low, 3 default, 4 high, 5 urgent);
    each channel maps it to its own. ``dedupe_key`` is stable across retries of the same push
    (the webhook sends it as ``webhook-id``). ``alerts`` lists what the push carries, for
    machine receivers.
    """

    title: str
    body: str
    level: int = 3
    tags: list[str] = field(default_factory=list)
    click_url: str | None = None
    dedupe_key: str = ""
    created_at: datetime | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    reply_topic: str | None = None
    attachment: Attachment | None = None  # the chart ([notify] charts), image channels only
    shoe_question: ShoeQuestion | None = None  # asked with buttons on ntfy ([notify] ask_shoe)


class ChannelError(Exception):
    """A push failed. ``retryable`` says whether a later attempt can succeed."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(redact(message))
        self.status = status
        self.retry_after_s = retry_after_s
        # True when the request went out and no answer came back (a read timeout, a reset):
        # the service may have stored the push, so a resend may make a second copy.
        self.ambiguous = ambiguous


class RetryableError(ChannelError):
    """Network error, timeout, 429 or 5xx: back off and try again."""

    retryable = True


class PermanentError(ChannelError):
    """400, 401, 403, 404 (bad token, unknown chat, malformed push): a dead letter."""

    retryable = False


class Sender(Protocol):
    def __call__(
        self, client: httpx.Client, channel: dict[str, Any], message: Message
    ) -> str | None: ...


def sender_for(kind: str) -> Sender:
    """The ``send`` function of a channel type (imports its module on first use)."""
    try:
        module = importlib.import_module(CHANNEL_MODULES[kind])
    except KeyError as exc:
        raise PermanentError(f"unknown channel type '{kind}'") from exc
    return module.send


def request(
    client: httpx.Client, service: str, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send one HTTP request and sort any failure into the taxonomy.

    Returns the response only for 2xx. Messages name the service and the status with the
    service's own error text, never the URL (it may hold a token).
    """
    import httpx  # about 130 ms: loaded only when a push or a reply is due

    try:
        response = client.request(method, url, **kwargs)
    except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing was sent
        raise RetryableError(f"{service}: timed out ({type(exc).__name__})") from None
    except httpx.TimeoutException as exc:  # sent, no answer in time: maybe stored
        raise RetryableError(
            f"{service}: timed out waiting for the answer after the push was sent "
            f"({type(exc).__name__}); the service may have it",
            ambiguous=True,
        ) from None
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
        raise RetryableError(
            f"{service}: connection lost after the push was sent ({_short(exc)}); "
            "the service may have it",
            ambiguous=True,
        ) from None
    except httpx.TransportError as exc:
        raise RetryableError(f"{service}: cannot connect ({_short(exc)})") from None
    if 200 <= response.status_code < 300:
        return response
    detail = error_detail(response)
    text = f"{service}: HTTP {response.status_code}" + (f": {detail}" if detail else "")
    if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
        raise RetryableError(
            text, status=response.status_code, retry_after_s=_retry_after(response)
        )
    raise PermanentError(text + _hint(service, response.status_code), status=response.status_code)


def error_detail(response: httpx.Response) -> str:
    """The error text of a service's JSON (or plain) error body, shortened."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return response.text.strip()[:200]
    if not isinstance(body, dict):
        return str(body)[:200]
    for key in ("error", "description", "errorDescription", "errors", "message"):
        value = body.get(key)
        if value:
            if isinstance(value, list):
                value = "; ".join(str(v) for v in value)
            extra = body.get("errorDescription") if key == "error" else None
            return f"{value}: {extra}"[:200] if extra else str(value)[:200]
    return json.dumps(body)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        try:
            value = response.json().get("parameters", {}).get("retry_after")  # Telegram
        except (ValueError, AttributeError):
            value = None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _hint(service: str, status: int) -> str:
    if status in (401, 403):
        return f" (check the {service} token or credentials in [[notify.channels]])"
    if status == 404:
        return f" (check the {service} url, topic or chat id in [[notify.channels]])"
    return ""


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]
