"""``calfsync activity``: list activities (the suspect ones alone with ``--suspect``), confirm a
suspect one or correct its sport, and judge the history again.

A suspect activity (``activities.suspect``: a ride saved as a run, an altimeter fault, a clock
set wrong) counts for no rule and no load view. The runner's word settles it: ``confirm`` counts
it as recorded, ``sport`` makes it what it was (a ride counts for nothing, as every non-run).
Either way its day is marked dirty and the evaluate step of :mod:`calfsync.sync` judges the
history again from there: alerts the change brings are recorded and queued like any others;
alerts already pushed are never retracted (shared/RULES.md "Data that changes").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
import sqlite_utils

from ..errors import CalfsyncError
from ..evaluation import evaluate_pending
from ..sources.strava.mapping import SPORTS as STRAVA_SPORTS
from ..status import suspect_activities
from ..store.activities import correct_activity
from . import Context
from .alerts import new_alerts
from .status import suspect_lines

# The sports calfsync stores (FIT's names, which Strava's sport types map to).
SPORT_NAMES: tuple[str, ...] = tuple(sorted({sport for sport, _sub in STRAVA_SPORTS.values()}))


@click.group("activity")
def activity_group() -> None:
    """List activities; confirm a suspect one or correct its sport."""


@activity_group.command("list")
@click.option("--suspect", is_flag=True, help="Only suspect activities no rule counts yet.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100000))
@click.pass_obj
def list_cmd(obj: Context, suspect: bool, limit: int) -> None:
    """List the latest activities, or with --suspect those no rule counts yet."""
    db = obj.db
    if suspect:
        found = suspect_activities(db.conn, limit)
        if not found:
            click.echo("No suspect activities: every run counts.")
            return
        click.echo("Suspect activities (not counted until confirmed or corrected):")
        click.echo("\n".join(suspect_lines(found)))
        click.echo(
            "Count one as recorded: calfsync activity confirm ID; "
            "correct its sport: calfsync activity sport ID cycling"
        )
        return
    for row in _latest(db, limit):
        flag = ""
        if row["suspect"]:
            flag = "  [confirmed]" if row["suspect_confirmed"] else f"  [suspect: {row['suspect']}]"
        click.echo(
            f"{row['id']}  {row['local_date']}  {row['sport']:<10} "
            f"{(row['distance_m'] or 0.0) / 1000.0:7.2f} km  {row['name'] or ''}{flag}".rstrip()
        )


def _latest(db: sqlite_utils.Database, limit: int) -> list[dict[str, Any]]:
    return list(
        db.query(
            "SELECT id, local_date, sport, distance_m, name, suspect, suspect_confirmed "
            "FROM activities WHERE deleted = 0 ORDER BY start_time DESC LIMIT ?",
            [limit],
        )
    )


@activity_group.command("confirm")
@click.argument("activity_id", metavar="ID")
@click.pass_obj
def confirm_cmd(obj: Context, activity_id: str) -> None:
    """Count suspect activity ID as recorded, and judge the history again."""
    row = _existing(obj.db, activity_id)
    if not row["suspect"]:
        click.echo(f"{activity_id} is not suspect: it counts already.")
        return
    if row["suspect_confirmed"]:
        click.echo(f"{activity_id} is confirmed already: it counts.")
        return
    _apply(
        obj,
        activity_id,
        f"Confirmed {activity_id} ({row['suspect']}): it counts now.",
        confirm=True,
    )


@activity_group.command("sport")
@click.argument("activity_id", metavar="ID")
@click.argument("sport", metavar="SPORT")
@click.pass_obj
def sport_cmd(obj: Context, activity_id: str, sport: str) -> None:
    """Correct the sport of activity ID (e.g. cycling), and judge the history again."""
    sport = sport.strip().lower()
    if sport not in SPORT_NAMES:
        raise click.BadParameter(
            f"'{sport}' is not a sport calfsync knows; one of: {', '.join(SPORT_NAMES)}",
            param_hint="SPORT",
        )
    row = _existing(obj.db, activity_id)
    if row["sport"] == sport:
        click.echo(f"{activity_id} is {sport} already: nothing to change.")
        return
    _apply(obj, activity_id, f"{activity_id} is now {sport} (was {row['sport']}).", sport=sport)


def _existing(db: sqlite_utils.Database, activity_id: str) -> dict[str, Any]:
    found = list(
        db.query(
            "SELECT id, sport, suspect, suspect_confirmed FROM activities "
            "WHERE id = ? AND deleted = 0",
            [activity_id],
        )
    )
    if not found:
        raise CalfsyncError(
            f"no activity '{activity_id}': `calfsync activity list` shows the ids "
            "(`calfsync activity list --suspect` the suspect ones)"
        )
    return found[0]


def _apply(obj: Context, activity_id: str, done: str, **change: Any) -> None:
    """Write the change, judge the history again from its day, say what came of it."""
    cfg, db = obj.config, obj.db
    now = datetime.now(UTC)
    row = correct_activity(db, activity_id, now, **change)
    if row is None:  # deleted between the check and the write
        raise CalfsyncError(f"no activity '{activity_id}': it was removed meanwhile")
    click.echo(done)
    if row["suspect"] and not row["suspect_confirmed"] and row["sport"] == "running":
        click.echo(f"Still suspect: {row['suspect']}. Confirm it to count it as recorded.")
    ids = evaluate_pending(db, cfg, now)
    click.echo(f"History judged again from {row['local_date']}: {len(ids)} new alert(s).")
    for alert in new_alerts(db, ids):
        click.echo(f"\n{alert['title']} [{alert['pushed']}]\n{alert['body']}")
