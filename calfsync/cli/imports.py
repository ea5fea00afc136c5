"""``calfsync import``: FIT files and folders through :mod:`calfsync.ingest.fit`, Strava and
Garmin account exports (zip or unzipped folder) through :mod:`calfsync.ingest.exports`, with a
progress bar on a terminal and what failed listed."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from ..errors import CalfsyncError
from ..evaluation import evaluate_pending
from ..ingest.fit import import_paths
from ..sources.fit.inputs import find_input_files
from . import Context

MAX_LISTED_PROBLEMS = 20
T = TypeVar("T")


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
def import_cmd(obj: Context, paths: tuple[Path, ...]) -> None:
    """Import FIT files, zips, folders, and Strava or Garmin exports.

    Never pushes. .fit, .fit.gz and .zip files are read; folders are searched at any depth. A
    Strava archive (export_NNNN.zip or its folder, with activities.csv) gives names, shoes and
    GPX/TCX runs; a Garmin export (with DI_CONNECT/) gives its FIT files with names and shoes.
    Every FIT file is recorded in fit_files as imported, skipped or failed with its reason;
    exit 0 when every file was handled, whatever its status, 1 when an export's
    activities.csv cannot be read (the other paths are imported).
    """
    db, cfg = obj.db, obj.config
    now = datetime.now(UTC)
    exports, plain = _split_exports(paths)
    changed: set[str] = set()
    problems: list[tuple[str, str, str]] = []  # (failed | problem, label, reason)
    lines: list[str] = []
    fatal: list[str] = []
    if exports:
        from ..ingest.exports import import_garmin_export, import_strava_archive
        from ..sources.exports import STRAVA, kind_of, open_archive

        for path in exports:
            try:
                with open_archive(path) as archive:
                    if kind_of(archive) == STRAVA:
                        done = import_strava_archive(db, cfg, archive, now=now, progress=_bar)
                    else:
                        done = import_garmin_export(db, cfg, path, archive, now=now, progress=_bar)
            except CalfsyncError as exc:  # this export cannot be read: the other paths can
                fatal.append(str(exc))
                continue
            changed |= done.changed_dates
            problems += [("failed", *p) for p in (done.fit.problems if done.fit else [])]
            # an export's problem may leave the activity imported (from the CSV alone)
            problems += [("problem", *p) for p in done.problems]
            lines.append(done.line())
    if plain or not exports:
        summary = import_paths(db, cfg, plain, progress=_bar, now=now)
        changed |= summary.changed_dates
        problems += [("failed", *p) for p in summary.problems]
        lines.append(summary.line())
    for word, label, reason in problems[:MAX_LISTED_PROBLEMS]:
        click.echo(f"{word}: {label}: {reason}", err=True)
    if len(problems) > MAX_LISTED_PROBLEMS:
        more = len(problems) - MAX_LISTED_PROBLEMS
        click.echo(
            f"... and {more} more (FIT files: select path, reason from fit_files where "
            "status = 'failed')",
            err=True,
        )
    alerts = evaluate_pending(db, cfg, now, mode="import", extra_dates=changed)
    for line in lines[:-1]:
        click.echo(line)
    if lines:
        click.echo(f"{lines[-1]}; alerts recorded: {len(alerts)} (import never pushes)")
    if fatal:
        raise CalfsyncError("\n".join(fatal))


def _split_exports(paths: tuple[Path, ...]) -> tuple[list[Path], list[Path]]:
    """The paths that are Strava or Garmin account exports, and the others. Only a zip or a
    folder can be one, so plain FIT files cost no look inside. A folder holding an export's
    zip (~/Downloads) gives that zip as an export and its other files as plain ones."""
    exports: list[Path] = []
    plain: list[Path] = []
    for path in paths:
        maybe = path.is_dir() or path.name.lower().endswith(".zip")
        if maybe:
            from ..sources.exports import detect

            if detect(path) is not None:
                exports.append(path)
                continue
            if path.is_dir():
                files = list(find_input_files([path]))
                inner = [f for f in files if f.name.lower().endswith(".zip") and detect(f)]
                if inner:
                    exports += inner
                    plain += [f for f in files if f not in inner]
                    continue
        plain.append(path)
    return exports, plain


def _bar(items: Iterable[T], length: int | None = None) -> Iterator[T]:
    """The items, with a bar on stderr while they are imported when stderr is a terminal
    (``length``: how many, when ``items`` is no list)."""
    total = len(items) if length is None and isinstance(items, list) else length
    if not total or not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(
        items, length=total, label="Importing", file=sys.stderr, show_pos=True
    ) as bar:
        yield from bar
