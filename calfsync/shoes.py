"""Shoes: which run was in which shoe, and the ``calfsync shoes`` commands.

FIT files carry no shoe. Runners without Strava say ``shoes add NAME --from DATE``: runs from
that date on are in that shoe until the next such entry. ``shoes assign`` sets one run's shoe
and wins over everything. A shoe Strava reports for a run (``strava_raw.gear_id``) wins over
the dates. Where a run's shoe came from is kept in ``activities.gear_source``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import click
import sqlite_utils

from .cli import Context
from .errors import CalfsyncError
from .store.db import rows, write_tx

RUNS_SQL = """
    SELECT id, local_date, gear_id, gear_source,
           CASE WHEN json_valid(strava_raw) THEN json_extract(strava_raw, '$.gear_id') END
               AS strava_gear
    FROM activities WHERE sport = 'running' AND deleted = 0
"""


def assign_gear_by_date(db: sqlite_utils.Database, dates: Iterable[str] | None = None) -> set[str]:
    """Give runs (of ``dates``, or all) their shoe; return the local dates whose shoe changed.

    Order of precedence: ``shoes assign`` (gear_assignments), then Strava's shoe for the run,
    then a shoe another source set (``gear_source`` NULL), then the shoe whose ``from_date``
    is the latest on or before the run's date (the later entry wins on the same date).
    """
    entries = rows(
        db, "SELECT id, from_date FROM gear WHERE from_date IS NOT NULL ORDER BY from_date, rowid"
    )
    starts = [e["from_date"] for e in entries]
    manual = dict(db.execute("SELECT activity_id, gear_id FROM gear_assignments").fetchall())
    sql, params = RUNS_SQL, []
    if dates is not None:
        dates = sorted(set(dates))
        if not dates:
            return set()
        sql += f" AND local_date IN ({', '.join('?' * len(dates))})"
        params = list(dates)
    changed: set[str] = set()
    with write_tx(db):
        for run in rows(db, sql, params):
            want = _wanted(run, manual, entries, starts)
            if want is None:
                continue
            if (run["gear_id"], run["gear_source"]) != want:
                db.execute(
                    "UPDATE activities SET gear_id = ?, gear_source = ? WHERE id = ?",
                    [want[0], want[1], run["id"]],
                )
                changed.add(run["local_date"])
    return changed


def _wanted(
    run: dict[str, Any],
    manual: dict[str, str],
    entries: list[dict[str, Any]],
    starts: list[str],
) -> tuple[str | None, str | None] | None:
    """(gear_id, gear_source) the run should have, or None to leave it as it is."""
    if run["id"] in manual:
        return manual[run["id"]], "manual"
    if run["strava_gear"]:
        return str(run["strava_gear"]), None
    if run["gear_id"] and run["gear_source"] is None:
        return None  # a source's own shoe
    k = bisect.bisect_right(starts, run["local_date"]) - 1
    if k >= 0:
        return entries[k]["id"], "date"
    if run["gear_source"] in ("date", "manual"):
        return None, None
    return None


def shoe_dates(db: sqlite_utils.Database, gear_id: str) -> set[str]:
    """Local dates of the runs in one shoe."""
    return {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT local_date FROM activities WHERE gear_id = ? AND deleted = 0",
            [gear_id],
        )
    }


def find_shoe(db: sqlite_utils.Database, ref: str) -> dict[str, Any]:
    """A shoe by id, else by unique name (case-insensitive). Raises with the fix."""
    found = rows(db, "SELECT * FROM gear WHERE id = ?", [ref])
    if not found:
        found = rows(db, "SELECT * FROM gear WHERE lower(name) = lower(?)", [ref])
    if len(found) == 1:
        return found[0]
    if not found:
        raise CalfsyncError(f"no shoe '{ref}': run `calfsync shoes` to see the ids")
    raise CalfsyncError(f"several shoes are named '{ref}': use the id from `calfsync shoes`")


def list_shoes(db: sqlite_utils.Database, default_retire_km: float) -> list[dict[str, Any]]:
    """Every shoe with its distance (km), runs, first and last use, drop and retirement."""
    out = []
    for r in rows(db, "SELECT * FROM shoe_mileage ORDER BY last_run IS NULL, last_run DESC, name"):
        run_m = r["run_distance_m"] or 0.0
        total_m = max(run_m, r["reported_distance_m"] or 0.0)
        out.append(
            {
                "id": r["gear_id"],
                "name": r["name"],
                "distance_km": round(total_m / 1000.0, 1),
                "runs": r["runs"],
                "first_run": r["first_run"],
                "last_run": r["last_run"],
                "drop_mm": r["drop_mm"],
                "minimalist": bool(r["minimalist"]),
                "retired": bool(r["retired"]),
                "retire_at_km": round((r["retire_at_m"] or default_retire_km * 1000) / 1000, 1),
            }
        )
    return out


def add_shoe(
    db: sqlite_utils.Database,
    name: str,
    from_date: str,
    *,
    drop_mm: float | None = None,
    minimalist: bool = False,
    retire_km: float | None = None,
) -> str:
    """Add a shoe worn from ``from_date`` on (until the next one added so); returns its id.

    Runs are assigned to it by :func:`assign_gear_by_date` (called by the caller or by the next
    evaluation), so no activity is touched here.
    """
    gear_id = _next_manual_id(db)
    db["gear"].insert(
        {
            "id": gear_id,
            "name": name,
            "drop_mm": drop_mm,
            "minimalist": int(minimalist),
            "retire_at_m": retire_km * 1000.0 if retire_km else None,
            "from_date": from_date,
            "source": "manual",
        }
    )
    return gear_id


def _next_manual_id(db: sqlite_utils.Database) -> str:
    numbers = [
        int(r[0][1:])
        for r in db.execute("SELECT id FROM gear WHERE id GLOB 'm[0-9]*'")
        if r[0][1:].isdigit()
    ]
    return f"m{max(numbers, default=0) + 1}"


def _reevaluate(obj: Context, dates: set[str]) -> list[int]:
    """Evaluate from the earliest of ``dates`` on and queue pushes, as a sync cycle does."""
    from .sync import evaluate_pending

    if not dates:
        return []
    return evaluate_pending(obj.db, obj.config, datetime.now(UTC), extra_dates=set(dates))


def _echo_alerts(db: sqlite_utils.Database, ids: list[int]) -> None:
    for alert in rows(
        db, f"SELECT title, pushed FROM alerts WHERE id IN ({', '.join('?' * len(ids))})", ids
    ):
        click.echo(f"  new alert: {alert['title']} [{alert['pushed']}]")


def _iso_date(value: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is not a date like 2026-03-01") from exc


# -- CLI ----------------------------------------------------------------------------------------
@click.group("shoes", invoke_without_command=True)
@click.pass_context
def shoes_group(ctx: click.Context) -> None:
    """List shoes with distance, runs, first and last use, drop and retirement distance."""
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
    db = obj.db
    row = find_shoe(db, shoe)
    updates: dict[str, Any] = {}
    if drop_mm is not None:
        updates["drop_mm"] = drop_mm
    if minimalist is not None:
        updates["minimalist"] = int(minimalist)
    if retire_km is not None:
        updates["retire_at_m"] = retire_km * 1000.0
    if retired is not None:
        updates["retired"] = int(retired)
    if not updates:
        raise click.UsageError("give at least one of --drop, --minimalist, --retire-at, --retired")
    with write_tx(db):
        db["gear"].update(row["id"], updates)
        ids = _reevaluate(obj, shoe_dates(db, row["id"]))
    click.echo(f"Updated {row['id']} ({row['name']}).")
    _echo_alerts(db, ids)


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
    from_date = _iso_date(from_date)
    db = obj.db
    with write_tx(db):
        gear_id = add_shoe(
            db, name, from_date, drop_mm=drop_mm, minimalist=minimalist, retire_km=retire_km
        )
        changed = assign_gear_by_date(db)
        ids = _reevaluate(obj, changed)
    runs = db.execute("SELECT COUNT(*) FROM activities WHERE gear_id = ?", [gear_id]).fetchone()[0]
    click.echo(f"Added {gear_id} ({name}) from {from_date}: {runs} run(s) now in it.")
    _echo_alerts(db, ids)


@shoes_group.command("assign")
@click.argument("activity_id")
@click.argument("shoe")
@click.pass_obj
def shoes_assign(obj: Context, activity_id: str, shoe: str) -> None:
    """Put one run (ACTIVITY_ID) in SHOE (id or name); wins over dates and Strava."""
    db = obj.db
    row = find_shoe(db, shoe)
    found = rows(db, "SELECT local_date, gear_id FROM activities WHERE id = ?", [activity_id])
    if not found:
        raise CalfsyncError(f"no activity '{activity_id}': ids are in `select id from runs`")
    with write_tx(db):
        db.execute(
            "INSERT INTO gear_assignments(activity_id, gear_id) VALUES (?, ?) "
            "ON CONFLICT(activity_id) DO UPDATE SET gear_id = excluded.gear_id",
            [activity_id, row["id"]],
        )
        old = found[0]["gear_id"]
        changed = assign_gear_by_date(db, {found[0]["local_date"]})
        dates = changed | (shoe_dates(db, old) if old else set()) | shoe_dates(db, row["id"])
        ids = _reevaluate(obj, dates)
    click.echo(f"Run {activity_id} is now in {row['id']} ({row['name']}).")
    _echo_alerts(db, ids)
