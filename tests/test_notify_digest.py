"""The weekly digest: what it says, when it goes out, and that it goes out once, through the
outbox (quiet hours, the daily cap), to a loopback ntfy."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fakes.ntfy import FakeNtfy
from notify_support import add_alert, alert_and_enqueue, make_config

from calfsync import sync
from calfsync.config import Config
from calfsync.notify import digest
from calfsync.notify.digest import DigestData, Shoe, compose
from calfsync.rules.messages import DISCLAIMER
from calfsync.store.db import open_db, write_tx

MONDAY_7 = datetime(2026, 6, 8, 7, 0, tzinfo=UTC)  # Monday of ISO week 24, the digest's moment
WEEK = date(2026, 6, 1)  # the week it reports: Monday 1 to Sunday 7 June


# --------------------------------------------------------------------------- composing (pure)


def full_data(**kw: Any) -> DigestData:
    values: dict[str, Any] = {
        "week_start": WEEK,
        "runs": 4,
        "distance_km": 32.4,
        "climb_m": 410.0,
        "before_km": [28.0, 30.0, 26.0, 28.0],
        "before_climb_m": [300.0, 300.0, 300.0, 300.0],
        "findings": [
            {"id": 1, "rule": "W1", "local_date": "2026-06-03", "title": "W1: week up 25%"},
            {"id": 2, "rule": "I1", "local_date": "2026-06-05", "title": "I1: first intervals"},
        ],
        "shoes": [Shoe("Daily trainer", 742.0, 800.0)],
    }
    return DigestData(**{**values, **kw})


def test_the_digest_says_the_week_against_the_four_before_findings_and_shoes() -> None:
    title, body = compose(full_data())
    assert title == "Your week: 32.4 km, 410 m of climb"
    assert "Mon 01 Jun - Sun 07 Jun: 32.4 km in 4 run(s), 410 m of climb." in body
    assert "The four weeks before: 28.0 km and 300 m of climb a week" in body
    assert "distance +16%" in body and "climb +37%" in body
    assert "(2):" in body
    assert "- 2026-06-03: W1: week up 25%" in body and "- 2026-06-05: I1: first intervals" in body
    assert "Shoes at 90% or more of their retirement distance:" in body
    assert "- Daily trainer: 742 of 800 km (93%)" in body
    assert body.endswith(DISCLAIMER)
    assert len(title) + len(body) < 1000


def test_nothing_to_say_makes_no_digest() -> None:
    assert compose(full_data(runs=0, distance_km=0.0, climb_m=None, findings=[], shoes=[])) is None


def test_a_week_without_runs_still_lists_the_findings() -> None:
    title, body = compose(full_data(runs=0, distance_km=0.0, climb_m=None, shoes=[]))
    assert title == "Your week: 2 thing(s) to know"
    assert "no runs." in body and "W1: week up 25%" in body


def test_early_in_a_history_only_known_weeks_are_compared() -> None:
    _, body = compose(full_data(before_km=[20.0, 22.0], before_climb_m=[None, 100.0]))
    assert "The 2 week(s) before: 21.0 km and 100 m of climb a week" in body
    _, body = compose(full_data(before_km=[], before_climb_m=[]))
    assert "No earlier week to compare with yet." in body


def test_many_findings_are_cut_to_fit_one_push_and_counted() -> None:
    findings = [
        {"id": i, "rule": "G1", "local_date": "2026-06-02", "title": f"G1: new shoe number {i}"}
        for i in range(60)
    ]
    title, body = compose(full_data(findings=findings))
    assert len(title) + len(body) <= 1000
    assert "(60):" in body and "more: `calfsync alerts`" in body
    shown = body.count("- 2026-06-02: G1")
    assert 5 < shown < 60 and f"- and {60 - shown} more" in body
    assert body.endswith(DISCLAIMER)


def test_the_moment_and_the_weeks_follow_the_local_calendar() -> None:
    paris = ZoneInfo("Europe/Paris")
    wednesday = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
    assert digest.moment(wednesday, "mon 07:00", paris) == datetime(2026, 6, 8, 5, 0, tzinfo=UTC)
    assert digest.moment(wednesday, "sun 20:30", paris) == datetime(2026, 6, 14, 18, 30, tzinfo=UTC)
    assert digest.moment(wednesday, "off", paris) is None
    assert digest.week_key(date(2026, 6, 8)) == "DIGEST:2026-W24"
    assert digest.week_key(date(2027, 1, 1)) == "DIGEST:2026-W53"
    assert digest.reported_week(date(2026, 6, 8)) == WEEK
    assert digest.reported_week(date(2026, 6, 14)) == WEEK


# --------------------------------------------------------------------------- through the outbox


@pytest.fixture
def ntfy() -> Iterator[FakeNtfy]:
    with FakeNtfy() as fake:
        yield fake


def config(ntfy: FakeNtfy, **notify: Any) -> Config:
    channel = {"type": "ntfy", "name": "phone", "url": ntfy.url, "topic": "calf"}
    return make_config([channel], **{"ask_shoe": False, **notify})  # no shoe question here


def add_run(db: Any, day: date, km: float, climb: float | None, **kw: Any) -> None:
    db["activities"].insert(
        {
            "id": kw.pop("run_id", f"run-{day}-{km}"),
            "source": "fit",
            "start_time": f"{day}T06:00:00Z",
            "local_date": day.isoformat(),
            "utc_offset_s": 0,
            "sport": "running",
            "distance_m": km * 1000.0,
            "moving_time_s": km * 330.0,
            "ascent_m": climb,
            **kw,
        }
    )


def history(db: Any) -> None:
    """Four weeks of 25 km / 300 m, then the reported week: 32 km / 450 m and a ride saved as a
    run (suspect, not counted); a shoe at 95% of its retirement distance; two waiting findings."""
    with write_tx(db):
        db["gear"].insert({"id": "g1", "name": "Daily trainer", "retire_at_m": 600_000.0})
        db["gear"].insert({"id": "g2", "name": "Racing flat", "retire_at_m": 600_000.0})
        for week in range(4, 0, -1):
            monday = WEEK - timedelta(weeks=week)
            for offset in (0, 2, 4, 6):
                add_run(db, monday + timedelta(days=offset), 6.25, 75.0, gear_id="g2")
        add_run(db, WEEK, 10.0, 150.0, gear_id="g1", run_id="old-long")
        for offset in (2, 4, 6):
            add_run(db, WEEK + timedelta(days=offset), 22 / 3, 100.0)
        add_run(db, WEEK + timedelta(days=3), 52.0, 100.0, suspect="a ride?", run_id="ride")
        db.execute("UPDATE gear SET distance_m = 570000 WHERE id = 'g1'")  # 95% of 600 km
        add_alert(db, "W1", "W1:2026-06-03", local_date="2026-06-03", pushed="digest")
        add_alert(db, "I1", "I1:run", local_date="2026-06-05", pushed="digest")


@pytest.fixture
def db(tmp_path: Path) -> Any:
    found = open_db(tmp_path / "calfsync.db")
    history(found)
    return found


def deliver_job(db: Any, cfg: Config, now: datetime) -> sync.CycleReport:
    return sync.run_steps(db, cfg, now, sync.JOBS["deliver"])


def digest_rows(db: Any) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM alerts WHERE rule = 'DIGEST'"))


def test_the_deliver_job_sends_the_digest_once_after_its_moment(db: Any, ntfy: FakeNtfy) -> None:
    cfg = config(ntfy)
    deliver_job(db, cfg, MONDAY_7 - timedelta(minutes=1))
    assert digest_rows(db) == [] and ntfy.pushes() == []
    report = deliver_job(db, cfg, MONDAY_7)
    assert report.digest is not None and report.digest.queued == 1
    assert report.delivery is not None and report.delivery.sent == 1
    (push,) = ntfy.pushes("calf")
    assert push["title"] == "Your week: 32.0 km, 450 m of climb"
    body = push["message"]
    assert "32.0 km in 4 run(s), 450 m of climb" in body
    assert "The four weeks before: 25.0 km and 300 m of climb a week" in body
    assert "distance +28%" in body and "84.0" not in body  # the suspect ride is not counted
    assert "1 activity(ies) of that week look wrong" in body
    assert "W1 fired on" not in body and "(2):" in body and "I1 warning" in body
    assert "- Daily trainer: 570 of 600 km (95%)" in body and "Racing flat" not in body
    (row,) = digest_rows(db)
    assert row["episode_key"] == "DIGEST:2026-W24" and row["delivery"] == "now"
    assert row["pushed"] == "sent"
    assert json.loads(row["values"])["alert_ids"] == [1, 2]
    waiting = dict(db.execute("SELECT episode_key, pushed FROM alerts WHERE rule != 'DIGEST'"))
    assert waiting == {"W1:2026-06-03": "in_digest", "I1:run": "in_digest"}
    for hours in (1, 30, 100):  # the rest of the week, the step runs with every delivery
        deliver_job(db, cfg, MONDAY_7 + timedelta(hours=hours))
    assert len(ntfy.pushes()) == 1 and len(digest_rows(db)) == 1


def test_a_daemon_down_at_the_moment_sends_it_when_back_that_week(db: Any, ntfy: FakeNtfy) -> None:
    cfg = config(ntfy)
    thursday = MONDAY_7 + timedelta(days=3, hours=5)
    assert deliver_job(db, cfg, thursday).delivery.sent == 1
    assert digest_rows(db)[0]["episode_key"] == "DIGEST:2026-W24"
    next_monday = MONDAY_7 + timedelta(days=7)
    deliver_job(db, cfg, next_monday)  # next week: a new digest, with nothing waiting now
    assert [r["episode_key"] for r in digest_rows(db)] == ["DIGEST:2026-W24", "DIGEST:2026-W25"]


def test_sync_runs_the_digest_step_too(db: Any, ntfy: FakeNtfy) -> None:
    report = sync.run_cycle(db, config(ntfy), MONDAY_7 + timedelta(hours=2))
    assert report.digest is not None and report.digest.queued == 1
    assert len(ntfy.pushes()) == 1


def test_off_sends_nothing(db: Any, ntfy: FakeNtfy) -> None:
    cfg = config(ntfy, digest="off")
    for days in range(8):
        deliver_job(db, cfg, MONDAY_7 + timedelta(days=days))
    assert digest_rows(db) == [] and ntfy.pushes() == []
    assert db.execute("SELECT COUNT(*) FROM alerts WHERE pushed = 'digest'").fetchone()[0] == 2


def test_nothing_to_say_sends_nothing_and_is_decided_once(tmp_path: Path, ntfy: FakeNtfy) -> None:
    db = open_db(tmp_path / "empty.db")
    with write_tx(db):
        add_run(db, WEEK - timedelta(days=20), 8.0, 50.0)  # a run, but not in the week
    cfg = config(ntfy)
    assert deliver_job(db, cfg, MONDAY_7).digest.queued == 0
    with write_tx(db):  # a finding later that week waits for next week's digest
        add_alert(db, "G1", "G1:g", local_date="2026-06-09", pushed="digest")
    assert deliver_job(db, cfg, MONDAY_7 + timedelta(days=1)).digest.queued == 0
    assert digest_rows(db) == [] and ntfy.pushes() == []
    assert deliver_job(db, cfg, MONDAY_7 + timedelta(days=7)).digest.queued == 1


def test_quiet_hours_defer_the_digest_and_never_drop_it(db: Any, ntfy: FakeNtfy) -> None:
    cfg = config(ntfy, quiet_hours="22:00-08:00")
    report = deliver_job(db, cfg, MONDAY_7)
    assert report.digest.queued == 1 and report.delivery.deferred == 1
    assert ntfy.pushes() == []
    assert deliver_job(db, cfg, MONDAY_7 + timedelta(minutes=59)).delivery.sent == 0
    assert deliver_job(db, cfg, MONDAY_7 + timedelta(hours=1)).delivery.sent == 1
    assert len(ntfy.pushes()) == 1 and digest_rows(db)[0]["pushed"] == "sent"


def test_the_daily_cap_counts_the_digest(db: Any, ntfy: FakeNtfy) -> None:
    cfg = config(ntfy)  # daily_cap 1 by default
    alert_and_enqueue(db, cfg, "S1", "S1:monday", now=MONDAY_7, local_date="2026-06-08")
    report = deliver_job(db, cfg, MONDAY_7)
    assert report.digest.queued == 1
    assert report.delivery.sent == 1 and report.delivery.deferred == 1
    (first,) = ntfy.pushes()
    assert first["title"].startswith("S1")  # the alert first, alone: never bundled together
    assert deliver_job(db, cfg, MONDAY_7 + timedelta(hours=12)).delivery.sent == 0
    tuesday = MONDAY_7 + timedelta(hours=17)  # Tuesday 00:00 UTC: a new local day
    assert deliver_job(db, cfg, tuesday).delivery.sent == 1
    assert ntfy.pushes()[1]["title"].startswith("Your week")


def test_after_the_day_s_push_an_alert_and_the_digest_both_wait(db: Any, ntfy: FakeNtfy) -> None:
    cfg = config(ntfy)
    early = MONDAY_7 - timedelta(hours=1)
    alert_and_enqueue(db, cfg, "S1", "S1:early", now=early, local_date="2026-06-08")
    assert deliver_job(db, cfg, early).delivery.sent == 1  # the day's one push
    alert_and_enqueue(db, cfg, "G2", "G2:later", now=MONDAY_7, local_date="2026-06-08")
    report = deliver_job(db, cfg, MONDAY_7)
    assert report.digest.queued == 1
    assert report.delivery.sent == 0 and report.delivery.deferred == 2  # in one pass
    tuesday = MONDAY_7 + timedelta(hours=17)
    assert deliver_job(db, cfg, tuesday).delivery.sent == 1  # the alert first
    assert ntfy.pushes()[-1]["title"].startswith("G2")
    assert deliver_job(db, cfg, tuesday + timedelta(days=1)).delivery.sent == 1
    assert ntfy.pushes()[-1]["title"].startswith("Your week")


def test_two_concurrent_deliver_jobs_make_one_digest_push(tmp_path: Path, ntfy: FakeNtfy) -> None:
    path = tmp_path / "two.db"
    history(open_db(path))
    cfg = config(ntfy)
    ntfy.delay_next(0.05, n=4)  # slow sends keep the two jobs overlapping
    barrier = threading.Barrier(2)
    reports: list[sync.CycleReport] = []

    def job() -> None:
        own = open_db(path)
        barrier.wait()
        reports.append(deliver_job(own, cfg, MONDAY_7 + timedelta(minutes=5)))
        own.conn.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.ok for r in reports), [r.errors for r in reports]
    assert sorted(r.digest.queued for r in reports) == [0, 1]
    assert sum(r.delivery.sent for r in reports) == 1
    assert len(ntfy.pushes()) == 1
    assert len(digest_rows(open_db(path))) == 1
