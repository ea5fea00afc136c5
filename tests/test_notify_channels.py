"""Each channel against a loopback fake of its service: success, and every failure sorted into
retryable (connection refused, timeout, 429, 500) or permanent (401, 400, 404)."""

from __future__ import annotations

import base64
import io
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fakes.base import FakeService, closed_port
from fakes.gotify import FakeGotify
from fakes.ntfy import FakeNtfy
from fakes.pushover import FakePushover
from fakes.telegram import FakeTelegram
from fakes.webhook import FakeWebhook

from calfsync.notify import Message, PermanentError, RetryableError, console, sender_for
from calfsync.notify.webhook import sign

TG_TOKEN = "123456:ABC-telegram-secret-token"
SERVICES = ["ntfy", "gotify", "pushover", "telegram", "webhook"]


def _message(**kw: Any) -> Message:
    return Message(
        title=kw.pop("title", "S1 large: a run far past your recent longest"),
        body=kw.pop("body", "Today 21.0 km vs 10.0 km longest in 30 days (+110%, limit +10%)."),
        level=kw.pop("level", 4),
        tags=["warning", "S1"],
        click_url="https://www.strava.com/activities/42",
        dedupe_key=kw.pop("dedupe_key", "S1:run-1"),
        created_at=datetime(2026, 6, 10, 12, tzinfo=UTC),
        **kw,
    )


def _setup(kind: str) -> tuple[FakeService, dict[str, Any]]:
    if kind == "ntfy":
        fake: FakeService = FakeNtfy(token="tk_ntfysecret")
        return fake, {"type": "ntfy", "name": "n", "topic": "calf", "token": "tk_ntfysecret"}
    if kind == "gotify":
        return FakeGotify("AppTokenGotify1"), {
            "type": "gotify",
            "name": "g",
            "token": "AppTokenGotify1",
        }
    if kind == "pushover":
        return FakePushover("apptokpushover", "userkeypushover"), {
            "type": "pushover",
            "name": "p",
            "token": "apptokpushover",
            "user": "userkeypushover",
        }
    if kind == "telegram":
        return FakeTelegram(TG_TOKEN, {"777"}), {
            "type": "telegram",
            "name": "t",
            "token": TG_TOKEN,
            "chat_id": "777",
        }
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    return FakeWebhook(secret), {"type": "webhook", "name": "w", "secret": secret}


@pytest.fixture(params=SERVICES)
def service(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeService, dict[str, Any]]]:
    fake, chan = _setup(request.param)
    fake.start()
    chan["url"] = fake.url + ("/hook" if request.param == "webhook" else "")
    try:
        yield request.param, fake, chan
    finally:
        fake.stop()


def _send(chan: dict[str, Any], message: Message | None = None, timeout: float = 2.0) -> Any:
    with httpx.Client(timeout=timeout) as client:
        return sender_for(chan["type"])(client, chan, message or _message())


def test_success_reaches_the_service(service: tuple[str, FakeService, dict[str, Any]]) -> None:
    kind, fake, chan = service
    _send(chan)
    assert len(fake.requests) == 1
    req = fake.requests[0]
    if kind == "ntfy":
        sent = req.json()
        assert req.header("authorization") == "Bearer tk_ntfysecret"
        assert sent["topic"] == "calf" and sent["priority"] == 4
        assert sent["title"].startswith("S1 large") and "S1" in sent["tags"]
        assert sent["click"] == "https://www.strava.com/activities/42"
        assert "actions" not in sent
    elif kind == "gotify":
        assert req.header("x-gotify-key") == "AppTokenGotify1"
        assert req.json()["priority"] == 8
        assert req.json()["extras"]["client::notification"]["click"]["url"].endswith("/42")
    elif kind == "pushover":
        form = req.form()
        assert form["priority"] == "1" and form["url"].endswith("/42")
    elif kind == "telegram":
        assert req.path == f"/bot{TG_TOKEN}/sendMessage"
        assert req.json()["chat_id"] == "777" and "S1 large" in req.json()["text"]
        assert req.json()["disable_notification"] is False
    else:
        assert fake.seen_ids == ["S1:run-1"]  # signature verified by the receiver
        assert fake.events["S1:run-1"]["data"]["priority"] == 4


def test_connection_refused_is_retryable(service: tuple[str, FakeService, dict[str, Any]]) -> None:
    _kind, _fake, chan = service
    chan["url"] = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(RetryableError, match="cannot connect"):
        _send(chan)


def test_timeout_is_retryable(service: tuple[str, FakeService, dict[str, Any]]) -> None:
    _kind, fake, chan = service
    fake.delay_next(1.0)
    with pytest.raises(RetryableError, match="timed out") as info:
        _send(chan, timeout=0.2)
    assert info.value.ambiguous  # the request went out: the service may have stored it


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retryable(
    service: tuple[str, FakeService, dict[str, Any]], status: int
) -> None:
    kind, fake, chan = service
    fake.fail_next(status)
    with pytest.raises(RetryableError) as info:
        _send(chan)
    assert info.value.status == status
    assert f"HTTP {status}" in str(info.value)
    if kind == "telegram" and status == 429:
        assert info.value.retry_after_s == 1.0  # from parameters.retry_after


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_permanent(
    service: tuple[str, FakeService, dict[str, Any]], status: int
) -> None:
    kind, fake, chan = service
    fake.fail_next(status)
    with pytest.raises(PermanentError) as info:
        _send(chan)
    assert info.value.status == status
    assert kind in str(info.value)


def test_wrong_credentials_are_permanent_with_the_services_reason(
    service: tuple[str, FakeService, dict[str, Any]],
) -> None:
    kind, fake, chan = service
    if kind == "telegram":
        chan["token"] = "999:wrong"
    elif kind == "webhook":
        chan["secret"] = "whsec_" + base64.b64encode(b"another-key-entirely-32-bytes!!").decode()
    else:
        chan["token"] = "wrong-token"
    with pytest.raises(PermanentError) as info:
        _send(chan)
    expected = {"ntfy": 401, "gotify": 401, "pushover": 400, "telegram": 401, "webhook": 401}
    assert info.value.status == expected[kind]
    reason = {
        "ntfy": "unauthorized",
        "gotify": "valid access token",
        "pushover": "token is invalid",
        "telegram": "Unauthorized",
        "webhook": "invalid signature",
    }
    assert reason[kind] in str(info.value)
    assert fake.requests == []


def test_real_bad_requests_are_permanent() -> None:
    with FakeTelegram(TG_TOKEN, {"777"}) as fake:
        chan = {"type": "telegram", "name": "t", "token": TG_TOKEN, "chat_id": "1", "url": fake.url}
        with pytest.raises(PermanentError, match="chat not found") as info:
            _send(chan)
        assert info.value.status == 400
        assert TG_TOKEN not in str(info.value)
    with FakeNtfy() as fake:
        chan = {"type": "ntfy", "name": "n", "topic": "calf pain!", "url": fake.url}
        with pytest.raises(PermanentError, match="topic invalid") as info:
            _send(chan)
        assert info.value.status == 400


def test_ntfy_basic_auth_and_open_server() -> None:
    with FakeNtfy(users={"runner": "pa55word"}) as fake:
        chan = {
            "type": "ntfy",
            "name": "n",
            "topic": "calf",
            "url": fake.url,
            "username": "runner",
            "password": "pa55word",
        }
        _send(chan)
        assert fake.requests[0].header("authorization").startswith("Basic ")
        chan.pop("password")
        with pytest.raises(PermanentError) as info:  # no credentials: 403 forbidden
            _send(chan)
        assert info.value.status == 403


def test_low_level_maps_to_each_services_quiet_priority() -> None:
    with FakeTelegram(TG_TOKEN, {"777"}) as fake:
        chan = {
            "type": "telegram",
            "name": "t",
            "token": TG_TOKEN,
            "chat_id": "777",
            "url": fake.url,
        }
        _send(chan, _message(level=2))
        assert fake.requests[0].json()["disable_notification"] is True
    with FakePushover("a" * 10, "u" * 10) as fake:
        chan = {
            "type": "pushover",
            "name": "p",
            "token": "a" * 10,
            "user": "u" * 10,
            "url": fake.url,
        }
        _send(chan, _message(level=2))
        assert fake.requests[0].form()["priority"] == "-1"


def test_webhook_without_secret_and_with_extra_headers() -> None:
    with FakeWebhook() as fake:
        chan = {
            "type": "webhook",
            "name": "w",
            "url": fake.url + "/in",
            "headers": {"X-Env": "test"},
        }
        _send(chan)
        req = fake.requests[0]
        assert req.header("x-env") == "test" and req.header("webhook-signature") is None
        body = json.loads(req.body)
        assert body["type"] == "calfsync.alert" and body["data"]["title"].startswith("S1")


def test_webhook_signature_follows_standard_webhooks() -> None:
    # The spec's own example: secret, id, timestamp and payload give this signature.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_console_writes_the_push() -> None:
    stream = io.StringIO()
    console.STREAM = stream
    try:
        _send({"type": "console", "name": "console"})
    finally:
        console.STREAM = None
    assert "S1 large" in stream.getvalue() and "priority 4" in stream.getvalue()


def test_apprise_missing_extra_is_a_permanent_error_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if the extra were not installed
    with pytest.raises(PermanentError, match=r"calfsync\[apprise\]"):
        _send({"type": "apprise", "name": "a", "urls": ["json://127.0.0.1:1/"]})


class _JsonReceiver(FakeService):
    """What Apprise's ``json://`` plugin posts to: any JSON, 200 or the queued failure."""

    def handle(self, req: Any) -> tuple[int, dict[str, str], bytes]:
        self.record(req)
        return 200, {"Content-Type": "application/json"}, b"{}"

    def error(self, status: int) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, b'{"error": "x"}'


def test_apprise_reaches_a_loopback_service() -> None:
    with _JsonReceiver() as fake:
        chan = {"type": "apprise", "name": "a", "urls": [f"json://127.0.0.1:{fake.port}/in"]}
        _send(chan)
        body = fake.requests[0].json()
        assert body["title"].startswith("S1 large") and "21.0 km" in body["message"]
        fake.fail_next(500)
        with pytest.raises(RetryableError, match="apprise"):
            _send(chan)
        with pytest.raises(PermanentError, match="not valid"):
            _send({"type": "apprise", "name": "a", "urls": ["nonsense-scheme://x"]})
