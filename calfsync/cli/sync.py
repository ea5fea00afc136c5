"""``calfsync sync``: one cycle of :mod:`calfsync.sync` over the configured sources."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ..config import default_inbox
from ..sync import run_cycle
from . import Context


@click.command("sync")
@click.option("--no-push", is_flag=True, help="Store and evaluate, but leave pushes queued.")
@click.pass_obj
def sync_cmd(obj: Context, no_push: bool) -> None:
    """Run one sync cycle over the configured sources and exit.

    Exit 0 when the cycle ran (pushes that failed stay queued for the next one), 1 when a source
    or the rules failed, or when every push it tried failed for good (dead letters).
    """
    cfg = obj.config
    if default_inbox() in cfg.inboxes:  # with no [fit] inbox configured, make the default one
        default_inbox().mkdir(parents=True, exist_ok=True)
    report = run_cycle(obj.db, cfg, datetime.now(UTC), deliver_pushes=not no_push)
    click.echo(report.summary())
    all_dead = report.pushes_all_dead
    if all_dead:
        click.echo(f"sync: {all_dead}", err=True)
    if report.failed or all_dead:
        raise SystemExit(1)
