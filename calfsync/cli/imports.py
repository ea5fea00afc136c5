"""``calfsync import``: the FIT import of :mod:`calfsync.ingest.fit`, with a progress bar on a
terminal and the files that failed listed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from ..ingest.fit import import_paths
from ..sync import evaluate_pending
from . import Context

MAX_LISTED_PROBLEMS = 20


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def import_cmd(obj: Context, paths: tuple[Path, ...]) -> None:
    """Import .fit, .fit.gz and .zip files and folders (never pushes).

    Folders are searched at any depth; .zip covers Garmin's and Strava's bulk exports. Every
    file is recorded in fit_files as imported, skipped or failed with its reason; exit 0 when
    every file was handled, whatever its status.
    """
    db, cfg = obj.db, obj.config
    now = datetime.now(UTC)
    summary = import_paths(db, cfg, paths, progress=_progress_bar, now=now)
    for label, reason in summary.problems[:MAX_LISTED_PROBLEMS]:
        click.echo(f"failed: {label}: {reason}", err=True)
    if len(summary.problems) > MAX_LISTED_PROBLEMS:
        more = len(summary.problems) - MAX_LISTED_PROBLEMS
        click.echo(
            f"... and {more} more (select path, reason from fit_files where status = 'failed')",
            err=True,
        )
    alerts = evaluate_pending(db, cfg, now, mode="import", extra_dates=summary.changed_dates)
    click.echo(f"{summary.line()}; alerts recorded: {len(alerts)} (import never pushes)")


def _progress_bar(files: list[Path]) -> Iterator[Path]:
    """The files, with a bar on stderr while they are imported when stderr is a terminal."""
    if not files or not sys.stderr.isatty():
        yield from files
        return
    with click.progressbar(files, label="Importing", file=sys.stderr, show_pos=True) as bar:
        yield from bar
