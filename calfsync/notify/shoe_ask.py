"""The ``ask_shoe`` sync step: one quiet push asking which shoes a fresh run was in, when the
run has no alert push of its own to carry the question (:mod:`.shoe_question` says when and
what is asked; this module records and enqueues it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..store import alerts as alert_store
from ..store.db import write_tx
from . import outbox, policy
from .shoe_question import SHOE_RULE, TITLE, pending, question_text

if TYPE_CHECKING:
    import sqlite_utils

    from ..config import Config


@dataclass
class QuestionReport:
    """What one run of the ``ask_shoe`` step did: ``asked`` 1 when it queued a quiet question."""

    asked: int = 0

    def line(self) -> str:
        return f"{self.asked} shoe question(s) queued"


def run(db: sqlite_utils.Database, cfg: Config, now: datetime) -> QuestionReport:
    """The ``ask_shoe`` step: queue one quiet question for a fresh run without a shoe, unless
    the run's own alert push carries the question, this run was asked already, or a question
    went out today. Idempotent; the checks are repeated under the write lock."""
    question = pending(db, cfg, now)
    if question is None or _rides_on_alert(db, question.activity_id):
        return QuestionReport()
    today = policy.local_day(now, cfg.timezone)
    key = f"{SHOE_RULE}:{today}"
    with write_tx(db):
        asked = db.execute(
            "SELECT 1 FROM alerts WHERE rule = ? AND (episode_key = ? OR activity_id = ?)",
            [SHOE_RULE, key, question.activity_id],
        ).fetchone()
        if asked or _rides_on_alert(db, question.activity_id):
            return QuestionReport()
        body = question_text(question, buttons=False)
        alert_id = alert_store.insert_question(
            db, SHOE_RULE, key, today, question.activity_id, TITLE, body
        )
        if not alert_id:
            return QuestionReport()
        outbox.enqueue(db, cfg, [alert_id], now)
    return QuestionReport(asked=1)


def _rides_on_alert(db: sqlite_utils.Database, activity_id: str) -> bool:
    """True when an alert of the run has a push queued or sent: that push asks."""
    row = db.execute(
        """SELECT 1 FROM notify_outbox o JOIN alerts a ON a.id = o.alert_id
           WHERE a.activity_id = ? AND a.rule != ? LIMIT 1""",
        [activity_id, SHOE_RULE],
    ).fetchone()
    return row is not None


def wanted(cfg: Config) -> bool:
    """The step runs only with ``[notify] ask_shoe`` on (the default)."""
    return bool(cfg.notify.ask_shoe)
