"""``calfsync demo``: write the demo history of :mod:`calfsync.demo`, run one real sync cycle over
it and show the weekly load, the suspect activity kept out, the alerts with their delivery class,
the weekly digest and how to query the file; then write the report page and say where."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import sqlite_utils

from ..config import Config
from ..demo import DEMO_WEEKS, add_shoes, all_alerts, clear, demo_config, weekly_load, write_history
from ..notify.digest import preview
from ..outputs.report import PAGE_NAME, write_report
from ..status import suspect_activities
from ..store.db import open_db
from ..sync import run_cycle
from .status import suspect_lines


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
    _show_suspects(db, cfg.db_path)
    _show_alerts(db)
    _show_digest(db, cfg, now)
    _how_to_query(len(runs), cfg.db_path)
    (directory / "report").mkdir(exist_ok=True)
    page = write_report(db, cfg, now, directory / "report" / PAGE_NAME)
    click.echo(f"\nReport page (charts of the same history): {page}")
    click.echo(f"  open {page.as_uri()} in a browser")
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


def _show_suspects(db: sqlite_utils.Database, db_path: Path) -> None:
    suspects = suspect_activities(db.conn)
    click.echo("\nSuspect activities, counted by no rule and no load view:")
    click.echo("\n".join(suspect_lines(suspects)) or "  none")
    if suspects:
        click.echo(
            f'  Correct one: calfsync --db "{db_path}" activity sport {suspects[0]["id"]} '
            "cycling (or `activity confirm ID` to count it as recorded)"
        )


def _show_alerts(db: sqlite_utils.Database) -> None:
    alerts = all_alerts(db)
    click.echo(
        f"\nAlerts over the whole history ({len(alerts)}; only runs of the last 72 hours "
        "push, older ones are kept as history). Class 'now' interrupts (bundled, one push a "
        "day); class 'digest' waits for the weekly digest:"
    )
    for alert in alerts:
        click.echo(
            f"  {alert['local_date']}  {alert['rule']:<4} {alert['severity']:<8} "
            f"{alert['delivery']:<6} [{alert['pushed']}] {alert['title']}"
        )
    fresh = [a for a in alerts if a["pushed"] not in ("history", "imported")]
    for delivery, what in (("now", "Pushed at once"), ("digest", "Waiting for the digest")):
        rules = [a["rule"] for a in fresh if a["delivery"] == delivery]
        click.echo(f"{what} ({delivery}): {', '.join(rules) or 'none'}")


def _show_digest(db: sqlite_utils.Database, cfg: Config, now: datetime) -> None:
    click.echo(
        "\nThe weekly digest, one push on Mondays at 07:00 ([notify] digest), as it would be "
        "sent now:"
    )
    text = preview(db, cfg, now)
    if text is None:
        click.echo("  (nothing to say this week: no digest would be sent)")
        return
    title, body = text
    click.echo(f"  {title}")
    for line in body.splitlines():
        click.echo(f"  {line}".rstrip())


def _how_to_query(runs: int, db_path: Path) -> None:
    click.echo(f"\n{runs} runs imported into {db_path}")
    click.echo("Query it yourself, for example:")
    click.echo(
        f'  sqlite3 -readonly "{db_path}" '
        '"select week_start, runs, round(distance_m/1000,1) km from weekly_load"'
    )
    click.echo(f'  calfsync --db "{db_path}" replay')
