"""Asking on the phone which shoes a fresh run was in (``[notify] ask_shoe``, issue 12).

FIT files carry no shoe, so without Strava the shoe rules (G1, G2, SW1) cannot count a new run
until the runner says which shoes it was in. When a run started within ``[notify]
push_window_hours`` has no shoe and at least one shoe is active (not retired):

- the day's push asks (:func:`calfsync.notify.attachments.dress` adds the question to any push
  carrying a rule's alert): on ntfy with ``reply_topic`` as up to three buttons, the shoes most
  recently used first, each publishing ``shoe <activity id> <shoe id>`` to the reply topic
  (:mod:`calfsync.notify.replies` reads it back, assigns the shoe and marks the run's date for
  evaluation); on other channels it names the command to type (``calfsync shoes assign``);
- when the run has no alert of its own to ride on, the sync step ``ask_shoe``
  (:func:`calfsync.notify.shoe_ask.run`)
  records one quiet question (an alert row, rule ``SHOE``, severity 'info': low priority) and
  enqueues it in the same transaction, at most one a local day (its episode key is
  ``SHOE:<local date>``) and never twice for a run. From there the outbox gives it every
  guarantee of a push (sent once, retried, quiet hours, the daily cap counts it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..model import parse_utc, utc_iso
from . import ShoeQuestion

if TYPE_CHECKING:
    import sqlite_utils

    from ..config import Config

SHOE_RULE = "SHOE"
MAX_SHOES = 3  # ntfy shows at most three buttons
TITLE = "Which shoes for your run?"


def active_shoes(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """Up to :data:`MAX_SHOES` shoes not retired, as (id, name), most recently used first."""
    rows = db.execute(
        "SELECT gear_id, COALESCE(name, gear_id) FROM shoe_mileage WHERE retired = 0 "
        "ORDER BY last_run IS NULL, last_run DESC, name LIMIT ?",
        [MAX_SHOES],
    ).fetchall()
    return [(str(gear_id), str(name)) for gear_id, name in rows]


def fresh_unshod_run(
    db: sqlite_utils.Database, cfg: Config, now: datetime
) -> dict[str, Any] | None:
    """The latest counted run started within ``push_window_hours`` of ``now`` with no shoe
    (none set, none assigned and waiting for the next evaluation), or None."""
    since = utc_iso(now - timedelta(hours=float(cfg.notify.push_window_hours)))
    rows = list(
        db.query(
            """SELECT id, start_time, local_date, distance_m FROM runs
               WHERE gear_id IS NULL AND start_time >= ?
                 AND id NOT IN (SELECT activity_id FROM gear_assignments)
               ORDER BY start_time DESC LIMIT 1""",
            [since],
        )
    )
    return rows[0] if rows else None


def pending(db: sqlite_utils.Database, cfg: Config, now: datetime) -> ShoeQuestion | None:
    """The question to ask now, or None: ``ask_shoe`` off, no active shoe, or no fresh run
    without one. The cheapest checks come first: this runs at every flush."""
    if not cfg.notify.ask_shoe:
        return None
    if db.execute("SELECT 1 FROM gear WHERE retired = 0 LIMIT 1").fetchone() is None:
        return None
    run = fresh_unshod_run(db, cfg, now)
    if run is None:
        return None
    return ShoeQuestion(str(run["id"]), describe(run, cfg), tuple(active_shoes(db)))


def describe(run: dict[str, Any], cfg: Config) -> str:
    """ "10.0 km run of Wed 10 Jun" (the local day the run started)."""
    start = parse_utc(run["start_time"]).astimezone(cfg.timezone)
    km = (run["distance_m"] or 0.0) / 1000.0
    return f"{km:.1f} km run of {start:%a} {start.day} {start:%b}"


def question_text(question: ShoeQuestion, buttons: bool) -> str:
    """The question's words: with ``buttons`` (ntfy with a reply topic), tap one; else the
    command to type, with the shoes' ids."""
    why = "G1, G2 and SW1 count a run once its shoe is known."
    if buttons:
        return f"Which shoes on your {question.about}? Tap one below. {why}"
    shoes = ", ".join(f"{gear_id} ({name})" for gear_id, name in question.shoes)
    return (
        f"Which shoes on your {question.about}? Type `calfsync shoes assign "
        f"{question.activity_id} SHOE` with SHOE one of: {shoes}. {why}"
    )
