"""What a push carries besides its words: the weekly chart and the shoe question.

:func:`dress` is called by the outbox for each push it has claimed, just before the send: it
reads the database (never writes it) and adds to the composed :class:`~calfsync.notify.Message`

- the **chart** (``[notify] charts``, on channels that take images: ntfy, Pushover, Telegram,
  Apprise) for the weekly digest and for a push carrying a rule's alert: ten 7-day distance
  totals ending on the day the push is about (for the digest, the Sunday ending the week it
  reports: calendar weeks), that last week highlighted, with W1's reference (the 7 days before)
  and its threshold (+20% and +5 km by default, ``[rules.W1]``) drawn as lines;
- the **shoe question** (:mod:`calfsync.notify.shoe_question`) on a push carrying a rule's
  alert or the quiet question itself.

Both are drawn from the database at send time, not stored: a push sent again after a crash or
a retry is drawn again, and the outbox's guarantees (at most two copies, nothing lost) stay
exactly those of a text push. Nothing here may stop a push: a failure to draw is logged and
the push goes out without the picture.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..rules.registry import RULES
from . import Attachment, Message, policy, shoe_question

if TYPE_CHECKING:
    import sqlite_utils

    from ..config import Config
    from ..outputs.chart import WeekBars

log = logging.getLogger(__name__)

IMAGE_CHANNELS = frozenset({"ntfy", "pushover", "telegram", "apprise"})
MACHINE_CHANNELS = frozenset({"webhook"})  # they get the alerts as data, not a question
WEEKS = 10
FILENAME = "calfsync-weeks.png"
_drawn: dict[str, bytes] = {}  # the last few charts, so several channels draw one once
_DRAWN_KEEP = 8


def dress(
    db: sqlite_utils.Database,
    cfg: Config,
    chan: dict[str, Any],
    claimed: list[dict[str, Any]],
    message: Message,
    now: datetime,
) -> Message:
    """Add the chart and the shoe question to ``message`` (in place; also returned)."""
    try:
        _ask_shoe(db, cfg, chan["type"], {r["rule"] for r in claimed}, message, now)
    except Exception as exc:  # noqa: BLE001 - the push goes out without the question
        log.warning("shoe question left out of the push: %s: %s", type(exc).__name__, exc)
    if cfg.notify.charts and chan["type"] in IMAGE_CHANNELS:
        try:
            message.attachment = chart_for(db, cfg, claimed, message)
        except Exception as exc:  # noqa: BLE001 - the push goes out without the chart
            log.warning("chart left out of the push: %s: %s", type(exc).__name__, exc)
    return message


def _ask_shoe(
    db: sqlite_utils.Database,
    cfg: Config,
    kind: str,
    rules: set[str],
    message: Message,
    now: datetime,
) -> None:
    """Add the shoe question to a push of a rule's alert or to the quiet question itself."""
    if kind in MACHINE_CHANNELS or not (rules & (RULES.keys() | {shoe_question.SHOE_RULE})):
        return
    question = shoe_question.pending(db, cfg, now)
    if question is None:
        return
    buttons = kind == "ntfy" and bool(message.reply_topic)
    text = shoe_question.question_text(question, buttons)
    if rules == {shoe_question.SHOE_RULE}:
        message.body = text  # the quiet question alone: worded for this channel
    else:  # the alert's text shortened if need be: the question must fit (Pushover cuts)
        room = policy.MAX_PUSH_CHARS - len(message.title) - len(text) - 2
        body = message.body if len(message.body) <= room else message.body[: room - 1] + "…"
        message.body = f"{body}\n\n{text}"
    message.shoe_question = question


def chart_for(
    db: sqlite_utils.Database,
    cfg: Config,
    claimed: list[dict[str, Any]],
    message: Message,
) -> Attachment | None:
    """The chart for a push, or None when it carries neither the digest nor a rule's alert."""
    bars = None
    digest = next((r for r in claimed if r["rule"] == policy.DIGEST_RULE), None)
    if digest is not None:
        week_start = date.fromisoformat(_values(digest)["week_start"])
        end = week_start + timedelta(days=6)
        bars = week_bars(db, cfg, end, f"Running km a week, to Sunday {end.day} {end:%b}")
    elif any(r["rule"] in RULES for r in claimed):
        top = next(a for a in message.alerts if a["rule"] in RULES)  # most important first
        end = date.fromisoformat(top["local_date"])
        bars = week_bars(db, cfg, end, f"Running km, 7 days to {end:%a} {end.day} {end:%b}")
    if bars is None:
        return None
    key = repr(bars)
    if key not in _drawn:
        from ..outputs.chart import draw_png  # Pillow loads only when a chart is drawn

        while len(_drawn) >= _DRAWN_KEEP:
            _drawn.pop(next(iter(_drawn)))
        _drawn[key] = draw_png(bars)
    return Attachment(FILENAME, _drawn[key])


def week_bars(db: sqlite_utils.Database, cfg: Config, end: date, title: str) -> WeekBars:
    """:data:`WEEKS` 7-day running totals ending on ``end`` (the ``daily_load`` view: suspect
    runs not confirmed are not counted), with W1's reference and threshold for the last."""
    from ..outputs.chart import WeekBars

    first = end - timedelta(days=7 * WEEKS - 1)
    daily = dict(
        db.execute(
            "SELECT local_date, distance_m FROM daily_load WHERE local_date BETWEEN ? AND ?",
            [first.isoformat(), end.isoformat()],
        ).fetchall()
    )
    starts, km = [], []
    for back in range(WEEKS - 1, -1, -1):
        start = end - timedelta(days=7 * back + 6)
        days = (start + timedelta(days=d) for d in range(7))
        starts.append(start)
        km.append(sum(daily.get(d.isoformat()) or 0.0 for d in days) / 1000.0)
    w1 = cfg.rule("W1")
    reference = km[-2]
    threshold = None
    if reference > 0:  # W1 compares with the 7 days before; nothing to compare with at 0
        threshold = max(reference * (1 + w1["threshold"]), reference + w1["min_increase_km"])
    return WeekBars(
        title=title,
        starts=starts,
        km=[round(k, 1) for k in km],
        reference_km=round(reference, 1) if reference > 0 else None,
        reference_label="7 days before",
        threshold_km=round(threshold, 1) if threshold else None,
        threshold_label="W1 threshold",  # not "fires above": W1 also needs a new high (rules.md)
    )


def _values(row: dict[str, Any]) -> dict[str, Any]:
    values = row.get("values")
    if isinstance(values, str):
        values = json.loads(values)
    return values if isinstance(values, dict) else {}
