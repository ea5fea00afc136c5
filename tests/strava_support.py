"""Helpers for the Strava tests: a running stand-in, a config pointing at it, an authorized db."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from fakes.strava_server import FakeStrava

from calfsync.config import Config, validate
from calfsync.model import utc_iso
from calfsync.sources.strava.state import Key
from calfsync.sources.strava.tokens import load_tokens, save_tokens, token_path
from calfsync.store.db import open_db
from calfsync.store.state import get_state, set_state

CLIENT_ID = "4242"
CLIENT_SECRET = "app-secret-0123456789"


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def make_config(tmp_path: Path, fake: FakeStrava, **strava: Any) -> Config:
    section = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "api_url": fake.api_url,
        "oauth_url": fake.oauth_url,
        "timeout_s": 1,
        **strava,
    }
    return validate(
        {
            "database": {"path": str(tmp_path / "calfsync.db")},
            "fit": {"inbox": [str(tmp_path / "inbox")]},
            "athlete": {"timezone": "Europe/Paris"},
            "strava": section,
        }
    )


def authorize(db: sqlite_utils.Database, fake: FakeStrava, expires_in: int | None = None) -> dict:
    """Write a token file as `calfsync auth strava` would, from a grant of the stand-in."""
    grant = fake.grant(expires_in)
    save_tokens(
        token_path(db),
        {
            "access_token": grant["access_token"],
            "refresh_token": grant["refresh_token"],
            "expires_at": grant["expires_at"],
            "athlete": {"id": fake.athlete_id, "name": "Marianne Teutenberg"},
        },
    )
    return grant


def mark_athlete_checked(db: sqlite_utils.Database, now: datetime) -> None:
    """As after `auth strava`: the athlete's shoe list was read at ``now``."""
    set_state(db, Key.ATHLETE_AT, utc_iso(now))


def tokens(db: sqlite_utils.Database) -> dict:
    return load_tokens(token_path(db)) or {}


def strava_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM activities ORDER BY start_time"))


def state(db: sqlite_utils.Database, key: str) -> str | None:
    return get_state(db, key)


def runs_every_day(fake: FakeStrava, first: datetime, count: int, **kw: Any) -> list[dict]:
    """``count`` runs, one a day at 07:00 UTC from ``first``."""
    return [fake.add_activity(first + timedelta(days=i), **kw) for i in range(count)]


def serve() -> Iterator[FakeStrava]:
    """The stand-in, running (for a ``fake`` fixture: ``yield from serve()``)."""
    with FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as server:
        yield server


def database(cfg: Config) -> Iterator[sqlite_utils.Database]:
    """The configured database, opened and closed (for a ``db`` fixture)."""
    opened = open_db(cfg.db_path)
    yield opened
    opened.close()


# Fixtures of the Strava tests (tests/conftest.py loads this module as a plugin). A module that
# needs other ``cfg`` or ``db`` fixtures defines its own, which take precedence.


@pytest.fixture
def fake() -> Iterator[FakeStrava]:
    """The loopback Strava stand-in, running."""
    yield from serve()


@pytest.fixture
def cfg(tmp_path: Path, fake: FakeStrava) -> Config:
    """A configuration pointing at the stand-in."""
    return make_config(tmp_path, fake)


@pytest.fixture
def db(cfg: Config) -> Iterator[sqlite_utils.Database]:
    """The configured database."""
    yield from database(cfg)


def now_utc() -> datetime:
    """Now, to the second."""
    return datetime.now(UTC).replace(microsecond=0)
