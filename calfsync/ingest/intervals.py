"""The intervals.icu step of a sync cycle: list and download through
:mod:`calfsync.sources.intervals`, import each original file through the FIT path, save here.

:func:`run` is what ``sync.py`` calls. A poll:

1. sends nothing before a recorded ``intervals.next_try`` (a 429 asked to wait);
2. lists the activities started since the newest start seen less 7 days (edits, late uploads;
   the whole history, newest first, on the first poll): one request when nothing is new;
3. downloads each activity not handled before, once (``/activity/{id}/file``): its bytes go
   through the same content check and FIT reader as an inbox file (gunzip, zip, CRC, salvage)
   and are stored in ``fit_files`` under the label ``intervals.icu <id>``; a content already
   imported (the same file in the inbox) is one row. The listing's name and shoe are set on the
   run; the shoe is matched by id or name to a stored one, or added;
4. an activity whose listing changed (renamed, another shoe) gets its name and shoe again, with
   no download; one refused or unreadable before is downloaded again;
5. goes on with an unfinished first listing, a page of :data:`PAGE` at a time, at most
   :data:`MAX_DOWNLOADS` downloads and :data:`MAX_POLL_S` seconds a poll (a longer backfill
   continues next poll).

Strava-sourced activities are listed as stubs the API will not serve: they are counted, never
downloaded. Each activity is written in its own transaction with its ``intervals.seen.<id>``
key, and the listing cursors move only once their page is handled, so a poll stopped anywhere
loses and duplicates nothing. A wrong key raises (the step fails with the fix) and leaves one
notice for the runner; a 429 ends the step quietly and the next poll continues.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from ..config import Config
from ..errors import ConfigError
from ..model import parse_utc, utc_iso
from ..secrets import resolve_secret
from ..sources.fit.inputs import items_from_bytes
from ..sources.fit.parse import FitResult, parse_job
from ..sources.intervals.client import IntervalsClient
from ..sources.intervals.errors import (
    KEY_FIX,
    IntervalsAuthError,
    IntervalsError,
    IntervalsRateLimited,
    IntervalsRefused,
)
from ..sources.intervals.listing import Entry, entries, local_start
from ..sources.intervals.state import Key, Status, parse_seen, seen_key
from ..store.activities import set_details
from ..store.db import write_tx
from ..store.fit_files import FitFile, save_fit_file
from ..store.gear import save_gear
from ..store.state import get_state, set_state

log = logging.getLogger(__name__)

# sync.queue_notice(db, cfg, now, source, title, body) -> alert id
Notify = Callable[[sqlite_utils.Database, Config, datetime, str, str, str], int]

RELIST = timedelta(days=7)
EPOCH = "1970-01-01"
PAGE = 200  # activities a listing request asks for
MAX_DOWNLOADS = 250  # files a poll downloads at most (25 s of requests at 10 a second) ...
MAX_POLL_S = 120.0  # ... and none once a poll has run this long: reading an hour's FIT file
# takes about half a second of CPU (bench/intervals.py), and the daemon's other jobs wait


@dataclass
class IntervalsReport:
    """What one intervals.icu step did."""

    state: str = Status.OK
    message: str = ""
    requests: int = 0
    imported: int = 0  # activities whose file was read and stored
    updated: int = 0  # activities renamed or given another shoe on intervals.icu
    strava_skipped: int = 0  # Strava-sourced stubs newly seen
    refused: int = 0
    failed: int = 0
    changed_dates: set[str] = field(default_factory=set)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (activity id, reason)

    def line(self) -> str:
        return self.message or self.state

    def ok_message(self, more: bool) -> str:
        parts = [f"{self.imported} imported"]
        if self.updated:
            parts.append(f"{self.updated} updated")
        if self.strava_skipped:
            parts.append(
                f"{self.strava_skipped} Strava-sourced skipped (the API does not serve them)"
            )
        if self.refused or self.failed:
            reasons = "; ".join(f"{i}: {r}" for i, r in self.problems[:3])
            parts.append(f"{self.refused} refused, {self.failed} unreadable ({reasons})")
        if more:
            parts.append("the first listing goes on next poll")
        parts.append(f"{self.requests} request(s)")
        return ", ".join(parts)


class _Budget(Exception):
    """This poll's downloads are spent: the page in hand is finished next poll."""


@dataclass
class _Allowance:
    """What a poll may still do: downloads, and time (a monotonic deadline)."""

    downloads: int
    until: float

    def left(self) -> bool:
        return self.downloads > 0 and time.monotonic() < self.until


# --- configuration -----------------------------------------------------------------------------


def api_key(cfg: Config) -> str | None:
    """The key from ``[intervals] api_key``, ``api_key_file`` or the systemd credential
    ``intervals_api_key``; None when none is set."""
    return resolve_secret(cfg.intervals.as_dict(), "api_key", owner="intervals")


def configured(cfg: Config) -> bool:
    """Whether the step should run: enabled, an athlete id and a key (a key file that cannot be
    read still counts: the step then says so)."""
    section = cfg.intervals
    if not section.enabled or not section.athlete_id:
        return False
    try:
        return api_key(cfg) is not None
    except ConfigError:
        return True


def make_client(cfg: Config) -> IntervalsClient:
    key = api_key(cfg)
    if not key or not cfg.intervals.athlete_id:
        raise ConfigError(f"intervals.icu is not configured: {KEY_FIX}")
    return IntervalsClient(
        cfg.intervals.api_url,
        str(cfg.intervals.athlete_id),
        key,
        timeout_s=float(cfg.intervals.timeout_s or 30),
    )


# --- the step ----------------------------------------------------------------------------------


def run(db: sqlite_utils.Database, cfg: Config, now: datetime) -> IntervalsReport:
    """One poll. Raises for a wrong key (after leaving a notice), the service down and a
    malformed reply; a 429 ends the poll with its wait recorded."""
    report = IntervalsReport()
    next_try = get_state(db, Key.NEXT_TRY)
    if next_try and parse_utc(next_try) > now:
        report.state = Status.RATE_LIMITED
        report.message = f"waiting until {next_try}: intervals.icu asked to slow down"
        return report
    client = make_client(cfg)
    try:
        more = _poll(db, cfg, client, now, report)
    except IntervalsRateLimited as exc:
        until = utc_iso(now + timedelta(seconds=exc.retry_after_s))
        report.state, report.message = Status.RATE_LIMITED, f"{exc} (until {until})"
        _save_outcome(db, report, next_try=until)
        return report
    except IntervalsError as exc:
        report.state = Status.AUTH if isinstance(exc, IntervalsAuthError) else Status.ERROR
        report.message = str(exc)
        _save_outcome(db, report)
        raise
    finally:
        report.requests = client.requests
        client.close()
        set_state(db, Key.REQUESTS, str(report.requests))
    report.message = report.ok_message(more)
    _save_outcome(db, report, last_ok=now)
    return report


def _save_outcome(
    db: sqlite_utils.Database,
    report: IntervalsReport,
    *,
    next_try: str | None = None,
    last_ok: datetime | None = None,
) -> None:
    """Record the poll's status for ``status``; a key newly found wrong owes the runner a push."""
    with write_tx(db):
        if report.state == Status.AUTH and get_state(db, Key.STATUS) != Status.AUTH:
            set_state(db, Key.NOTICE, f"intervals.icu: {report.message}")
        set_state(db, Key.STATUS, report.state)
        set_state(db, Key.MESSAGE, report.message)
        set_state(db, Key.NEXT_TRY, next_try)
        if last_ok is not None:
            set_state(db, Key.LAST_OK, utc_iso(last_ok))


def step(notify: Notify) -> Callable[[sqlite_utils.Database, Config, datetime], IntervalsReport]:
    """The sync step: :func:`run`, then the push a wrong key owes the runner, queued (as an
    alert, in one transaction) through ``notify`` (``sync.queue_notice``)."""

    def poll(db: sqlite_utils.Database, cfg: Config, now: datetime) -> IntervalsReport:
        try:
            return run(db, cfg, now)
        finally:
            with write_tx(db):
                notice = take_notice(db)
                if notice:
                    notify(db, cfg, now, "INTERVALS", "intervals.icu needs you", notice)

    return poll


def take_notice(db: sqlite_utils.Database) -> str | None:
    """The one push a wrong key owes the runner, removed. Call it inside the transaction that
    enqueues the push."""
    text = get_state(db, Key.NOTICE)
    if text:
        set_state(db, Key.NOTICE, None)
    return text or None


def _poll(
    db: sqlite_utils.Database,
    cfg: Config,
    client: IntervalsClient,
    now: datetime,
    report: IntervalsReport,
) -> bool:
    """The listings of one poll; True when the first listing is not finished."""
    budget = _Allowance(MAX_DOWNLOADS, time.monotonic() + MAX_POLL_S)
    newest = get_state(db, Key.NEWEST)
    oldest = (_sortable(newest) - RELIST).date().isoformat() if newest else EPOCH
    try:
        starts = [newest] if newest else []
        page = _page(client, report, oldest, None)
        while True:  # the recent window, down to `oldest` (one page but after a long break)
            _handle(db, cfg, client, page, now, report, budget)
            starts += [e.start_local for e in page]
            if len(page) < PAGE or newest is None:
                break
            page = _page(client, report, oldest, _just_before(min(e.start_local for e in page)))
        with write_tx(db):
            if newest is None and len(page) >= PAGE:  # the first listing: older pages follow
                set_state(db, Key.BACKFILL, min(e.start_local for e in page))
            if starts:
                set_state(db, Key.NEWEST, max(starts, key=_sortable))
        while (before := get_state(db, Key.BACKFILL)) and budget.left():
            page = _page(client, report, EPOCH, _just_before(before))
            _handle(db, cfg, client, page, now, report, budget)
            more = len(page) >= PAGE
            set_state(db, Key.BACKFILL, min(e.start_local for e in page) if more else None)
    except _Budget:
        pass
    return bool(get_state(db, Key.BACKFILL)) or not budget.left()


def _sortable(start_local: str) -> datetime:
    return datetime.fromisoformat(start_local.rstrip("Z")).replace(tzinfo=None)


def _just_before(start_local: str) -> str:
    """The ``newest`` bound (inclusive) that lists what started before ``start_local``."""
    return (_sortable(start_local) - timedelta(seconds=1)).isoformat()


def _page(
    client: IntervalsClient, report: IntervalsReport, oldest: str, newest: str | None
) -> list[Entry]:
    page, unreadable = entries(client.activities(oldest, newest, PAGE))
    if unreadable:
        log.warning("intervals.icu: %d listed activities had no id or start; skipped", unreadable)
    return sorted(page, key=local_start)  # oldest first: a stopped poll leaves the newest


def _handle(
    db: sqlite_utils.Database,
    cfg: Config,
    client: IntervalsClient,
    page: list[Entry],
    now: datetime,
    report: IntervalsReport,
    budget: _Allowance,
) -> None:
    """Handle a page's activities, each in its own transaction."""
    for entry in page:
        seen = parse_seen(get_state(db, seen_key(entry.id)))
        if seen is not None and seen.get("fp") == entry.fingerprint:
            continue
        if entry.strava_stub:
            with write_tx(db):
                _remember(db, entry, "strava", [], "Strava-sourced: the API does not serve it")
            report.strava_skipped += int(seen is None)
            continue
        if seen is not None and seen.get("status") == "imported":
            with write_tx(db):
                report.changed_dates |= _apply_listing(db, entry, seen.get("ids") or [])
                _remember(db, entry, "imported", seen.get("ids") or [], None)
            report.updated += 1
            continue
        if not budget.left():
            raise _Budget
        budget.downloads -= 1
        _download(db, cfg, client, entry, now, report)


def _download(
    db: sqlite_utils.Database,
    cfg: Config,
    client: IntervalsClient,
    entry: Entry,
    now: datetime,
    report: IntervalsReport,
) -> None:
    """Download one activity's original file and import it through the FIT reader."""
    try:
        data = client.original_file(entry.id)
    except IntervalsRefused as exc:
        with write_tx(db):
            _remember(db, entry, "refused", [], str(exc))
        report.refused += 1
        report.problems.append((entry.id, str(exc)))
        log.warning("intervals.icu activity %s skipped: %s", entry.id, exc)
        return
    label = f"intervals.icu {entry.id}"
    parsed = []
    for item in items_from_bytes(data, label):
        if item.data is None:
            result = FitResult(item.status or "failed", item.reason)
        else:
            result = parse_job(item.data, item.label, cfg.athlete.timezone or "UTC")
        item.data = None
        parsed.append((item, result))
    ids: list[str] = []
    reasons: list[str] = []
    with write_tx(db):
        for item, result in parsed:
            file = FitFile.of(item.sha256, item.label, item.size_bytes, result)
            saved = save_fit_file(db, file, now)
            if saved is None:  # the same content came before (the inbox, another activity)
                known_ids, known_reason = _recorded(db, item.sha256)
                ids += known_ids
                reasons += [known_reason] if known_reason and not known_ids else []
                continue
            ids += saved.activity_ids
            report.changed_dates |= saved.changed_dates
            if saved.status == "failed":
                reasons.append(saved.reason or "failed")
        if ids:
            report.changed_dates |= _apply_listing(db, entry, ids)
            _remember(db, entry, "imported", ids, None)
            report.imported += 1
        else:
            reason = "; ".join(reasons) or "the file holds no activity"
            _remember(db, entry, "failed", [], reason)
            report.failed += 1
            report.problems.append((entry.id, reason))
            log.warning("intervals.icu activity %s: %s", entry.id, reason)


def _recorded(db: sqlite_utils.Database, sha256: str) -> tuple[list[str], str | None]:
    """The stored activity ids and the reason of a content already in ``fit_files``."""
    row = db.execute(
        "SELECT activity_ids, reason FROM fit_files WHERE sha256 = ?", [sha256]
    ).fetchone()
    if row is None:
        return [], None
    try:
        ids = json.loads(row[0]) if row[0] else []
    except ValueError:
        ids = []
    return [str(i) for i in ids], row[1]


def _remember(
    db: sqlite_utils.Database, entry: Entry, status: str, ids: list[str], reason: str | None
) -> None:
    value = {"fp": entry.fingerprint, "status": status, "ids": ids, "start": entry.start_local}
    if reason:
        value["reason"] = reason
    set_state(db, seen_key(entry.id), json.dumps(value, sort_keys=True))


def _apply_listing(db: sqlite_utils.Database, entry: Entry, ids: list[str]) -> set[str]:
    """Give the stored activities the listing's name, and its shoe when it is a run."""
    gear_id = _shoe(db, entry) if entry.is_run else None
    changed: set[str] = set()
    for activity_id in ids:
        changed |= set_details(db, activity_id, name=entry.name, gear_id=gear_id)
    return changed


def _shoe(db: sqlite_utils.Database, entry: Entry) -> str | None:
    """The stored shoe the listing names: the same id, else the same name (not case-sensitive),
    else a new shoe (source ``intervals``)."""
    if not entry.gear_id and not entry.gear_name:
        return None
    if entry.gear_id:
        for candidate in (entry.gear_id, f"icu-{entry.gear_id}"):
            if db.execute("SELECT 1 FROM gear WHERE id = ?", [candidate]).fetchone():
                return candidate
    if entry.gear_name:
        row = db.execute(
            "SELECT id FROM gear WHERE lower(name) = lower(?) ORDER BY retired, rowid LIMIT 1",
            [entry.gear_name],
        ).fetchone()
        if row:
            return str(row[0])
    new_id = f"icu-{entry.gear_id or entry.gear_name}"
    row: dict[str, Any] = {"id": new_id, "name": entry.gear_name or entry.gear_id}
    save_gear(db, {**row, "source": "intervals"})
    return new_id
