"""The Strava step of a sync cycle: fetch through :mod:`calfsync.sources.strava`, save here.

:func:`run` is what ``sync.py`` calls. Every read goes through a ``fetch_*`` function of
:mod:`calfsync.sources.strava.listing` (HTTP only); every write through a ``save_*`` function
below (rows only, no network), one transaction per page, so a cycle stopped anywhere leaves
nothing half-written and the next cycle resumes where this one stopped. The ``save_*`` functions
take Strava's JSON as received, so tests feed them saved replies with no server.

A cycle:

1. waits out a recorded ``strava.next_try`` (a 429, a spent read budget, an inactive app, a
   back-off) without sending anything;
2. refreshes the access token when it expires within five minutes (every rotated token is
   written to the 0600 token file the moment it arrives);
3. reads the athlete's shoe list at most once a day;
4. lists ``/athlete/activities`` in a *pass* (:class:`Listing`): ``after`` = newest stored
   Strava start − 7 days (nothing stored: the whole history, a backfill), ``before`` = the
   pass's start, 200 a page, up to a short page. The pass is kept in ``strava.listing``, so a
   backfill bigger than a day's read limit goes on page by page over several days. Stored
   activities of the pass's window that the pass did not see are checked with
   ``/activities/{id}``: a 404 marks them deleted;
5. once a week, the same pass over the last 90 days (edits and deletions);
6. fetches each unseen shoe once (``/gear/{id}``) and refreshes known ones monthly.

Strava's own failures never raise: :func:`run` returns them in its :class:`StravaReport`
(``state``, ``message``, ``error``) and keeps what they mean for later cycles (wait, re-authorize,
back off) in the ``strava.*`` state (:mod:`calfsync.sources.strava.state`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from ..config import Config
from ..errors import ConfigError
from ..model import Activity, parse_utc, utc_iso
from ..sources.strava.client import StravaClient
from ..sources.strava.errors import (
    StravaAuthError,
    StravaBudgetExhausted,
    StravaError,
    StravaMalformed,
)
from ..sources.strava.listing import (
    Listing,
    fetch_activity,
    fetch_athlete,
    fetch_gear,
    fetch_page,
    new_listing,
)
from ..sources.strava.mapping import to_activity
from ..sources.strava.rate import RateInfo
from ..sources.strava.state import (
    NEEDS_REAUTH_MESSAGE,
    STATUS_KEYS,
    Key,
    Outcome,
    Status,
    failure_outcome,
)
from ..sources.strava.tokens import (
    Tokens,
    configured,
    credentials,
    fingerprint,
    save_token_reply,
    stored_tokens,
    token_lock,
    token_path,
)
from ..store.state import get_state, set_state
from .strava_save import (
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

log = logging.getLogger(__name__)

RELIST_EVERY = timedelta(days=7)
ATHLETE_EVERY = timedelta(days=1)
MAX_PAGES_PER_CYCLE = 100  # 20,000 activities; a longer backfill goes on next cycle


@dataclass
class StravaReport:
    """What one Strava step did. ``state`` is a :class:`Status`; ``error`` what stopped the
    step (its meaning for later cycles is already in the Strava state), None when it did not."""

    state: str = Status.OK
    message: str = ""
    reads: int = 0
    changed_dates: set[str] = field(default_factory=set)
    saved: int = 0
    deleted: int = 0
    gear: int = 0
    skipped: int = 0  # replies that could not be mapped (logged)
    error: Exception | None = None

    def line(self) -> str:
        """The report in a few words, as ``status`` and the log show it."""
        return self.message or self.state

    def ok_message(self) -> str:
        """What a cycle that succeeded did, in words ("N activities listed, …, N API reads")."""
        parts = [_count(self.saved, "activity", "activities") + " listed"]
        if self.deleted:
            parts.append(f"{self.deleted} deleted on Strava")
        if self.skipped:
            parts.append(_count(self.skipped, "reply", "replies") + " skipped (unreadable)")
        if self.gear:
            parts.append(_count(self.gear, "shoe", "shoes") + " updated")
        parts.append(_count(self.reads, "API read", "API reads"))
        return ", ".join(parts)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# --- the client --------------------------------------------------------------------------------


def make_client(
    db: sqlite_utils.Database, cfg: Config, *, require_tokens: bool = True
) -> StravaClient:
    """A :class:`StravaClient` for this database's token file; rotated tokens are saved at once.

    Raises :class:`ConfigError` when Strava is not configured, :class:`StravaAuthError` when it
    is not authorized yet (unless ``require_tokens`` is false, as for ``auth strava``).
    """
    creds = credentials(cfg)
    if creds is None:
        raise ConfigError(
            "Strava is not configured: set [strava] client_id and client_secret (or "
            "client_secret_file) from https://www.strava.com/settings/api"
        )
    path = token_path(db)
    tokens = stored_tokens(path)
    if tokens is None and require_tokens:
        raise StravaAuthError("Strava is not authorized yet: run `calfsync auth strava`")

    def persist(new: Tokens, reply: dict[str, Any]) -> None:
        save_token_reply(path, new, reply, datetime.now(UTC))
        set_state(db, Key.TOKEN_EXPIRES, utc_iso(datetime.fromtimestamp(new.expires_at, UTC)))

    return StravaClient(
        stored_tokens=lambda: stored_tokens(path),
        refresh_lock=lambda: token_lock(path),
        api_url=cfg.strava.api_url,
        oauth_url=cfg.strava.oauth_url,
        client_id=creds[0],
        client_secret=creds[1],
        tokens=tokens,
        on_tokens=persist,
        timeout_s=float(cfg.strava.timeout_s or 30),
        rate=RateInfo.from_json(get_state(db, Key.RATE)),
    )


# --- the step ----------------------------------------------------------------------------------


def run(db: sqlite_utils.Database, cfg: Config, now: datetime) -> StravaReport:
    """One Strava step. Never raises for Strava's own failures: they end up in the report and
    in the ``strava.*`` state keys that ``status`` shows."""
    report = StravaReport()
    if not configured(cfg):
        report.state, report.message = Status.OFF, "Strava is not configured"
        return report
    next_try = get_state(db, Key.NEXT_TRY)
    if next_try and parse_utc(next_try) > now:
        report.state = get_state(db, Key.STATUS) or Status.PAUSED
        report.message = get_state(db, Key.MESSAGE) or f"waiting until {next_try}"
        return report
    client: StravaClient | None = None
    try:
        client = make_client(db, cfg)
        _refuse_a_rejected_token(db, client)
        _cycle(db, client, now, report, cfg.timezone)
        report.reads = client.reads
        outcome = Outcome(Status.OK, report.ok_message(), failures=0, last_ok=now)
    except StravaError as exc:
        outcome = failure_outcome(
            exc,
            now=now,
            previous=get_state(db, Key.STATUS),
            failures=int(get_state(db, Key.FAILURES) or 0),
            tokens=client.tokens if client is not None else None,
            backfill=get_state(db, Key.BACKFILL),
        )
        log.warning("Strava: %s", outcome.message)
        report.error = exc
    except ConfigError as exc:
        outcome, report.error = Outcome(Status.ERROR, str(exc)), exc
    finally:
        if client is not None:
            report.reads = client.reads
            set_state(db, Key.RATE, client.rate.to_json())
            set_state(db, Key.READS, str(client.reads))
    save_outcome(db, outcome)
    report.state, report.message = outcome.status, outcome.message
    return report


def _refuse_a_rejected_token(db: sqlite_utils.Database, client: StravaClient) -> None:
    """Send nothing with a refresh token Strava already rejected: wait for `auth strava`."""
    rejected = get_state(db, Key.REJECTED)
    if client.tokens and rejected and rejected == fingerprint(client.tokens.refresh_token):
        raise StravaAuthError(NEEDS_REAUTH_MESSAGE)


def _cycle(
    db: sqlite_utils.Database,
    client: StravaClient,
    now: datetime,
    report: StravaReport,
    tz: ZoneInfo | None = None,
) -> None:
    client.ensure_fresh(now)
    checked = get_state(db, Key.ATHLETE_AT)
    if not checked or parse_utc(checked) <= now - ATHLETE_EVERY:
        sync_athlete(db, client, now, report)
    sync_gear(db, client, now, report)  # shoes of activities stored by an earlier, stopped cycle
    listing = Listing.from_json(get_state(db, Key.LISTING)) or _new_listing(db, now, "sync")
    run_listing(db, client, listing, now, report, tz)
    relisted = get_state(db, Key.RELIST_AT)
    if relisted is None or parse_utc(relisted) <= now - RELIST_EVERY:
        run_listing(db, client, _new_listing(db, now, "relist"), now, report, tz)
    sync_gear(db, client, now, report)


# --- listing passes ----------------------------------------------------------------------------


def _new_listing(db: sqlite_utils.Database, now: datetime, kind: str) -> Listing:
    """A new pass of ``kind`` (sync or relist), numbered in ``strava.pass_seq``."""
    seq = int(get_state(db, Key.PASS_SEQ) or 0) + 1
    set_state(db, Key.PASS_SEQ, str(seq))
    if kind == "relist":
        return new_listing("relist", now, seq, None)
    newest = db.execute(
        "SELECT MAX(start_time) FROM activities WHERE strava_id IS NOT NULL"
    ).fetchone()[0]
    return new_listing("sync", now, seq, parse_utc(newest) if newest else None)


def run_listing(
    db: sqlite_utils.Database,
    client: StravaClient,
    listing: Listing,
    now: datetime,
    report: StravaReport,
    tz: ZoneInfo | None = None,
) -> None:
    """Read a pass page by page (one transaction each), then check what it did not see.

    ``tz`` (the ``[athlete] timezone``) dates activities whose reply carries no local time."""
    set_state(db, Key.LISTING, listing.to_json())
    previous_ids: set[int] = set()
    pages = 0
    while listing.phase == "list":
        if pages >= MAX_PAGES_PER_CYCLE:
            raise StravaBudgetExhausted(
                f"{pages} pages read this cycle; the listing goes on next cycle", now, daily=False
            )
        page = fetch_page(client, listing, now)
        pages += 1
        activities = mappable(page, report, tz)
        ids = {a.strava_id for a in activities if a.strava_id is not None}
        if ids and ids == previous_ids:
            raise StravaMalformed(
                f"Strava returned the same activities for pages {listing.page - 1} and "
                f"{listing.page}"
            )
        previous_ids = ids
        report.changed_dates |= save_page(db, listing, activities, replies=len(page))
        report.saved += len(activities)
    _check_unseen(db, client, listing, now, report, tz)
    save_pass_end(db, listing, now)


def mappable(
    replies: list[dict[str, Any]], report: StravaReport, default_tz: ZoneInfo | None = None
) -> list[Activity]:
    """The replies as Activities. One that cannot be mapped (no usable start time) is skipped
    with a warning rather than blocking every later page; it is counted in ``report.skipped``."""
    out = []
    for raw in replies:
        try:
            out.append(to_activity(raw, default_tz))
        except StravaMalformed as exc:
            report.skipped += 1
            log.warning("Strava activity %s skipped: %s", raw.get("id"), exc)
    return out


def _check_unseen(
    db: sqlite_utils.Database,
    client: StravaClient,
    listing: Listing,
    now: datetime,
    report: StravaReport,
    tz: ZoneInfo | None = None,
) -> None:
    """Ask Strava about stored activities of the pass's window that the pass did not list."""
    for strava_id in unseen(db, listing):
        detail = fetch_activity(client, now, strava_id)
        if detail is None:
            report.changed_dates |= save_deleted(db, strava_id, now)
            report.deleted += 1
        else:
            report.changed_dates |= save_checked(
                db, listing, strava_id, mappable([detail], report, tz)
            )


# --- athlete and shoes -------------------------------------------------------------------------


def sync_athlete(
    db: sqlite_utils.Database, client: StravaClient, now: datetime, report: StravaReport
) -> dict[str, Any]:
    """Read ``/athlete`` (one read): the athlete's name and shoe list."""
    athlete = fetch_athlete(client, now)
    report.gear += save_athlete(db, athlete, now)
    return athlete


def sync_gear(
    db: sqlite_utils.Database, client: StravaClient, now: datetime, report: StravaReport
) -> None:
    """Fetch each shoe never fetched (one read each) and refresh the rest at most monthly."""
    for gear_id in gear_to_fetch(db, now):
        save_gear_reply(db, gear_id, fetch_gear(client, now, gear_id), now)
        report.gear += 1


# --- notices and status ------------------------------------------------------------------------


def take_notice(db: sqlite_utils.Database) -> str | None:
    """The one push a Strava state change owes the runner (re-authorization needed, app
    inactive), removed. Call it inside the transaction that enqueues the push."""
    text = get_state(db, Key.NOTICE)
    if text:
        set_state(db, Key.NOTICE, None)
    return text or None


def status(db: sqlite_utils.Database) -> dict[str, Any]:
    """Strava's part of ``status``: state, message, next try, athlete, backfill, rate usage.

    Holds no secret (the token file's path is shown, never its content).
    """
    out: dict[str, Any] = {k.removeprefix("strava."): get_state(db, k) for k in STATUS_KEYS}
    for key in ("backfill", "athlete"):
        if out.get(key):
            try:
                out[key] = json.loads(out[key])
            except ValueError:
                pass
    rate = RateInfo.from_json(get_state(db, Key.RATE))
    if rate.observed_at:
        out["rate"] = {
            "observed_at": rate.observed_at,
            "read_usage_15min_day": rate.read_usage,
            "read_limit_15min_day": rate.read_limit,
        }
    counts = db.execute(
        "SELECT COUNT(*), MIN(local_date), MAX(local_date) FROM activities "
        "WHERE strava_id IS NOT NULL AND deleted = 0"
    ).fetchone()
    out["activities"] = {"count": counts[0], "first_date": counts[1], "last_date": counts[2]}
    try:
        path = token_path(db)
        out["token_file"] = str(path) if path.exists() else None
    except ConfigError:
        out["token_file"] = None
    return out
