"""Shoes asked on the phone (issue 12 item 4): a fresh run without a shoe is asked about, in the
day's alert push or in one quiet push a day; the ntfy button's answer on the reply topic puts
the run in the shoe and the shoe rules judge it again in the same job."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.ntfy import FakeNtfy
from fakes.telegram import FakeTelegram
from notify_support import NOW, add_run, add_weeks, make_config

from calfsync import sync
from calfsync.notify import attachments, ntfy, policy, replies, shoe_ask
from calfsync.store.activities import mark_dirty
from calfsync.store.db import open_db, write_tx

FRESH = NOW - timedelta(hours=2)


@pytest.fixture
def db(tmp_path: Path) -> Any:
    """Five weeks of 20 km in the old trainer (m1); a new racer (m2) never worn; a retired pair
    (m3)."""
    database = open_db(tmp_path / "calfsync.db")
    with write_tx(database):
        for gear_id, name, retired in (("m1", "Old trainer", 0), ("m2", "New racer", 0)):
            database["gear"].insert({"id": gear_id, "name": name, "retired": retired})
        database["gear"].insert({"id": "m3", "name": "Worn out", "retired": 1})
        add_weeks(database, NOW - timedelta(days=1), [20.0] * 5, gear_id="m1")
    return database


@pytest.fixture(autouse=True)
def _ntfy_offers_images_again() -> None:
    ntfy._refused_at.clear()


def config(fake: FakeNtfy, **notify: Any) -> Any:
    chan = {"type": "ntfy", "name": "phone", "url": fake.url, "topic": "calf"}
    return make_config([chan], reply_topic="calf-replies", digest="off", **notify)


def fresh_run(db: Any, run_id: str = "fresh", start: Any = FRESH, km: float = 5.0) -> None:
    """A run saved as an import saves it: no shoe, its date marked for evaluation."""
    with write_tx(db):
        add_run(db, run_id, start, km=km)
        mark_dirty(db, {start.date().isoformat()})


def shoe_of(db: Any, run_id: str) -> str | None:
    return db.execute("SELECT gear_id FROM activities WHERE id = ?", [run_id]).fetchone()[0]


def test_the_answer_on_the_reply_topic_puts_the_run_in_the_shoe_and_g1_judges_it(
    db: Any,
) -> None:
    with FakeNtfy() as fake:
        cfg = config(fake)
        fresh_run(db)
        report = sync.run_cycle(db, cfg, NOW)
        assert report.ok, report.errors
        (question,) = fake.pushes("calf")
        assert question["title"] == shoe_ask.TITLE and question["priority"] == 2  # quiet
        assert "5.0 km run of Wed 10 Jun" in question["message"]
        labels = [a["label"] for a in question["actions"]]
        assert labels == ["Old trainer", "New racer"]  # active only, latest worn first
        assert question["actions"][1]["body"] == "shoe fresh m2"
        fake.tap(1, question)  # "New racer"
        later = NOW + timedelta(minutes=1)
        job = sync.run_steps(db, cfg, later, sync.JOBS["deliver"])
        assert job.ok and job.replies is not None and job.replies.answers == 1
        assert shoe_of(db, "fresh") == "m2"
        (g1,) = db.execute("SELECT title, pushed FROM alerts WHERE rule = 'G1'").fetchall()
        assert tuple(g1) == ("G1: First run in new shoes (New racer)", "digest")  # G1's class
        assert sync.run_steps(db, cfg, later, sync.JOBS["deliver"]).ok  # nothing more to do
        assert len(fake.pushes("calf")) == 1


def test_the_question_rides_on_the_runs_alert_push(db: Any) -> None:
    with FakeNtfy() as fake:
        cfg = config(fake)
        fresh_run(db, km=21.0)  # far past the longest run of the last 30 days: S1 large
        sync.run_cycle(db, cfg, NOW)
        (push,) = fake.pushes("calf")  # one push: the alert, asking; no quiet question
        assert push["title"].startswith("S1: Run ")
        assert "Which shoes on your 21.0 km run" in push["message"]
        assert [a["label"] for a in push["actions"]] == ["Old trainer", "New racer"]
        assert fake.files[push["id"]]  # the chart too
        assert shoe_ask.run(db, cfg, NOW + timedelta(minutes=1)).asked == 0


def test_at_most_one_quiet_question_a_day_and_one_per_run(db: Any) -> None:
    with FakeNtfy() as fake:
        cfg = config(fake, daily_cap=0)
        fresh_run(db, "morning", FRESH - timedelta(hours=3))
        sync.run_cycle(db, cfg, NOW)
        fresh_run(db, "evening", FRESH)
        sync.run_cycle(db, cfg, NOW + timedelta(minutes=5))
        assert shoe_ask.run(db, cfg, NOW + timedelta(minutes=6)).asked == 0
        assert len(fake.pushes("calf")) == 1  # the evening run waits for tomorrow
        tomorrow = NOW + timedelta(days=1)
        sync.run_cycle(db, cfg, tomorrow)
        second = fake.pushes("calf")[-1]
        assert len(fake.pushes("calf")) == 2 and "shoe evening m1" in second["actions"][0]["body"]
        sync.run_cycle(db, cfg, tomorrow + timedelta(hours=1))
        assert len(fake.pushes("calf")) == 2  # each run asked once


@pytest.mark.parametrize("case", ["no active shoe", "run has a shoe", "ask_shoe off", "old run"])
def test_no_question(db: Any, case: str) -> None:
    with FakeNtfy() as fake:
        cfg = config(fake, ask_shoe=case != "ask_shoe off")
        if case == "no active shoe":
            db.execute("UPDATE gear SET retired = 1")
        start = FRESH - timedelta(hours=80) if case == "old run" else FRESH  # window: 72 h
        fresh_run(db, start=start)
        if case == "run has a shoe":
            db.execute("UPDATE activities SET gear_id = 'm1' WHERE id = 'fresh'")
        report = sync.run_cycle(db, cfg, NOW)
        assert report.ok and fake.pushes("calf") == []
        assert db.execute("SELECT COUNT(*) FROM alerts WHERE rule = 'SHOE'").fetchone()[0] == 0


def test_stale_or_wrong_answers_are_logged_and_skipped(
    db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeNtfy() as fake:
        cfg = config(fake)
        fresh_run(db)
        fresh_run(db, "shod", FRESH - timedelta(hours=1))
        db.execute("UPDATE activities SET gear_id = 'm1' WHERE id = 'shod'")
        for answer in (
            "shoe nope m1",  # unknown run
            "shoe fresh m9",  # unknown shoe
            "shoe fresh m3",  # retired
            "shoe shod m2",  # has its shoe already
            "shoe fresh m2",  # the one that counts ...
            "shoe fresh m1",  # ... and a second tap on another button
            "sore 4",  # a soreness answer after them still counts
        ):
            fake.messages.append(
                {"id": f"id{len(fake.messages)}", "time": int(NOW.timestamp()), "event": "message",
                 "topic": "calf-replies", "message": answer}
            )  # fmt: skip
        caplog.set_level(logging.WARNING, logger="calfsync.notify.replies")
        assert replies.poll(db, cfg, NOW) == 2
        skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
        assert len(skipped) == 5 and "no such shoe" in skipped[1] and "retired" in skipped[2]
        sync.evaluate(db, cfg, NOW)
        assert shoe_of(db, "fresh") == "m2" and shoe_of(db, "shod") == "m1"


def test_other_channels_name_the_command_to_type(db: Any) -> None:
    token = "123456:ABC-shoe-question"
    with FakeTelegram(token, {"5"}) as fake:
        chan = {"type": "telegram", "name": "t", "token": token, "chat_id": "5", "url": fake.url}
        cfg = make_config([chan], digest="off")
        fresh_run(db)
        sync.run_cycle(db, cfg, NOW)
        (msg,) = fake.messages
        assert "`calfsync shoes assign fresh SHOE`" in msg["text"]
        assert "m1 (Old trainer), m2 (New racer)" in msg["text"] and "m3" not in msg["text"]
        assert msg["disable_notification"] is True  # a quiet push


def test_a_long_alert_is_shortened_so_the_question_fits(db: Any) -> None:
    fresh_run(db)
    cfg = make_config([], digest="off")
    alert = {"rule": "S1", "severity": "large", "title": "S1: t", "body": "y" * 990}
    alert |= {"episode_key": "S1:x", "local_date": "2026-06-10", "values": "{}"}
    message = policy.compose([alert], {}, dedupe_key="k", created_at=NOW)
    attachments.dress(db, cfg, {"type": "pushover"}, [alert], message, NOW)
    assert len(message.title) + len(message.body) <= policy.MAX_PUSH_CHARS  # Pushover cuts
    assert message.body.endswith("G1, G2 and SW1 count a run once its shoe is known.")
    assert "`calfsync shoes assign fresh SHOE`" in message.body and "y…\n\n" in message.body


def test_a_quiet_question_does_not_use_up_the_daily_cap(db: Any) -> None:
    """With daily_cap = 1 a warning later the same day still goes out the same day."""
    with FakeNtfy() as fake:
        cfg = config(fake)  # daily_cap = 1, the default
        fresh_run(db, "morning", FRESH - timedelta(hours=3))
        sync.run_cycle(db, cfg, NOW)
        (question,) = fake.pushes("calf")
        assert question["title"] == shoe_ask.TITLE
        fresh_run(db, "long", FRESH, km=21.0)  # S1 large: a push now
        sync.run_cycle(db, cfg, NOW + timedelta(minutes=5))
        titles = [p["title"] for p in fake.pushes("calf")]
        assert len(titles) == 2 and titles[1].startswith("S1: Run "), titles
