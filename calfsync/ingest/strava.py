"""The Strava side of a sync cycle: tokens, listing, deletions, shoes, rate limits, error states.

:func:`run` is what ``sync.py`` calls. It reads through :mod:`calfsync.sources.strava` (which
never writes) and stores here, one transaction per page, so a cycle stopped anywhere leaves
nothing half-written and the next cycle resumes where this one stopped.

A cycle:

1. waits out a recorded ``strava.next_try`` (a 429, a spent read budget, an inactive app, a
   back-off) without sending anything;
2. refreshes the access token when it expires within five minutes (every rotated token is
   written to the 0600 token file the moment it arrives);
3. reads the athlete's shoe list at most once a day;
4. lists ``/athlete/activities`` in a *pass*: ``after`` = newest stored Strava start − 7 days
   (nothing stored: the whole history, a backfill), ``before`` = the pass's start, 200 a page,
   up to a short page. The pass is kept in ``strava.listing``, so a backfill bigger than a day's
   read limit goes on page by page over several days. Stored activities of the pass's window that
   the pass did not see are checked with ``/activities/{id}``: a 404 marks them deleted;
5. once a week, the same pass over the last 90 days (edits and deletions);
6. fetches each unseen shoe once (``/gear/{id}``) and refreshes known ones monthly.

Every read first checks the rate headers of the previous reply: a read that would pass the
15-minute or daily read limit less a margin ends the cycle until the next window, before Strava
answers 429.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from ..config import Config
from ..errors import ConfigError
from ..model import Activity, parse_utc, utc_iso
from ..sources.strava import mapping as src
from ..store.db import get_state, rows, set_state, write_tx

log = logging.getLogger(__name__)

OVERLAP = timedelta(days=7)
RELIST_WINDOW = timedelta(days=90)
RELIST_EVERY = timedelta(days=7)
ATHLETE_EVERY = timedelta(days=1)
GEAR_EVERY = timedelta(days=30)
INACTIVE_RECHECK = timedelta(days=1)
MAX_BACKOFF = timedelta(hours=6)
MAX_PAGES_PER_CYCLE = 100  # 20,000 activities; a longer backfill goes on next cycle
NEEDS_REAUTH_MESSAGE = "needs re-authorization: run `calfsync auth strava`"

# state keys (the ``state`` table); none of them holds a secret.
# strava.status: ok | paused | rate_limited | inactive | needs_auth | needs_reauth | error
K_STATE = "strava.status"
K_MESSAGE = "strava.message"  # what status shows, a sentence a person reads
K_NEXT_TRY = "strava.next_try"  # UTC time before which a cycle sends nothing
K_LIMITED_UNTIL = "strava.rate_limited_until"  # the same, while paused by a rate limit
K_TOKEN_EXPIRES = "strava.token_expires_at"  # UTC expiry of the current access token
K_LAST_OK = "strava.last_ok"
K_FAILURES = "strava.failures"  # consecutive transient failures (back-off)
K_RATE = "strava.rate"  # JSON: the last rate-limit headers seen, and when
K_LISTING = "strava.listing"  # JSON: the listing pass under way
K_SEQ = "strava.pass_seq"
K_BACKFILL = "strava.backfill"  # JSON: progress of the first full listing
K_RELIST_AT = "strava.relist_at"
K_ATHLETE = "strava.athlete"  # JSON: id and name (no tokens)
K_ATHLETE_AT = "strava.athlete_checked_at"
K_REJECTED = "strava.rejected_token"  # sha256 prefix of a refresh token Strava rejected
K_NOTICE = "strava.notice"  # a push the cycle owes the runner (taken by take_notice)
K_READS = "strava.reads_last_cycle"
STATUS_KEYS = (
    K_STATE,
    K_MESSAGE,
    K_NEXT_TRY,
    K_LIMITED_UNTIL,
    K_TOKEN_EXPIRES,
    K_LAST_OK,
    K_BACKFILL,
    K_ATHLETE,
    K_RELIST_AT,
    K_ATHLETE_AT,
    K_READS,
)


@dataclass
class StravaReport:
    """What one Strava cycle did. ``state`` is one of the ``strava.state`` values."""

    state: str = "ok"
    message: str = ""
    reads: int = 0
    changed_dates: set[str] = field(default_factory=set)
    saved: int = 0
    deleted: int = 0
    gear: int = 0
    skipped: int = 0  # replies that could not be mapped (logged)

    def line(self) -> str:
        return self.message or self.state


# --- configuration and tokens ------------------------------------------------------------------


def credentials(cfg: Config, env: Mapping[str, str] | None = None) -> tuple[int, str] | None:
    """``(client_id, client_secret)`` from ``[strava]``, ``client_secret_file`` or
    ``$CREDENTIALS_DIRECTORY/strava_client_secret``; None when either is missing.

    Raises :class:`ConfigError` for a client id that is not a number or an unreadable file.
    """
    from ..secrets import resolve_secret

    section = cfg.section("strava")
    client_id = section.get("client_id")
    if client_id in (None, ""):
        return None
    try:
        cid = int(str(client_id).strip())
    except ValueError as exc:
        raise ConfigError(
            f"[strava] client_id must be the numeric Client ID shown at "
            f"https://www.strava.com/settings/api (got {client_id!r})"
        ) from exc
    secret = resolve_secret(section, "client_secret", owner="strava", env=env)
    if not secret:
        # LoadCredential=calfsync:/etc/calfsync/credentials names files calfsync_<file>
        secret = resolve_secret({}, "client_secret", owner="calfsync_strava", env=env)
    if not secret:
        return None
    return cid, secret


def configured(cfg: Config, env: Mapping[str, str] | None = None) -> bool:
    """Whether Strava is enabled and has a client id and secret (a secret file that cannot be
    read still counts: the cycle then reports the error)."""
    section = cfg.section("strava")
    if not section.get("enabled", True):
        return False
    try:
        return credentials(cfg, env) is not None
    except ConfigError:
        return True


def db_file(db: sqlite_utils.Database) -> Path:
    """The file behind ``db`` (its ``main`` database)."""
    for _seq, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            return Path(path)
    raise ConfigError("Strava needs a database file (an in-memory database cannot hold tokens)")


def token_path(db: sqlite_utils.Database) -> Path:
    """The 0600 token file next to the database.

    ``calfsync.db`` -> ``calfsync.strava-token.json``.
    """
    path = db_file(db)
    return path.with_name(path.stem + ".strava-token.json")


def load_tokens(path: Path) -> dict[str, Any] | None:
    """The token file's content, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cannot read the Strava token file %s: %s", path, exc.__class__.__name__)
        return None
    return data if isinstance(data, dict) else None


def save_tokens(path: Path, data: Mapping[str, Any]) -> None:
    """Write the token file atomically with mode 0600 (temp file, fsync, rename, fsync dir)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".strava-token.", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(data), fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(str(path.parent), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


@contextmanager
def token_lock(path: Path) -> Iterator[None]:
    """An exclusive lock around a token refresh, shared by every calfsync process (the daemon,
    `calfsync sync`, `auth strava`), so two never spend the same refresh token."""
    import fcntl

    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(str(lock_path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def athlete_name(athlete: Mapping[str, Any]) -> str:
    return " ".join(str(athlete.get(k) or "") for k in ("firstname", "lastname")).strip()


def make_client(
    db: sqlite_utils.Database, cfg: Config, *, require_tokens: bool = True
) -> src.StravaClient:
    """A :class:`StravaClient` for this database's token file; rotated tokens are saved at once.

    Raises :class:`ConfigError` when Strava is not configured.
    """
    from ..secrets import register

    creds = credentials(cfg)
    if creds is None:
        raise ConfigError(
            "Strava is not configured: set [strava] client_id and client_secret (or "
            "client_secret_file) from https://www.strava.com/settings/api"
        )
    path = token_path(db)
    stored = load_tokens(path) or {}
    tokens = src.Tokens.from_reply(stored)
    if tokens is not None:
        register(tokens.access_token)
        register(tokens.refresh_token)
    if tokens is None and require_tokens:
        raise src.StravaAuthError("Strava is not authorized yet: run `calfsync auth strava`")
    section = cfg.section("strava")

    def persist(new: src.Tokens, reply: dict[str, Any]) -> None:
        register(new.access_token)
        register(new.refresh_token)
        data = dict(load_tokens(path) or {})
        data.update(
            access_token=new.access_token,
            refresh_token=new.refresh_token,
            expires_at=new.expires_at,
            updated_at=utc_iso(datetime.now(UTC)),
        )
        if isinstance(reply.get("athlete"), dict) and reply["athlete"].get("id") is not None:
            data["athlete"] = {
                "id": reply["athlete"]["id"],
                "name": athlete_name(reply["athlete"]),
            }
        save_tokens(path, data)
        set_state(db, K_TOKEN_EXPIRES, utc_iso(datetime.fromtimestamp(new.expires_at, UTC)))

    def stored() -> src.Tokens | None:
        return src.Tokens.from_reply(load_tokens(path) or {})

    return src.StravaClient(
        stored_tokens=stored,
        refresh_lock=lambda: token_lock(path),
        api_url=section["api_url"],
        oauth_url=section["oauth_url"],
        client_id=creds[0],
        client_secret=creds[1],
        tokens=tokens,
        on_tokens=persist,
        timeout_s=float(section.get("timeout_s") or 30),
        rate=src.RateInfo.from_json(get_state(db, K_RATE)),
    )


# --- notices and status ------------------------------------------------------------------------


def take_notice(db: sqlite_utils.Database) -> str | None:
    """The one push a Strava state change owes the runner (re-authorization needed, app
    inactive), removed. Call it inside the transaction that enqueues the push."""
    text = get_state(db, K_NOTICE)
    if text:
        set_state(db, K_NOTICE, None)
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
    rate = src.RateInfo.from_json(get_state(db, K_RATE))
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


# --- the cycle ---------------------------------------------------------------------------------


def run(db: sqlite_utils.Database, cfg: Config, now: datetime) -> StravaReport:
    """One Strava cycle. Never raises for Strava's own failures: they end up in the report and
    in the ``strava.*`` state keys that ``status`` shows."""
    report = StravaReport()
    if not configured(cfg):
        report.state, report.message = "off", "Strava is not configured"
        return report
    next_try = get_state(db, K_NEXT_TRY)
    if next_try and parse_utc(next_try) > now:
        report.state = get_state(db, K_STATE) or "paused"
        report.message = get_state(db, K_MESSAGE) or f"waiting until {next_try}"
        return report
    client: src.StravaClient | None = None
    try:
        client = make_client(db, cfg)
        assert client.tokens is not None
        rejected = get_state(db, K_REJECTED)
        if rejected and rejected == _fingerprint(client.tokens.refresh_token):
            raise src.StravaAuthError(NEEDS_REAUTH_MESSAGE)
        _cycle(db, client, now, report, cfg.timezone)
    except src.StravaError as exc:
        _record_failure(db, client, exc, now, report)
    except ConfigError as exc:
        _set_states(db, "error", str(exc), None)
        report.state, report.message = "error", str(exc)
    else:
        message = _ok_message(report, client.reads)
        _set_states(db, "ok", message, None)
        set_state(db, K_FAILURES, None)
        set_state(db, K_LAST_OK, utc_iso(now))
        report.state, report.message = "ok", message
    finally:
        if client is not None:
            report.reads = client.reads
            set_state(db, K_RATE, client.rate.to_json())
            set_state(db, K_READS, str(client.reads))
    return report


def _set_states(db: sqlite_utils.Database, state: str, message: str, next_try: str | None) -> None:
    with write_tx(db):
        set_state(db, K_STATE, state)
        set_state(db, K_MESSAGE, message)
        set_state(db, K_NEXT_TRY, next_try)
        limited = next_try if state in ("rate_limited", "paused") else None
        set_state(db, K_LIMITED_UNTIL, limited)


def _record_failure(
    db: sqlite_utils.Database,
    client: src.StravaClient | None,
    exc: src.StravaError,
    now: datetime,
    report: StravaReport,
) -> None:
    previous = get_state(db, K_STATE)
    text = str(exc)
    next_try: datetime | None = None
    if isinstance(exc, src.StravaRateLimited):
        state = "paused" if isinstance(exc, src.StravaBudgetExhausted) else "rate_limited"
        next_try = exc.resume_at
        progress = _backfill_text(db)
        text = f"{progress}; {text}" if progress else text
    elif isinstance(exc, src.StravaInactive):
        state, next_try = "inactive", now + INACTIVE_RECHECK
    elif isinstance(exc, src.StravaAuthError):
        tokens = client.tokens if client is not None else None
        if tokens is None:
            state, text = "needs_auth", "not authorized yet: run `calfsync auth strava`"
        else:
            state = "needs_reauth"
            if NEEDS_REAUTH_MESSAGE not in text:
                text = f"{NEEDS_REAUTH_MESSAGE} ({text})"
            set_state(db, K_REJECTED, _fingerprint(tokens.refresh_token))
    else:
        state = "error"
        failures = int(get_state(db, K_FAILURES) or 0) + 1
        set_state(db, K_FAILURES, str(failures))
        if failures >= 2:
            next_try = now + min(timedelta(minutes=15) * 2 ** (failures - 2), MAX_BACKOFF)
            text = f"{text}; retrying after {next_try:%Y-%m-%d %H:%M} UTC"
        else:
            text = f"{text}; retrying next cycle"
    with write_tx(db):
        _set_states(db, state, text, utc_iso(next_try) if next_try else None)
        if state in ("needs_reauth", "inactive") and previous != state:
            set_state(db, K_NOTICE, f"Strava: {text}")
    log.warning("Strava: %s", text)
    report.state, report.message = state, text


def _ok_message(report: StravaReport, reads: int) -> str:
    def count(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    parts = [count(report.saved, "activity", "activities") + " listed"]
    if report.deleted:
        parts.append(f"{report.deleted} deleted on Strava")
    if report.skipped:
        parts.append(count(report.skipped, "reply", "replies") + " skipped (unreadable)")
    if report.gear:
        parts.append(count(report.gear, "shoe", "shoes") + " updated")
    parts.append(count(reads, "API read", "API reads"))
    return ", ".join(parts)


def _backfill_text(db: sqlite_utils.Database) -> str:
    raw = get_state(db, K_BACKFILL)
    if not raw:
        return ""
    try:
        progress = json.loads(raw)
    except ValueError:
        return ""
    if progress.get("complete"):
        return ""
    span = ""
    if progress.get("first_date"):
        span = f" ({progress['first_date']} to {progress['last_date']})"
    return f"backfill in progress: {progress.get('activities', 0)} activities so far{span}"


def _cycle(
    db: sqlite_utils.Database,
    client: src.StravaClient,
    now: datetime,
    report: StravaReport,
    tz: Any = None,
) -> None:
    client.ensure_fresh(now)
    checked = get_state(db, K_ATHLETE_AT)
    if not checked or parse_utc(checked) <= now - ATHLETE_EVERY:
        sync_athlete(db, client, now, report)
    sync_gear(db, client, now, report)  # shoes of activities stored by an earlier, stopped cycle
    listing = _load_listing(db) or _new_listing(db, now, "sync")
    run_listing(db, client, listing, now, report, tz)
    relisted = get_state(db, K_RELIST_AT)
    if relisted is None or parse_utc(relisted) <= now - RELIST_EVERY:
        run_listing(db, client, _new_listing(db, now, "relist"), now, report, tz)
    sync_gear(db, client, now, report)


# --- listing passes ----------------------------------------------------------------------------


def _load_listing(db: sqlite_utils.Database) -> dict[str, Any] | None:
    raw = get_state(db, K_LISTING)
    if not raw:
        return None
    try:
        listing = json.loads(raw)
    except ValueError:
        return None
    return listing if isinstance(listing, dict) and "pass_id" in listing else None


def _new_listing(db: sqlite_utils.Database, now: datetime, kind: str) -> dict[str, Any]:
    seq = int(get_state(db, K_SEQ) or 0) + 1
    set_state(db, K_SEQ, str(seq))
    after: int | None
    if kind == "relist":
        after = int((now - RELIST_WINDOW).timestamp())
    else:
        newest = db.execute(
            "SELECT MAX(start_time) FROM activities WHERE strava_id IS NOT NULL"
        ).fetchone()[0]
        after = int((parse_utc(newest) - OVERLAP).timestamp()) if newest else None
        if after is None:
            kind = "backfill"
    return {
        "pass_id": f"{utc_iso(now)}#{seq}",
        "kind": kind,
        "after": after,
        "before": int(now.timestamp()) + 1,
        "page": 1,
        "listed": 0,
        "phase": "list",
    }


def run_listing(
    db: sqlite_utils.Database,
    client: src.StravaClient,
    listing: dict[str, Any],
    now: datetime,
    report: StravaReport,
    tz: Any = None,
) -> None:
    """Read a pass page by page (one transaction each), then check what it did not see.

    ``tz`` (the ``[athlete] timezone``) dates activities whose reply carries no local time."""
    set_state(db, K_LISTING, json.dumps(listing))
    previous_ids: set[int] = set()
    pages = 0
    while listing["phase"] == "list":
        if pages >= MAX_PAGES_PER_CYCLE:
            raise src.StravaBudgetExhausted(
                f"{pages} pages read this cycle; the listing goes on next cycle", now, daily=False
            )
        page = client.list_activities(
            now, after=listing["after"], before=listing["before"], page=listing["page"]
        )
        pages += 1
        activities = mappable(page, report, tz)
        ids = {a.strava_id for a in activities if a.strava_id is not None}
        if ids and ids == previous_ids:
            raise src.StravaMalformed(
                f"Strava returned the same activities for pages {listing['page'] - 1} and "
                f"{listing['page']}"
            )
        previous_ids = ids
        with write_tx(db):
            if activities:
                from ..store.activities import save_activities

                result = save_activities(db, activities)
                report.changed_dates |= result.changed_dates
                db.conn.executemany(
                    "UPDATE activities SET strava_listed_at = ? WHERE strava_id = ?",
                    [(listing["pass_id"], a.strava_id) for a in activities],
                )
            report.saved += len(activities)
            listing["listed"] += len(activities)
            listing["page"] += 1
            if len(page) < src.PER_PAGE:
                listing["phase"] = "check"
            set_state(db, K_LISTING, json.dumps(listing))
            if listing["kind"] == "backfill":
                _record_backfill(db, listing, complete=False)
    _check_unseen(db, client, listing, now, report, tz)
    with write_tx(db):
        set_state(db, K_LISTING, None)
        if listing["kind"] in ("backfill", "relist"):
            set_state(db, K_RELIST_AT, utc_iso(now))
        if listing["kind"] == "backfill":
            _record_backfill(db, listing, complete=True)


def mappable(
    replies: list[dict[str, Any]], report: StravaReport, default_tz: Any = None
) -> list[Activity]:
    """The replies as Activities. One that cannot be mapped (no usable start time) is skipped
    with a warning rather than blocking every later page; it is counted in ``report.skipped``."""
    out = []
    for raw in replies:
        try:
            out.append(src.to_activity(raw, default_tz))
        except src.StravaMalformed as exc:
            report.skipped += 1
            log.warning("Strava activity %s skipped: %s", raw.get("id"), exc)
    return out


def _record_backfill(db: sqlite_utils.Database, listing: dict[str, Any], complete: bool) -> None:
    first, last = db.execute(
        "SELECT MIN(local_date), MAX(local_date) FROM activities WHERE strava_id IS NOT NULL"
    ).fetchone()
    set_state(
        db,
        K_BACKFILL,
        json.dumps(
            {
                "activities": listing["listed"],
                "pages": listing["page"] - 1,
                "first_date": first,
                "last_date": last,
                "complete": complete,
            }
        ),
    )


def _check_unseen(
    db: sqlite_utils.Database,
    client: src.StravaClient,
    listing: dict[str, Any],
    now: datetime,
    report: StravaReport,
    tz: Any = None,
) -> None:
    """Ask Strava about stored activities of the pass's window that the pass did not list."""
    bounds = ["start_time < ?"]
    params: list[Any] = [utc_iso(datetime.fromtimestamp(listing["before"], UTC))]
    if listing["after"] is not None:
        bounds.append("start_time > ?")
        params.append(utc_iso(datetime.fromtimestamp(listing["after"], UTC)))
    unseen = rows(
        db,
        "SELECT id, strava_id FROM activities WHERE strava_id IS NOT NULL AND deleted = 0 "
        f"AND {' AND '.join(bounds)} "
        "AND (strava_listed_at IS NULL OR strava_listed_at != ?) ORDER BY start_time",
        [*params, listing["pass_id"]],
    )
    for row in unseen:
        detail = client.get_activity(now, row["strava_id"])
        if detail is None:
            report.changed_dates |= mark_gone(db, row["strava_id"], now)
            report.deleted += 1
            continue
        from ..store.activities import save_activities

        with write_tx(db):
            result = save_activities(db, mappable([detail], report, tz))
            report.changed_dates |= result.changed_dates
            db.execute(
                "UPDATE activities SET strava_listed_at = ? WHERE strava_id = ?",
                [listing["pass_id"], row["strava_id"]],
            )


def mark_gone(db: sqlite_utils.Database, strava_id: int, now: datetime) -> set[str]:
    """An activity deleted on Strava. A Strava-only row is marked ``deleted`` and stops
    counting; a row merged with a device file keeps counting (the file still says the run
    happened) but loses its link to Strava. Returns the dirtied local dates."""
    from ..store.activities import mark_dirty

    with write_tx(db):
        found = rows(
            db,
            "SELECT id, local_date, fit_raw IS NOT NULL AS has_fit FROM activities "
            "WHERE strava_id = ?",
            [strava_id],
        )
        if not found:
            return set()
        row = found[0]
        if row["has_fit"]:
            db.execute(
                "UPDATE activities SET strava_id = NULL, strava_raw = NULL, source = 'fit', "
                "strava_listed_at = NULL, updated_at = ? WHERE id = ?",
                [utc_iso(now), row["id"]],
            )
        else:
            db.execute(
                "UPDATE activities SET deleted = 1, updated_at = ? WHERE id = ?",
                [utc_iso(now), row["id"]],
            )
        dates = {row["local_date"]}
        mark_dirty(db, dates)
    log.info("Strava activity %s was deleted on Strava", strava_id)
    return dates


# --- athlete and shoes -------------------------------------------------------------------------


def sync_athlete(
    db: sqlite_utils.Database, client: src.StravaClient, now: datetime, report: StravaReport
) -> dict[str, Any]:
    """Read ``/athlete`` (one read): the athlete's name and shoe list."""
    athlete = client.get_athlete(now)
    with write_tx(db):
        for shoe in athlete.get("shoes") or []:
            if isinstance(shoe, dict) and shoe.get("id"):
                db["gear"].upsert(src.gear_row(shoe, None), pk="id")
                report.gear += 1
        set_state(
            db, K_ATHLETE, json.dumps({"id": athlete.get("id"), "name": athlete_name(athlete)})
        )
        set_state(db, K_ATHLETE_AT, utc_iso(now))
    return athlete


def sync_gear(
    db: sqlite_utils.Database, client: src.StravaClient, now: datetime, report: StravaReport
) -> None:
    """Fetch each shoe never fetched (one read each) and refresh the rest at most monthly.

    Shoes are the gear of runs, walks and hikes and the athlete's shoe list; bikes are skipped.
    """
    sports = ", ".join(f"'{s}'" for s in sorted(src.ON_FOOT_SPORTS))
    stale = utc_iso(now - GEAR_EVERY)
    wanted = rows(
        db,
        f"""
        SELECT DISTINCT a.gear_id AS id FROM activities a LEFT JOIN gear g ON g.id = a.gear_id
        WHERE a.gear_id IS NOT NULL AND a.deleted = 0 AND a.sport IN ({sports})
          AND a.strava_id IS NOT NULL AND g.id IS NULL
        UNION
        SELECT id FROM gear WHERE source = 'strava'
          AND (fetched_at IS NULL OR fetched_at <= ?)
        ORDER BY id
        """,
        [stale],
    )
    for row in wanted:
        data = client.get_gear(now, row["id"])
        with write_tx(db):
            if data is None:  # gone from Strava: remember the look-up, keep what we had
                db["gear"].upsert(
                    {"id": row["id"], "source": "strava", "fetched_at": utc_iso(now)}, pk="id"
                )
            else:
                db["gear"].upsert(src.gear_row(data, utc_iso(now)), pk="id")
        report.gear += 1
