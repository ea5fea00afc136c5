"""``calfsync shoes``: list shoes, add one worn from a date on, set one, put a run in one; the
changes themselves are :mod:`calfsync.shoes`."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ..shoes import add_shoe_from, find_shoe, list_shoes, put_run_in_shoe, set_shoe, shoe_changes
from . import Context, iso_date
from .alerts import new_alerts


@click.group("shoes", invoke_without_command=True)
@click.pass_context
def shoes_group(ctx: click.Context) -> None:
    """List, add and set shoes; put a run in a shoe.

    Alone, lists the shoes with distance, runs, first and last use, drop and retirement distance.
    """
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj
    retire_km = obj.config.rule("SW1")["retire_km"]
    shoes = list_shoes(obj.db, retire_km)
    if not shoes:
        click.echo("No shoes yet. Add one: calfsync shoes add NAME --drop MM --from YYYY-MM-DD")
        return
    click.echo(
        f"{'id':<12} {'name':<24} {'km':>7} {'runs':>5} {'first':<10} {'last':<10} "
        f"{'drop':>5} {'min':<3} {'retire':>7}"
    )
    for s in shoes:
        drop = "?" if s["drop_mm"] is None else f"{s['drop_mm']:g}"
        click.echo(
            f"{s['id']:<12} {(s['name'] or '')[:24]:<24} {s['distance_km']:>7.1f} {s['runs']:>5} "
            f"{s['first_run'] or '-':<10} {s['last_run'] or '-':<10} {drop:>5} "
            f"{'yes' if s['minimalist'] else 'no':<3} {s['retire_at_km']:>7.0f}"
            + (" (retired)" if s["retired"] else "")
        )


@shoes_group.command("set")
@click.argument("shoe")
@click.option("--drop", "drop_mm", type=click.FloatRange(0, 30), help="Heel-to-toe drop in mm.")
@click.option("--minimalist/--no-minimalist", default=None, help="Mark as minimalist or not.")
@click.option("--retire-at", "retire_km", type=click.FloatRange(1, 10000), help="Retire at KM.")
@click.option("--retired/--active", default=None, help="Mark the shoe as retired or in use.")
@click.pass_obj
def shoes_set(
    obj: Context,
    shoe: str,
    drop_mm: float | None,
    minimalist: bool | None,
    retire_km: float | None,
    retired: bool | None,
) -> None:
    """Set a shoe's drop, minimalist flag or retirement distance (SHOE: id or name)."""
    row = find_shoe(obj.db, shoe)
    changes = shoe_changes(
        drop_mm=drop_mm, minimalist=minimalist, retire_km=retire_km, retired=retired
    )
    if not changes:
        raise click.UsageError("give at least one of --drop, --minimalist, --retire-at, --retired")
    ids = set_shoe(obj.db, obj.config, row["id"], changes, datetime.now(UTC))
    click.echo(f"Updated {row['id']} ({row['name']}).")
    _echo_alerts(obj, ids)


@shoes_group.command("add")
@click.argument("name")
@click.option("--drop", "drop_mm", type=click.FloatRange(0, 30), help="Heel-to-toe drop in mm.")
@click.option("--minimalist", is_flag=True, help="A minimalist shoe.")
@click.option("--retire-at", "retire_km", type=click.FloatRange(1, 10000), help="Retire at KM.")
@click.option(
    "--from", "from_date", required=True, help="Runs from this date (YYYY-MM-DD) on use it."
)
@click.pass_obj
def shoes_add(
    obj: Context,
    name: str,
    drop_mm: float | None,
    minimalist: bool,
    retire_km: float | None,
    from_date: str,
) -> None:
    """Add a shoe worn from a date on (until the next shoe added with --from)."""
    from_date = iso_date(from_date)
    gear_id, runs, ids = add_shoe_from(
        obj.db,
        obj.config,
        name,
        from_date,
        datetime.now(UTC),
        drop_mm=drop_mm,
        minimalist=minimalist,
        retire_km=retire_km,
    )
    click.echo(f"Added {gear_id} ({name}) from {from_date}: {runs} run(s) now in it.")
    _echo_alerts(obj, ids)


@shoes_group.command("assign")
@click.argument("activity_id")
@click.argument("shoe")
@click.pass_obj
def shoes_assign(obj: Context, activity_id: str, shoe: str) -> None:
    """Put one run (ACTIVITY_ID) in SHOE (id or name); wins over dates and Strava."""
    row = find_shoe(obj.db, shoe)
    ids = put_run_in_shoe(obj.db, obj.config, activity_id, row["id"], datetime.now(UTC))
    click.echo(f"Run {activity_id} is now in {row['id']} ({row['name']}).")
    _echo_alerts(obj, ids)


def _echo_alerts(obj: Context, ids: list[int]) -> None:
    for alert in new_alerts(obj.db, ids):
        click.echo(f"  new alert: {alert['title']} [{alert['pushed']}]")
