"""Soreness check-in from the phone, through ntfy, with no inbound port.

With ``[notify] reply_topic`` set, each ntfy push carries two buttons, "Calf sore" and
"Calf fine", that publish ``sore`` / ``fine`` to that topic on the same ntfy server
(:mod:`calfsync.notify.ntfy`). :func:`poll` reads the topic with ntfy's polling API
(``GET /<topic>/json?poll=1&since=<cursor>``), records each answer in the ``soreness`` table
(``source = 'ntfy'``, dated the local day it was sent, which is marked for re-evaluation) and
keeps the id of the last message read in the ``state`` table, in the same transaction, so no
answer is recorded twice or lost.

Someone may also type an answer in the ntfy app: ``sore``, ``fine``, ``sore 6``, or a bare
level ``0``–``10``. Anything else on the topic is skipped.

The shoe question's buttons (:mod:`calfsync.notify.shoe_question`) publish
``shoe <activity id> <shoe id>`` to the same topic: the run is put in that shoe (as ``shoes
assign`` does) and its date marked for evaluation, so the evaluate step after this one judges
G1, G2 and SW1 again with it. An answer that no longer fits (an unknown run or shoe, a retired
shoe, a run that has its shoe already, say from a second tap) is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..secrets import redact
from ..store.activities import mark_dirty
from ..store.db import write_tx
from ..store.gear import assign_run
from ..store.soreness import add_report, has_note
from ..store.state import get_state, set_state
from . import ChannelError, request
from .ntfy import REPLY_FINE, REPLY_SHOE, REPLY_SORE, auth_headers, base_url
from .outbox import resolve_channel

if TYPE_CHECKING:
    import sqlite_utils

    from ..config import Config

log = logging.getLogger(__name__)

CURSOR_KEY = "notify.reply_cursor"
SORE_LEVEL = 5  # the "Calf sore" button: a middling level on the 0-10 scale
_ANSWER = re.compile(r"^\s*(?:(sore|fine)\s*(\d{1,2})?|(\d{1,2}))\s*$", re.IGNORECASE)
_SHOE = re.compile(rf"^\s*{REPLY_SHOE}\s+(\S+)\s+(\S+)\s*$", re.IGNORECASE)


def parse_answer(text: str) -> int | None:
    """Soreness level 0–10 of an answer, or None when the text is not an answer."""
    match = _ANSWER.match(text or "")
    if not match:
        return None
    word, word_level, bare = match.groups()
    if bare is not None:
        value = int(bare)
    elif word.lower() == REPLY_FINE:
        value = 0
    else:
        value = int(word_level) if word_level else SORE_LEVEL
    assert word is None or word.lower() in (REPLY_SORE, REPLY_FINE)
    return value if 0 <= value <= 10 else None


def reply_channel(cfg: Config) -> dict[str, Any] | None:
    """The first enabled ntfy channel: the server the buttons publish to."""
    return next((c for c in cfg.channels if c["type"] == "ntfy" and c.get("enabled", True)), None)


def fetch(channel: dict[str, Any], topic: str, since: str, timeout_s: float = 10.0) -> list[dict]:
    """Read the topic's cached messages after ``since`` (a message id, or ``all``).

    Raises :class:`ChannelError` (retryable or permanent) on failure.
    """
    import httpx  # about 130 ms: loaded only when a push or a reply is due

    with httpx.Client(timeout=timeout_s) as client:
        response = request(
            client,
            "ntfy",
            "GET",
            f"{base_url(channel)}/{topic}/json",
            params={"poll": "1", "since": since},
            headers=auth_headers(channel),
        )
    messages = []
    for line in response.text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == "message":
            messages.append(event)
    return messages


def poll(db: sqlite_utils.Database, cfg: Config, now: datetime) -> int:
    """Record new answers from the reply topic; returns how many were recorded (soreness
    rows written and runs put in a shoe).

    Does nothing (0) without ``reply_topic`` or an ntfy channel. A failure to reach ntfy is
    logged and returns 0; the cursor stays, so the next poll reads the same answers.
    """
    topic = cfg.notify.reply_topic
    chan = reply_channel(cfg) if topic else None
    if not topic or chan is None:
        if topic:
            log.warning("[notify] reply_topic is set but no ntfy channel is configured")
        return 0
    since = get_state(db, CURSOR_KEY) or "all"
    try:
        channel = resolve_channel(chan)
        messages = fetch(channel, topic, since, float(chan.get("timeout_s") or 10.0))
    except ChannelError as exc:
        log.warning("cannot read soreness answers from ntfy: %s", redact(str(exc)))
        return 0
    tz = cfg.timezone
    written = shod = 0
    with write_tx(db):
        for msg in messages:  # ntfy answers in publishing order
            shoe = _SHOE.match(str(msg.get("message", "")))
            if shoe:
                shod += put_in_shoe(db, *shoe.groups())
                continue
            level = parse_answer(str(msg.get("message", "")))
            note = f"ntfy:{msg.get('id')}"
            if level is None:
                continue
            if has_note(db, "ntfy", note):
                continue
            when = datetime.fromtimestamp(int(msg.get("time") or now.timestamp()), UTC)
            add_report(db, when.astimezone(tz).date().isoformat(), level, note, "ntfy")
            written += 1
        if messages:
            set_state(db, CURSOR_KEY, str(messages[-1]["id"]))
    if written:
        log.info("recorded %d soreness answer(s) from ntfy", written)
    if shod:
        log.info("put %d run(s) in the shoe answered on the phone", shod)
    return written + shod


def put_in_shoe(db: sqlite_utils.Database, activity_id: str, gear_id: str) -> int:
    """Put a run in the shoe a button answered and mark its date for evaluation; 1 when done,
    0 (logged) for an answer that no longer fits. Call inside the write transaction."""
    run = db.execute(
        "SELECT local_date, gear_id FROM activities WHERE id = ? AND deleted = 0", [activity_id]
    ).fetchone()
    shoe = db.execute("SELECT retired FROM gear WHERE id = ?", [gear_id]).fetchone()
    assigned = db.execute(
        "SELECT 1 FROM gear_assignments WHERE activity_id = ?", [activity_id]
    ).fetchone()
    problem = None
    if run is None:
        problem = "no such run (deleted?)"
    elif shoe is None:
        problem = "no such shoe (`calfsync shoes` lists them)"
    elif shoe[0]:
        problem = "the shoe is retired"
    elif run[1] is not None or assigned:
        problem = "the run has its shoe already"
    if problem:
        log.warning("shoe answer '%s %s' skipped: %s", activity_id, gear_id, problem)
        return 0
    assign_run(db, activity_id, gear_id)
    mark_dirty(db, {run[0]})
    return 1
