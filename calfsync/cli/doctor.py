"""``calfsync doctor``: print each check of :mod:`calfsync.doctor` with its fix."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ..doctor import run_checks
from . import Context

MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@click.command("doctor")
@click.pass_obj
def doctor_cmd(obj: Context) -> None:
    """Check everything calfsync needs; print the fix for each problem.

    Checks the configuration, the database, the inboxes, the push channels and Strava.
    """
    checks = run_checks(obj, datetime.now(UTC))
    for check in checks:
        click.echo(f"{MARKS[check.level]} {check.name}: {check.detail}")
        if check.fix and check.level != "ok":
            click.echo(f"     fix: {check.fix}")
    failed = sum(c.level == "fail" for c in checks)
    click.echo(f"{failed} problem(s)" if failed else "all checks passed")
    if failed:
        raise SystemExit(1)
