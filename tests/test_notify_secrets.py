"""Secrets come from the config, a *_file or $CREDENTIALS_DIRECTORY and never reach logs,
errors or status; Telegram's token in the URL path is hidden too."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fakes.base import closed_port
from fakes.telegram import FakeTelegram
from notify_support import NOW, alert_and_enqueue, make_config

from calfsync import secrets
from calfsync.errors import ConfigError
from calfsync.notify import outbox
from calfsync.store.db import open_db

TOKEN = "987654:SuperSecretBotTokenValue"


def test_resolve_from_value_file_and_credentials_directory(tmp_path: Path) -> None:
    assert secrets.resolve_secret({"token": "tk_inline"}, "token") == "tk_inline"
    path = tmp_path / "ntfy-token"
    path.write_text("tk_from_file\n")
    assert secrets.resolve_secret({"token_file": str(path)}, "token") == "tk_from_file"
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "phone_token").write_text("tk_from_systemd\n")
    env = {"CREDENTIALS_DIRECTORY": str(creds)}
    assert secrets.resolve_secret({"name": "phone"}, "token", env=env) == "tk_from_systemd"
    assert secrets.resolve_secret({"name": "other"}, "token", env=env) is None
    (creds / "calfsync_other_token").write_text("tk_from_folder")  # LoadCredential=calfsync:DIR
    assert secrets.resolve_secret({"name": "other"}, "token", env=env) == "tk_from_folder"
    assert secrets.resolve_secret({"name": "phone"}, "token", env={}) is None


def test_unreadable_secret_file_names_the_file_not_a_secret(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match="token_file") as info:
        secrets.resolve_secret({"token_file": str(missing)}, "token")
    assert str(missing) in str(info.value)


def test_channel_secret_from_credentials_directory_is_used_and_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "tg_token").write_text(TOKEN + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    db = open_db(tmp_path / "s.db")
    caplog.set_level(logging.DEBUG)
    with FakeTelegram(TOKEN, {"42"}) as tg:
        cfg = make_config([{"type": "telegram", "name": "tg", "chat_id": "42", "url": tg.url}])
        alert_and_enqueue(db, cfg, "S1", "S1:r1")
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        assert tg.requests[0].path == f"/bot{TOKEN}/sendPhoto"  # with the chart
    assert "HTTP Request" in caplog.text  # httpx logged the request ...
    assert TOKEN not in caplog.text  # ... with the token hidden
    assert "/bot***/sendPhoto" in caplog.text


def test_failures_never_show_the_token(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = open_db(tmp_path / "f.db")
    caplog.set_level(logging.DEBUG)
    with FakeTelegram(TOKEN, {"42"}) as tg:
        for i, (url, fault) in enumerate(
            [(tg.url, 401), (tg.url, 500), (f"http://127.0.0.1:{closed_port()}", None)]
        ):
            if fault:
                tg.fail_next(fault)
            cfg = make_config(
                [
                    {
                        "type": "telegram",
                        "name": f"tg{i}",
                        "token": TOKEN,
                        "chat_id": "42",
                        "url": url,
                    }
                ]
            )
            alert_and_enqueue(db, cfg, "S1", f"S1:r{i}")
            report = outbox.deliver_due(db, cfg, NOW)
            assert report.sent == 0 and report.errors
            assert all(TOKEN not in e for e in report.errors)
    stored = " ".join(str(r[0]) for r in db.execute("SELECT last_error FROM notify_outbox"))
    assert "HTTP 401" in stored and "HTTP 500" in stored and "cannot connect" in stored
    assert TOKEN not in stored
    assert TOKEN not in caplog.text
    assert TOKEN not in str(outbox.summary(db))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "POST https://api.telegram.org/bot123:abc/sendMessage",
            "https://api.telegram.org/bot***/sendMessage",
        ),
        ("https://user:pw@ntfy.example/topic", "https://***@ntfy.example/topic"),
        ("http://gotify.lan/message?token=AbC123&x=1", "http://gotify.lan/message?token=***&x=1"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact_url(text: str, expected: str) -> None:
    assert expected in secrets.redact_url(text)


def test_redact_mapping_for_config_show() -> None:
    shown = secrets.redact_mapping(
        {
            "notify": {
                "channels": [
                    {"type": "pushover", "token": "t0k3n", "user": "u53r", "token_file": "/run/x"}
                ]
            }
        }
    )
    chan: dict[str, Any] = shown["notify"]["channels"][0]
    assert chan["token"] == "***" and chan["user"] == "***" and chan["token_file"] == "/run/x"
    assert secrets.redact("key is tk_abcdef", ["tk_abcdef"]) == "key is ***"


def test_config_show_masks_every_webhook_header_value(tmp_path: Path) -> None:
    """Issue 11 item 7: header values (Authorization, X-Api-Key...) are credentials."""
    import subprocess
    import sys

    path = tmp_path / "c.toml"
    path.write_text(
        "[[notify.channels]]\n"
        'type = "webhook"\n'
        'url = "http://127.0.0.1:9/hook"\n'
        'headers = { Authorization = "Bearer hdr-secret-1", "X-Api-Key" = "hdr-secret-2" }\n',
        encoding="utf-8",
    )
    for extra in ([], ["--json"]):
        run = subprocess.run(
            [sys.executable, "-m", "calfsync", "config", "show", str(path), *extra],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "hdr-secret" not in run.stdout + run.stderr
        assert "Authorization" in run.stdout and "X-Api-Key" in run.stdout


def test_a_webhook_header_of_the_wrong_type_is_not_echoed() -> None:
    from calfsync.config import validate

    with pytest.raises(ConfigError) as info:
        validate(
            {
                "notify": {
                    "channels": [
                        {"type": "webhook", "url": "http://x", "headers": {"X-Api-Key": ["hdr-s3"]}}
                    ]
                }
            }
        )
    assert "headers must be a table" in str(info.value) and "hdr-s3" not in str(info.value)


def test_webhook_headers_still_reach_the_receiver(tmp_path: Path) -> None:
    from fakes.webhook import FakeWebhook

    db = open_db(tmp_path / "c.db")
    with FakeWebhook() as hook:
        cfg = make_config(
            [{"type": "webhook", "url": hook.url + "/hook", "headers": {"X-Api-Key": "k-123"}}]
        )
        alert_and_enqueue(db, cfg, "S1", "S1:h")
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        assert hook.requests[0].header("x-api-key") == "k-123"


def test_ntfy_buttons_carry_the_write_only_reply_token_not_the_main_token(tmp_path: Path) -> None:
    """The buttons' headers travel inside every push (every subscriber and the server's cache
    see them): with ``reply_token`` set they carry it, and that token can only publish to the
    reply topic (``ntfy access <user> <reply-topic> write-only``)."""
    import httpx
    from fakes.ntfy import FakeNtfy

    from calfsync.notify import replies

    db = open_db(tmp_path / "c.db")
    reply_file = tmp_path / "reply_token"
    reply_file.write_text("tk_reply_only\n", encoding="utf-8")
    with FakeNtfy(token="tk_main_token", write_only={"tk_reply_only": "calf-replies"}) as ntfy:
        chan = {
            "type": "ntfy",
            "url": ntfy.url,
            "topic": "calf",
            "token": "tk_main_token",
            "reply_token_file": str(reply_file),
        }
        cfg = make_config([chan], reply_topic="calf-replies")
        alert_and_enqueue(db, cfg, "S1", "S1:r")
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        (push,) = ntfy.pushes("calf")
        raw = json.dumps(push)
        assert "tk_main_token" not in raw
        assert {a["headers"]["Authorization"] for a in push["actions"]} == {"Bearer tk_reply_only"}
        ntfy.tap(0, push)  # the phone's button: accepted on the reply topic
        assert [m["message"] for m in ntfy.pushes("calf-replies")] == ["sore"]
        # the reply token can neither publish to the alert topic nor read the replies
        leak = {"Authorization": "Bearer tk_reply_only"}
        assert httpx.post(f"{ntfy.url}/calf", content="x", headers=leak).status_code == 403
        poll = httpx.get(f"{ntfy.url}/calf-replies/json?poll=1", headers=leak)
        assert poll.status_code == 403
        # calfsync reads the answers with the main token
        assert replies.poll(db, cfg, NOW) == 1


def test_without_a_reply_token_the_buttons_keep_the_channel_token(tmp_path: Path) -> None:
    from calfsync.notify import Message, ntfy

    chan = {"type": "ntfy", "topic": "calf", "token": "tk_main_token"}
    body = ntfy.payload(chan, Message(title="t", body="b", reply_topic="calf-replies"))
    assert body["actions"][0]["headers"] == {"Authorization": "Bearer tk_main_token"}
    with_reply = ntfy.payload(
        {**chan, "reply_token": "tk_reply"}, Message(title="t", body="b", reply_topic="r")
    )
    assert with_reply["actions"][0]["headers"] == {"Authorization": "Bearer tk_reply"}
