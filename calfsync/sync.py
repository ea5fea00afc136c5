"""One sync cycle: the only place that strings the stages together.

sources -> store -> evaluate rules -> enqueue pushes (same transaction as the alerts) -> deliver.
Every step is idempotent and records its outcome in the ``state`` table
(``cycle.<step>.last_run`` / ``last_ok`` / ``last_error``), which ``status`` reads. A cycle killed
at any instant and run again loses and duplicates nothing: activities and the dates they dirty
are written in one transaction, and alerts and their pushes in another.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from .config import Config
from .model import utc_iso
from .notify import outbox
from .rules import engine
from .rules.history import day_of
from .store import alerts as alert_store
from .store.activities import take_dirty
from .store.db import (
    database_error,
    database_path,
    is_busy,
    is_database_problem,
    set_state,
    write_tx,
)
from .store.gear import assign_gear_by_date
from .store.history import load_history

log = logging.getLogger(__name__)

STEPS = ("fit", "strava", "evaluate", "deliver", "nightly")


@dataclass
class CycleReport:
    """What one cycle did; ``errors`` maps a step to the message a person reads."""

    fit: Any = None
    strava: Any = None
    alert_ids: list[int] = field(default_factory=list)
    delivery: Any = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        parts = []
        if self.fit is not None:
            parts.append(f"fit: {self.fit.line()}")
        if self.strava is not None:
            parts.append(f"strava: {getattr(self.strava, 'message', '') or self.strava.state}")
        parts.append(f"new alerts: {len(self.alert_ids)}")
        if self.delivery is not None:
            d = self.delivery
            parts.append(
                f"pushes: {d.sent} sent, {d.retrying} retrying, {d.deferred} deferred, "
                f"{d.dead} dead"
            )
        parts.extend(f"{step} failed: {msg}" for step, msg in self.errors.items())
        return "; ".join(parts)


def _step(db: sqlite_utils.Database, name: str, now: datetime, fn: Callable[[], Any]) -> Any:
    """Run one step, recording when it ran and whether it succeeded."""
    set_state(db, f"cycle.{name}.last_run", utc_iso(now))
    result = fn()
    set_state(db, f"cycle.{name}.last_ok", utc_iso(now))
    set_state(db, f"cycle.{name}.last_error", None)
    return result


def _record_failure(db: sqlite_utils.Database, name: str, exc: BaseException) -> str:
    message = failure_message(db, exc)
    log.error("%s step failed: %s", name, message)
    if not is_busy(exc):  # with the lock held by another writer, recording would wait again
        _try_set_state(db, f"cycle.{name}.last_error", message)
    return message


def failure_message(db: sqlite_utils.Database, exc: BaseException) -> str:
    """The message a person reads for a failed step: SQLite errors name their fix."""
    if isinstance(exc, sqlite3.Error):
        return str(database_error(exc, database_path(db)))
    return str(exc) or exc.__class__.__name__


def _try_set_state(db: sqlite_utils.Database, key: str, value: str | None) -> None:
    """Record state when the database lets us; a full disk or a lock must not hide the error
    that caused it."""
    try:
        set_state(db, key, value)
    except sqlite3.Error as exc:
        log.warning("cannot record %s in the database: %s", key, exc)


def scan_fit(db: sqlite_utils.Database, cfg: Config, now: datetime) -> Any:
    """Import new or changed files from the ``[fit] inbox`` folders."""
    from .ingest.fit import scan_inboxes

    return _step(db, "fit", now, lambda: scan_inboxes(db, cfg, now=now))


def poll_strava(db: sqlite_utils.Database, cfg: Config, now: datetime) -> Any:
    """Pull new activities from Strava when it is configured; None otherwise."""
    from .ingest import strava as strava_sync

    if not strava_sync.configured(cfg):
        return None
    report = _step(db, "strava", now, lambda: strava_sync.run(db, cfg, now))
    with write_tx(db):
        notice = strava_sync.take_notice(db)
        if notice:
            queue_notice(db, cfg, now, "STRAVA", "Strava needs you", notice)
    return report


def queue_notice(
    db: sqlite_utils.Database, cfg: Config, now: datetime, source: str, title: str, body: str
) -> int:
    """Record a notice about calfsync itself (not a training rule) as an alert and queue its
    push in the same transaction. One per source, text and local day."""
    today = now.astimezone(cfg.timezone).date().isoformat()
    with write_tx(db):
        key = f"{source}:{today}:{hash_text(body)}"
        alert_id = alert_store.insert_notice(db, source, key, today, title, body)
        if alert_id:
            outbox.enqueue(db, cfg, [alert_id], now)
        return alert_id


def hash_text(text: str) -> str:
    """A short stable digest of ``text`` (12 hex digits), for episode keys."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def evaluate_dates(
    db: sqlite_utils.Database, cfg: Config, dates: set[str], now: datetime, mode: str = "push"
) -> list[int]:
    """Re-judge every day that data changed on ``dates`` can affect; store the new alerts.

    Rules look back only, so the affected days are the earliest changed date and every later
    day with a run or a soreness report. Shoes from ``shoes add --from`` are first given to the
    changed dates' runs. ``mode`` sets the new alerts' ``pushed`` state (see
    :func:`calfsync.store.alerts.push_state`); nothing is queued here. Returns the ids of the
    new alerts, in order.
    """
    if mode not in alert_store.MODES:
        raise ValueError(f"unknown evaluation mode {mode!r}")
    if not dates:
        return []
    with write_tx(db):
        dates = set(dates) | assign_gear_by_date(db, dates)
        history = load_history(db, cfg)
        start = min(day_of(d) for d in dates)
        findings = engine.judge(
            history,
            engine.rule_params(cfg),
            engine.days_from(history, start),
            alert_store.load_ledger(db),
        )
        return [
            alert_store.insert_alert(db, f, alert_store.push_state(f, mode, now, cfg))
            for f in findings
        ]


def evaluate_pending(
    db: sqlite_utils.Database,
    cfg: Config,
    now: datetime,
    *,
    mode: str = "push",
    extra_dates: set[str] | None = None,
) -> list[int]:
    """Evaluate the rules for every dirty date; alerts and their pushes in one transaction.

    ``mode`` "push" queues pushes for fresh runs; "import" records alerts without pushing.
    """

    def work() -> list[int]:
        with write_tx(db):
            dates = take_dirty(db) | (extra_dates or set())
            if not dates:
                return []
            alert_ids = evaluate_dates(db, cfg, dates, now, mode=mode)
            if mode == "push" and alert_ids:
                outbox.enqueue(db, cfg, alert_ids, now)
            return alert_ids

    return _step(db, "evaluate", now, work)


def deliver(db: sqlite_utils.Database, cfg: Config, now: datetime, *, force: bool = False) -> Any:
    """Deliver due pushes from the outbox (and read phone replies when configured)."""
    from .notify import outbox

    def work() -> Any:
        if cfg.notify.reply_topic:
            from .notify import replies

            if replies.poll(db, cfg, now):  # soreness answers can start or end a P1 episode
                today = now.astimezone(cfg.timezone).date().isoformat()
                evaluate_pending(db, cfg, now, extra_dates={today})
        return outbox.deliver_due(db, cfg, now, force=force)

    return _step(db, "deliver", now, work)


def nightly(db: sqlite_utils.Database, cfg: Config, now: datetime) -> list[int]:
    """Re-evaluate today's window rules (a week's rise can cross a threshold with no new run)."""
    today = now.astimezone(cfg.timezone).date().isoformat()
    result = evaluate_pending(db, cfg, now, extra_dates={today})
    set_state(db, "cycle.nightly.last_ok", utc_iso(now))
    return result


def run_cycle(
    db: sqlite_utils.Database,
    cfg: Config,
    now: datetime,
    *,
    sources: tuple[str, ...] = ("fit", "strava"),
    deliver_pushes: bool = True,
) -> CycleReport:
    """Pull every source, store, evaluate, enqueue and deliver. One failing source never stops
    the others; its error is recorded for ``status`` and returned in the report."""
    report = CycleReport()
    steps: list[tuple[str, Callable[[], Any], str]] = []
    if "fit" in sources:
        steps.append(("fit", lambda: scan_fit(db, cfg, now), "fit"))
    if "strava" in sources:
        steps.append(("strava", lambda: poll_strava(db, cfg, now), "strava"))
    steps.append(("evaluate", lambda: evaluate_pending(db, cfg, now), "alert_ids"))
    if deliver_pushes:
        steps.append(("deliver", lambda: deliver(db, cfg, now), "delivery"))
    for name, fn, attr in steps:
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 - one stage's failure must not stop the rest
            report.errors[name] = _record_failure(db, name, exc)
            if is_database_problem(exc):
                # A full disk, a held lock or a read-only file stops every later step too;
                # each step committed what it finished, so the next run carries on.
                if is_busy(exc):
                    return report
                break
            continue
        if value is not None:
            setattr(report, attr, value)
    _try_set_state(db, "cycle.last_run", utc_iso(now))
    if report.ok:
        _try_set_state(db, "cycle.last_ok", utc_iso(now))
    return report
