"""``calfsync report``: write the report page (:mod:`calfsync.outputs.report`) and say where."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from ..outputs.report import PAGE_NAME, write_report
from . import Context

DEFAULT_FOLDER = "calfsync-report"


@click.command("report")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Folder to write {PAGE_NAME} into (created when missing). "
    f"Default: [report] path, else ./{DEFAULT_FOLDER}.",
)
@click.option(
    "--weeks",
    type=click.IntRange(4, 520),
    help="Weeks the charts show (52: a year). Default: [report] weeks (26).",
)
@click.pass_obj
def report_cmd(obj: Context, out_dir: Path | None, weeks: int | None) -> None:
    """Write the report page (charts of your load) as HTML.

    One static HTML file (inline SVG and CSS, no script, no network): open it from disk or
    serve its folder read-only with any static web server.
    """
    cfg = obj.config
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / PAGE_NAME
    elif cfg.report.path:
        path = Path(cfg.report.path)
    else:
        Path(DEFAULT_FOLDER).mkdir(exist_ok=True)
        path = Path(DEFAULT_FOLDER) / PAGE_NAME
    written = write_report(obj.db, cfg, datetime.now(UTC), path.absolute(), weeks)
    click.echo(f"Report written to {written}")
    click.echo(f"Open {written.as_uri()}")
