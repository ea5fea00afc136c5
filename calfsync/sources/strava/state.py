"""The Strava sync state: its keys in the ``state`` table, its statuses, and what a failure means.

Every key the Strava step keeps is a :class:`Key` (none holds a secret); ``strava.status`` is a
:class:`Status`. :func:`failure_outcome` decides, without I/O, what a failed cycle leaves for the
next one: the status and message ``status`` shows, when to try again (a rate-limit window, a day
for an inactive app, a back-off after repeated errors), whether the runner is owed one push, and
which refresh token Strava rejected. :mod:`calfsync.ingest.strava` writes the
:class:`Outcome` through the ``state`` table's writer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .errors import (
    StravaAuthError,
    StravaBudgetExhausted,
    StravaError,
    StravaInactive,
    StravaRateLimited,
)
from .tokens import Tokens, fingerprint

INACTIVE_RECHECK = timedelta(days=1)
FIRST_BACKOFF = timedelta(minutes=15)
MAX_BACKOFF = timedelta(hours=6)
NEEDS_REAUTH_MESSAGE = "needs re-authorization: run `calfsync auth strava`"


class Key(StrEnum):
    """The ``state`` table keys of the Strava step."""

    STATUS = "strava.status"  # a Status
    MESSAGE = "strava.message"  # what status shows, a sentence a person reads
    NEXT_TRY = "strava.next_try"  # UTC time before which a cycle sends nothing
    LIMITED_UNTIL = "strava.rate_limited_until"  # the same, while paused by a rate limit
    TOKEN_EXPIRES = "strava.token_expires_at"  # UTC expiry of the current access token
    LAST_OK = "strava.last_ok"
    FAILURES = "strava.failures"  # consecutive transient failures (back-off)
    RATE = "strava.rate"  # JSON: the last rate-limit headers seen, and when (RateInfo)
    LISTING = "strava.listing"  # JSON: the listing pass under way (Listing)
    PASS_SEQ = "strava.pass_seq"
    BACKFILL = "strava.backfill"  # JSON: progress of the first full listing (Backfill)
    RELIST_AT = "strava.relist_at"
    ATHLETE = "strava.athlete"  # JSON: id and name (no tokens)
    ATHLETE_AT = "strava.athlete_checked_at"
    REJECTED = "strava.rejected_token"  # sha256 prefix of a refresh token Strava rejected
    NOTICE = "strava.notice"  # a push the cycle owes the runner (taken by take_notice)
    READS = "strava.reads_last_cycle"
    AUTH_STATE = "strava.auth_state"  # the OAuth state of the address printed last


# The keys ``strava_sync.status`` gathers for a person, in this order.
STATUS_KEYS = (
    Key.STATUS,
    Key.MESSAGE,
    Key.NEXT_TRY,
    Key.LIMITED_UNTIL,
    Key.TOKEN_EXPIRES,
    Key.LAST_OK,
    Key.BACKFILL,
    Key.ATHLETE,
    Key.RELIST_AT,
    Key.ATHLETE_AT,
    Key.READS,
)


class Status(StrEnum):
    """``strava.status``, and the state of a Strava step's report."""

    OK = "ok"
    OFF = "off"  # not configured (a report only, never stored)
    PAUSED = "paused"  # the read budget is nearly used: waiting for the window
    RATE_LIMITED = "rate_limited"  # Strava answered 429
    INACTIVE = "inactive"  # 403 Application/Status/Inactive
    NEEDS_AUTH = "needs_auth"  # no token file
    NEEDS_REAUTH = "needs_reauth"  # the refresh token or a scope was refused
    ERROR = "error"  # network, timeout, 5xx, a malformed reply: retried


@dataclass
class Outcome:
    """What a cycle leaves in the Strava state.

    ``failures`` is the new count of transient failures in a row (0 clears it, None leaves it);
    ``rejected_token`` the fingerprint of a refresh token Strava refused; ``notice`` the one push
    the runner is owed; ``last_ok`` when the cycle succeeded.
    """

    status: Status
    message: str
    next_try: datetime | None = None
    failures: int | None = None
    rejected_token: str | None = None
    notice: str | None = None
    last_ok: datetime | None = None


@dataclass
class Backfill:
    """Progress of the first full listing (``strava.backfill``)."""

    activities: int
    pages: int
    first_date: str | None
    last_date: str | None
    complete: bool

    def to_json(self) -> str:
        """The progress as kept in ``strava.backfill``."""
        return json.dumps(asdict(self))

    @staticmethod
    def text(raw: str | None) -> str:
        """What the stored progress ``raw`` of an unfinished backfill says to a person ("backfill
        in progress: N activities so far (first to last)"); "" when there is none."""
        try:
            progress = json.loads(raw) if raw else None
        except ValueError:
            return ""
        if not isinstance(progress, dict) or progress.get("complete"):
            return ""
        span = ""
        if progress.get("first_date"):
            span = f" ({progress['first_date']} to {progress['last_date']})"
        return f"backfill in progress: {progress.get('activities', 0)} activities so far{span}"


def failure_outcome(
    exc: StravaError,
    *,
    now: datetime,
    previous: str | None,
    failures: int,
    tokens: Tokens | None,
    backfill: str | None,
) -> Outcome:
    """The state a failed cycle leaves. ``previous`` is the stored status (a push is owed only
    on entering ``needs_reauth`` or ``inactive``), ``failures`` the transient failures in a row
    before this one, ``tokens`` the client's (None: never authorized), ``backfill`` the stored
    backfill progress (named in a rate-limit message)."""
    if isinstance(exc, StravaRateLimited):
        paused = isinstance(exc, StravaBudgetExhausted)
        progress = Backfill.text(backfill)
        text = f"{progress}; {exc}" if progress else str(exc)
        status = Status.PAUSED if paused else Status.RATE_LIMITED
        return Outcome(status, text, next_try=exc.resume_at)
    if isinstance(exc, StravaInactive):
        return _owed(Outcome(Status.INACTIVE, str(exc), next_try=now + INACTIVE_RECHECK), previous)
    if isinstance(exc, StravaAuthError):
        if tokens is None:
            return Outcome(Status.NEEDS_AUTH, "not authorized yet: run `calfsync auth strava`")
        text = str(exc)
        if NEEDS_REAUTH_MESSAGE not in text:
            text = f"{NEEDS_REAUTH_MESSAGE} ({text})"
        outcome = Outcome(
            Status.NEEDS_REAUTH, text, rejected_token=fingerprint(tokens.refresh_token)
        )
        return _owed(outcome, previous)
    return _retry(exc, now, failures + 1)


def _owed(outcome: Outcome, previous: str | None) -> Outcome:
    """The outcome with the one push a runner is owed when the status changes to it."""
    if previous != outcome.status:
        outcome.notice = f"Strava: {outcome.message}"
    return outcome


def _retry(exc: StravaError, now: datetime, failures: int) -> Outcome:
    """A transient failure: retried next cycle, then after 15 min, 30 min, … at most 6 h."""
    if failures < 2:
        return Outcome(Status.ERROR, f"{exc}; retrying next cycle", failures=failures)
    next_try = now + min(FIRST_BACKOFF * 2 ** (failures - 2), MAX_BACKOFF)
    text = f"{exc}; retrying after {next_try:%Y-%m-%d %H:%M} UTC"
    return Outcome(Status.ERROR, text, next_try=next_try, failures=failures)
