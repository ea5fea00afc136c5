"""Tokens and failures: expiry, rotation, 401, 403 Inactive, 429, 5xx, timeouts, bad JSON."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta

import pytest
import requests
from strava_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    authorize,
    mark_athlete_checked,
    now_utc,
    runs_every_day,
    state,
    strava_rows,
    tokens,
)

from calfsync.ingest import strava as strava_sync
from calfsync.sources.strava.rate import next_quarter_hour, next_utc_midnight
from calfsync.sources.strava.tokens import token_path


def ready(fake, db, now, runs=3, expires_in=None):
    runs_every_day(fake, now - timedelta(days=runs + 1), runs)
    grant = authorize(db, fake, expires_in=expires_in)
    mark_athlete_checked(db, now)
    return grant


def refresh_with(fake, refresh_token: str) -> requests.Response:
    return requests.post(
        fake.oauth_url + "/token",
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
        timeout=5,
    )


def test_a_token_about_to_expire_is_refreshed_first_and_the_rotation_persisted(fake, cfg, db):
    now = now_utc()
    old = ready(fake, db, now, expires_in=120)  # expires within the 5-minute margin

    report = strava_sync.run(db, cfg, now)

    assert report.state == "ok", report.message
    assert fake.seen[0].path == "/oauth/token"  # refreshed before any API call
    saved = tokens(db)
    assert state(db, "strava.token_expires_at") == datetime.fromtimestamp(
        saved["expires_at"], UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert saved["refresh_token"] != old["refresh_token"]
    assert saved["refresh_token"] == fake.state.refresh
    assert stat.S_IMODE(token_path(db).stat().st_mode) == 0o600
    # Strava invalidated the old refresh token: only the persisted one still works
    assert refresh_with(fake, old["refresh_token"]).status_code == 400
    assert len(strava_rows(db)) == 3


def test_a_fresh_token_is_not_refreshed(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now)
    strava_sync.run(db, cfg, now)
    assert not any(s.path.startswith("/oauth") for s in fake.seen)


def test_a_401_refreshes_once_and_retries(fake, cfg, db):
    now = now_utc()
    old = ready(fake, db, now)
    fake.expire_access_tokens()  # Strava revoked the access token early

    report = strava_sync.run(db, cfg, now)

    assert report.state == "ok", report.message
    statuses = [(s.path, s.status) for s in fake.seen]
    assert statuses[:3] == [
        ("/api/v3/athlete/activities", 401),
        ("/oauth/token", 200),
        ("/api/v3/athlete/activities", 200),
    ]
    assert tokens(db)["refresh_token"] not in (None, old["refresh_token"])


def test_a_second_401_after_a_refresh_needs_re_authorization(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now)
    fake.fail("401", path="/api/v3/athlete/activities", times=2)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "needs_reauth"
    assert "run `calfsync auth strava`" in report.message
    assert sum(1 for s in fake.seen if s.path == "/oauth/token") == 1


def test_an_old_refresh_token_is_rejected_needs_reauth_pushed_once(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now, expires_in=0)
    stale = tokens(db)
    fake.grant()  # the token rotated elsewhere: the stored refresh token is now an old one

    report = strava_sync.run(db, cfg, now)

    assert report.state == "needs_reauth"
    assert state(db, "strava.message").startswith(
        "needs re-authorization: run `calfsync auth strava`"
    )
    notice = strava_sync.take_notice(db)
    assert notice and "calfsync auth strava" in notice
    assert strava_sync.take_notice(db) is None
    # later cycles send nothing and push nothing more until the runner re-authorizes
    fake.clear_log()
    again = strava_sync.run(db, cfg, now + timedelta(hours=1))
    assert again.state == "needs_reauth" and fake.seen == []
    assert strava_sync.take_notice(db) is None
    assert tokens(db)["refresh_token"] == stale["refresh_token"]
    # a new authorization clears it
    authorize(db, fake)
    assert strava_sync.run(db, cfg, now + timedelta(hours=2)).state == "ok"


def test_403_inactive_pauses_strava_for_a_day_and_says_why(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now)
    fake.fail("403_inactive", times=1)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "inactive"
    assert "paid developer subscription" in report.message
    assert state(db, "strava.next_try") == (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert strava_sync.take_notice(db)
    fake.clear_log()
    assert strava_sync.run(db, cfg, now + timedelta(hours=6)).state == "inactive"
    assert fake.seen == []  # paused: nothing sent
    assert strava_sync.run(db, cfg, now + timedelta(days=1, minutes=1)).state == "ok"


def test_429_ends_the_cycle_until_the_next_quarter_hour(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now)
    fake.fail("429", times=1)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "rate_limited"
    assert report.reads == 1
    resume = next_quarter_hour(now)
    assert state(db, "strava.next_try") == resume.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert state(db, "strava.rate_limited_until") == state(db, "strava.next_try")
    assert state(db, "strava.status") == "rate_limited"
    fake.clear_log()
    assert strava_sync.run(db, cfg, resume - timedelta(seconds=1)).state == "rate_limited"
    assert fake.seen == []
    fake.new_window()
    assert strava_sync.run(db, cfg, resume).state == "ok"


def test_429_of_the_daily_limit_waits_for_utc_midnight(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now)
    fake.fail("429_daily", times=1)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "rate_limited" and "daily" in report.message
    assert state(db, "strava.next_try") == next_utc_midnight(now).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("500", "500"),
        ("timeout", "timeout"),
        ("malformed", "not valid JSON"),
        ("drop", "network"),
    ],
)
def test_transient_failures_write_nothing_and_retry_next_cycle(fake, cfg, db, kind, words):
    now = now_utc()
    ready(fake, db, now)
    fake.fail(kind, path="/api/v3/athlete/activities")

    report = strava_sync.run(db, cfg, now)

    assert report.state == "error"
    assert words in report.message and "retrying next cycle" in report.message
    assert strava_rows(db) == []
    assert state(db, "strava.next_try") is None
    assert strava_sync.run(db, cfg, now + timedelta(minutes=30)).state == "ok"
    assert len(strava_rows(db)) == 3


def test_a_reply_that_is_json_but_not_activities_is_refused(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now)
    fake.fail("wrong_shape", path="/api/v3/athlete/activities")

    report = strava_sync.run(db, cfg, now)

    assert report.state == "error" and "not a list of activities" in report.message
    assert strava_rows(db) == []


def test_one_unreadable_activity_is_skipped_not_blocking_the_rest(fake, cfg, db, caplog):
    now = now_utc()
    ready(fake, db, now)
    bad = fake.add_activity(now - timedelta(hours=3))
    fake.edit_activity(bad["id"], start_date=None)

    report = strava_sync.run(db, cfg, now)

    assert report.state == "ok" and report.skipped == 1
    assert "1 reply skipped" in report.message
    assert len(strava_rows(db)) == 3
    assert str(bad["id"]) in caplog.text


def test_secrets_never_reach_the_log(fake, cfg, db, caplog):
    caplog.set_level(logging.DEBUG)
    now = now_utc()
    ready(fake, db, now, expires_in=10)
    fake.fail("401", path="/api/v3/athlete/activities")
    strava_sync.run(db, cfg, now)
    saved = tokens(db)
    text = caplog.text + repr(caplog.records)
    for secret in (CLIENT_SECRET, saved["access_token"], saved["refresh_token"]):
        assert secret not in text
    assert saved["access_token"] not in repr(strava_sync.status(db))


def test_not_authorized_yet_says_how(fake, cfg, db):
    report = strava_sync.run(db, cfg, now_utc())
    assert report.state == "needs_auth" and "calfsync auth strava" in report.message
    assert fake.seen == []


def test_two_processes_never_spend_the_same_refresh_token(fake, cfg, db):
    now = now_utc()
    ready(fake, db, now, expires_in=0)
    daemon = strava_sync.make_client(db, cfg)
    one_shot = strava_sync.make_client(db, cfg)  # `calfsync sync` started at the same time

    daemon.ensure_fresh(now)
    one_shot.ensure_fresh(now)

    assert sum(1 for s in fake.seen if s.path == "/oauth/token") == 1
    assert one_shot.tokens == daemon.tokens
    assert tokens(db)["refresh_token"] == fake.state.refresh
    assert strava_sync.run(db, cfg, now).state == "ok"


@pytest.mark.parametrize("kind", ["500", "timeout", "drop"])
def test_a_failing_token_endpoint_is_retried_not_a_re_authorization(fake, cfg, db, kind):
    now = now_utc()
    old = ready(fake, db, now, expires_in=0)
    fake.fail(kind, path="/oauth/token")

    report = strava_sync.run(db, cfg, now)

    assert report.state == "error" and "retrying next cycle" in report.message
    assert tokens(db)["refresh_token"] == old["refresh_token"]
    assert strava_sync.take_notice(db) is None
    assert strava_sync.run(db, cfg, now + timedelta(minutes=30)).state == "ok"
