"""Two flushers at once never send a row twice; a flusher killed after the service accepted a
push but before it marked the row makes the one documented duplicate (at-least-once)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from fakes.ntfy import FakeNtfy
from fakes.webhook import FakeWebhook
from notify_support import NOW, alert_and_enqueue, make_config, states

from calfsync.notify import outbox, reclaim
from calfsync.store.db import open_db

SUPPORT = Path(__file__).parent / "notify_support.py"


def _raw_config(channels: list[dict[str, Any]], **notify: Any) -> dict[str, Any]:
    return {"athlete": {"timezone": "UTC"}, "notify": {"channels": channels, **notify}}


def _queue(db_path: Path, raw: dict[str, Any], n: int) -> None:
    db = open_db(db_path)
    cfg = make_config(
        raw["notify"]["channels"], **{k: v for k, v in raw["notify"].items() if k != "channels"}
    )
    for i in range(n):
        alert_and_enqueue(db, cfg, "S1", f"S1:run-{i:03d}", title=f"push {i:03d}")
    db.conn.close()


def test_two_flusher_threads_with_their_own_connections_send_nothing_twice(
    tmp_path: Path,
) -> None:
    with FakeNtfy() as ntfy, FakeWebhook() as hook:
        raw = _raw_config(
            [
                {"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"},
                {"type": "webhook", "name": "hook", "url": hook.url},
            ],
            daily_cap=0,
        )
        _queue(tmp_path / "c.db", raw, 40)
        ntfy.delay_next(0.01, n=80)  # keep sends slow enough for the flushers to overlap
        cfg = make_config(raw["notify"]["channels"], daily_cap=0)
        reports: list[outbox.DeliveryReport] = []
        barrier = threading.Barrier(2)

        def flush(name: str) -> None:
            db = open_db(tmp_path / "c.db")
            barrier.wait()
            reports.append(outbox.deliver_due(db, cfg, NOW, worker=name))
            db.conn.close()

        threads = [threading.Thread(target=flush, args=(f"w{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        titles = Counter(m["title"] for m in ntfy.pushes())
        assert len(titles) == 40 and set(titles.values()) == {1}
        assert len(hook.seen_ids) == 40 and len(set(hook.seen_ids)) == 40
        assert sum(r.sent for r in reports) == 80
        assert states(open_db(tmp_path / "c.db")) == {"sent": 80}


def test_two_flusher_processes_send_nothing_twice(tmp_path: Path) -> None:
    with FakeNtfy() as ntfy:
        raw = _raw_config(
            [{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}], daily_cap=0
        )
        db_path = tmp_path / "p.db"
        _queue(db_path, raw, 60)
        ntfy.delay_next(0.005, n=60)
        args = [
            sys.executable,
            str(SUPPORT),
            "flush",
            str(db_path),
            json.dumps(raw),
            NOW.isoformat(),
        ]
        procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
        assert all(p.returncode == 0 for p in procs)
        titles = Counter(m["title"] for m in ntfy.pushes())
        assert len(titles) == 60 and set(titles.values()) == {1}
        assert sum(o["sent"] for o in outputs) == 60
        assert states(open_db(db_path)) == {"sent": 60}


def _flusher(db_path: Path, raw: dict[str, Any]) -> subprocess.Popen[str]:
    args = [sys.executable, str(SUPPORT), "flush", str(db_path), json.dumps(raw), NOW.isoformat()]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def test_killed_after_send_before_mark_is_resent_at_once_with_the_same_sequence_id(
    tmp_path: Path,
) -> None:
    """A killed flusher's claim (its process gone from this host) is released at the next
    delivery, not after the 5-minute lease: one resend, which ntfy shows as the same
    notification (same sequence id)."""
    with FakeNtfy() as ntfy:
        raw = _raw_config([{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}])
        db_path = tmp_path / "k.db"
        _queue(db_path, raw, 1)
        ntfy.hold()  # the service stores the push, then the answer is held back
        proc = _flusher(db_path, raw)
        try:
            assert ntfy.held.wait(60), "the flusher never reached the service"
            os.kill(proc.pid, signal.SIGKILL)  # killed after the send, before the mark
            proc.wait(30)
        finally:
            ntfy.release()
        assert len(ntfy.pushes()) == 1
        db = open_db(db_path)
        assert states(db) == {"sending": 1}
        assert outbox.pending_count(db) == 1
        cfg = make_config(raw["notify"]["channels"])
        # The claimer is dead: the next delivery (a restarted daemon) sends it at once.
        report = outbox.deliver_due(db, cfg, NOW + timedelta(seconds=5))
        assert report.sent == 1
        pushes = ntfy.pushes()
        assert len(pushes) == 2 and pushes[0]["title"] == pushes[1]["title"]
        assert len(ntfy.notifications("calf")) == 1  # the phone shows one
        assert states(db) == {"sent": 1}
        # Its request had left: the resend counted as an ambiguous send.
        assert db.execute("SELECT ambiguous FROM notify_outbox").fetchone()[0] == 1
        # And never again after that.
        assert outbox.deliver_due(db, cfg, NOW + timedelta(days=2), force=True).sent == 0
        assert len(ntfy.pushes()) == 2


def test_a_live_flushers_claim_keeps_its_lease(tmp_path: Path) -> None:
    """While the claiming process still runs (a slow request), nobody else sends its push."""
    with FakeNtfy() as ntfy:
        raw = _raw_config([{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}])
        db_path = tmp_path / "l.db"
        _queue(db_path, raw, 1)
        ntfy.hold()
        proc = _flusher(db_path, raw)
        try:
            assert ntfy.held.wait(60), "the flusher never reached the service"
            db = open_db(db_path)
            cfg = make_config(raw["notify"]["channels"])
            assert outbox.deliver_due(db, cfg, NOW + timedelta(minutes=4)).sent == 0
            assert len(ntfy.pushes()) == 1
        finally:
            ntfy.release()
            proc.wait(30)
        assert states(db) == {"sent": 1}
        assert len(ntfy.pushes()) == 1


def test_claims_of_other_hosts_or_unknown_owners_are_not_taken_for_dead() -> None:
    assert not reclaim.owner_is_dead("elsewhere:1:abc", host="here")
    assert not reclaim.owner_is_dead("garbage", host="here")
    assert not reclaim.owner_is_dead(f"here:{os.getpid()}:abc", host="here")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert reclaim.owner_is_dead(f"here:{gone.pid}:abc", host="here")


def test_killed_inside_its_request_twice_a_push_stops_at_two_copies(tmp_path: Path) -> None:
    """Each kill inside the request may leave a copy at the service: the second one makes the
    push a dead letter naming the fix, not a third copy (found by make torture)."""
    with FakeNtfy() as ntfy:
        raw = _raw_config([{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}])
        db_path = tmp_path / "k2.db"
        _queue(db_path, raw, 1)
        for _kill in range(2):
            ntfy.hold()
            proc = _flusher(db_path, raw)
            try:
                assert ntfy.held.wait(60), "the flusher never reached the service"
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(30)
            finally:
                ntfy.release()
        assert len(ntfy.pushes()) == 2
        db = open_db(db_path)
        cfg = make_config(raw["notify"]["channels"])
        report = outbox.deliver_due(db, cfg, NOW + timedelta(seconds=5))
        assert report.sent == 0 and report.dead == 1
        assert len(ntfy.pushes()) == 2
        state, ambiguous, reason = db.execute(
            "SELECT state, ambiguous, last_error FROM notify_outbox"
        ).fetchone()
        assert (state, ambiguous) == ("dead", 2)
        assert "calfsync notify retry ID" in reason
        assert db.execute("SELECT pushed FROM alerts").fetchone()[0] == "dead"


def test_a_claim_abandoned_before_its_request_left_is_sent_without_counting_a_copy(
    tmp_path: Path,
) -> None:
    """Killed between claiming and sending (no request_at): nothing can be at the service, so
    the push goes out at once with its ordinary budget, however often that happens."""
    with FakeNtfy() as ntfy:
        raw = _raw_config([{"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}])
        db_path = tmp_path / "c.db"
        _queue(db_path, raw, 1)
        db = open_db(db_path)
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        owner = f"{socket.gethostname()}:{gone.pid}:dead"
        lease_end = (NOW + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        db.execute(
            "UPDATE notify_outbox SET state = 'sending', claimed_by = ?, claimed_until = ?, "
            "ambiguous = 1, push_key = 'push-x'",
            [owner, lease_end],
        )
        db.conn.commit()
        cfg = make_config(raw["notify"]["channels"])
        report = outbox.deliver_due(db, cfg, NOW + timedelta(seconds=5))
        assert report.sent == 1 and len(ntfy.pushes()) == 1
        assert db.execute("SELECT state, ambiguous FROM notify_outbox").fetchone() == ("sent", 1)
