"""The ``alerts`` table: its only writer.

Rule alerts are inserted here (:func:`record_alert`, one per new episode key, with its delivery
class and its ``pushed`` state), notices about
calfsync itself too (:func:`insert_notice`), questions to the runner (:func:`insert_question`),
and the notify outbox sets the ``pushed`` state
through :func:`mark_history`, :func:`refresh_pushed` and :func:`mark_pending`. The ledger the
rules' engine judges against is read from it (:func:`load_ledger`).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from datetime import time as dtime

import sqlite_utils

from ..config import Config
from ..model import parse_utc
from ..rules import Finding
from ..rules.engine import Ledger
from ..rules.history import day_of
from ..rules.registry import delivery as rule_delivery
from ..rules.registry import render

log = logging.getLogger(__name__)

MODES = ("push", "import", "replay", "history")


def load_ledger(db: sqlite_utils.Database) -> Ledger:
    """The ledger of every stored alert (notices included: their keys are taken too)."""
    ledger = Ledger()
    for rule, key, local_date, severity in db.execute(
        "SELECT rule, episode_key, local_date, severity FROM alerts"
    ):
        ledger.record(rule, key, day_of(local_date), severity)
    return ledger


def delivery_of(f: Finding, cfg: Config) -> str:
    """The alert's delivery class: ``now`` (an interrupting push) or ``digest`` (the weekly
    digest), from ``[rules.X] delivery`` over the rule's default for the severity."""
    return rule_delivery(f.rule, f.severity, cfg.rules.get(f.rule, {}).get("delivery"))


def push_state(f: Finding, mode: str, now: datetime, cfg: Config) -> str:
    """The new alert's ``pushed`` state. In push mode, for a run that started within the push
    window before ``now`` and not after it (P1: a report dated within it): 'pending' (queued
    at once) or, for a ``digest`` alert, 'digest' (waiting for the weekly digest). Otherwise
    'imported' for imports and 'history' (never pushed: RULES.md "History never pushes"; a
    ``lowered`` re-judgement neither)."""
    if mode == "import":
        return "imported"
    if mode != "push" or f.lowered:
        return "history"
    window = timedelta(hours=float(cfg.notify.push_window_hours))
    if f.run_start:
        moment = parse_utc(f.run_start)
    else:
        next_day = datetime.fromisoformat(f.local_date).date() + timedelta(days=1)
        moment = datetime.combine(next_day, dtime(0, 0), tzinfo=cfg.timezone)
        now = max(now, moment)  # a report counts until the end of its day
    if not timedelta(0) <= now - moment <= window:
        return "history"
    return "digest" if delivery_of(f, cfg) == "digest" else "pending"


def record_alert(
    db: sqlite_utils.Database, f: Finding, mode: str, now: datetime, cfg: Config
) -> int:
    """Insert the alert of finding ``f`` judged in ``mode`` at ``now``, with its delivery
    class and ``pushed`` state (:func:`push_state`); return its id."""
    return insert_alert(db, f, push_state(f, mode, now, cfg), delivery_of(f, cfg))


def insert_alert(db: sqlite_utils.Database, f: Finding, pushed: str, delivery: str = "now") -> int:
    """Insert one alert (its episode key is new) with its message; return its id."""
    title, body = render(f)
    cursor = db.execute(
        "INSERT INTO alerts (rule, episode_key, local_date, activity_id, severity, title, body, "
        '"values", pushed, delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
            f.rule,
            f.episode_key,
            f.local_date,
            f.activity_id,
            f.severity,
            title,
            body,
            json.dumps(f.values, sort_keys=True),
            pushed,
            delivery,
        ],
    )
    log.info("alert %s %s on %s (%s, %s)", f.rule, f.episode_key, f.local_date, delivery, pushed)
    return int(cursor.lastrowid)


def insert_notice(
    db: sqlite_utils.Database, source: str, episode_key: str, local_date: str, title: str, body: str
) -> int:
    """Insert a notice about calfsync itself (rule ``source``, severity 'warning', pending);
    return its id, or 0 when ``episode_key`` is already taken."""
    cursor = db.execute(
        """INSERT OR IGNORE INTO alerts
           (rule, episode_key, local_date, activity_id, severity, title, body, "values", pushed)
           VALUES (?, ?, ?, NULL, 'warning', ?, ?, '{}', 'pending')""",
        [source, episode_key, local_date, title, body],
    )
    return int(cursor.lastrowid) if cursor.rowcount else 0


def insert_question(
    db: sqlite_utils.Database,
    rule: str,
    episode_key: str,
    local_date: str,
    activity_id: str,
    title: str,
    body: str,
) -> int:
    """Insert a question to the runner about one run (the shoe question: severity 'info', so
    a quiet push; pending); return its id, or 0 when ``episode_key`` is already taken."""
    cursor = db.execute(
        """INSERT OR IGNORE INTO alerts
           (rule, episode_key, local_date, activity_id, severity, title, body, "values", pushed)
           VALUES (?, ?, ?, ?, 'info', ?, ?, '{}', 'pending')""",
        [rule, episode_key, local_date, activity_id, title, body],
    )
    return int(cursor.lastrowid) if cursor.rowcount else 0


def insert_digest(
    db: sqlite_utils.Database,
    rule: str,
    episode_key: str,
    local_date: str,
    title: str,
    body: str,
    values_json: str,
    listed_ids: list[int],
) -> int:
    """Insert the weekly digest (severity 'info', delivery 'now', pending) and move the alerts
    it lists from 'digest' to 'in_digest', in the caller's transaction; return its id, or 0
    (and move nothing) when that week's ``episode_key`` is already taken."""
    cursor = db.execute(
        """INSERT OR IGNORE INTO alerts (rule, episode_key, local_date, activity_id, severity,
           title, body, "values", pushed, delivery)
           VALUES (?, ?, ?, NULL, 'info', ?, ?, ?, 'pending', 'now')""",
        [rule, episode_key, local_date, title, body, values_json],
    )
    if not cursor.rowcount:
        return 0
    digest_id = int(cursor.lastrowid)
    if listed_ids:
        marks = ",".join("?" * len(listed_ids))
        db.execute(
            f"UPDATE alerts SET pushed = 'in_digest' WHERE pushed = 'digest' AND id IN ({marks})",
            listed_ids,
        )
    return digest_id


def mark_history(db: sqlite_utils.Database, alert_id: int) -> None:
    """An alert too old to push: ``pushed`` becomes 'history'."""
    db.execute("UPDATE alerts SET pushed = 'history' WHERE id = ?", [alert_id])


def refresh_pushed(db: sqlite_utils.Database, outbox_ids: list[int]) -> None:
    """Set ``pushed`` of the alerts of these outbox rows: 'sent' once every row of the alert
    is sent, 'dead' once all are final and one is dead; otherwise leave it 'pending'."""
    if not outbox_ids:
        return
    marks = ",".join("?" * len(outbox_ids))
    db.execute(
        f"""UPDATE alerts SET pushed = CASE
                WHEN NOT EXISTS (SELECT 1 FROM notify_outbox o
                                 WHERE o.alert_id = alerts.id AND o.state != 'sent') THEN 'sent'
                WHEN NOT EXISTS (SELECT 1 FROM notify_outbox o WHERE o.alert_id = alerts.id
                                 AND o.state IN ('pending', 'sending')) THEN 'dead'
                ELSE 'pending' END
            WHERE id IN (SELECT alert_id FROM notify_outbox WHERE id IN ({marks}))
              AND pushed NOT IN ('history', 'imported')""",
        outbox_ids,
    )


def mark_pending(db: sqlite_utils.Database, outbox_id: int) -> None:
    """The alert of a dead outbox row put back in the queue is 'pending' again."""
    db.execute(
        """UPDATE alerts SET pushed = 'pending'
           WHERE id = (SELECT alert_id FROM notify_outbox WHERE id = ?)""",
        [outbox_id],
    )
