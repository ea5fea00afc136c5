"""The soreness log: ``calfsync sore LEVEL`` writes a day's calf soreness (0 none … 10) and
judges P1 (pain lasting more than a week); ``calfsync sore`` alone lists the recent log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import click
import sqlite_utils

from .cli import Context
from .store.db import rows, write_tx


def record_soreness(
    db: sqlite_utils.Database,
    cfg: Any,
    level: int,
    local_date: str,
    note: str | None,
    now: datetime,
    source: str = "cli",
) -> list[int]:
    """Store one report and evaluate the rules from its date on, queueing pushes for new alerts
    like a sync cycle does; returns the new alert ids. The date stays marked dirty until the
    evaluation commits, so a crash in between is picked up by the next cycle."""
    from .store.activities import mark_dirty
    from .sync import evaluate_pending

    if not 0 <= level <= 10:
        raise ValueError("soreness level must be between 0 and 10")
    with write_tx(db):
        db.execute(
            "INSERT INTO soreness(local_date, level, note, source) VALUES (?, ?, ?, ?)",
            [local_date, level, note, source],
        )
        mark_dirty(db, {local_date})
    return evaluate_pending(db, cfg, now, extra_dates={local_date})


def recent_soreness(db: sqlite_utils.Database, limit: int = 30) -> list[dict[str, Any]]:
    """The latest reports, newest first."""
    return rows(
        db,
        "SELECT local_date, level, note, source, created_at FROM soreness "
        "ORDER BY local_date DESC, id DESC LIMIT ?",
        [limit],
    )


@click.command("sore")
@click.argument("level", required=False, type=click.IntRange(0, 10))
@click.option("--date", "day", help="The day it refers to (YYYY-MM-DD); default today.")
@click.option("--note", help="A few words (which calf, what it feels like).")
@click.option("--limit", default=30, show_default=True, help="Reports to list.")
@click.pass_obj
def sore_cmd(
    obj: Context, level: int | None, day: str | None, note: str | None, limit: int
) -> None:
    """Log calf soreness LEVEL (0 = none … 10), or list the recent log with no LEVEL."""
    cfg, db = obj.config, obj.db
    if level is None:
        if day or note:
            raise click.UsageError("--date and --note need a LEVEL, e.g. calfsync sore 3")
        log = recent_soreness(db, limit)
        if not log:
            click.echo("No soreness logged. Log today's: calfsync sore LEVEL (0 = none … 10)")
        for r in log:
            click.echo(f"{r['local_date']}  {r['level']:>2}/10  {r['note'] or ''}".rstrip())
        return
    now = datetime.now(UTC)
    if day is None:
        day = now.astimezone(cfg.timezone).date().isoformat()
    else:
        try:
            day = date.fromisoformat(day).isoformat()
        except ValueError as exc:
            raise click.BadParameter(f"'{day}' is not a date like 2026-03-01") from exc
    ids = record_soreness(db, cfg, level, day, note, now)
    click.echo(f"Logged soreness {level}/10 for {day}.")
    for alert in rows(
        db, f"SELECT title, body FROM alerts WHERE id IN ({', '.join('?' * len(ids))})", ids
    ):
        click.echo(f"\n{alert['title']}\n{alert['body']}")
