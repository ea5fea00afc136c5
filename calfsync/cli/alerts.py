"""``calfsync replay`` (the rules over the whole history, nothing written) and ``calfsync
alerts`` (the stored alerts, newest first)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import click

from ..store.db import rows
from . import Context


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is not a date like 2026-03-01") from exc


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
    """Run the rules over the whole history day by day and print every alert that would have
    fired. Writes nothing, pushes nothing: use it to tune thresholds."""
    from ..rules.engine import replay

    found = replay(obj.db, obj.config, _since(since))
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
    """The stored alerts, newest first."""
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
    found = rows(obj.db, sql, params)
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
