"""``calfsync status [--json]``: the report of :mod:`calfsync.status` as text or JSON, secrets
scrubbed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from ..secrets import redact
from ..status import ago, config_secrets, parse_time, read_report
from . import Context


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.pass_obj
def status_cmd(obj: Context, as_json: bool) -> None:
    """Show each step's last and next run, counts, pushes and problems.

    Exit 1 when the last cycle is older than three intervals or something needs you.
    """
    cfg = obj.config
    now = datetime.now(UTC).replace(microsecond=0)
    found = read_report(cfg, now)
    text = json.dumps(found, indent=2) if as_json else render(found, now)
    click.echo(redact(text, config_secrets(cfg)))
    if not found["ok"]:
        raise SystemExit(1)


def _when(value: str | None, now: datetime) -> str:
    moment = parse_time(value)
    if moment is None:
        return "never" if value is None else value
    delta = now - moment
    if delta >= timedelta(0):
        return f"{value} ({ago(delta)} ago)"
    return f"{value} (in {ago(-delta)})"


def render(report: dict[str, Any], now: datetime) -> str:
    """The human-readable form of :func:`calfsync.status.collect`'s report."""
    db, acts, fit, pushes = (report[k] for k in ("database", "activities", "fit_files", "pushes"))
    daemon = report["daemon"]
    lines = [
        f"calfsync status at {report['now']}: {'OK' if report['ok'] else 'NEEDS ATTENTION'}",
        f"database   {db['path']} ({db['size_bytes'] / 1e6:.1f} MB, schema {db['schema_version']})",
        "daemon     " + (f"running (pid {daemon['pid']})" if daemon["running"] else "not running"),
        f"activities {acts['count']} ({acts['runs']} runs), "
        + (f"{acts['first_date']} .. {acts['last_date']}" if acts["first_date"] else "none yet"),
        f"fit files  {fit['imported']} imported, {fit['failed']} failed, last import "
        f"{fit['last_import'] or 'never'}",
        f"alerts     {report['alerts']['count']} ({report['alerts']['last_7_days']} in 7 days)",
        f"pushes     {pushes['pending']} pending, {pushes['sent']} sent, {pushes['dead']} dead",
    ]
    lines.append("steps")
    width = max([8, *map(len, report["steps"])]) + 1  # "intervals" is 9 letters
    for step, info in report["steps"].items():
        if info["last_run"] is None and info["last_ok"] is None and info["interval_s"] is None:
            continue
        line = f"  {step:<{width}}last ok {_when(info['last_ok'], now)}"
        if info["next"]:
            line += f"; next {_when(info['next'], now)}"
        lines.append(line)
    if report["strava"]:
        strava = report["strava"]
        text = strava["status"]
        if strava.get("rate_limited_until"):
            text += f" until {strava['rate_limited_until']}"
        message = strava.get("message")
        if message:  # messages often start with the state already ("inactive: ...")
            text = message if message.startswith(f"{text}:") else f"{text}: {message}"
        lines.append(f"strava     {text}")
    if report.get("intervals"):
        icu = report["intervals"]
        lines.append(
            f"intervals  {icu['status']}: {icu['imported']} imported, {icu['strava_skipped']} "
            f"Strava-sourced skipped, {icu['refused']} refused, {icu['failed']} unreadable"
            + (f"; {icu['message']}" if icu["status"] != "ok" and icu["message"] else "")
        )
    suspects = report.get("suspects") or []
    if suspects:
        lines.append("suspect    not counted until confirmed or corrected (calfsync activity):")
    lines.extend(suspect_lines(suspects))
    for problem in report["problems"]:
        lines.append(f"problem    {problem}")
    return "\n".join(lines)


def suspect_lines(suspects: list[dict[str, Any]]) -> list[str]:
    """One line per suspect activity: id, date, distance and reason."""
    return [
        f"  {s['id']}  {s['local_date']}  {s['distance_km']:.2f} km  {s['reason']}"
        for s in suspects
    ]
