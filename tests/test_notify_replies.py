"""Soreness check-in from the phone: ntfy action buttons, polling, cursor, soreness rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fakes.ntfy import FakeNtfy
from notify_support import NOW, alert_and_enqueue, make_config

from calfsync.notify import outbox, replies
from calfsync.store.db import get_state, open_db, rows


@pytest.fixture
def db(tmp_path: Path) -> Any:
    return open_db(tmp_path / "calfsync.db")


def test_pushes_carry_sore_and_fine_buttons_on_the_same_server(db: Any) -> None:
    with FakeNtfy(token="tk_reply_token") as ntfy:
        cfg = make_config(
            [
                {
                    "type": "ntfy",
                    "name": "phone",
                    "url": ntfy.url,
                    "topic": "calf",
                    "token": "tk_reply_token",
                }
            ],
            reply_topic="calf-replies",
        )
        alert_and_enqueue(db, cfg, "S1", "S1:r1")
        outbox.deliver_due(db, cfg, NOW)
        (push,) = ntfy.pushes("calf")
        labels = [a["label"] for a in push["actions"]]
        assert labels == ["Calf sore", "Calf fine"]
        for action in push["actions"]:
            assert action["action"] == "http" and action["method"] == "POST"
            assert action["url"] == f"{ntfy.url}/calf-replies"
            assert action["headers"] == {"Authorization": "Bearer tk_reply_token"}


def test_no_buttons_without_reply_topic(db: Any) -> None:
    with FakeNtfy() as ntfy:
        cfg = make_config([{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}])
        alert_and_enqueue(db, cfg, "S1", "S1:r1")
        outbox.deliver_due(db, cfg, NOW)
        assert "actions" not in ntfy.pushes("calf")[0]
        assert replies.poll(db, cfg, NOW) == 0


def test_tapped_buttons_become_soreness_rows_once(db: Any) -> None:
    with FakeNtfy(token="tk_reply_token") as ntfy:
        cfg = make_config(
            [
                {
                    "type": "ntfy",
                    "name": "phone",
                    "url": ntfy.url,
                    "topic": "calf",
                    "token": "tk_reply_token",
                }
            ],
            reply_topic="calf-replies",
            tz="Europe/Paris",
        )
        alert_and_enqueue(db, cfg, "S1", "S1:r1")
        outbox.deliver_due(db, cfg, NOW)
        push = ntfy.pushes("calf")[0]
        ntfy.tap(0, push)  # "Calf sore"
        assert replies.poll(db, cfg, NOW) == 1
        assert replies.poll(db, cfg, NOW) == 0  # cursor: nothing new
        cursor = get_state(db, replies.CURSOR_KEY)
        assert cursor == ntfy.pushes("calf-replies")[0]["id"]
        ntfy.tap(1, push)  # "Calf fine"
        # a typed answer, and chatter that is not an answer
        for text in ("sore 7", "how far today?"):
            ntfy.messages.append(
                {**ntfy.pushes("calf-replies")[0], "id": f"typed{len(text)}", "message": text}
            )
        assert replies.poll(db, cfg, NOW) == 2
        found = rows(db, "SELECT level, source, note FROM soreness ORDER BY id")
        assert [r["level"] for r in found] == [replies.SORE_LEVEL, 0, 7]
        assert {r["source"] for r in found} == {"ntfy"}
        # Losing the cursor does not record anything twice.
        db.execute("DELETE FROM state WHERE key = ?", [replies.CURSOR_KEY])
        assert replies.poll(db, cfg, NOW) == 0


def test_poll_failure_keeps_the_cursor(db: Any) -> None:
    with FakeNtfy(token="tk_reply_token") as ntfy:
        cfg = make_config(
            [
                {
                    "type": "ntfy",
                    "name": "phone",
                    "url": ntfy.url,
                    "topic": "calf",
                    "token": "tk_wrong",
                }
            ],
            reply_topic="calf-replies",
        )
        assert replies.poll(db, cfg, NOW) == 0
        assert get_state(db, replies.CURSOR_KEY) is None


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("sore", 5),
        ("fine", 0),
        ("Sore 8", 8),
        ("3", 3),
        ("0", 0),
        ("sore 11", None),
        ("hello", None),
        ("", None),
    ],
)
def test_parse_answer(text: str, level: int | None) -> None:
    assert replies.parse_answer(text) == level
