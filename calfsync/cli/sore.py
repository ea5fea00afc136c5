"""``calfsync sore``: log a day's calf soreness (:mod:`calfsync.soreness`) and show the alerts it
raised, or list the recent log."""

from __future__ import annotations

from datetime import UTC, datetime

import click
import sqlite_utils

from ..soreness import record_soreness
from ..store.soreness import recent_soreness
from . import Context, iso_date
from .alerts import new_alerts


@click.command("sore")
@click.argument("level", required=False, type=click.IntRange(0, 10))
@click.option("--date", "day", help="The day it refers to (YYYY-MM-DD); default today.")
@click.option("--note", help="A few words (which calf, what it feels like).")
@click.option("--limit", default=30, show_default=True, help="Reports to list.")
@click.pass_obj
def sore_cmd(
    obj: Context, level: int | None, day: str | None, note: str | None, limit: int
) -> None:
    """Log calf soreness LEVEL (0 = none … 10), or list the recent log.

    With no LEVEL, lists the recent log.
    """
    cfg, db = obj.config, obj.db
    if level is None:
        if day or note:
            raise click.UsageError("--date and --note need a LEVEL, e.g. calfsync sore 3")
        _list(db, limit)
        return
    now = datetime.now(UTC)
    day = now.astimezone(cfg.timezone).date().isoformat() if day is None else iso_date(day)
    ids = record_soreness(db, cfg, level, day, note, now)
    click.echo(f"Logged soreness {level}/10 for {day}.")
    for alert in new_alerts(db, ids):
        click.echo(f"\n{alert['title']}\n{alert['body']}")


def _list(db: sqlite_utils.Database, limit: int) -> None:
    log = recent_soreness(db, limit)
    if not log:
        click.echo("No soreness logged. Log today's: calfsync sore LEVEL (0 = none … 10)")
    for r in log:
        click.echo(f"{r['local_date']}  {r['level']:>2}/10  {r['note'] or ''}".rstrip())
