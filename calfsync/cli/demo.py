"""``calfsync demo``: write the demo history of :mod:`calfsync.demo`, run one real sync cycle over
it and show the weekly load, the alerts and how to query the file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import sqlite_utils

from ..demo import DEMO_WEEKS, add_shoes, all_alerts, clear, demo_config, weekly_load, write_history
from ..store.db import open_db
from ..sync import run_cycle


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    default="calfsync-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo writes its files.",
)
def demo_cmd(directory: Path) -> None:
    """Generate a demo training history and show what calfsync does.

    Needs no configuration: the demo uses its own folder, database and a console 'phone'.
    """
    directory = directory.resolve()
    clear(directory)
    cfg = demo_config(directory)
    now = datetime.now(UTC)
    today = now.astimezone(cfg.timezone).date()
    click.echo(f"Writing {DEMO_WEEKS} weeks of runs as FIT files into {directory / 'inbox'} ...")
    runs = write_history(directory / "inbox", today, cfg.timezone)
    db = open_db(cfg.db_path)
    add_shoes(db, runs, today)
    click.echo("Running one sync cycle, as the daemon does every minute:\n")
    report = run_cycle(db, cfg, now)  # the console channel prints the pushes meanwhile
    click.echo(f"Cycle: {report.summary()}\n")
    _show_weekly_load(db)
    _show_alerts(db)
    _how_to_query(len(runs), cfg.db_path)
    if report.errors:
        raise SystemExit(1)


def _show_weekly_load(db: sqlite_utils.Database) -> None:
    click.echo("Weekly load (runs only, local weeks):")
    click.echo(f"  {'week of':<10}  {'runs':>4}  {'km':>6}  {'climb m':>7}")
    for week in weekly_load(db):
        climb = "" if week["ascent_m"] is None else f"{week['ascent_m']:.0f}"
        click.echo(
            f"  {week['week_start']:<10}  {week['runs']:>4}  "
            f"{week['distance_m'] / 1000:>6.1f}  {climb:>7}"
        )


def _show_alerts(db: sqlite_utils.Database) -> None:
    alerts = all_alerts(db)
    click.echo(
        f"\nAlerts over the whole history ({len(alerts)}; only runs of the last 72 hours "
        "push, older ones are kept as history):"
    )
    for alert in alerts:
        click.echo(
            f"  {alert['local_date']}  {alert['rule']:<4} {alert['severity']:<8} "
            f"[{alert['pushed']}] {alert['title']}"
        )


def _how_to_query(runs: int, db_path: Path) -> None:
    click.echo(f"\n{runs} runs imported into {db_path}")
    click.echo("Query it yourself, for example:")
    click.echo(
        f'  sqlite3 -readonly "{db_path}" '
        '"select week_start, runs, round(distance_m/1000,1) km from weekly_load"'
    )
    click.echo(f'  calfsync --db "{db_path}" replay')
