"""Soreness check-in from the phone: ntfy action buttons, polling, cursor, soreness rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.ntfy import FakeNtfy
from notify_support import NOW, alert_and_enqueue, make_config

from calfsync import sync
from calfsync.notify import outbox, replies
from calfsync.soreness import record_soreness
from calfsync.store.db import open_db
from calfsync.store.state import get_state


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
        found = list(db.query("SELECT level, source, note FROM soreness ORDER BY id"))
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


def test_an_answer_at_2359_read_after_midnight_is_judged_on_its_own_day(db: Any) -> None:
    """P1 midnight: "Calf sore" tapped at 23:59 and polled at 00:01 is a report about the day
    it was tapped; the next evaluation judges that day (the answer makes pain span 8 days)."""
    tapped = datetime(2026, 6, 10, 21, 59, tzinfo=UTC)  # 23:59 in Paris
    polled = tapped + timedelta(minutes=2)  # 00:01 on 11 June in Paris
    with FakeNtfy() as ntfy:
        cfg = make_config(
            [{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}],
            reply_topic="calf-replies",
            tz="Europe/Paris",
        )
        for day in ("2026-06-02", "2026-06-06"):  # sore, reported with `calfsync sore 3`
            assert record_soreness(db, cfg, 3, day, None, tapped) == []
        ntfy.messages.append(
            {
                "id": "late",
                "time": int(tapped.timestamp()),
                "event": "message",
                "topic": "calf-replies",
                "message": "sore",
            }
        )
        assert replies.poll(db, cfg, polled) == 1
    sync.evaluate_pending(db, cfg, polled)
    found = list(db.query("SELECT rule, local_date, episode_key FROM alerts WHERE rule = 'P1'"))
    assert found == [{"rule": "P1", "local_date": "2026-06-10", "episode_key": "P1:2026-06-02"}]
