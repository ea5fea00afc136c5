"""Saving Strava's replies, with no server: the published example replies go straight to the
``save_*`` functions, and what a failure leaves in the Strava state is decided without I/O."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from fakes.strava_server import load_examples

from calfsync.ingest.strava_save import (
    gear_to_fetch,
    save_athlete,
    save_checked,
    save_deleted,
    save_gear_reply,
    save_outcome,
    save_page,
    save_pass_end,
    unseen,
)
from calfsync.model import utc_iso
from calfsync.sources.strava.errors import (
    StravaAuthError,
    StravaBudgetExhausted,
    StravaInactive,
    StravaRateLimited,
    StravaUnavailable,
)
from calfsync.sources.strava.listing import Listing, new_listing
from calfsync.sources.strava.mapping import to_activity
from calfsync.sources.strava.state import Key, Status, failure_outcome
from calfsync.sources.strava.tokens import Tokens, fingerprint
from calfsync.store.db import open_db
from calfsync.store.state import get_state, set_state

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    """A fresh database and no Strava stand-in at all."""
    opened = open_db(tmp_path / "calfsync.db")
    yield opened
    opened.close()


def run_reply(**fields) -> dict:
    """The published summary example as a run (it is a mountain bike ride on a trainer)."""
    raw = dict(load_examples()["summary_activity"])
    raw.update(sport_type="Run", type="Run", trainer=False, gear_id="g12345678987655")
    raw.update(fields)
    return raw


def backfill(db: sqlite_utils.Database, replies: list[dict]) -> Listing:
    """Save ``replies`` as the one short page of a backfill pass."""
    listing = new_listing("sync", NOW, 1, None)
    save_page(db, listing, [to_activity(r) for r in replies], replies=len(replies))
    return listing


def test_a_listed_page_is_saved_mapped_and_stamped_with_its_pass(db):
    summary, detailed = run_reply(), load_examples()["detailed_activity"]
    listing = new_listing("sync", NOW, 1, None)
    assert listing.kind == "backfill" and listing.after is None

    changed = save_page(db, listing, [to_activity(summary), to_activity(detailed)], replies=2)

    rows = {r["strava_id"]: r for r in db.query("SELECT * FROM activities")}
    assert set(rows) == {summary["id"], detailed["id"]}
    run = rows[summary["id"]]
    assert (run["id"], run["sport"], run["local_date"]) == (
        f"strava:{summary['id']}",
        "running",
        "2018-05-02",
    )
    assert run["distance_m"] == summary["distance"] and run["gear_id"] == "g12345678987655"
    assert json.loads(run["strava_raw"]) == summary  # the whole reply, as received
    assert rows[detailed["id"]]["sport"] == "cycling"
    assert {r["strava_listed_at"] for r in rows.values()} == {listing.pass_id}
    assert changed == {"2018-05-02", "2018-02-16"}
    assert {d for (d,) in db.execute("SELECT local_date FROM dirty_dates")} == changed
    # the pass's progress is saved with the page: a short page ends the list
    assert (listing.page, listing.listed, listing.phase) == (2, 2, "check")
    assert Listing.from_json(get_state(db, Key.LISTING)) == listing
    progress = json.loads(get_state(db, Key.BACKFILL))
    assert progress == {
        "activities": 2,
        "pages": 1,
        "first_date": "2018-02-16",
        "last_date": "2018-05-02",
        "complete": False,
    }
    save_pass_end(db, listing, NOW)
    assert get_state(db, Key.LISTING) is None
    assert json.loads(get_state(db, Key.BACKFILL))["complete"] is True
    assert get_state(db, Key.RELIST_AT) == utc_iso(NOW)


def test_saving_the_same_page_again_changes_nothing(db):
    backfill(db, [run_reply()])
    listing = new_listing("sync", NOW + timedelta(hours=1), 2, NOW)
    again = save_page(db, listing, [to_activity(run_reply())], replies=1)
    assert again == set()
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 1


def test_what_a_pass_did_not_list_is_found_then_saved_or_marked_deleted(db):
    kept, gone = run_reply(), run_reply(id=777, start_date="2018-05-01T12:00:00Z")
    gone.pop("start_date_local")
    backfill(db, [kept, gone])
    later = new_listing("sync", NOW + timedelta(days=1), 2, None)
    assert unseen(db, later) == [gone["id"], kept["id"]]  # oldest first

    edited = dict(kept, name="Renamed")
    assert save_checked(db, later, kept["id"], [to_activity(edited)]) == {"2018-05-02"}
    assert save_deleted(db, gone["id"], NOW) == {"2018-05-01"}

    assert unseen(db, later) == []
    row = next(db.query("SELECT * FROM activities WHERE strava_id = ?", [gone["id"]]))
    assert row["deleted"] == 1
    assert next(db.query("SELECT name FROM activities WHERE strava_id = ?", [kept["id"]])) == {
        "name": "Renamed"
    }
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
    assert save_deleted(db, 999, NOW) == set()  # never stored: nothing to do


def test_the_athletes_shoes_are_saved_without_their_bikes(db):
    athlete = load_examples()["athlete"]

    assert save_athlete(db, athlete, NOW) == 1

    assert list(db.query("SELECT id, name, distance_m, source FROM gear")) == [
        {"id": "g12345678987655", "name": "adidas", "distance_m": 4904, "source": "strava"}
    ]
    assert json.loads(get_state(db, Key.ATHLETE)) == {
        "id": athlete["id"],
        "name": "Marianne Teutenberg",
    }
    assert get_state(db, Key.ATHLETE_AT) == utc_iso(NOW)


def test_a_gear_reply_is_saved_and_a_runners_own_columns_survive(db):
    gear = load_examples()["gear"]
    save_gear_reply(db, gear["id"], gear, NOW)
    db.execute("UPDATE gear SET drop_mm = 4, retire_at_m = 600000 WHERE id = ?", [gear["id"]])

    save_gear_reply(db, gear["id"], dict(gear, distance=400_000), NOW + timedelta(days=31))
    save_gear_reply(db, gear["id"], None, NOW + timedelta(days=62))  # gone from Strava

    row = next(db.query("SELECT * FROM gear WHERE id = ?", [gear["id"]]))
    assert (row["brand"], row["model"], row["distance_m"]) == ("BMC", "Teammachine", 400_000)
    assert (row["drop_mm"], row["retire_at_m"]) == (4, 600000)
    assert row["fetched_at"] == utc_iso(NOW + timedelta(days=62))
    assert json.loads(row["raw"])["description"] == "My Bike."


def test_gear_to_fetch_names_unseen_shoes_of_runs_then_stale_ones(db):
    backfill(
        db,
        [
            run_reply(),
            run_reply(
                id=778,
                start_date="2018-05-03T12:00:00Z",
                sport_type="Ride",
                type="Ride",
                gear_id="b9",
            ),
        ],
    )
    assert gear_to_fetch(db, NOW) == ["g12345678987655"]  # the bike is never fetched
    save_gear_reply(db, "g12345678987655", {"id": "g12345678987655", "name": "adidas"}, NOW)
    assert gear_to_fetch(db, NOW + timedelta(days=29)) == []
    assert gear_to_fetch(db, NOW + timedelta(days=30)) == ["g12345678987655"]


def outcome_of(exc, previous=None, failures=0, tokens=None, backfill=None):
    return failure_outcome(
        exc, now=NOW, previous=previous, failures=failures, tokens=tokens, backfill=backfill
    )


def test_a_rate_limit_waits_for_its_window_and_names_the_backfill():
    resume = NOW + timedelta(minutes=15)
    limited = outcome_of(StravaRateLimited("429", resume, daily=False))
    assert (limited.status, limited.next_try, limited.notice) == (Status.RATE_LIMITED, resume, None)
    progress = json.dumps(
        {"activities": 400, "first_date": "2020-01-01", "last_date": "2021-01-01"}
    )
    paused = outcome_of(StravaBudgetExhausted("budget", resume, daily=False), backfill=progress)
    assert paused.status == Status.PAUSED
    assert paused.message == (
        "backfill in progress: 400 activities so far (2020-01-01 to 2021-01-01); budget"
    )


def test_needs_reauth_and_inactive_are_pushed_once_on_entering_them():
    tokens = Tokens("access", "refresh-token", 0)
    first = outcome_of(StravaAuthError("refused"), tokens=tokens)
    assert first.status == Status.NEEDS_REAUTH
    assert first.message.startswith("needs re-authorization: run `calfsync auth strava`")
    assert first.rejected_token == fingerprint("refresh-token")
    assert first.notice == f"Strava: {first.message}"
    assert outcome_of(StravaAuthError("refused"), "needs_reauth", tokens=tokens).notice is None
    never = outcome_of(StravaAuthError("no token"))
    assert (never.status, never.notice) == (Status.NEEDS_AUTH, None)
    inactive = outcome_of(StravaInactive("inactive: subscribe"))
    assert inactive.next_try == NOW + timedelta(days=1) and inactive.notice
    assert outcome_of(StravaInactive("inactive: subscribe"), "inactive").notice is None


def test_transient_failures_back_off_from_the_second_in_a_row():
    first = outcome_of(StravaUnavailable("Strava answered 500"))
    assert (first.message, first.next_try, first.failures) == (
        "Strava answered 500; retrying next cycle",
        None,
        1,
    )
    second = outcome_of(StravaUnavailable("x"), failures=1)
    assert second.next_try == NOW + timedelta(minutes=15) and second.failures == 2
    assert outcome_of(StravaUnavailable("x"), failures=3).next_try == NOW + timedelta(minutes=60)
    assert outcome_of(StravaUnavailable("x"), failures=20).next_try == NOW + timedelta(hours=6)


def test_an_outcome_is_kept_in_the_strava_state(db):
    resume = NOW + timedelta(minutes=15)
    save_outcome(db, outcome_of(StravaRateLimited("429", resume, daily=False)))
    assert get_state(db, Key.STATUS) == "rate_limited"
    assert get_state(db, Key.NEXT_TRY) == get_state(db, Key.LIMITED_UNTIL) == utc_iso(resume)

    set_state(db, Key.FAILURES, "3")
    save_outcome(db, outcome_of(StravaInactive("inactive: subscribe")))
    assert get_state(db, Key.LIMITED_UNTIL) is None and get_state(db, Key.FAILURES) == "3"
    assert get_state(db, Key.NOTICE) == "Strava: inactive: subscribe"
