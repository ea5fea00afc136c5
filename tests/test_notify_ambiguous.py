"""A push server that stores the message but answers after calfsync's timeout (issue 11 item 6).

Before the fix every retry made one more copy (3 alerts over 5 flushes: 15). Now the retry
after an ambiguous send waits longer, carries the same dedupe key (ntfy's sequence id), and a
push whose second send also goes unanswered is kept as a dead letter: at most 2 copies each.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.base import closed_port
from fakes.gotify import FakeGotify
from fakes.ntfy import FakeNtfy
from notify_support import NOW, alert_and_enqueue, make_config, states

from calfsync.notify import ambiguity, outbox
from calfsync.store.db import open_db


@pytest.fixture
def db(tmp_path: Path) -> Any:
    return open_db(tmp_path / "calfsync.db")


def _flush(db: Any, cfg: Any, times: int) -> None:
    for i in range(times):
        outbox.deliver_due(db, cfg, NOW + timedelta(minutes=10 * i), force=True)


def test_slow_ntfy_gets_at_most_two_copies_and_the_phone_shows_one(db: Any) -> None:
    with FakeNtfy() as ntfy:
        ntfy.answer_late(3.0, n=100)  # every request stored at once, answered after 3 s
        chan = {"type": "ntfy", "url": ntfy.url, "topic": "calf", "timeout_s": 1}
        cfg = make_config([chan], daily_cap=0)  # one push per alert
        for n in range(3):
            alert_and_enqueue(db, cfg, "S1", f"S1:run{n}", title=f"alert {n}")
        _flush(db, cfg, 5)
        copies = Counter(m["title"] for m in ntfy.pushes("calf"))
        assert set(copies) == {"alert 0", "alert 1", "alert 2"}
        assert max(copies.values()) <= 2, copies
        # the resend carries the first send's sequence id: one notification per alert
        assert sorted(m["title"] for m in ntfy.notifications("calf")) == [
            "alert 0",
            "alert 1",
            "alert 2",
        ]
        assert states(db) == {"sent": 3}  # the longer timeout (4 s) let the answer through


def test_a_push_is_not_resent_after_two_unanswered_sends(db: Any) -> None:
    """Gotify has no idempotency key: the bound is the only protection."""
    with FakeGotify("AppTok1") as gotify:
        gotify.answer_late(3.0, n=100)
        chan = {"type": "gotify", "url": gotify.url, "token": "AppTok1", "timeout_s": 0.5}
        cfg = make_config([chan], daily_cap=0)
        alert_and_enqueue(db, cfg, "S1", "S1:slow")
        _flush(db, cfg, 5)
        assert len(gotify.messages) == 2  # the first send and the one longer-timeout resend
        assert states(db) == {"dead": 1}
        row = db.execute("SELECT ambiguous, attempts, last_error FROM notify_outbox").fetchone()
        assert row[0] == ambiguity.MAX_AMBIGUOUS and row[1] == 2
        assert "may have shown it" in row[2] and "timeout_s" in row[2]
        assert "calfsync notify retry" in row[2]


def test_a_refused_connection_is_not_ambiguous(db: Any) -> None:
    """Nothing was sent: no copy can exist, so the push keeps its ordinary retry budget."""
    chan = {"type": "gotify", "url": f"http://127.0.0.1:{closed_port()}", "token": "t" * 8}
    cfg = make_config([chan], daily_cap=0)
    alert_and_enqueue(db, cfg, "S1", "S1:down")
    _flush(db, cfg, 3)
    assert states(db) == {"pending": 1}
    assert db.execute("SELECT ambiguous, attempts FROM notify_outbox").fetchone() == (0, 3)


def test_the_longer_timeout_applies_only_after_an_ambiguous_send() -> None:
    assert ambiguity.timeout_s(10, [{"ambiguous": 0}]) == 10
    assert ambiguity.timeout_s(10, [{"ambiguous": 1}]) == 10 * ambiguity.TIMEOUT_FACTOR
    assert ambiguity.timeout_s(300, [{"ambiguous": 1}]) == ambiguity.TIMEOUT_CAP_S


def test_a_bundle_resent_after_a_timeout_keeps_its_sequence_id(db: Any) -> None:
    """A bundle's dedupe key is its push_key: kept after the ambiguous send, so ntfy shows the
    resend as the same notification."""
    with FakeNtfy() as ntfy:
        ntfy.answer_late(3.0, n=1)  # only the first send is slow
        chan = {"type": "ntfy", "url": ntfy.url, "topic": "calf", "timeout_s": 1}
        cfg = make_config([chan], daily_cap=1)  # the day's alerts bundled into one push
        alert_and_enqueue(db, cfg, "S1", "S1:a")
        alert_and_enqueue(db, cfg, "S1", "S1:b")
        _flush(db, cfg, 2)
        first, second = ntfy.pushes("calf")
        assert first["sequence_id"] == second["sequence_id"]
        assert len(ntfy.notifications("calf")) == 1
        assert states(db) == {"sent": 2}
