"""The durable outbox: pushes written with their alerts, claimed, sent, retried, dead-lettered.

Delivery is **at-least-once**:

- :func:`enqueue` writes one ``notify_outbox`` row per (alert, enabled channel) inside the
  caller's transaction, so an alert and its pushes commit together or not at all.
- :func:`deliver_due` claims due rows in a ``BEGIN IMMEDIATE`` transaction (state ``sending``,
  ``claimed_by`` this flusher, a lease in ``claimed_until``). SQLite lets one writer in at a
  time, so two flushers (the daemon and ``calfsync notify flush``) never claim the same row.
  The push is sent outside any transaction, then the rows are marked ``sent`` (never sent
  again), ``pending`` with a back-off (retryable error) or ``dead`` (permanent error).
- A flusher killed after the service accepted a push but before it marked the rows leaves them
  ``sending``; when the lease ends another flusher sends them again. That is the one duplicate
  window; the webhook's ``webhook-id`` (the episode key) lets a receiver drop the repeat.
- A send that got no answer (timeout, reset) may have been stored: the next waits longer, and
  after two the push is a dead letter, not resent (:mod:`.ambiguity`): at most two copies.

Policy (shared/RULES.md) is applied at claim time: quiet hours defer to their end; at most
``[notify] daily_cap`` pushes per local day per channel, bundling what is due under the most
important alert's title; what is over the cap waits for the next local day. ``daily_cap = 0``
turns the cap off: one push per alert. The webhook is never bundled (one request per alert)
nor capped: it feeds machines. The weekly digest (:mod:`calfsync.notify.digest`) is an alert
row like any other, so all of this holds for it too; it is only never bundled with alerts.
What the queue holds and what a delivery did are read by :mod:`calfsync.notify.outbox_report`.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..config import channel_secrets
from ..model import parse_utc, utc_iso
from ..secrets import install_log_redaction, redact, resolve_secret
from ..store import alerts as alert_store
from ..store.db import write_tx
from . import ChannelError, PermanentError, ambiguity, attachments, policy, reclaim, sender_for

# The reads moved to outbox_report; callers keep importing them from the outbox.
from .outbox_report import DeliveryReport as DeliveryReport
from .outbox_report import dead_letters as dead_letters
from .outbox_report import pending_count as pending_count
from .outbox_report import summary as summary

if TYPE_CHECKING:
    import httpx
    import sqlite_utils

    from ..config import Config

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claim older than this is taken as abandoned (killed flusher)
BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0
GIVE_UP_DAYS = 3  # retryable failures this many days old become a dead letter
MAX_BUNDLE = 50
UNBUNDLED_TYPES = frozenset({"webhook"})
DEFAULT_TIMEOUT_S = 10.0
_random = random.Random()


# --------------------------------------------------------------------------- enqueue


def enqueue(db: sqlite_utils.Database, cfg: Config, alert_ids: list[int], now: datetime) -> int:
    """Write outbox rows for the given alerts whose ``pushed`` is ``'pending'``.

    Call it inside the write transaction that inserted the alerts. An alert of a run that
    started more than ``[notify] push_window_hours`` before ``now`` (or, without a run, of an
    older local date) is history: it is marked ``'history'`` and gets no row. Idempotent:
    rows already there are kept. Returns the number of rows written.
    """
    if not alert_ids:
        return 0
    channels = enabled_channels(cfg)
    window = timedelta(hours=float(cfg.notify.push_window_hours))
    oldest_start = utc_iso(now - window)
    oldest_date = policy.local_day(now - window, cfg.timezone)
    written = 0
    with write_tx(db):
        marks = ",".join("?" * len(alert_ids))
        candidates = list(
            db.query(
                f"""SELECT a.id, a.episode_key, a.local_date, act.start_time
                    FROM alerts a LEFT JOIN activities act ON act.id = a.activity_id
                    WHERE a.id IN ({marks}) AND a.pushed = 'pending'""",
                alert_ids,
            )
        )
        for alert in candidates:
            recent = (
                alert["start_time"] >= oldest_start
                if alert["start_time"]
                else alert["local_date"] >= oldest_date
            )
            if not recent:
                alert_store.mark_history(db, alert["id"])
                continue
            for chan in channels:
                cursor = db.execute(
                    """INSERT OR IGNORE INTO notify_outbox
                       (alert_id, channel, channel_type, dedupe_key, state, next_attempt_at,
                        created_at)
                       VALUES (?, ?, ?, ?, 'pending', ?, ?)""",
                    [
                        alert["id"],
                        chan["name"],
                        chan["type"],
                        f"{chan['name']}:{alert['episode_key']}",
                        utc_iso(now),
                        utc_iso(now),
                    ],
                )
                written += cursor.rowcount
    return written


def enabled_channels(cfg: Config) -> list[dict[str, Any]]:
    return [c for c in cfg.channels if c.get("enabled", True)]


def resolve_channel(chan: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
    """A copy of a channel table with its secrets read from the value, ``*_file`` or
    ``$CREDENTIALS_DIRECTORY/<name>_<key>``."""
    out = dict(chan)
    for key in channel_secrets(chan["type"]):
        if isinstance(chan.get(key), dict):  # webhook headers: secret to show, used as given
            continue
        if isinstance(chan.get(key), list):
            for item in chan[key]:
                resolve_secret({key: item}, key)
            continue
        out[key] = resolve_secret(chan, key, owner=chan["name"], env=env)
    return out


# --------------------------------------------------------------------------- deliver


def deliver_due(
    db: sqlite_utils.Database,
    cfg: Config,
    now: datetime,
    *,
    force: bool = False,
    worker: str | None = None,
) -> DeliveryReport:
    """Claim and send every push that is due at ``now``; mark each sent, retrying or dead.

    ``force`` ignores back-off (``notify flush --now``) but not quiet hours or the daily cap.
    Never raises for a failed push: failures are counted and recorded in the rows. Call it
    outside any transaction (after the cycle's ``write_tx`` committed); inside one it raises
    ``RuntimeError``, as it would hold the write lock across network calls.
    """
    if db.conn.in_transaction:
        raise RuntimeError(
            "deliver_due must run outside a transaction: it sends between its own short "
            "transactions (commit the cycle's write_tx first)"
        )
    install_log_redaction()
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    channels = {c["name"]: c for c in enabled_channels(cfg)}
    report = DeliveryReport()
    clients: dict[str, httpx.Client] = {}
    tried: set[int] = set()
    resolved: dict[str, dict[str, Any]] = {}
    report.dead += reclaim.release_abandoned(db, now)  # a killed flusher's claims
    report.dead += reclaim.drop_unpushable(db)
    try:
        while True:
            claim = _claim_next(db, cfg, now, worker, force, channels, tried, report)
            if claim is None:
                break
            chan_name, claimed = claim
            tried.update(r["id"] for r in claimed)
            chan = channels[chan_name]
            try:
                if chan_name not in resolved:
                    resolved[chan_name] = resolve_channel(chan)
                client = clients.get(chan_name) or _client(chan)
                clients[chan_name] = client
                client.timeout = _timeout(chan, claimed)
                message = policy.compose(
                    claimed,
                    chan,
                    dedupe_key=_dedupe_key(chan, claimed),
                    created_at=now,
                    reply_topic=_reply_topic(cfg, chan),
                )
                attachments.dress(db, cfg, chan, claimed, message, now)  # chart, shoe question
                reclaim.note_request(db, claimed, worker, now)  # from here a copy may exist
                provider_id = sender_for(chan["type"])(client, resolved[chan_name], message)
            except ChannelError as exc:
                _mark_failed(db, cfg, claimed, worker, now, exc, report, chan_name)
            except Exception as exc:  # noqa: BLE001 - a bug or config problem: keep the row
                wrapped = PermanentError(f"{chan['type']}: {type(exc).__name__}: {exc}")
                _mark_failed(db, cfg, claimed, worker, now, wrapped, report, chan_name)
            else:
                _mark_sent(db, claimed, worker, now, provider_id, report)
    finally:
        for client in clients.values():
            client.close()
    report.pending = pending_count(db)
    return report


def _timeout(chan: dict[str, Any], claimed: list[dict[str, Any]]) -> httpx.Timeout:
    """The channel's timeout, longer for a push whose last send got no answer."""
    import httpx

    base = float(chan.get("timeout_s") or DEFAULT_TIMEOUT_S)
    return httpx.Timeout(ambiguity.timeout_s(base, claimed))


def _client(chan: dict[str, Any]) -> httpx.Client:
    import httpx  # about 130 ms: loaded only when a push or a reply is due

    return httpx.Client(
        timeout=_timeout(chan, []),
        headers={"User-Agent": f"calfsync/{__version__}"},
        follow_redirects=False,
    )


def _reply_topic(cfg: Config, chan: dict[str, Any]) -> str | None:
    if chan["type"] != "ntfy":
        return None
    return cfg.notify.reply_topic or None


def _dedupe_key(chan: dict[str, Any], claimed: list[dict[str, Any]]) -> str:
    if chan["type"] in UNBUNDLED_TYPES or len(claimed) == 1:
        return claimed[0]["episode_key"]
    return claimed[0]["push_key"]


_DUE = """
    (o.state = 'pending' AND (:force OR o.next_attempt_at <= :now))
    OR (o.state = 'sending' AND o.claimed_until <= :now)
"""


def _claim_next(
    db: sqlite_utils.Database,
    cfg: Config,
    now: datetime,
    worker: str,
    force: bool,
    channels: dict[str, dict[str, Any]],
    tried: set[int],
    report: DeliveryReport,
) -> tuple[str, list[dict[str, Any]]] | None:
    """Claim the next push (one bundle or one unbundled row) atomically, or None."""
    params = {"now": utc_iso(now), "force": 1 if force else 0}
    tz = cfg.timezone
    notify = cfg.notify
    with write_tx(db):
        cursor = db.execute(
            f"""SELECT o.id, o.channel, a.rule FROM notify_outbox o
                JOIN alerts a ON a.id = o.alert_id
                WHERE ({_DUE}) AND a.pushed NOT IN ('history', 'imported')
                ORDER BY o.next_attempt_at, o.id""",
            params,
        )
        due = [{"id": i, "channel": c, "rule": r} for i, c, r in cursor if i not in tried]
        if not due:
            return None
        orphans = [r["id"] for r in due if r["channel"] not in channels]
        if orphans:
            _set_dead(db, orphans, now, "channel no longer configured (or disabled)")
            report.dead += len(orphans)
            alert_store.refresh_pushed(db, orphans)
            due = [r for r in due if r["channel"] in channels]
        quiet_end = policy.quiet_until(now, notify.quiet_hours, tz)
        if quiet_end is not None:
            report.deferred += _defer(db, [r["id"] for r in due], quiet_end)
            return None
        today = policy.local_day(now, tz)
        cap = notify.daily_cap
        for chan_name in dict.fromkeys(r["channel"] for r in due):
            chan_rows = [r for r in due if r["channel"] == chan_name]
            ids = _one_push(chan_rows)
            if channels[chan_name]["type"] in UNBUNDLED_TYPES or cap <= 0:
                ids = ids[:1]
            elif cap > 0 and _pushes_today(db, chan_name, today, now) >= cap:
                waiting = [r["id"] for r in chan_rows]  # the digest too, if due
                report.deferred += _defer(db, waiting, policy.next_local_day(now, tz))
                continue
            ids = ids[:MAX_BUNDLE]
            marks = ",".join("?" * len(ids))
            # A push resent after an ambiguous send keeps its key: the service's dedupe key.
            kept = db.execute(
                f"SELECT push_key FROM notify_outbox WHERE id IN ({marks}) "
                "AND push_key IS NOT NULL ORDER BY id LIMIT 1",
                ids,
            ).fetchone()
            push_key = kept[0] if kept else f"push-{uuid.uuid4().hex}"
            db.execute(
                f"""UPDATE notify_outbox SET state = 'sending', claimed_by = ?, request_at = NULL,
                    claimed_until = ?, push_key = ?, push_day = ?, attempts = attempts + 1
                    WHERE id IN ({marks})""",
                [worker, utc_iso(now + LEASE), push_key, today, *ids],
            )
            claimed = list(
                db.query(
                    f"""SELECT o.id, o.alert_id, o.channel, o.attempts, o.created_at, o.push_key,
                            o.ambiguous,
                            a.rule, a.severity, a.title, a.body, a."values", a.episode_key,
                            a.local_date, a.activity_id, act.strava_id, act.name AS activity_name
                        FROM notify_outbox o JOIN alerts a ON a.id = o.alert_id
                        LEFT JOIN activities act ON act.id = a.activity_id
                        WHERE o.id IN ({marks}) ORDER BY o.id""",
                    ids,
                )
            )
            return chan_name, claimed
    return None


def _one_push(rows: list[dict[str, Any]]) -> list[int]:
    """The due rows of one channel that may share a push: the alerts, else one digest. A
    weekly digest is a push of its own (its body is the message; bundled, it would shrink to
    a line), sent after the day's alerts, so under the daily cap an alert never waits for it."""
    alerts = [r["id"] for r in rows if r["rule"] != policy.DIGEST_RULE]
    return alerts or [rows[0]["id"]]


def _pushes_today(db: sqlite_utils.Database, channel: str, day: str, now: datetime) -> int:
    """Pushes sent (or being sent under a live claim) on ``channel`` for local ``day``; a
    quiet shoe question alone does not count, so it never holds back a warning."""
    row = db.execute(
        """SELECT COUNT(DISTINCT o.push_key) FROM notify_outbox o JOIN alerts a ON a.id = o.alert_id
           WHERE o.channel = ? AND o.push_day = ? AND a.rule != 'SHOE'
             AND (o.state = 'sent' OR (o.state = 'sending' AND o.claimed_until > ?))""",
        [channel, day, utc_iso(now)],
    ).fetchone()
    return int(row[0])


def _defer(db: sqlite_utils.Database, ids: list[int], until: datetime) -> int:
    """Move due rows to ``until`` without counting an attempt (quiet hours, daily cap)."""
    if not ids:
        return 0
    marks = ",".join("?" * len(ids))
    cursor = db.execute(
        f"""UPDATE notify_outbox SET state = 'pending', claimed_by = NULL, claimed_until = NULL,
            push_key = NULL, push_day = NULL, next_attempt_at = ?
            WHERE id IN ({marks}) AND state IN ('pending', 'sending')""",
        [utc_iso(until), *ids],
    )
    return cursor.rowcount


def _mark_sent(
    db: sqlite_utils.Database,
    claimed: list[dict[str, Any]],
    worker: str,
    now: datetime,
    provider_id: str | None,
    report: DeliveryReport,
) -> None:
    ids = [r["id"] for r in claimed]
    marks = ",".join("?" * len(ids))
    with write_tx(db):
        cursor = db.execute(
            f"""UPDATE notify_outbox SET state = 'sent', sent_at = ?, claimed_by = NULL,
                claimed_until = NULL, last_error = NULL, last_status = NULL, provider_id = ?
                WHERE id IN ({marks}) AND state = 'sending' AND claimed_by = ?""",
            [utc_iso(now), provider_id, *ids, worker],
        )
        if cursor.rowcount != len(ids):
            log.warning(
                "push on %s was sent but %d of its rows had been reclaimed after the lease "
                "ended; they may be sent again (at-least-once)",
                claimed[0]["channel"],
                len(ids) - cursor.rowcount,
            )
        alert_store.refresh_pushed(db, ids)
    report.sent += 1
    report.rows_sent += cursor.rowcount
    log.info("push sent on %s (%d alert(s))", claimed[0]["channel"], len(ids))


def _mark_failed(
    db: sqlite_utils.Database,
    cfg: Config,
    claimed: list[dict[str, Any]],
    worker: str,
    now: datetime,
    exc: ChannelError,
    report: DeliveryReport,
    chan_name: str,
) -> None:
    reason = redact(str(exc))
    report.errors.append(f"{chan_name}: {reason}")
    # One delay for the whole bundle, so its rows stay together for the next try.
    delay = backoff_s(max(r["attempts"] for r in claimed), exc.retry_after_s)
    ambiguous = bool(getattr(exc, "ambiguous", False))
    count = ambiguity.count_after(claimed) if ambiguous else None
    stop = count is not None and count >= ambiguity.MAX_AMBIGUOUS
    due_at = utc_iso(now + timedelta(seconds=delay))
    with write_tx(db):
        for row in claimed:
            expired = now - parse_utc(row["created_at"]) >= timedelta(days=GIVE_UP_DAYS)
            if exc.retryable and not expired and not stop:
                db.execute(
                    """UPDATE notify_outbox SET state = 'pending', claimed_by = NULL,
                       claimed_until = NULL, push_key = CASE WHEN ? THEN push_key END,
                       push_day = NULL, next_attempt_at = ?, last_error = ?, last_status = ?,
                       ambiguous = COALESCE(?, ambiguous)
                       WHERE id = ? AND claimed_by = ? AND state = 'sending'""",
                    [ambiguous, due_at, reason, exc.status, count, row["id"], worker],
                )
            else:
                why = f"gave up after {GIVE_UP_DAYS} days: {reason}" if exc.retryable else reason
                if stop:
                    chan = next((c for c in cfg.channels if c["name"] == chan_name), {})
                    waited = float(_timeout(chan, claimed).read or 0)
                    why = ambiguity.dead_reason(chan_name, reason, waited)
                db.execute(
                    """UPDATE notify_outbox SET state = 'dead', claimed_by = NULL,
                       claimed_until = NULL, last_error = ?, last_status = ?,
                       ambiguous = COALESCE(?, ambiguous)
                       WHERE id = ? AND claimed_by = ? AND state = 'sending'""",
                    [why, exc.status, count, row["id"], worker],
                )
        alert_store.refresh_pushed(db, [r["id"] for r in claimed])
    permanent = (
        stop
        or not exc.retryable
        or any(now - parse_utc(r["created_at"]) >= timedelta(days=GIVE_UP_DAYS) for r in claimed)
    )
    if permanent:
        report.dead += 1
        log.warning("push on %s failed permanently: %s", chan_name, reason)
    else:
        report.retrying += 1
        log.info("push on %s failed, will retry: %s", chan_name, reason)


def backoff_s(attempts: int, retry_after_s: float | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed try: exponential from
    :data:`BACKOFF_BASE_S`, capped at :data:`BACKOFF_CAP_S`, with jitter (50–100 %), and never
    less than the service's ``Retry-After``."""
    exponential = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    delay = exponential * (0.5 + 0.5 * _random.random())
    if retry_after_s:
        delay = max(delay, min(retry_after_s, 24 * 3600.0))
    return delay


def _set_dead(db: sqlite_utils.Database, ids: list[int], now: datetime, reason: str) -> None:
    marks = ",".join("?" * len(ids))
    db.execute(
        f"""UPDATE notify_outbox SET state = 'dead', claimed_by = NULL, claimed_until = NULL,
            last_error = ? WHERE id IN ({marks})""",
        [reason, *ids],
    )


# --------------------------------------------------------------------------- dead letters


def retry(db: sqlite_utils.Database, outbox_id: int, now: datetime) -> bool:
    """Put a dead row back in the queue, due at once, with a fresh retry budget (its push key,
    the service's dedupe key, is kept).

    Returns False when no dead row has that id.
    """
    with write_tx(db):
        cursor = db.execute(
            """UPDATE notify_outbox SET state = 'pending', attempts = 0, ambiguous = 0,
               next_attempt_at = ?, created_at = ?, push_day = NULL
               WHERE id = ? AND state = 'dead'""",
            [utc_iso(now), utc_iso(now), outbox_id],
        )
        if cursor.rowcount:
            alert_store.mark_pending(db, outbox_id)
    return bool(cursor.rowcount)


def utcnow() -> datetime:
    """The current time, for the CLI (library functions take ``now``)."""
    return datetime.now(UTC)
