"""The outbox against a loopback ntfy / webhook: enqueue, policy, retries, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.base import closed_port
from fakes.ntfy import FakeNtfy
from fakes.webhook import FakeWebhook
from notify_support import NOW, add_alert, add_run, alert_and_enqueue, make_config, states

from calfsync.model import parse_utc
from calfsync.notify import outbox
from calfsync.store.db import open_db, write_tx


@pytest.fixture
def ntfy() -> Iterator[FakeNtfy]:
    with FakeNtfy(token="tk_secret_ntfy") as fake:
        yield fake


@pytest.fixture
def db(tmp_path: Path) -> Any:
    return open_db(tmp_path / "calfsync.db")


def ntfy_channel(fake: FakeNtfy, **kw: Any) -> dict[str, Any]:
    return {
        "type": "ntfy",
        "name": "phone",
        "url": fake.url,
        "topic": "calf",
        "token": "tk_secret_ntfy",
        **kw,
    }


def test_enqueue_writes_a_row_per_alert_and_channel_and_is_idempotent(
    db: Any, ntfy: FakeNtfy
) -> None:
    with FakeWebhook() as hook:
        cfg = make_config(
            [ntfy_channel(ntfy), {"type": "webhook", "name": "hook", "url": hook.url}]
        )
        alert_id = alert_and_enqueue(db, cfg, "S1", "S1:run-1")
        assert outbox.enqueue(db, cfg, [alert_id], NOW) == 0  # already there
        keys = [r["dedupe_key"] for r in list(db.query("SELECT * FROM notify_outbox ORDER BY id"))]
        assert keys == ["phone:S1:run-1", "hook:S1:run-1"]
        report = outbox.deliver_due(db, cfg, NOW)
        assert report.sent == 2 and report.pending == 0
        assert hook.seen_ids == ["S1:run-1"]
        assert len(ntfy.pushes("calf")) == 1
        assert db.execute("SELECT pushed FROM alerts").fetchone()[0] == "sent"


def test_history_never_pushes(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)])
    with write_tx(db):
        add_run(db, "old", NOW - timedelta(hours=73))
        add_run(db, "recent", NOW - timedelta(hours=71))
        old = add_alert(db, "S1", "S1:old", activity_id="old", local_date="2026-06-07")
        recent = add_alert(db, "S1", "S1:recent", activity_id="recent")
        imported = add_alert(db, "W1", "W1:imp", pushed="imported")
        replayed = add_alert(db, "W1", "W1:hist", pushed="history")
        no_run_old = add_alert(db, "P1", "P1:old", local_date="2026-06-01")
        assert outbox.enqueue(db, cfg, [old, recent, imported, replayed, no_run_old], NOW) == 1
    pushed = dict(db.execute("SELECT episode_key, pushed FROM alerts").fetchall())
    assert pushed == {
        "S1:old": "history",
        "S1:recent": "pending",
        "W1:imp": "imported",
        "W1:hist": "history",
        "P1:old": "history",
    }
    outbox.deliver_due(db, cfg, NOW)
    assert [p["title"] for p in ntfy.pushes()] == ["S1 warning: calf load warning"]
    assert db.execute("SELECT pushed FROM alerts WHERE id = ?", [recent]).fetchone()[0] == "sent"


def test_daily_cap_bundles_under_the_highest_priority_title(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)])
    alert_and_enqueue(db, cfg, "G1", "G1:shoe", severity="info", title="New shoes")
    alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="small", title="Longer run (small)")
    alert_and_enqueue(db, cfg, "RET1", "RET1:r1", severity="long", title="Back after 30 days")
    alert_and_enqueue(db, cfg, "H2", "H2:r1", title="Big climb")
    report = outbox.deliver_due(db, cfg, NOW)
    assert report.sent == 1 and report.rows_sent == 4
    (push,) = ntfy.pushes()
    assert push["title"] == "Back after 30 days (+3 more)"
    assert push["priority"] == 4  # RET1 long
    assert push["message"].index("H2") < push["message"].index("G1")  # H2 before G1 before S1 small
    assert push["message"].index("G1") < push["message"].index("S1")
    assert len(push["title"]) + len(push["message"]) <= 1000
    # A later alert the same day waits for the next local day, then goes out alone.
    alert_and_enqueue(db, cfg, "W1", "W1:wk", now=NOW + timedelta(hours=3))
    report = outbox.deliver_due(db, cfg, NOW + timedelta(hours=3))
    assert report.sent == 0 and report.deferred == 1 and report.pending == 1
    next_at = db.execute("SELECT next_attempt_at FROM notify_outbox WHERE state = 'pending'")
    assert next_at.fetchone()[0] == "2026-06-11T00:00:00Z"
    assert outbox.deliver_due(db, cfg, NOW + timedelta(hours=6)).sent == 0
    report = outbox.deliver_due(db, cfg, parse_utc("2026-06-11T00:00:00Z"))
    assert report.sent == 1 and len(ntfy.pushes()) == 2


def test_daily_cap_counts_the_local_day_and_can_be_raised(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)], tz="America/New_York", daily_cap=2)
    alert_and_enqueue(db, cfg, "S1", "S1:a")
    assert outbox.deliver_due(db, cfg, NOW).sent == 1
    alert_and_enqueue(db, cfg, "S1", "S1:b")
    assert outbox.deliver_due(db, cfg, NOW).sent == 1
    alert_and_enqueue(db, cfg, "S1", "S1:c")
    assert outbox.deliver_due(db, cfg, NOW).deferred == 1
    # next local day in New York starts at 04:00 UTC (EDT)
    due = db.execute("SELECT next_attempt_at FROM notify_outbox WHERE state = 'pending'")
    assert due.fetchone()[0] == "2026-06-11T04:00:00Z"


def test_quiet_hours_defer_to_their_end_and_never_drop(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)], tz="Europe/Paris", quiet_hours="22:00-07:00")
    late = parse_utc("2026-06-10T21:30:00Z")  # 23:30 in Paris
    alert_and_enqueue(db, cfg, "P1", "P1:ep1", now=late, severity="warning")
    report = outbox.deliver_due(db, cfg, late, force=True)
    assert report.sent == 0 and report.deferred == 1 and ntfy.pushes() == []
    due = db.execute("SELECT next_attempt_at, attempts FROM notify_outbox").fetchone()
    assert due == ("2026-06-11T05:00:00Z", 0)  # 07:00 Paris, no attempt counted
    assert outbox.deliver_due(db, cfg, parse_utc("2026-06-11T04:59:00Z")).sent == 0
    report = outbox.deliver_due(db, cfg, parse_utc("2026-06-11T05:00:00Z"))
    assert report.sent == 1 and ntfy.pushes()[0]["priority"] == 4  # P1 is high


def test_outage_of_several_cycles_then_recovery_delivers_exactly_once(
    db: Any, ntfy: FakeNtfy
) -> None:
    port = ntfy.port
    cfg = make_config([ntfy_channel(ntfy)])
    for key in ("S1:r1", "W1:w1"):
        alert_and_enqueue(db, cfg, key.split(":")[0], key)
    ntfy.stop()  # the server is down: connection refused
    now = NOW
    for _cycle in range(4):
        report = outbox.deliver_due(db, cfg, now)
        assert report.sent == 0 and report.retrying == 1 and report.pending == 2
        now = parse_utc(db.execute("SELECT MIN(next_attempt_at) FROM notify_outbox").fetchone()[0])
    restarted = FakeNtfy(token="tk_secret_ntfy")
    restarted.port = port
    restarted.start()
    restarted.fail_next(503)  # back, but still starting
    try:
        assert outbox.deliver_due(db, cfg, now).retrying == 1
        for _cycle in range(3):  # cycles go on; the push goes out once
            now += timedelta(hours=2)
            outbox.deliver_due(db, cfg, now)
        assert len(restarted.pushes()) == 1
        assert states(db) == {"sent": 2}
        attempts = [r[0] for r in db.execute("SELECT attempts FROM notify_outbox")]
        assert attempts == [6, 6]
    finally:
        restarted.stop()


def test_backoff_grows_with_jitter_up_to_a_cap() -> None:
    delays = [outbox.backoff_s(n) for n in range(1, 12)]
    assert 15 <= delays[0] <= 30
    assert all(outbox.BACKOFF_CAP_S / 2 <= d <= outbox.BACKOFF_CAP_S for d in delays[8:])
    assert len({round(outbox.backoff_s(3), 3) for _ in range(20)}) > 1  # jitter
    assert outbox.backoff_s(1, retry_after_s=600) == 600


def test_retry_after_is_honoured_and_force_ignores_backoff(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)])
    alert_and_enqueue(db, cfg, "S1", "S1:r1")
    ntfy.fail_next(429, headers={"Retry-After": "900"})
    assert outbox.deliver_due(db, cfg, NOW).retrying == 1
    row = list(db.query("SELECT * FROM notify_outbox"))[0]
    assert parse_utc(row["next_attempt_at"]) >= NOW + timedelta(seconds=900)
    assert row["last_status"] == 429 and "too many requests" in row["last_error"]
    assert outbox.deliver_due(db, cfg, NOW + timedelta(seconds=60)).sent == 0
    assert outbox.deliver_due(db, cfg, NOW + timedelta(seconds=60), force=True).sent == 1


def test_permanent_errors_become_dead_letters_and_retry_requeues(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy, token="tk_wrong_token")])
    alert_and_enqueue(db, cfg, "S1", "S1:r1")
    report = outbox.deliver_due(db, cfg, NOW)
    assert report.dead == 1 and report.pending == 0
    (dead,) = outbox.dead_letters(db)
    assert dead["last_status"] == 401 and "unauthorized" in dead["last_error"]
    assert "tk_wrong_token" not in dead["last_error"]
    assert db.execute("SELECT pushed FROM alerts").fetchone()[0] == "dead"
    assert outbox.deliver_due(db, cfg, NOW + timedelta(days=1)).sent == 0  # dead stays dead
    assert outbox.retry(db, dead["id"], NOW) is True
    assert outbox.retry(db, dead["id"], NOW) is False  # no longer dead
    fixed = make_config([ntfy_channel(ntfy)])
    assert outbox.deliver_due(db, fixed, NOW).sent == 1
    assert db.execute("SELECT pushed FROM alerts").fetchone()[0] == "sent"


def test_retryable_failures_give_up_after_three_days(db: Any) -> None:
    cfg = make_config(
        [
            {
                "type": "ntfy",
                "name": "phone",
                "topic": "calf",
                "url": f"http://127.0.0.1:{closed_port()}",
            }
        ]
    )
    alert_and_enqueue(db, cfg, "S1", "S1:r1")
    assert outbox.deliver_due(db, cfg, NOW).retrying == 1
    report = outbox.deliver_due(db, cfg, NOW + timedelta(days=3, minutes=1))
    assert report.dead == 1
    assert "gave up" in outbox.dead_letters(db)[0]["last_error"]


def test_a_sent_row_is_never_sent_again(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)])
    alert_id = alert_and_enqueue(db, cfg, "S1", "S1:r1")
    for hours in (0, 1, 30, 100):
        outbox.deliver_due(db, cfg, NOW + timedelta(hours=hours), force=True)
        outbox.enqueue(db, cfg, [alert_id], NOW)
    assert len(ntfy.pushes()) == 1


def test_removed_channel_rows_become_dead_with_the_reason(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy), {"type": "console", "name": "tty"}])
    alert_and_enqueue(db, cfg, "S1", "S1:r1")
    report = outbox.deliver_due(db, make_config([ntfy_channel(ntfy)]), NOW)
    assert report.sent == 1 and report.dead == 1
    assert "no longer configured" in outbox.dead_letters(db)[0]["last_error"]


def test_click_url_points_to_the_run_on_strava_or_a_template(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)])
    alert_and_enqueue(db, cfg, "S1", "S1:r1", strava_id=987)
    outbox.deliver_due(db, cfg, NOW)
    assert ntfy.pushes()[0]["click"] == "https://www.strava.com/activities/987"
    cfg = make_config([ntfy_channel(ntfy, name="p2", click_url="https://runs.lan/{activity_id}")])
    alert_and_enqueue(db, cfg, "S1", "S1:r2")
    outbox.deliver_due(db, cfg, NOW + timedelta(days=1))
    assert ntfy.pushes()[1]["click"] == "https://runs.lan/run-S1:r2"


def test_summary_for_status_hides_secrets(db: Any) -> None:
    token = "123456:TelegramSecretToken"
    cfg = make_config(
        [
            {
                "type": "telegram",
                "name": "tg",
                "token": token,
                "chat_id": "1",
                "url": f"http://127.0.0.1:{closed_port()}",
            }
        ]
    )
    alert_and_enqueue(db, cfg, "S1", "S1:r1")
    outbox.deliver_due(db, cfg, NOW)
    info = outbox.summary(db)
    assert info["pending"] == 1 and info["sent"] == 0
    assert "tg: telegram: cannot connect" in info["last_error"]
    assert token not in str(info)


def test_enqueue_shares_the_callers_transaction(db: Any, ntfy: FakeNtfy) -> None:
    cfg = make_config([ntfy_channel(ntfy)])
    with pytest.raises(RuntimeError, match="crash"), write_tx(db):
        add_run(db, "r1", NOW - timedelta(hours=1))
        alert_id = add_alert(db, "S1", "S1:r1", activity_id="r1")
        assert outbox.enqueue(db, cfg, [alert_id], NOW) == 1
        raise RuntimeError("crash before commit")
    assert db.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM notify_outbox").fetchone()[0] == 0
    with pytest.raises(RuntimeError, match="outside a transaction"), write_tx(db):
        outbox.deliver_due(db, cfg, NOW)


def test_rows_of_alerts_removed_or_marked_history_do_not_stay_pending(
    db: Any, ntfy: FakeNtfy
) -> None:
    cfg = make_config([ntfy_channel(ntfy)])
    gone = alert_and_enqueue(db, cfg, "S1", "S1:r1")
    old = alert_and_enqueue(db, cfg, "W1", "W1:w1")
    db.execute("DELETE FROM alerts WHERE id = ?", [gone])
    db.execute("UPDATE alerts SET pushed = 'history' WHERE id = ?", [old])
    report = outbox.deliver_due(db, cfg, NOW)
    assert report.sent == 0 and report.dead == 2 and report.pending == 0
    assert ntfy.pushes() == []
