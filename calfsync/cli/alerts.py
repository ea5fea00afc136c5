"""``calfsync replay`` (the rules over the whole history, nothing written) and ``calfsync
alerts`` (the stored alerts, newest first)."""

from __future__ import annotations

import json
from typing import Any

import click
import sqlite_utils

from ..rules.engine import replay, rule_params
from ..store.history import load_history
from . import Context, iso_date


def _since(value: str | None) -> str | None:
    return None if value is None else iso_date(value)


def new_alerts(db: sqlite_utils.Database, ids: list[int]) -> list[dict[str, Any]]:
    """The alerts a command just recorded (``ids``): title, body and push state."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return list(db.query(f"SELECT id, title, body, pushed FROM alerts WHERE id IN ({marks})", ids))


def _line(a: dict[str, Any]) -> str:
    where = f" run {a['activity_id']}" if a.get("activity_id") else ""
    state = f" [{a['pushed']}]" if a.get("pushed") else ""
    return f"{a['local_date']}  {a['rule']:<4} {a['severity']:<8} {a['title']}{where}{state}"


@click.command("replay")
@click.option("--since", help="Only print alerts on or after this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--verbose", "-v", is_flag=True, help="Print each alert's full message too.")
@click.pass_obj
def replay_cmd(obj: Context, since: str | None, as_json: bool, verbose: bool) -> None:
    """Show the alerts the rules would have fired over the whole history.

    Runs the rules day by day. Writes nothing, pushes nothing: use it to tune thresholds.
    """
    history = load_history(obj.db, obj.config)
    found = replay(history, rule_params(obj.config), _since(since))
    for a in found:
        if as_json:
            click.echo(json.dumps(a, sort_keys=True, ensure_ascii=False))
        else:
            click.echo(_line(a))
            if verbose:
                click.echo("    " + a["body"].replace("\n", "\n    "))
    if not as_json:
        click.echo(f"{len(found)} alert(s) would have fired.")


@click.command("alerts")
@click.option("--since", help="Only alerts on or after this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option("--limit", type=int, default=None, help="At most this many.")
@click.option("--verbose", "-v", is_flag=True, help="Print each alert's full message too.")
@click.pass_obj
def alerts_cmd(
    obj: Context, since: str | None, as_json: bool, limit: int | None, verbose: bool
) -> None:
    """List the stored alerts, newest first."""
    sql = (
        'SELECT id, rule, episode_key, local_date, activity_id, severity, title, body, "values", '
        "pushed, created_at FROM alerts"
    )
    params: list[Any] = []
    if since:
        sql += " WHERE local_date >= ?"
        params.append(_since(since))
    sql += " ORDER BY local_date DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    found = list(obj.db.query(sql, params))
    for a in found:
        a["values"] = json.loads(a["values"])
        if as_json:
            click.echo(json.dumps(a, sort_keys=True, ensure_ascii=False))
        else:
            click.echo(_line(a))
            if verbose:
                click.echo("    " + a["body"].replace("\n", "\n    "))
    if not found and not as_json:
        click.echo("No alerts yet.")
